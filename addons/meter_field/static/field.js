/* The field pages' scan button (扫码): inside WeChat the JS-SDK's
 * scanQRCode; elsewhere a photo of the code, decoded by the browser's
 * BarcodeDetector where it has one, else by ZXing (npm @zxing/library,
 * loaded when first needed).  The code read goes to the search of the
 * home page, which opens the meter's card or says the code is unknown. */
var MeterField = (function () {
  'use strict';

  var FORMATS = ['qr_code', 'ean_13', 'ean_8', 'code_128', 'code_39',
    'upc_a', 'itf', 'data_matrix'];

  function found(form, text) {
    var code = form.querySelector('#code');
    code.value = text.trim();
    form.submit();
  }

  /* WeChat gives a bar code as "EAN_13,6901234567890" */
  function wechatText(result) {
    var comma = result.indexOf(',');
    if (comma > 0 && /^[A-Z_0-9-]+$/.test(result.slice(0, comma))) {
      return result.slice(comma + 1);
    }
    return result;
  }

  function loadDecoder(url) {
    if (typeof ZXing !== 'undefined') {
      return Promise.resolve(ZXing);
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement('script');
      script.src = url;
      script.onload = function () { resolve(ZXing); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function detect(file, decoderUrl) {
    if ('BarcodeDetector' in window) {
      return createImageBitmap(file).then(function (bitmap) {
        return new window.BarcodeDetector({formats: FORMATS})
          .detect(bitmap);
      }).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    var url = URL.createObjectURL(file);
    return loadDecoder(decoderUrl).then(function (zxing) {
      var reader = new zxing.BrowserMultiFormatReader();
      return reader.decodeFromImageUrl(url).then(function (result) {
        return result.getText();
      }, function () {
        return null;
      });
    }).finally(function () {
      URL.revokeObjectURL(url);
    });
  }

  function scanButton() {
    var button = document.getElementById('scan');
    if (!button) {
      return;
    }
    var form = button.closest('form');
    var photo = document.getElementById('scan-photo');
    var message = document.getElementById('scan-message');
    var wechat = false;
    if (button.dataset.wx && typeof wx !== 'undefined') {
      var config = JSON.parse(button.dataset.wx);
      wx.config({debug: false, appId: config.appId,
        timestamp: config.timestamp, nonceStr: config.nonceStr,
        signature: config.signature, jsApiList: ['scanQRCode']});
      wx.ready(function () { wechat = true; });
      wx.error(function () { wechat = false; });
    }
    button.addEventListener('click', function () {
      message.textContent = '';
      if (wechat) {
        wx.scanQRCode({
          needResult: 1,
          scanType: ['qrCode', 'barCode'],
          success: function (answer) {
            found(form, wechatText(answer.resultStr || ''));
          },
          fail: function () {
            message.textContent = '扫码失败，请重试或手动输入表号';
          }
        });
        return;
      }
      photo.value = '';
      photo.click();
    });
    photo.addEventListener('change', function () {
      var file = photo.files && photo.files[0];
      if (!file) {
        return;
      }
      message.textContent = '正在识别条码…';
      detect(file, button.dataset.decoder).then(function (text) {
        if (text) {
          message.textContent = '已识别：' + text;
          found(form, text);
        } else {
          message.textContent = '未识别到条码或二维码，请对准后重拍，或手动输入表号';
        }
      }).catch(function () {
        message.textContent = '无法识别，请手动输入表号';
      });
    });
  }

  /* While a code is typed, the meters whose number, barcode or
   * communication address holds it are proposed (a datalist).  What was
   * typed while the page was still loading is proposed as soon as the
   * script runs, and a request that fails is asked again once. */
  function completion() {
    var code = document.getElementById('code');
    var list = document.getElementById('codes');
    if (!code || !list) {
      return;
    }
    var timer = null;
    var asked = 0;
    function fill(meters) {
      list.textContent = '';
      meters.forEach(function (meter) {
        var option = document.createElement('option');
        option.value = meter.code;
        option.label = meter.text;
        list.appendChild(option);
      });
    }
    function ask(typed, rank, tries) {
      fetch(code.dataset.find + '?' + new URLSearchParams({q: typed}),
          {credentials: 'same-origin'})
        .then(function (response) {
          if (!response.ok) {
            throw new Error(response.status);
          }
          return response.json();
        })
        .then(function (meters) {
          if (rank === asked) {
            fill(meters);
          }
        })
        .catch(function () {
          /* The search still works on submit */
          if (tries > 1 && rank === asked) {
            setTimeout(function () { ask(typed, rank, tries - 1); }, 1000);
          }
        });
    }
    function propose() {
      var typed = code.value.trim();
      var rank = ++asked;
      if (typed.length < 2) {
        list.textContent = '';
        return;
      }
      ask(typed, rank, 2);
    }
    code.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(propose, 250);
    });
    if (code.value !== code.defaultValue) {
      propose();
    }
  }

  /* 故障上报's photos: each photo taken goes to the list as a thumbnail
   * with its own file input (tap it to drop it) and a fresh input takes
   * the next, up to the form's maximum.  Inside WeChat, chooseImage takes
   * several at once; each is uploaded (uploadImage) and posted as one
   * media_id, which the server downloads.  Should the JS-SDK fail, the
   * file inputs are given back. */
  function faultPhotos(field) {
    var max = parseInt(field.dataset.max, 10);
    var list = field.querySelector('.photo-list');
    var box = field.querySelector('.photo-box');
    var count = field.querySelector('.photo-count');
    var choose = field.querySelector('.photo-choose');
    function update() {
      var n = list.children.length;
      count.textContent = n + '/' + max;
      box.hidden = n >= max;
    }
    function thumbnail(url, element) {
      var item = document.createElement('li');
      item.className = 'weui-uploader__file photo-chosen';
      if (url) {
        item.style.backgroundImage = 'url("' + url + '")';
      }
      item.appendChild(element);
      item.addEventListener('click', function () {
        list.removeChild(item);
        update();
      });
      list.appendChild(item);
      update();
    }
    function watch(input) {
      input.addEventListener('change', function () {
        var chosen = input.files && input.files[0];
        if (!chosen) {
          return;
        }
        var next = input.cloneNode(false);
        next.value = '';
        input.hidden = true;
        input.removeAttribute('capture');
        thumbnail(URL.createObjectURL(chosen), input);
        box.insertBefore(next, box.firstChild);
        watch(next);
      });
    }
    watch(box.querySelector('.photo-input'));
    if (!field.dataset.wx || typeof wx === 'undefined' || !choose) {
      return;
    }
    var config = JSON.parse(field.dataset.wx);
    var failed = false;
    wx.config({debug: false, appId: config.appId,
      timestamp: config.timestamp, nonceStr: config.nonceStr,
      signature: config.signature,
      jsApiList: ['chooseImage', 'uploadImage']});
    wx.error(function () {
      failed = true;
      box.querySelector('.photo-input').hidden = false;
      choose.hidden = true;
    });
    wx.ready(function () {
      if (failed) {
        return;
      }
      box.querySelector('.photo-input').hidden = true;
      choose.hidden = false;
      choose.addEventListener('click', function () {
        wx.chooseImage({
          count: max - list.children.length,
          sizeType: ['compressed'],
          sourceType: ['camera', 'album'],
          success: function (chosen) {
            var ids = chosen.localIds.slice();
            (function upload() {
              var localId = ids.shift();
              if (!localId) {
                return;
              }
              count.textContent = '正在上传照片…';
              wx.uploadImage({localId: localId, isShowProgressTips: 1,
                success: function (uploaded) {
                  var media = document.createElement('input');
                  media.type = 'hidden';
                  media.name = 'media_id';
                  media.value = uploaded.serverId;
                  thumbnail(localId, media);
                  upload();
                },
                fail: function () {
                  update();
                  count.textContent = '照片上传失败，请重试';
                }});
            }());
          }
        });
      });
    });
  }

  /* The place of a fault: choosing a building or typing a place picks its
   * choice; 定位 records the phone's position (navigator.geolocation). */
  function faultPlace(form) {
    function pick(value) {
      var radio = form.querySelector('input[name="where"][value="' +
        value + '"]');
      if (radio) {
        radio.checked = true;
      }
    }
    form.querySelector('#location').addEventListener('change', function () {
      pick('building');
    });
    form.querySelector('#place').addEventListener('input', function () {
      pick('place');
    });
    var button = form.querySelector('#locate');
    var status = form.querySelector('#position-status');
    button.addEventListener('click', function () {
      if (!navigator.geolocation) {
        status.textContent = '此浏览器不支持定位，请填写地点说明。';
        return;
      }
      button.disabled = true;
      status.textContent = '正在定位，请稍候……';
      navigator.geolocation.getCurrentPosition(function (position) {
        button.disabled = false;
        var latitude = position.coords.latitude.toFixed(6);
        var longitude = position.coords.longitude.toFixed(6);
        form.querySelector('#latitude').value = latitude;
        form.querySelector('#longitude').value = longitude;
        pick('place');
        status.textContent = '已定位：' + latitude + ', ' + longitude +
          '（精度约 ' + Math.round(position.coords.accuracy) + ' 米）';
      }, function (error) {
        button.disabled = false;
        status.textContent = error.code === 1
          ? '未获得定位权限：请允许此页面使用位置信息，或填写地点说明。'
          : '暂时无法定位：请到室外重试，或填写地点说明。';
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 0});
    });
  }

  function faultForm() {
    var form = document.getElementById('fault-form');
    if (!form) {
      return;
    }
    faultPhotos(form.querySelector('.fault-photos'));
    faultPlace(form);
  }

  document.addEventListener('DOMContentLoaded', function () {
    scanButton();
    completion();
  });
  return {wechatText: wechatText, faultForm: faultForm};
}());
