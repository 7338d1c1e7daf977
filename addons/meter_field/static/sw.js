/* The field pages' service worker: it keeps the offline page and its
 * assets on the phone, so that a round can be worked without signal.
 * Served as <database>/field/sw.js, its scope is the field pages; the
 * server writes its version (a hash of the files it keeps) below, so
 * that a new version replaces the whole cache.
 *
 * A page that can not be had without signal is answered by the offline
 * page, which shows the round, the meter, 蓝牙抄表 (bluetooth.js), the
 * skip or the fault of its address from IndexedDB (offline.js); what is
 * done waits there in a queue.  A slow answer is waited for: only a failed one is replaced. */
'use strict';

var VERSION = '__VERSION__';
var PREFIX = 'meter-field-';
var CACHE = PREFIX + VERSION;
var BASE = self.location.pathname.replace(/sw\.js$/, '');
var WECHAT = BASE.replace(/field\/$/, 'wechat/static/');
var SHELL = BASE + 'offline';
var ASSETS = [SHELL, BASE + 'static/offline.js', BASE + 'static/field.js',
  BASE + 'static/bluetooth.js', WECHAT + 'weui.css', WECHAT + 'app.css',
  WECHAT + 'app.js'];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS.map(function (url) {
      return new Request(url, {cache: 'reload', credentials: 'same-origin'});
    }));
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== CACHE;
    }).map(function (name) {
      return caches.delete(name);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === 'navigate' && url.pathname.indexOf(BASE) === 0) {
    // The page from the network; the offline page when there is none
    event.respondWith(fetch(request)
      .then(function (response) {
        if (url.pathname === SHELL && response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) {
            cache.put(SHELL, copy);
          });
        }
        return response;
      }).catch(function () {
        return caches.match(SHELL, {cacheName: CACHE}).then(
          function (shell) {
            return shell || Response.error();
          });
      }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    // The assets of this version: the cache first
    event.respondWith(caches.match(url.pathname, {cacheName: CACHE})
      .then(function (cached) {
        return cached || fetch(request);
      }));
  }
});
