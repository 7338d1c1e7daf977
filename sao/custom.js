/* The suite's name in the web client: the browser tab, the login dialog
 * and the navigation bar say 水电计量收费平台 rather than Tryton.
 * Copied into the web client's root by `make install` (Makefile, sao). */
Sao.config.title = '水电计量收费平台';
document.title = Sao.config.title;
