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
   * communication address holds it are proposed (a datalist) */
  function completion() {
    var code = document.getElementById('code');
    var list = document.getElementById('codes');
    if (!code || !list) {
      return;
    }
    var timer = null;
    var asked = 0;
    code.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var typed = code.value.trim();
        var rank = ++asked;
        if (typed.length < 2) {
          list.textContent = '';
          return;
        }
        fetch(code.dataset.find + '?' + new URLSearchParams({q: typed}),
            {credentials: 'same-origin'})
          .then(function (response) { return response.json(); })
          .then(function (meters) {
            if (rank !== asked) {
              return;
            }
            list.textContent = '';
            meters.forEach(function (meter) {
              var option = document.createElement('option');
              option.value = meter.code;
              option.label = meter.text;
              list.appendChild(option);
            });
          })
          .catch(function () { /* the search still works on submit */ });
      }, 250);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    scanButton();
    completion();
  });
  return {wechatText: wechatText};
}());
