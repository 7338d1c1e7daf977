/* Work without signal (离线抄表).
 *
 * - Every field page registers the service worker (sw.js), which keeps
 *   the offline page; a round's page keeps the round's data (meters,
 *   last values and the limits of the anomaly check, from
 *   rounds/<id>/data) in IndexedDB.
 * - Without signal the offline page stands for the round, the meter's
 *   card, the skip and the fault report: what is done goes to a queue in
 *   IndexedDB, photos included, with an idempotency key made here and the
 *   time it was done (taken_at, ISO 8601 with its offset).  Nothing is
 *   lost by closing the page or restarting the phone.
 * - The queue is shown on the home page, the round and the offline page,
 *   and sent to sync/<kind> when the network is back (automatically, and
 *   by 立即同步) with a progress bar.  An entry the server refuses stays
 *   with the reason until the staff member removes it; one whose answer
 *   is lost is sent again with its key and answered with its first
 *   result.
 * - The anomaly warning compares with the limits the server sent with the
 *   round; the server checks the reading again when it arrives.
 *
 * An entry: {key, kind ('reading', 'skip', 'fault', 'bluetooth' (a
 * meter's raw reply read over Bluetooth, decoded when sent: bluetooth.js)),
 * url, fields, files: [{name, blob, filename}], label, round, line,
 * created, state ('pending' or 'refused'), error}.  Another page queues
 * its own kind with MeterOffline.enqueue(kind, fields, files, label,
 * {url: ...}): the fields get idempotency_key and taken_at, and its
 * route answers JSON, 200 when taken (or taken before, with that key),
 * 4xx with {error} when refused. */
