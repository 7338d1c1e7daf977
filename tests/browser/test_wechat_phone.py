"""A resident's service counter on a phone, in Chinese.

A real trytond serves the WeChat pages of meter_wechat to Debian's
Chromium in a phone-sized viewport, driven by Playwright; WeChat's API is
the local fake and the SMS codes go to the server's log.  The resident
registers with the SMS code, binds an account that the service desk
approves, reads the meter with a photo, sees the usage chart, pays the
bill by bank transfer with a screenshot that finance confirms, and finds
the bill paid.  Inside WeChat the photo is taken through the JS-SDK.

Staff act through JSON-RPC with their own users and groups, as the web
client does for them.  No request may leave the loopback: the page is
stopped from reaching anything else, and the JS-SDK that only the WeChat
client loads is replaced by a stand-in.
"""
import base64
import io
import json
import os
import re
import unittest
import urllib.error
import urllib.request

from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

from trytond.modules.meter_wechat.client import jsapi_signature

from ..fakes.wechat_api import FakeWeChatApi
from .phone import PhoneMixin
from .server import Server, launch_browser

APPID = 'wx5ea1b2c3d4e5f6a7'
SECRET = 'browser-secret-0123456789'
TEMPLATE_BINDING = 'TPL-binding-browser'
RESIDENT = 'o-phone-resident'
WECHAT_RESIDENT = 'o-wechat-resident'
PHONE = '13800001234'
STAFF_PASSWORD = 'staff-browser-2024'
PHOTOS = '/work/shared/testdata/meter-photos'
PHOTO = os.path.join(PHOTOS, 'wmsc_2019-09-05_3818fd8.jpg')
JWEIXIN = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'
PHONE_UA = (
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 '
    '(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36')
WECHAT_UA = PHONE_UA + (
    ' XWEB/1260117 MMWEBSDK/20240501 MicroMessenger/8.0.50.2701(0x28003255)'
    ' WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64')
# What the WeChat client gives the page as the JS-SDK: it records the
# calls and answers as WeChat does once the resident took a photo.
WX_STAND_IN = """
window.wx = (function () {
  var ready = [];
  var calls = [];
  return {
    calls: calls,
    config: function (options) {
      calls.push(['config', options]);
      setTimeout(function () { ready.forEach(function (f) { f(); }); }, 0);
    },
    ready: function (callback) { ready.push(callback); },
    error: function (callback) { calls.push(['error']); },
    chooseImage: function (options) {
      calls.push(['chooseImage', options]);
      setTimeout(function () {
        options.success({localIds: ['wxLocalResource://meter-photo']});
      }, 0);
    },
    uploadImage: function (options) {
      calls.push(['uploadImage', options]);
      setTimeout(function () {
        options.success({serverId: 'media-phone-0001'});
      }, 0);
    }
  };
}());
"""

SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Location = pool.get('meter.location')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
Reading = pool.get('meter.reading')
Configuration = pool.get('meter.configuration')
BillingConfiguration = pool.get('meter.billing.configuration')
Period = pool.get('meter.billing.period')
Bill = pool.get('meter.bill')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
WeChatUser = pool.get('meter.wechat.user')
Binding = pool.get('meter.wechat.binding')

if 'ocr' in Configuration._fields:
    # Reading the counter is meter_base's to test, and slow on 2 cores
    Configuration.write([Configuration(1)], {'ocr': False})
BillingConfiguration.write([BillingConfiguration(1)], {
        'payee': "某大学水电保障中心", 'bank_name': "工商银行北京海淀支行",
        'bank_account': '0200 0049 0920 0012 345'})
