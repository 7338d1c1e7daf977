/* 蓝牙抄表: read a meter through its Bluetooth Low Energy serial bridge
 * with Web Bluetooth (Chrome on Android, in a secure context).
 *
 * The page holds the meter's request frame, built by the server with the
 * codecs of meter_devices, and the bridges to look for (the configured
 * service and the Nordic UART Service): the meter's page from the server,
 * or without signal the offline page from the round kept on the phone
 * (Round.field_data).  This script only carries bytes: it writes the
 * frame to the bridge and gathers what the bridge notifies until the
 * meter falls silent.  The reply goes to the phone's one queue
 * (MeterOffline, offline.js) as a submission of kind 'bluetooth', with
 * its key and the phone's time, and is sent at once when there is
 * network, else with the rest of the queue: the server decodes and checks
 * it then.  The page's texts come from the template (data-messages). */
var MeterFieldBluetooth = (function () {
  'use strict';

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

  /* The reading's value without trailing zeros (123.450 → 123.45) */
  function plain(text) {
    return String(text).indexOf('.') < 0 ? String(text) :
      String(text).replace(/0+$/, '').replace(/\.$/, '');
  }

  /* Set up the reader in root (#bluetooth): its data-request is the
   * request of the meter, data-messages the page's texts */
  function init(root) {
    var request = JSON.parse(root.dataset.request);
    var messages = JSON.parse(root.dataset.messages);
    var button = root.querySelector('.bt-read');
    var errorBox = root.querySelector('.bt-error');
    var statusBox = root.querySelector('.bt-status');
    var resultBox = root.querySelector('.bt-result');
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
      resultBox.querySelector('.bt-value').textContent = plain(data.value);
      resultBox.querySelector('.bt-state').innerHTML = '';
      var link = document.createElement('a');
      link.href = data.url;
      link.className = 'bt-reading';
      link.textContent = data.state_string;
      resultBox.querySelector('.bt-state').appendChild(link);
    }
    function showQueue() {
      var panel = document.getElementById('offline-queue');
      if (panel && panel.show) {
        panel.show();
      }
    }

    /* Into the queue first: nothing read is lost; then sent at once when
     * there is network */
    function submit(bytes) {
      var fields = {meter: request.meter, reply: bytesToHex(bytes)};
      ['latitude', 'longitude', 'accuracy'].forEach(function (name) {
        if (position[name] !== undefined && position[name] !== null) {
          fields[name] = String(position[name]);
        }
      });
      return MeterOffline.findLine(request.meter).catch(function () {
        return null;
      }).then(function (found) {
        return MeterOffline.enqueue('bluetooth', fields, [],
          request.number || request.meter, found ? {round: found.round.id,
            line: found.line.id} : {});
      }).then(function (entry) {
        if (!navigator.onLine) {
          status('');
          showError(messages.queued);
          return showQueue();
        }
        status('sending');
        return MeterOffline.sendOne(entry).then(function (result) {
          status('');
          if (result.taken) {
            showResult(result.taken);
          } else {
            // Seen here at once: read again rather than keep it queued
            showError(result.refused);
            return MeterOffline.remove('queue', entry.key);
          }
        }, function (error) {
          status('');
          showError(error && error.login ? messages.login : messages.queued);
        }).then(showQueue);
      }, function () {
        status('');
        showError(messages.storage);
      });
    }

    var wechat = root.dataset.wechat === 'true' ||
      /MicroMessenger/i.test(navigator.userAgent);
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
      readMeter(request, status).then(submit, function (error) {
        status('');
        showError(messages[error.code] || messages.connect);
      }).finally(function () {
        button.disabled = false;
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var root = document.getElementById('bluetooth');
    if (root && root.dataset.request) {
      init(root);
    }
  });

  return {init: init};
}());
