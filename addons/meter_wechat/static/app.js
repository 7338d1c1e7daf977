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
      var messages = (answer.anomalies || []).map(function (a) {
        return a.message;
      });
      if (answer.rollover) {
        messages.push(answer.rollover);
      }
      if (!messages.length) {
        warning.textContent = '';
        warning.classList.remove('warning');
        return;
      }
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

  /* The photo fields are WeUI's uploader: the chosen photo is shown in
   * the list beside the box, and the box's caption says so in Chinese. */
  function photoFields() {
    var fields = document.querySelectorAll('.photo-field');
    Array.prototype.forEach.call(fields, function (field) {
      var file = field.querySelector('.photo-file');
      var files = field.querySelector('.photo-files');
      var status = field.querySelector('.photo-status');
      var empty = status.textContent;
      var shown = null;
      file.addEventListener('change', function () {
        files.textContent = '';
        if (shown) {
          URL.revokeObjectURL(shown);
          shown = null;
        }
        var chosen = file.files && file.files[0];
        if (!chosen) {
          status.textContent = empty;
          return;
        }
        shown = URL.createObjectURL(chosen);
        var item = document.createElement('li');
        item.className = 'weui-uploader__file photo-chosen';
        item.style.backgroundImage = 'url("' + shown + '")';
        item.title = chosen.name;
        files.appendChild(item);
        status.textContent = '已选择 1 张';
      });
    });
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
        var files = field.querySelector('.photo-files');
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
                  files.textContent = '';
                  var item = document.createElement('li');
                  item.className = 'weui-uploader__file photo-uploaded';
                  files.appendChild(item);
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
    var payments = JSON.parse(element.dataset.payments || '[]');
    /* Without a payment in the 12 months the payment axis would run from
     * 0 to 1 元 over nothing: the chart is of the usage alone. */
    var paid = payments.some(function (amount) { return amount > 0; });
    var yAxis = [{type: 'value', name: element.dataset.unit, min: 0}];
    var values = JSON.parse(element.dataset.values);
    /* The months imported from the former billing system's history are
     * bars of their own colour and legend, stacked on the same place */
    var history = JSON.parse(element.dataset.history || '[]');
    var historic = history.some(function (flag) { return flag; });
    var series = [{
      name: '用量',
      type: 'bar',
      stack: 'usage',
      itemStyle: {color: '#07c160'},
      data: values.map(function (value, index) {
        return history[index] ? null : value;
      })
    }];
    if (historic) {
      series.push({
        name: element.dataset.historyName,
        type: 'bar',
        stack: 'usage',
        itemStyle: {color: '#9aa5b1'},
        data: values.map(function (value, index) {
          return history[index] ? value : null;
        })
      });
    }
    if (paid) {
      yAxis.push({type: 'value', name: '元', min: 0,
        splitLine: {show: false}});
      series.push({
        name: '缴费',
        type: 'line',
        yAxisIndex: 1,
        itemStyle: {color: '#fa9d3b'},
        data: payments
      });
    }
    chart.setOption({
      tooltip: {trigger: 'axis'},
      /* The legend above the plot, the axis names below it and the month
       * labels under the plot: none over another (ECharts 6 puts the
       * legend at the bottom by default, over the month labels). */
      legend: {top: 4, data: series.map(function (s) { return s.name; })},
      grid: {left: 44, right: paid ? 44 : 16, top: 64, bottom: 28},
      xAxis: {
        type: 'category',
        data: JSON.parse(element.dataset.labels),
        axisLabel: {
          /* 2026-03 → 3月, and the year at January and at the start */
          formatter: function (label, index) {
            var month = parseInt(label.slice(5), 10);
            if (index === 0 || month === 1) {
              return label.slice(2, 4) + '年' + month + '月';
            }
            return month + '月';
          }
        }
      },
      yAxis: yAxis,
      series: series
    });
    window.addEventListener('resize', function () {
      chart.resize();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    smsButton();
    readingWarning();
    photoFields();
    wechatPhotos();
  });

  return {usageChart: usageChart};
}());