campus = Campus(code='E', name="东校区", phone='010-62780000')
campus.save()
building = Location(name="7号楼", campus=campus, kind='building')
building.save()
today = dt.date.today()
month = dt.datetime(today.year, today.month, 1, 10)
for number, name, phone, values in [
        ('E20001', "张三", '13800001234', [100, 160, 230]),
        ('E20002', "李四", '13900005678', [50]),
        ]:
    account = Account(number=number, name=name, category='resident',
        phone=phone, campus=campus, location=building)
    account.save()
    meter = Meter(number='DB-' + number[1:], kind='electricity',
        account=account, campus=campus, digits=6, decimals=0,
        multiplier=Decimal(1), initial_value=Decimal(0),
        reading_method='self')
    meter.save()
    readings = Reading.create([{
                'meter': meter.id, 'value': Decimal(value),
                'source': 'field',
                'taken_at': month - dt.timedelta(days=31 * (3 - i) - 5)}
            for i, value in enumerate(values)])
    assert all(r.state == 'confirmed' for r in readings), readings
    if number == 'E20001':
        # The billing system's history of the months before the first
        # reading (three months back), and of that month, which the
        # readings win
        History = pool.get('meter.billing.history')
        first = month.date()
        for back, usage in [(3, 999), (4, 80), (5, 90), (6, 95)]:
            year, index = divmod(first.year * 12 + first.month - 1 - back,
                12)
            History.create([{'account': account.id, 'meter': meter.id,
                        'meter_number': meter.number,
                        'month': '%04d-%02d' % (year, index + 1),
                        'usage': Decimal(usage),
                        'amount': Decimal(usage) / 2,
                        'source': 'history.xlsx'}])
        end = month.date() - dt.timedelta(days=1)
        period = Period(name='browser-' + end.strftime('%Y-%m'),
            start_date=end.replace(day=1), end_date=end,
            due_date=today + dt.timedelta(days=20))
        period.save()
        bill, = Bill.create([{
                    'account': account.id, 'campus': campus.id,
                    'category': 'resident', 'period': period.id,
                    'start_date': period.start_date,
                    'end_date': period.end_date,
                    'due_date': period.due_date,
                    'lines': [('create', [{
                                    'sequence': 1, 'kind': 'electricity',
                                    'type': 'usage', 'name': "电费",
                                    'quantity': Decimal(70),
                                    'unit_price': Decimal('0.4883'),
                                    'amount': Decimal('34.18'),
                                    }])],
                    }])
        Bill.post([bill])
    else:
        # A resident already registered and bound, who opens the pages
        # from the official account's menu
        user = WeChatUser(openid='WECHAT_RESIDENT', phone=phone)
        user.save()
        binding = Binding(user=user, account=account, verification=name)
        binding.save()
        Binding.approve([binding])

for login, name, group in [
        ('desk', "服务台", 'group_service_desk'),
        ('finance', "财务", 'group_finance'),
        ]:
    User.create([{
                'login': login, 'name': name,
                'password': 'STAFF_PASSWORD',
                'groups': [('add', [ModelData.get_id('meter_base', group)])],
                'meter_campuses': [('add', [campus.id])],
                }])
