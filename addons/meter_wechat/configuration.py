"""Settings of the WeChat official account.

Every setting is read from the ``[wechat]`` section of the server
configuration and may be overridden per database on the configuration
record, so that one server can serve a test and a production account.
"""
import logging
import secrets

from trytond import config
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .account import RESIDENT_LANGUAGE
from .callback import MODES, CallbackSettings
from .client import DEFAULT_API_BASE_URL, WeChatApi, WeChatApiError
from .reply import TEXTS
from .store import TokenStorage

logger = logging.getLogger(__name__)


def default_service_name():
    "The name of message.xml, in the residents' language"
    with Transaction().set_context(language=RESIDENT_LANGUAGE):
        return gettext('meter_wechat.msg_reply_service_name')


# name of the setting: (type, default or callable giving it)
SETTINGS = {
    'appid': (str, None),
    'secret': (str, None),
    'token': (str, None),
    'encoding_aes_key': (str, None),
    'mode': (str, 'plain'),
    'api_base_url': (str, DEFAULT_API_BASE_URL),
    'oauth_base_url': (str, None),
    'base_url': (str, None),
    'max_clock_skew': (int, 300),
    'template_binding': (str, None),
    'template_work_order': (str, None),
    'template_notice': (str, None),
    'template_payment': (str, None),
    'template_balance': (str, None),
    'template_bill': (str, None),
    'service_name': (str, default_service_name),
    'service_phone': (str, ''),
    'template_staff': (str, None),
    }


class Configuration(ModelSingleton, ModelSQL, ModelView):
    """WeChat account settings (公众号设置).

    An empty field falls back to the same option of the ``[wechat]``
    section of the server configuration.
    """
    __name__ = 'meter.wechat.configuration'
    appid = fields.Char("AppID")
    secret = fields.Char("AppSecret")
    token = fields.Char("Token")
    encoding_aes_key = fields.Char(
        "EncodingAESKey", size=43,
        help="The 43 characters key of the compatible and safe modes.")
    mode = fields.Selection([
            (None, ""),
            ('plain', "Plain Text"),
            ('compatible', "Compatible"),
            ('safe', "Safe"),
            ], "Encryption Mode")
    api_base_url = fields.Char(
        "API Base URL",
        help="The WeChat API, https://api.weixin.qq.com/ when empty.")
    oauth_base_url = fields.Char("OAuth Base URL")
    base_url = fields.Char(
        "Pages Base URL",
        help="The public URL of the resident pages, e.g. "
        "https://wx.example.edu.cn/meter/wechat/; the request's when empty.")
    max_clock_skew = fields.Integer(
        "Maximal Clock Skew",
        domain=['OR',
            ('max_clock_skew', '=', None),
            ('max_clock_skew', '>=', 0),
            ],
        help="Seconds between WeChat's timestamp and our clock; "
        "0 disables the check.")
    template_binding = fields.Char(
        "Binding Template",
        help="The template message sent when a binding is approved or "
        "rejected.")
    template_work_order = fields.Char(
        "Work Order Template",
        help="The template message sent when a work order is answered.")
    template_notice = fields.Char(
        "Notice Template",
        help="The template message sent to the residents of the places "
        "concerned when an outage notice is published.")
    template_payment = fields.Char(
        "Payment Template",
        help="The template message sent when a payment is posted or a "
        "transfer is refused.")
    template_balance = fields.Char(
        "Low Balance Template",
        help="The template message sent when a prepaid balance falls "
        "below the threshold.")
    template_staff = fields.Char(
        "Staff Template",
        help="The template message telling staff who bound their WeChat "
        "of what waits for them (business messages).")
    template_bill = fields.Char(
        "Bill Template",
        help="The template message sent when a bill is issued and a few "
        "days before an open bill falls due.")
    service_name = fields.Char("Service Name")
    service_phone = fields.Char("Service Phone")
    session_secret = fields.Char(
        "Session Secret", readonly=True,
        states={'invisible': ~Eval('session_secret')})
    _values_cache = Cache(
        'meter.wechat.configuration.values', context=False)

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls._ensure_secret()

    @classmethod
    def _ensure_secret(cls):
        "Give the database the random key signing the residents' cookies"
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(table.id, table.session_secret))
        rows = cursor.fetchall()
        if not rows:
            cursor.execute(*table.insert(
                    [table.session_secret], [[secrets.token_hex(32)]]))
        elif not rows[0][1]:
            cursor.execute(*table.update(
                    [table.session_secret], [secrets.token_hex(32)],
                    where=table.id == rows[0][0]))
        cls._values_cache.clear()

    @classmethod
    def create(cls, vlist):
        records = super().create(vlist)
        cls._values_cache.clear()
        return records

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls._values_cache.clear()

    @classmethod
    def delete(cls, records):
        super().delete(records)
        cls._values_cache.clear()

    @classmethod
    def stored_values(cls):
        """Return the settings stored in the database, read once per
        process and change: every callback and page asks for them."""
        values = cls._values_cache.get('values')
        if values is None:
            record = cls(1)
            values = {n: getattr(record, n, None)
                for n in [*SETTINGS, 'session_secret']}
            cls._values_cache.set('values', values)
        return values

    def reply_texts(self):
        """Return the texts of the standard answers and menu of the
        account (reply.TEXTS), in the residents' language"""
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            return {name: gettext('meter_wechat.msg_reply_%s' % name)
                for name in TEXTS}

    def session_key(self):
        "The key signing the residents' session cookies"
        return (config.get('wechat', 'session_secret', default=None)
            or self.stored_values()['session_secret'])

    def get_setting(self, name):
        "Return the setting of the database or of the server"
        type_, default = SETTINGS[name]
        value = self.stored_values()[name]
        if value is None or value == '':
            value = config.get('wechat', name, default=None)
        if value is None or value == '':
            return default() if callable(default) else default
        return type_(value)

    def callback_settings(self):
        "Return the CallbackSettings or None when the account is not set"
        appid, token = self.get_setting('appid'), self.get_setting('token')
        if not appid or not token:
            return None
        mode = self.get_setting('mode')
        if mode not in MODES:
            mode = 'plain'
        return CallbackSettings(
            appid, token, self.get_setting('encoding_aes_key'), mode=mode,
            max_clock_skew=self.get_setting('max_clock_skew'))

    def api(self):
        "Return the WeChatApi client or None when the account is not set"
        appid, secret = self.get_setting('appid'), self.get_setting('secret')
        if not appid or not secret:
            return None
        return WeChatApi(
            appid, secret, api_base_url=self.get_setting('api_base_url'),
            oauth_base_url=self.get_setting('oauth_base_url'),
            session=TokenStorage())

    def send_templates(self, template_setting, messages):
        """Push template messages: (openid, data, page) for each resident.

        Nothing is sent when the account or the template is not set; the
        page is relative to base_url.  A resident who unsubscribed can not
        be told: what happened stands and is shown on the pages.
        """
        template = self.get_setting(template_setting)
        api = self.api()
        if not template or not api:
            return
        base_url = self.get_setting('base_url')
        if base_url and not base_url.endswith('/'):
            base_url += '/'
        for openid, data, page in messages:
            url = base_url + page if base_url else None
            try:
                api.send_template(openid, template, data, url)
            except WeChatApiError as exception:
                logger.warning("%s not sent to %s: %s",
                    template_setting, openid, exception)
