/* Small scripts of the resident pages: no framework, no build step. */
var MeterWeChat = (function () {
  'use strict';

  function post(url, csrf, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'X-CSRF-Token': csrf},
      body: body
    }).then(function (response) {
      return response.json();
    });
  }

  function smsButton() {
    var button = document.getElementById('send-code');
    if (!button) {
      return;
    }
    var message = document.getElementById('sms-message');
    button.addEventListener('click', function () {
      var phone = document.getElementById('phone').value;
      button.disabled = true;
      post(button.dataset.url, button.dataset.csrf, {phone: phone})
        .then(function (result) {
          if (result.error) {
            message.textContent = result.error;
            button.disabled = false;
            return;
          }
          message.textContent = '验证码已发送';
          var wait = 60;
          var timer = setInterval(function () {
            wait -= 1;
            button.textContent = wait + ' 秒后重试';
            if (wait <= 0) {
              clearInterval(timer);
              button.textContent = '获取验证码';
              button.disabled = false;
            }
          }, 1000);
        })
        .catch(function () {
          message.textContent = '网络异常，请稍后再试';
          button.disabled = false;
        });
    });
  }

  /* Before submitting, the server tells what the typed value would be
   * flagged for (reading/check runs the checks of a submitted reading
   * without storing it); the warning never blocks the submission. */
  function readingWarning() {
    var form = document.getElementById('reading-form');
    if (!form) {
      return;
    }
    var meter = document.getElementById('meter');
    var value = document.getElementById('value');
    var warning = document.getElementById('reading-warning');
    var timer = null;
    var asked = 0;
    function show(answer) {
      if (!answer.anomalies || !answer.anomalies.length) {
        warning.textContent = '';
        warning.classList.remove('warning');
        return;
      }
      var messages = answer.anomalies.map(function (a) {
        return a.message;
      });
      var text = '请核对表盘：' + messages.join('；');
      if (answer.previous !== null && answer.previous !== undefined) {
        text += '（上次读数 ' + answer.previous + '）';
      }
      warning.textContent = text + '。确认无误仍可提交，将由工作人员审核。';
      warning.classList.add('warning');
    }
    function check() {
      var typed = value.value.trim();
      var rank = ++asked;
      if (!typed || isNaN(Number(typed))) {
        show({});
        return;
      }
      var url = form.dataset.check + '?' + new URLSearchParams({
        meter: meter.value, value: typed});
      fetch(url, {credentials: 'same-origin',
          headers: {'Accept': 'application/json'}})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (rank === asked) {
            show(answer);
          }
        })
        .catch(function () { /* the server checks again on submit */ });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    }
    meter.addEventListener('change', check);
    value.addEventListener('input', later);
    if (value.value) {
      check();
    }
  }

  /* Inside WeChat the photo fields use the JS-SDK: chooseImage takes or
   * picks the photo, uploadImage sends it to WeChat and the form posts
   * its serverId as media_id, which the server downloads.  Should the
   * JS-SDK fail, the file input is given back. */
  function wechatPhotos() {
    var fields = document.querySelectorAll('.photo-field[data-wx]');
    if (!fields.length || typeof wx === 'undefined') {
      return;
    }
    var config = JSON.parse(fields[0].dataset.wx);
    var failed = false;
    Array.prototype.forEach.call(fields, function (field) {
      var file = field.querySelector('.photo-file');
      file.dataset.required = String(file.required);
    });
    function fileInputs() {
      Array.prototype.forEach.call(fields, function (field) {
        var file = field.querySelector('.photo-file');
        file.hidden = false;
        file.required = file.dataset.required === 'true';
        field.querySelector('.photo-choose').hidden = true;
      });
    }
    wx.config({
      debug: false,
      appId: config.appId,
      timestamp: config.timestamp,
      nonceStr: config.nonceStr,
      signature: config.signature,
      jsApiList: ['chooseImage', 'uploadImage']
    });
    wx.error(function () {
      failed = true;
      fileInputs();
    });
    wx.ready(function () {
      if (failed) {
        return;
      }
      Array.prototype.forEach.call(fields, function (field) {
        var file = field.querySelector('.photo-file');
        var media = field.querySelector('.photo-media');
        var button = field.querySelector('.photo-choose');
        var status = field.querySelector('.photo-status');
        file.required = false;
        file.hidden = true;
        button.hidden = false;
        button.addEventListener('click', function () {
          wx.chooseImage({
            count: 1,
            sizeType: ['compressed'],
            sourceType: ['camera', 'album'],
            success: function (chosen) {
              status.textContent = '正在上传照片…';
              wx.uploadImage({
                localId: chosen.localIds[0],
                isShowProgressTips: 1,
                success: function (uploaded) {
                  media.value = uploaded.serverId;
                  status.textContent = '照片已上传';
                },
                fail: function () {
                  status.textContent = '照片上传失败，请重试';
                }
              });
            }
          });
        });
        field.closest('form').addEventListener('submit', function (event) {
          if (!file.hidden || media.value ||
              file.dataset.required !== 'true') {
            return;
          }
          event.preventDefault();
          status.textContent = '请先拍摄或选择照片';
        });
      });
    });
  }

  function usageChart(id) {
    var element = document.getElementById(id);
    if (!element || typeof echarts === 'undefined') {
      return;
    }
    var chart = echarts.init(element);
    chart.setOption({
      tooltip: {trigger: 'axis'},
      grid: {left: 48, right: 48, top: 40, bottom: 32},
      xAxis: {type: 'category', data: JSON.parse(element.dataset.labels)},
      legend: {data: ['用量', '缴费']},
      yAxis: [
        {type: 'value', name: element.dataset.unit},
        {type: 'value', name: '元', splitLine: {show: false}}
      ],
      series: [{
        name: '用量',
        type: 'bar',
        itemStyle: {color: '#07c160'},
        data: JSON.parse(element.dataset.values)
      }, {
        name: '缴费',
        type: 'line',
        yAxisIndex: 1,
        itemStyle: {color: '#fa9d3b'},
        data: JSON.parse(element.dataset.payments || '[]')
      }]
    });
    window.addEventListener('resize', function () {
      chart.resize();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    smsButton();
    readingWarning();
    wechatPhotos();
  });

  return {usageChart: usageChart};
}());