""".replace('STAFF_PASSWORD', STAFF_PASSWORD).replace(
    'WECHAT_RESIDENT', WECHAT_RESIDENT)


# The boxes of the texts an ECharts chart draws and of its legend and
# x axis, in the chart's pixels
CHART_BOXES = """() => {
  const chart = echarts.getInstanceByDom(
    document.getElementById('usage-chart'));
  const model = chart.getModel();
  function box(rect, transform) {
    rect = rect.clone();
    if (transform) {
      rect.applyTransform(transform);
    }
    return [rect.x, rect.y, rect.width, rect.height];
  }
  function component(main) {
    const view = chart.getViewOfComponentModel(model.getComponent(main));
    view.group.updateTransform();
    return box(view.group.getBoundingRect(), view.group.transform);
  }
  const texts = [];
  chart.getZr().storage.getDisplayList().forEach(function (element) {
    if (element.style && element.style.text) {
      texts.push([element.style.text].concat(
          box(element.getBoundingRect(), element.transform)));
    }
  });
  return {legend: component('legend'), xAxis: component('xAxis'),
    texts: texts};
}"""
GREEN = 'rgb(7, 193, 96)'


def overlap(a, b):
    "Tell if the boxes (x, y, width, height) a and b overlap"
    return (a[0] < b[0] + b[2] and b[0] < a[0] + a[2]
        and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])


def number(value):
    "The text of a number however many decimals the page shows"
    return re.compile(r'^%d(\.0+)?$' % value)


def transfer_screenshot():
    "A PNG like a bank app's screenshot of the transfer"
    image = Image.new('RGB', (390, 700), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 80, 370, 300), fill=(255, 255, 255))
    draw.text((40, 100), "Transfer OK  34.18 CNY", fill=(0, 0, 0))
    draw.text((40, 140), "Ref TX-BROWSER-0001", fill=(0, 0, 0))
    data = io.BytesIO()
    image.save(data, 'PNG')
    return data.getvalue()


def meter_photo():
    "A real photo of a meter, or a JPEG made for the test without one"
    if os.path.exists(PHOTO):
        with open(PHOTO, 'rb') as fp:
            return fp.read()
    image = Image.new('RGB', (640, 480), (30, 30, 30))
    ImageDraw.Draw(image).text((200, 220), "000250", fill=(255, 255, 255))
    data = io.BytesIO()
    image.save(data, 'JPEG')
    return data.getvalue()


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_wechat', 'meter_billing']


class WeChatPhoneTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'wechat'

    @classmethod
    def setUpClass(cls):
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET).start()
        cls.api.templates = {TEMPLATE_BINDING}
        cls.api.subscribe(RESIDENT)
        cls.server = Server(
            MODULES, name='browser_wechat',
            setup=SETUP, env={
                'TRYTOND_WECHAT__APPID': APPID,
                'TRYTOND_WECHAT__SECRET': SECRET,
                'TRYTOND_WECHAT__TOKEN': 'browserToken',
                'TRYTOND_WECHAT__API_BASE_URL': cls.api.url,
                'TRYTOND_WECHAT__OAUTH_BASE_URL': cls.api.url + 'connect/',
                'TRYTOND_WECHAT__TEMPLATE_BINDING': TEMPLATE_BINDING,
                'TRYTOND_WECHAT__DEV_LOGIN': 'True',
                'TRYTOND_WECHAT__SMS_PROVIDER': 'log',
                # The log provider writes the SMS codes at INFO
                'TRYTOND_LOGGING_LEVEL': '20',
                })
        try:
            cls.server.start()
            cls.playwright = sync_playwright().start()
            cls.browser = launch_browser(cls.playwright)
        except Exception:
            cls.server.stop()
            cls.api.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.server.stop()
        cls.api.stop()

    def stand_in(self, route, url, user_agent):
        "WeChat's JS-SDK, inside WeChat only"
        if url == JWEIXIN and 'MicroMessenger' in user_agent:
            route.fulfill(
                body=WX_STAND_IN, content_type='application/javascript')
            return True
        return False

    def sms_code(self, phone):
        "The last code the log provider wrote for phone"
        codes = re.findall(
            r"SMS to %s with [^:]*: \{[^}]*'code': '(\d+)'" % phone,
            self.server.read_log(tail=None))
        self.assertTrue(codes, "no SMS code in the log")
        return codes[-1]

    def rpc(self, login, method, *params):
        "Call the server as the staff user, as the web client does"
        def call(method, params, session=None):
            request = urllib.request.Request(
                f'{self.server.url}{self.server.name}/rpc/',
                data=json.dumps({
                        'id': 1, 'method': method, 'params': params,
                        }).encode(),
                headers={'Content-Type': 'application/json'})
            if session:
                request.add_header('Authorization', 'Session ' + session)
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
            self.assertNotIn('error', answer, answer.get('error'))
            return answer['result']
        # The first call may meet the server still loading its pool
        for attempt in range(3):
            try:
                user_id, key, *_ = call('common.db.login',
                    [login, {'password': STAFF_PASSWORD}, 'zh_CN'])
                break
            except urllib.error.HTTPError as error:
                if error.code < 500 or attempt == 2:
                    raise
        session = base64.b64encode(
            f'{login}:{user_id}:{key}'.encode()).decode()
        try:
            return call(method, list(params) + [{}], session)
        finally:
            call('common.db.logout', [], session)

    def check_chart_layout(self, page):
        "No text of the usage chart over another, the legend off the axis"
        boxes = page.evaluate(CHART_BOXES)
        self.assertFalse(overlap(boxes['legend'], boxes['xAxis']), boxes)
        texts = boxes['texts']
        self.assertIn('用量', [t[0] for t in texts])
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                self.assertFalse(overlap(a[1:], b[1:]), (a, b))

    def check_uploader(self, page, name, chosen, file_name):
        """The photo field is WeUI's uploader in Chinese: the browser's own
        file button stays unseen under the box, the chosen photo is shown"""
        field = page.locator('.photo-field', has=page.locator(
                f'input[type=file][name={name}]'))
        box = field.locator('.weui-uploader__input-box')
        expect(box).to_be_visible()
        self.assertGreaterEqual(box.bounding_box()['width'], 90)
        file_input = box.locator(f'input[type=file][name={name}]')
        self.assertEqual(file_input.evaluate(
                "e => getComputedStyle(e).opacity"), '0')
        expect(field.locator('.photo-status')).to_have_text(
            re.compile(r'^(请拍摄或选择照片|未选择照片)$'))
        expect(field.locator('.weui-uploader__file')).to_have_count(0)
        file_input.set_input_files(files=[{'name': file_name,
                    'mimeType': 'image/png' if file_name.endswith('.png')
                    else 'image/jpeg', 'buffer': chosen}])
        expect(field.locator('.photo-status')).to_have_text("已选择 1 张")
        expect(field.locator('.weui-uploader__file')).to_have_count(1)
        self.assertIn('blob:', field.locator('.weui-uploader__file')
            .evaluate("e => e.style.backgroundImage"))

    def test_resident_on_phone(self):
        "Register, bind, read with a photo, see the chart, pay, see it paid"
        page = self.phone(PHONE_UA)
        try:
            self._test_resident_on_phone(page)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise

    def _test_resident_on_phone(self, page):
        title = page.locator('h1.page__title')
        # Opened from a link of the official account, out of WeChat: the
        # development login, then on to the page with its query string
        self.open_first(page, self.url('bind?from=menu'),
            page.get_by_role('heading', name="开发登录（仅开发环境）"))
        expect(page).to_have_url(re.compile(
                r'/wechat/login\?next=bind%3Ffrom%3Dmenu$'))
        # Styled as the other pages, proposing the demo's bound resident
        expect(page.get_by_label("OpenID")).to_have_value('demo-resident')
        login = page.get_by_role('button', name="登录")
        self.assertEqual(login.evaluate(
                "e => getComputedStyle(e).backgroundColor"), GREEN)
        self.assertGreater(login.bounding_box()['width'], 150)
        page.get_by_label("OpenID").fill(RESIDENT)
        login.click()

        # Registration by mobile number and SMS code
        expect(title).to_have_text("手机号注册")
        expect(page.locator('.page__desc')).to_have_text(
            "请填写户号登记的手机号，我们将发送验证码。")
        page.locator('#phone').fill(PHONE)
        # The button listens once the page's script has run
        page.wait_for_load_state('load')
        page.get_by_role('button', name="获取验证码").click()
        expect(page.locator('#sms-message')).to_have_text("验证码已发送")
        expect(page.locator('#send-code')).to_have_text(
            re.compile(r'^\d+ 秒后重试$'))
        page.get_by_placeholder("6位验证码").fill(self.sms_code(PHONE))
        page.get_by_role('button', name="注册").click()

        # Back on the page the resident opened, with its query string
        expect(title).to_have_text("绑定户号")
        expect(page).to_have_url(self.url('bind?from=menu'))
        expect(page.locator('.page__desc')).to_contain_text(
            "工作人员将在一个工作日内审核")
        page.get_by_placeholder("请输入户号").fill('E20001')
        page.get_by_placeholder("户主姓名或手机后4位").fill("张三")
        page.get_by_role('button', name="提交申请").click()
        expect(title).to_have_text("我的户号")
        expect(page.locator('.notice')).to_have_text(
            "绑定申请已提交，工作人员将在一个工作日内审核，结果将通过公众号通知您。")
        binding = page.locator('.weui-cell', has_text="E20001 张三")
        expect(binding.locator('.state')).to_have_text("待审核")
        expect(binding).to_contain_text("居民 · 东校区")

        # The service desk approves the binding
        pending = self.rpc('desk', 'model.meter.wechat.binding.search',
            [('user.openid', '=', RESIDENT), ('state', '=', 'pending')])
        self.assertEqual(len(pending), 1)
        self.rpc('desk', 'model.meter.wechat.binding.approve', pending)
        page.reload()
        expect(binding.locator('.state')).to_have_text("已绑定")
        sent = [m for m in self.api.sent if m['touser'] == RESIDENT]
        self.assertEqual([m['data']['keyword1']['value'] for m in sent],
            ['E20001'])

        # Self reading with a photo of the meter
        page.goto(self.url())
        expect(title).to_have_text("水电保障中心")
        expect(page.locator('.page__desc')).to_have_text("您好，138****1234")
        page.locator('.weui-grid', has_text="自助抄表").click()
        expect(title).to_have_text("自助抄表")
        expect(page.locator('#meter option:checked')).to_have_text(
            "电表 DB-20001（户号 E20001）")
        self.assertEqual(page.locator('script[src*="res.wx.qq.com"]').count(),
            0)
        page.locator('#value').fill('200')
        expect(page.locator('#reading-warning')).to_have_text(
            "请核对表盘：读数低于上次读数（上次读数 230）。"
            "确认无误仍可提交，将由工作人员审核。")
        # Full-width digits, as a Chinese keyboard may type them, are
        # refused in Chinese, legibly
        page.locator('#value').fill('２５０')
        page.locator('input[type=file][name=photo]').set_input_files(
            files=[{'name': 'meter.jpg', 'mimeType': 'image/jpeg',
                    'buffer': meter_photo()}])
        page.get_by_role('button', name="提交读数").click()
        error = page.locator('.weui-toptips.error')
        expect(error).to_have_text(re.compile(r'^请输入正确的读数.*半角数字'))
        self.assertEqual(error.evaluate("e => getComputedStyle(e).color"),
            'rgb(255, 255, 255)')
        expect(title).to_be_in_viewport()
        page.locator('#value').fill('250')
        expect(page.locator('#reading-warning')).to_have_text('')
        self.check_uploader(page, 'photo', meter_photo(), 'meter.jpg')
        page.get_by_role('button', name="提交读数").click()
        result = page.locator('.weui-msg__title')
        expect(result).to_have_text(re.compile(r'^读数(已确认|待审核)$'))
        expect(page.locator('.weui-cell', has_text="本次读数")
            .locator('.weui-cell__ft')).to_have_text(number(250))
        expect(page.locator('.weui-cell', has_text="上次读数")
            .locator('.weui-cell__ft')).to_have_text(number(230))
        expect(page.locator('.weui-cell', has_text="本期用量")
            .locator('.weui-cell__ft')).to_have_text(number(20))
        confirmed = result.inner_text() == "读数已确认"

        # The usage of the last 12 months as an ECharts chart
        page.get_by_role('link', name="查看用量").click()
        expect(title).to_have_text("电表 DB-20001")
        expect(page.locator('.page__desc')).to_have_text(
            "户号 E20001 · 近12个月用量与缴费")
        expect(page.locator('#usage-chart canvas')).to_be_visible()
        page.wait_for_function('''() => {
            const chart = echarts.getInstanceByDom(
                document.getElementById('usage-chart'));
            return chart && chart.getOption().series[0].data.length === 12;
            }''')
        labels, values = page.evaluate('''() => {
            const option = echarts.getInstanceByDom(
                document.getElementById('usage-chart')).getOption();
            return [option.xAxis[0].data, option.series[0].data]; }''')
        self.assertEqual(len(labels), 12)
        self.assertEqual(labels[-1], page.evaluate(
                "() => new Date().toISOString().slice(0, 7)"))
        # 100 from the initial value, then 60 and 70, and this month's 20
        # once the reading is confirmed
        self.assertEqual(sorted(v for v in values[:-1] if v), [60, 70, 100])
        self.assertEqual(values[-1], 20 if confirmed else 0)
        expect(page.locator('.weui-cell', has_text=labels[values.index(60)])
            .locator('.weui-cell__ft')).to_have_text(number(60))
        # No payment yet: no payment axis running from 0 to 1 元
        series, axes = page.evaluate('''() => {
            const option = echarts.getInstanceByDom(
                document.getElementById('usage-chart')).getOption();
            return [option.series.map(s => s.name),
                option.yAxis.map(a => a.name)]; }''')
        self.assertEqual((series, axes), (['用量', '历史数据'], ['千瓦时']))
        self.check_chart_layout(page)
        # The months before the first reading come from the billing
        # system's history: bars of their own colour, tagged in the list
        history, colours = page.evaluate('''() => {
            const option = echarts.getInstanceByDom(
                document.getElementById('usage-chart')).getOption();
            return [option.series[1].data,
                option.series.map(s => s.itemStyle.color)]; }''')
        self.assertEqual(history[-7:-4], [95, 90, 80])
        self.assertEqual([v for v in history if v is not None],
            [95, 90, 80])
        self.assertEqual(values[-7:-3], [None, None, None, 100])
        self.assertNotEqual(colours[0], colours[1])
        tagged = page.locator('.weui-cell.usage-history')
        expect(tagged).to_have_count(3)
        expect(tagged.first).to_contain_text(labels[-5])
        expect(tagged.first.locator('.usage-history__tag')).to_have_text(
            "历史数据")
        expect(page.locator('.weui-cell', has_text=labels[-5])
            .locator('.weui-cell__ft')).to_have_text(number(80))
        expect(page.locator('.usage-history__note')).to_be_visible()

        # An appointment: each slot shows its places left and the chosen
        # one its mark
        page.goto(self.url())
        page.locator('.weui-grid', has_text="预约服务").click()
        expect(title).to_have_text("预约服务")
        slot = page.locator('.slots .slot').first
        left = slot.locator('.slot-left')
        expect(left).to_have_text(re.compile(r'^剩余 \d+ 个$'))
        expect(left).to_be_visible()
        self.assertEqual(left.evaluate(
                "e => getComputedStyle(e).fontSize"), '14px')
        mark = slot.locator('.weui-icon-checked')
        self.assertGreater(mark.bounding_box()['width'], 0)
        slot.click()
        expect(slot.locator('input[name=slot]')).to_be_checked()
        self.assertEqual(mark.evaluate(
                "e => getComputedStyle(e).backgroundColor"), GREEN)
        self.assertNotEqual(mark.evaluate(
                "e => getComputedStyle(e).webkitMaskImage"), 'none')
        self.check_uploader(page, 'photo', meter_photo(), 'leak.jpg')

        # The bill, paid by bank transfer with its screenshot
        page.goto(self.url())
        page.locator('.weui-grid', has_text="缴费").click()
        expect(title).to_have_text("缴费")
        expect(page.locator('.weui-cells', has_text="户名")).to_contain_text(
            "某大学水电保障中心")
        bill = page.locator('.bills-open .bill')
        expect(bill).to_have_count(1)
        expect(bill).to_contain_text("户号 E20001")
        expect(bill.locator('.weui-cell__desc')).to_contain_text("待缴费")
        expect(bill.locator('.weui-cell__ft')).to_have_text("¥34.18")
        expect(page.locator('select[name=account] option:checked')
            ).to_have_text("E20001 张三")
        page.get_by_placeholder("0.00").fill('34.18')
        page.locator('input[name=reference]').fill('TX-BROWSER-0001')
        self.check_uploader(
            page, 'screenshot', transfer_screenshot(), 'transfer.png')
        page.get_by_role('button', name="提交").click()
        expect(page.locator('.notice')).to_have_text(
            "已提交，财务人员审核后入账，审核结果请在本页查看。")
        payment = page.locator('.weui-cell', has_text="¥34.18").filter(
            has=page.locator('.weui-cell__desc', has_text="待审核"))
        expect(payment).to_have_count(1)
        # The bill says it is paid by a transfer waiting for finance
        expect(bill.locator('.transfer-waiting')).to_have_text(
            "已提交转账，待财务审核")

        # Finance confirms the transfer
        waiting = self.rpc('finance', 'model.meter.payment.search',
            [('account.number', '=', 'E20001'), ('state', '=', 'waiting')])
        self.assertEqual(len(waiting), 1)
        self.rpc('finance', 'model.meter.payment.approve', waiting)

        # The resident sees the bill paid and the receipt
        page.reload()
        expect(page.locator('.bills-open')).to_have_count(0)
        paid = page.locator('.bills-paid .bill')
        expect(paid).to_have_count(1)
        expect(paid).to_contain_text("户号 E20001")
        expect(paid.locator('.state-paid')).to_have_text("已缴清")
        expect(paid.locator('.weui-cell__ft')).to_have_text("¥34.18")
        receipt = page.locator('.weui-cell', has_text="¥34.18").filter(
            has=page.locator('.weui-cell__desc', has_text="已入账"))
        expect(receipt.locator('.weui-cell__desc')).to_have_text(
            re.compile(r'^已入账 · 收据 \S+$'))

        # The payment beside the usage, on its own axis in 元
        page.goto(self.url())
        page.locator('.weui-grid', has_text="用量查询").click()
        page.locator('.weui-cell_access', has_text="DB-20001").click()
        expect(title).to_have_text("电表 DB-20001")
        expect(page.locator('#usage-chart canvas')).to_be_visible()
        page.wait_for_function('''() => {
            const chart = echarts.getInstanceByDom(
                document.getElementById('usage-chart'));
            return chart && chart.getOption().series.length === 3;
            }''')
        payments, axes = page.evaluate('''() => {
            const option = echarts.getInstanceByDom(
                document.getElementById('usage-chart')).getOption();
            return [option.series[2].data, option.yAxis.map(a => a.name)];
            }''')
        self.assertEqual(payments[-1], 34.18)
        self.assertEqual(axes, ['千瓦时', '元'])
        self.check_chart_layout(page)
        self.assertEqual(self.outside, [])
        self.assertEqual(self.errors, [])

    def test_photo_in_wechat(self):
        "In WeChat: OAuth back to the page and query, photo by the JS-SDK"
        page = self.phone(WECHAT_UA)
        try:
            self._test_photo_in_wechat(page)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise

    def _test_photo_in_wechat(self, page):
        title = page.locator('h1.page__title')
        meter, = self.rpc('desk', 'model.meter.meter.search',
            [('number', '=', 'DB-20002')])
        photo = meter_photo()
        self.api.add_media('media-phone-0001', photo)
        self.api.authorizing = WECHAT_RESIDENT
        # From the menu of the official account, through WeChat's OAuth
        # (the fake) and back on the page with its query string
        target = self.url(f'reading?meter={meter}&from=menu')
        self.open_first(page, target, title)
        expect(title).to_have_text("自助抄表")
        # The browser keeps the fragment of the authorize URL through the
        # redirections: the signature must do without it
        expect(page).to_have_url(re.compile(
                '^' + re.escape(target) + '(#wechat_redirect)?$'))
        self.assertTrue(self.api.calls_to('/connect/oauth2/authorize'))
        expect(page.locator('#meter option:checked')).to_have_text(
            "电表 DB-20002（户号 E20002）")

        # wx.config signed by the server for this very address
        page.wait_for_function(
            "() => wx.calls.some(c => c[0] === 'config')")
        config = page.evaluate(
            "() => wx.calls.find(c => c[0] === 'config')[1]")
        self.assertEqual(config['appId'], APPID)
        self.assertEqual(config['jsApiList'], ['chooseImage', 'uploadImage'])
        self.assertEqual(config['signature'], jsapi_signature(
                self.api.tickets[-1], config['nonceStr'],
                config['timestamp'], page.url))
        photo_input = page.locator('input[type=file][name=photo]')
        expect(photo_input).to_be_hidden()
        page.get_by_role('button', name="拍照或选择照片").click()
        expect(page.locator('.photo-status')).to_have_text("照片已上传")
        expect(page.locator('.weui-uploader__file.photo-uploaded')
            ).to_have_count(1)
        expect(page.locator('input[name=media_id]')).to_have_value(
            'media-phone-0001')
        page.locator('#value').fill('61')
        page.get_by_role('button', name="提交读数").click()
        expect(page.locator('.weui-msg__title')).to_have_text(
            re.compile(r'^读数(已确认|待审核)$'))
        expect(page.locator('.weui-cell', has_text="本次读数")
            .locator('.weui-cell__ft')).to_have_text(number(61))
        expect(page.locator('.weui-cell', has_text="本期用量")
            .locator('.weui-cell__ft')).to_have_text(number(11))
        downloads = self.api.calls_to('/cgi-bin/media/get')
        self.assertEqual([c['args']['media_id'] for c in downloads],
            ['media-phone-0001'])
        self.assertEqual(self.outside, [])
        self.assertEqual(self.errors, [])
