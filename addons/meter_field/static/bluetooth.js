/* 蓝牙抄表: read a meter through its Bluetooth Low Energy serial bridge
 * with Web Bluetooth (Chrome on Android, in a secure context).
 *
 * The page holds the meter's request frame, built by the server with the
 * codecs of meter_devices, and the bridges to look for (the configured
 * service and the Nordic UART Service).  This script only carries bytes:
 * it writes the frame to the bridge, gathers what the bridge notifies
 * until the meter falls silent and posts it, as hexadecimal, with a key
 * made here (sending it again never makes a second reading) and the
 * phone's time.  The server decodes and checks the reply.  Every reply
 * waits in the phone's queue (localStorage) until the server has
 * answered, so a reply read without network is sent later.  The page's
 * texts come from the template (data-messages). */
var MeterFieldBluetooth = (function () {
  'use strict';

  var QUEUE = 'meterField.bluetooth.queue';
  var REQUESTS = 'meterField.bluetooth.requests';
  // BLE writes of 20 bytes pass every bridge (the default ATT MTU)
  var CHUNK = 20;
  // The meter is done when nothing more comes for this long
  var IDLE = 600;

  function hexToBytes(hex) {
    var bytes = new Uint8Array(hex.length / 2);
    for (var i = 0; i < bytes.length; i++) {
      bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
    }
    return bytes;
  }

  function bytesToHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('').toUpperCase();
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return bytesToHex(bytes);
  }

  /* The phone's time now, ISO 8601 with its offset */
  function isoNow() {
    var now = new Date();
    var pad = function (n) { return ('0' + n).slice(-2); };
    var offset = -now.getTimezoneOffset();
    var sign = offset >= 0 ? '+' : '-';
    offset = Math.abs(offset);
    return now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' +
      pad(now.getDate()) + 'T' + pad(now.getHours()) + ':' +
      pad(now.getMinutes()) + ':' + pad(now.getSeconds()) + sign +
      pad(Math.floor(offset / 60)) + ':' + pad(offset % 60);
  }

  function load(name, empty) {
    try {
      return JSON.parse(localStorage.getItem(name)) || empty;
    } catch (e) {
      return empty;
    }
  }

  function store(name, value) {
    try {
      localStorage.setItem(name, JSON.stringify(value));
    } catch (e) {
      // Private mode: the page still works, without keeping anything
    }
  }

  function queue() {
    return load(QUEUE, []);
  }

  function enqueue(entry) {
    var entries = queue();
    entries.push(entry);
    store(QUEUE, entries);
  }

  function dequeue(key) {
    store(QUEUE, queue().filter(function (e) {
      return e.idempotency_key !== key;
    }));
  }

  /* The request of a meter kept by an earlier visit, for a phone
   * without network */
  function requestOf(meter) {
    return load(REQUESTS, {})[meter] || null;
  }

  function keepRequest(request) {
    var requests = load(REQUESTS, {});
    requests[request.meter] = request;
    store(REQUESTS, requests);
  }

  function failure(code) {
    var error = new Error(code);
    error.code = code;
    return error;
  }

  function findBridge(server, bridges, index) {
    if (index >= bridges.length) {
      return Promise.reject(failure('no_service'));
    }
    var bridge = bridges[index];
    return server.getPrimaryService(bridge.service).then(function (service) {
      return Promise.all([service.getCharacteristic(bridge.write),
        service.getCharacteristic(bridge.notify)]);
    }).then(function (characteristics) {
      return {write: characteristics[0], notify: characteristics[1]};
    }, function () {
      return findBridge(server, bridges, index + 1);
    });
  }

  function writeFrame(characteristic, frame) {
    var chain = Promise.resolve();
    for (var i = 0; i < frame.length; i += CHUNK) {
      (function (chunk) {
        chain = chain.then(function () {
          if (characteristic.writeValueWithoutResponse) {
            return characteristic.writeValueWithoutResponse(chunk);
          }
          return characteristic.writeValue(chunk);
        });
      })(frame.slice(i, i + CHUNK));
    }
    return chain;
  }

  /* Write the frame, resolve with every byte notified until the meter
   * falls silent; reject 'timeout' when nothing came */
  function talk(bridge, frame, timeout) {
    return new Promise(function (resolve, reject) {
      var received = [];
      var idle = null;
      var deadline = null;
      function finish() {
        clearTimeout(idle);
        clearTimeout(deadline);
        bridge.notify.removeEventListener(
          'characteristicvaluechanged', changed);
        if (received.length) {
          resolve(Uint8Array.from(received));
        } else {
          reject(failure('timeout'));
        }
      }
      function changed(event) {
        var value = event.target.value;
        for (var i = 0; i < value.byteLength; i++) {
          received.push(value.getUint8(i));
        }
        clearTimeout(idle);
        idle = setTimeout(finish, IDLE);
      }
      bridge.notify.addEventListener('characteristicvaluechanged', changed);
      bridge.notify.startNotifications().then(function () {
        deadline = setTimeout(finish, timeout * 1000);
        return writeFrame(bridge.write, frame);
      }).catch(function () {
        clearTimeout(deadline);
        bridge.notify.removeEventListener(
          'characteristicvaluechanged', changed);
        reject(failure('connect'));
      });
    });
  }

  /* Ask the user for the bridge, talk to the meter and resolve with the
   * bytes received */
  function readMeter(request, status) {
    var filters = request.bridges.map(function (bridge) {
      return {services: [bridge.service]};
    });
    if (request.name_prefix) {
      filters.push({namePrefix: request.name_prefix});
    }
    var device = null;
    return navigator.bluetooth.requestDevice({
      filters: filters,
      optionalServices: request.bridges.map(function (b) {
        return b.service;
      })
    }).catch(function (error) {
      throw failure(error && error.name === 'SecurityError' ?
        'insecure' : 'not_found');
    }).then(function (found) {
      device = found;
      status('connecting');
      return device.gatt.connect().catch(function () {
        throw failure('connect');
      });
    }).then(function (server) {
      return findBridge(server, request.bridges, 0);
    }).then(function (bridge) {
      status('reading');
      return talk(bridge, hexToBytes(request.frame), request.timeout || 5);
    }).finally(function () {
      if (device && device.gatt && device.gatt.connected) {
        device.gatt.disconnect();
      }
    });
  }

  /* Post an entry of the queue: resolve with {data} (the reading),
   * {error} (refused: the reply gives no reading) or {keep} (no network,
   * the session expired or the server failed: try again later) */
  function post(entry) {
    var body = new FormData();
    ['idempotency_key', 'taken_at', 'reply', 'latitude', 'longitude',
      'accuracy'].forEach(function (name) {
      if (entry[name] !== undefined && entry[name] !== null) {
        body.append(name, entry[name]);
      }
    });
    var token = document.querySelector('meta[name=csrf-token]');
    return fetch(entry.post, {
      method: 'POST', body: body, credentials: 'same-origin',
      redirect: 'manual',
      headers: {'X-CSRF-Token': token ? token.content : ''}
    }).then(function (response) {
      if (response.type === 'opaqueredirect' || response.status === 401 ||
          response.status === 403) {
        return {keep: true, login: true};
      }
      var json = (response.headers.get('Content-Type') || '').indexOf(
        'application/json') === 0;
      if (!json || response.status >= 500) {
        // A meter not found (404) or a request too large will never pass
        if (response.status >= 400 && response.status < 500) {
          return {error: response.status, status: true};
        }
        return {keep: true};
      }
      return response.json().then(function (data) {
        return response.ok ? {data: data} : {error: data.error};
      });
    }, function () {
      return {keep: true, offline: true};
    });
  }

  function init() {
    var root = document.getElementById('bluetooth');
    if (!root) {
      return;
    }
    var request = JSON.parse(root.dataset.request);
    var messages = JSON.parse(root.dataset.messages);
    var button = document.getElementById('bt-read');
    var errorBox = root.querySelector('.bt-error');
    var statusBox = root.querySelector('.bt-status');
    var resultBox = root.querySelector('.bt-result');
    var queueBox = root.querySelector('.bt-queue');
    var position = {};

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = !text;
    }
    function status(code) {
      statusBox.textContent = code ? messages[code] || code : '';
    }
    function showResult(data) {
      statusBox.textContent = messages.sent;
      resultBox.hidden = false;
      resultBox.querySelector('.bt-value').textContent = data.value;
      resultBox.querySelector('.bt-state').innerHTML = '';
      var link = document.createElement('a');
      link.href = data.url;
      link.className = 'bt-reading';
      link.textContent = data.state_string;
      resultBox.querySelector('.bt-state').appendChild(link);
    }
    function showQueue() {
      var count = queue().length;
      queueBox.hidden = !count;
      queueBox.textContent = count ? messages.queue_count + count : '';
    }

    /* Send what waits in the queue, oldest first; stop at the first that
     * must wait */
    function flush() {
      var entries = queue();
      var chain = Promise.resolve(true);
      entries.forEach(function (entry) {
        chain = chain.then(function (going) {
          if (!going) {
            return false;
          }
          return post(entry).then(function (result) {
            if (result.keep) {
              if (result.login) {
                showError(messages.login);
              }
              return false;
            }
            dequeue(entry.idempotency_key);
            if (result.data) {
              if (result.data.meter === request.meter) {
                showResult(result.data);
              }
            } else {
              showError(messages.failed + (result.status ?
                messages.refused + result.error : result.error));
            }
            return true;
          });
        });
      });
      return chain.then(showQueue);
    }

    keepRequest(request);
    var wechat = root.dataset.wechat === 'true';
    var reason = null;
    if (wechat) {
      reason = 'wechat';
    } else if (!window.isSecureContext) {
      reason = 'insecure';
    } else if (!navigator.bluetooth) {
      reason = 'unsupported';
    }
    if (reason) {
      showError(messages[reason]);
      button.hidden = true;
    }
    showQueue();
    flush();
    window.addEventListener('online', flush);

    if (navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(function (p) {
        position = {latitude: p.coords.latitude,
          longitude: p.coords.longitude, accuracy: p.coords.accuracy};
      }, function () {}, {enableHighAccuracy: true, timeout: 20000,
        maximumAge: 60000});
    }

    button.addEventListener('click', function () {
      showError('');
      resultBox.hidden = true;
      button.disabled = true;
      readMeter(request, status).then(function (bytes) {
        var entry = {
          post: root.dataset.post, meter: request.meter,
          idempotency_key: newKey(), taken_at: isoNow(),
          reply: bytesToHex(bytes),
          latitude: position.latitude, longitude: position.longitude,
          accuracy: position.accuracy
        };
        // Kept until the server has answered: nothing read is lost
        enqueue(entry);
        status('sending');
        return post(entry).then(function (result) {
          status('');
          if (result.keep) {
            showError(result.login ? messages.login : messages.queued);
            showQueue();
            return;
          }
          dequeue(entry.idempotency_key);
          showQueue();
          if (result.data) {
            showResult(result.data);
          } else {
            showError(result.status ? messages.refused + result.error :
              result.error);
          }
        });
      }, function (error) {
        status('');
        showError(messages[error.code] || messages.connect);
      }).finally(function () {
        button.disabled = false;
      });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }

  return {requestOf: requestOf, queue: queue};
}());