var MeterOffline = (function () {
  'use strict';

  var DB = 'meter-field';
  var BASE = null;
  var script = document.currentScript;
  var syncing = null;

  function base() {
    if (BASE === null) {
      BASE = (script && script.dataset.base) || '';
    }
    return BASE;
  }

  /* IndexedDB: rounds (by id) and the queue (by key) */
  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore('rounds', {keyPath: 'id'});
        db.createObjectStore('queue', {keyPath: 'key'});
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function store(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(name, mode);
        var result = work(transaction.objectStore(name));
        transaction.oncomplete = function () {
          db.close();
          resolve(result && 'result' in result ? result.result : result);
        };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }

  function getAll(name) {
    return store(name, 'readonly', function (s) { return s.getAll(); });
  }

  function get(name, key) {
    return store(name, 'readonly', function (s) { return s.get(key); });
  }

  function put(name, value) {
    return store(name, 'readwrite', function (s) { s.put(value); });
  }

  function remove(name, key) {
    return store(name, 'readwrite', function (s) { s.delete(key); });
  }

  function queue() {
    return getAll('queue').then(function (entries) {
      return entries.sort(function (a, b) { return a.created - b.created; });
    });
  }

  /* A key no other phone makes: a random UUID */
  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('');
  }

  /* The time now as ISO 8601 with the phone's offset */
  function now() {
    var date = new Date();
    var offset = -date.getTimezoneOffset();
    function two(n) { return ('0' + Math.floor(Math.abs(n))).slice(-2); }
    return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' +
      two(date.getDate()) + 'T' + two(date.getHours()) + ':' +
      two(date.getMinutes()) + ':' + two(date.getSeconds()) +
      (offset >= 0 ? '+' : '-') + two(offset / 60) + ':' + two(offset % 60);
  }

  /* Put a submission in the queue: fields and files as a form sends them */
  function enqueue(kind, fields, files, label, extra) {
    var key = newKey();
    fields = Object.assign({}, fields, {idempotency_key: key,
      taken_at: now()});
    var entry = Object.assign({key: key, kind: kind,
      url: base() + 'sync/' + kind, fields: fields, files: files || [],
      label: label, created: Date.now(), state: 'pending', error: ''},
      extra || {});
    return put('queue', entry).then(function () { return entry; });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      try {
        localStorage.setItem('meterField.csrf', meta.content);
      } catch (error) { /* private mode: the page's token only */ }
      return meta.content;
    }
    return localStorage.getItem('meterField.csrf') || '';
  }

  function send(entry) {
    var form = new FormData();
    Object.keys(entry.fields).forEach(function (name) {
      form.append(name, entry.fields[name]);
    });
    (entry.files || []).forEach(function (file) {
      form.append(file.name, file.blob, file.filename || 'photo.jpg');
    });
    return fetch(entry.url, {method: 'POST', body: form,
      credentials: 'same-origin', redirect: 'manual',
      headers: {'X-CSRF-Token': csrfToken(), 'Accept': 'application/json'}});
  }

  /* What a sent entry changes in the round kept on the phone */
  function applied(entry, answer) {
    if (!entry.round || !entry.line) {
      return Promise.resolve();
    }
    return get('rounds', entry.round).then(function (kept) {
      if (!kept) {
        return;
      }
      kept.data.lines.forEach(function (line) {
        if (line.id === entry.line) {
          line.state = entry.kind === 'skip' ? 'skipped' : 'read';
          if (entry.kind === 'skip') {
            line.skip_reason = entry.fields.reason;
          }
        }
      });
      return put('rounds', kept);
    });
  }

  /* Send one entry of the queue: resolve with {taken: answer} when the
   * server took it (it leaves the queue) or {refused: reason} (it stays,
   * with the reason, until the staff member removes it); reject with
   * {login: true} when the session is gone, {server: status} when the
   * server answered with an error page, or with the network's error:
   * the entry waits as it was */
  function sendOne(entry) {
    return send(entry).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      if (type.indexOf('application/json') < 0) {
        // An expired session is sent to the login page; any other page
        // that is not JSON is the server (or a proxy) failing
        if (response.redirected || response.status === 401 ||
            response.status === 403) {
          throw {login: true};
        }
        throw {server: response.status};
      }
      return response.json().then(function (answer) {
        if (response.ok) {
          return applied(entry, answer).then(function () {
            return remove('queue', entry.key);
          }).then(function () {
            return {taken: answer};
          });
        }
        entry.state = 'refused';
        entry.error = answer.error || String(response.status);
        return put('queue', entry).then(function () {
          return {refused: entry.error};
        });
      });
    });
  }

  /* Send the queue in order; progress(done, total, message) tells how
   * far.  Without network it stops and keeps what is left; a page that
   * is not JSON means the session is gone: log in again, then sync. */
  function syncNow(progress) {
    if (syncing) {
      return syncing;
    }
    progress = progress || function () {};
    var run = function () {
      return queue().then(function (entries) {
        var pending = entries.filter(function (e) {
          return e.state === 'pending';
        });
        var total = pending.length;
        var done = 0;
        var refused = 0;
        progress(0, total, total ? '正在同步…' : '');
        function next() {
          var entry = pending.shift();
          if (!entry) {
            progress(done, total, refused ? '同步完成，' + refused +
              ' 条未被接受，请查看原因' : (total ? '同步完成' : ''));
            return {done: done, refused: refused, left: 0};
          }
          return sendOne(entry).then(function (result) {
            if (result.taken) {
              done += 1;
            } else {
              refused += 1;
            }
          }).then(function () {
            progress(done + refused, total, '正在同步 ' + (done + refused) +
              '/' + total);
            return next();
          });
        }
        return next();
      }).catch(function (error) {
        var message = error && error.login
          ? '登录已过期：请重新登录后再同步，待同步内容已保留'
          : error && error.server
          ? '服务器暂时无法处理（HTTP ' + error.server +
            '）：待同步内容已保留，请稍后再同步'
          : '网络不可用：待同步内容已保留，有网络后自动发送';
        progress(0, 0, message);
        return {error: message};
      });
    };
    // One tab sends at a time; the keys make a second send harmless
    var locked = navigator.locks
      ? navigator.locks.request('meter-field-sync', run) : run();
    syncing = Promise.resolve(locked).finally(function () {
      syncing = null;
    });
    return syncing;
  }

  function escape(text) {
    var div = document.createElement('div');
    div.textContent = text == null ? '' : String(text);
    return div.innerHTML;
  }

  var KIND_LABELS = {reading: '读数', skip: '未抄', fault: '故障上报',
    bluetooth: '蓝牙读数'};

  /* The queue panel: its entries, 立即同步 and a progress bar */
  function panel(element) {
    if (!element) {
      return;
    }
    element.innerHTML = '<div class="weui-cells__title">待同步 <b ' +
      'class="queue-count">0</b> 条</div><div class="weui-cells ' +
      'queue-entries"></div><div class="weui-progress queue-progress" ' +
      'hidden><div class="weui-progress__bar"><div class="' +
      'weui-progress__inner-bar" style="width:0"></div></div></div>' +
      '<p class="weui-cells__tips queue-status" role="status"></p>' +
      '<div class="weui-btn-area"><button type="button" class="weui-btn ' +
      'weui-btn_default queue-sync">立即同步</button></div>';
    var count = element.querySelector('.queue-count');
    var list = element.querySelector('.queue-entries');
    var bar = element.querySelector('.queue-progress');
    var inner = bar.querySelector('.weui-progress__inner-bar');
    var status = element.querySelector('.queue-status');
    function show() {
      return queue().then(function (entries) {
        count.textContent = entries.length;
        element.dataset.count = entries.length;
        element.dataset.pending = entries.filter(function (entry) {
          return entry.state === 'pending';
        }).length;
        list.innerHTML = entries.map(function (entry) {
          return '<div class="weui-cell queue-entry ' + entry.state +
            '" data-key="' + escape(entry.key) + '"><div class="' +
            'weui-cell__bd"><p>' + escape(KIND_LABELS[entry.kind] ||
            entry.kind) + ' · ' + escape(entry.label) + '</p><p class="' +
            'weui-cell__desc">' + escape(new Date(entry.created)
            .toLocaleString('zh-CN')) + (entry.files && entry.files.length
            ? ' · 照片 ' + entry.files.length + ' 张' : '') + '</p>' +
            (entry.state === 'refused' ? '<p class="weui-cell__desc ' +
            'warning queue-error">未被接受：' + escape(entry.error) +
            '</p>' : '') + '</div><div class="weui-cell__ft">' +
            (entry.state === 'refused' ? '<button type="button" class="' +
            'weui-btn weui-btn_mini weui-btn_warn queue-drop">删除</button>'
            : '待同步') + '</div></div>';
        }).join('');
        element.hidden = !entries.length && !status.textContent;
      });
    }
    function progress(done, total, message) {
      bar.hidden = !total;
      inner.style.width = total ? (100 * done / total) + '%' : '0';
      status.textContent = message;
      show();
    }
    function sync() {
      return syncNow(progress).then(function (result) {
        if (result && result.done) {
          // What the server has now: the page again, from the network
          try {
            sessionStorage.setItem('meterField.synced', result.done);
          } catch (error) { /* shown once less */ }
          location.reload();
          return;
        }
        return show();
      });
    }
    var synced = sessionStorage.getItem('meterField.synced');
    if (synced) {
      sessionStorage.removeItem('meterField.synced');
      status.textContent = '已同步 ' + synced + ' 条记录';
    }
    element.querySelector('.queue-sync').addEventListener('click', sync);
    list.addEventListener('click', function (event) {
      var drop = event.target.closest('.queue-drop');
      if (drop && window.confirm('删除这条未被接受的记录？')) {
        remove('queue', drop.closest('.queue-entry').dataset.key)
          .then(show);
      }
    });
    window.addEventListener('online', sync);
    element.sync = sync;
    element.show = show;
    return show().then(function () {
      // Only what waits: the refused stay in sight with their reason
      if (navigator.onLine && element.dataset.pending !== '0') {
        return sync();
      }
    });
  }

  /* Keep the round of a round's page for work without signal */
  function keepRound(element) {
    var url = element.dataset.url;
    return fetch(url, {credentials: 'same-origin'}).then(function (response) {
      if (!response.ok) {
        throw new Error(response.status);
      }
      return response.json();
    }).then(function (data) {
      return put('rounds', {id: data.id, data: data, kept: Date.now()});
    }).then(function () {
      element.dataset.kept = '1';
    }).catch(function () { /* kept as it was */ });
  }

  function register() {
    if (!('serviceWorker' in navigator) || !script ||
        !script.dataset.worker) {
      return;
    }
    navigator.serviceWorker.register(script.dataset.worker,
      {scope: base()}).catch(function () {
      /* not a secure context: the pages work online only */
    });
  }

  /* The forms of the pages loaded before the signal went: into the
   * queue, as the offline page would queue them */
  var SKIPPED_FIELDS = {csrf_token: true, back: true, media_id: true};

  function queueForm(form, kind, fields, label, extra, next) {
    var files = [];
    new FormData(form).forEach(function (value, name) {
      if (SKIPPED_FIELDS[name]) {
        return;
      }
      if (value instanceof Blob) {
        if (value.size) {
          files.push({name: name, blob: value, filename: value.name});
        }
      } else if (!(name in fields)) {
        fields[name] = value;
      }
    });
    return enqueue(kind, fields, files, label, extra).then(function () {
      location.href = next;
    });
  }

  function interceptForms() {
    var forms = [
      ['reading-form', 'reading', function (form) {
        var code = decodeURIComponent(location.pathname.split('/m/')[1]);
        var round = form.querySelector('input[name=round]');
        var id = round ? parseInt(round.value, 10) : null;
        return [{meter: code}, code + ' · ' + form.querySelector('#value')
          .value.trim(), {round: id}, id ? base() + 'rounds/' + id : base()];
      }],
      ['skip-form', 'skip', function (form) {
        var ids = /rounds\/(\d+)\/skip\/(\d+)/.exec(form.action);
        var round = parseInt(ids[1], 10);
        var line = parseInt(ids[2], 10);
        return [{round: ids[1], line: ids[2]}, document.title,
          {round: round, line: line}, base() + 'rounds/' + round];
      }],
      ['fault-form', 'fault', function (form) {
        var description = form.querySelector('[name=description]');
        return [{}, description ? description.value.slice(0, 20) : '', {},
          base() + 'offline'];
      }]
    ];
    forms.forEach(function (spec) {
      var form = document.getElementById(spec[0]);
      if (!form) {
        return;
      }
      form.addEventListener('submit', function (event) {
        if (navigator.onLine || event.defaultPrevented) {
          return;
        }
        event.preventDefault();
        var args = spec[2](form);
        queueForm(form, spec[1], args[0], args[1], args[2], args[3]);
      });
    });
  }

  /* The meter of a round kept on the phone, by its number or barcode:
   * {round, line} or null */
  function findLine(code) {
    return getAll('rounds').then(function (rounds) {
      var found = null;
      rounds.forEach(function (kept) {
        kept.data.lines.forEach(function (line) {
          if (!found && (line.meter.number === code ||
              line.meter.barcode === code)) {
            found = {round: kept.data, line: line};
          }
        });
      });
      return found;
    });
  }

  /* The replies read over Bluetooth used to wait in their own queue in
   * localStorage: move what a phone still has there into this queue,
   * once, with their keys and times, so that nothing read is lost */
  var OLD_BLUETOOTH = 'meterField.bluetooth.queue';

  function adoptOldBluetooth() {
    var old;
    try {
      old = JSON.parse(localStorage.getItem(OLD_BLUETOOTH) || '[]');
    } catch (error) {
      old = [];
    }
    if (!Array.isArray(old) || !old.length) {
      try {
        localStorage.removeItem(OLD_BLUETOOTH);
        localStorage.removeItem('meterField.bluetooth.requests');
      } catch (error) { /* private mode: nothing kept there */ }
      return Promise.resolve(0);
    }
    var moved = old.filter(function (entry) {
      return entry && entry.idempotency_key && entry.reply && entry.meter;
    }).map(function (entry, index) {
      var fields = {meter: entry.meter, reply: entry.reply,
        idempotency_key: entry.idempotency_key, taken_at: entry.taken_at};
      ['latitude', 'longitude', 'accuracy'].forEach(function (name) {
        if (entry[name] !== undefined && entry[name] !== null) {
          fields[name] = entry[name];
        }
      });
      return {key: entry.idempotency_key, kind: 'bluetooth',
        url: base() + 'sync/bluetooth', fields: fields, files: [],
        label: entry.meter, created: Date.parse(entry.taken_at) || index,
        state: 'pending', error: ''};
    });
    return Promise.all(moved.map(function (entry) {
      return put('queue', entry);
    })).then(function () {
      localStorage.removeItem(OLD_BLUETOOTH);
      localStorage.removeItem('meterField.bluetooth.requests');
      return moved.length;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    // A form sent twice (a second tap, a resend) is one submission
    Array.prototype.forEach.call(document.querySelectorAll(
      'input.idempotency-key'), function (input) {
      input.value = input.value || newKey();
    });
    csrfToken();
    register();
    interceptForms();
    var round = document.querySelector('[data-offline-round]');
    if (round && navigator.onLine) {
      keepRound(round);
    }
    adoptOldBluetooth().catch(function () {
      return 0;  // IndexedDB unavailable: left where it was
    }).then(function () {
      panel(document.getElementById('offline-queue'));
    });
  });

  return {open: open, getAll: getAll, get: get, put: put, remove: remove,
    queue: queue, enqueue: enqueue, sendOne: sendOne, syncNow: syncNow,
    panel: panel, findLine: findLine, newKey: newKey, now: now,
    escape: escape, base: base};
}());
