"""A member of the field staff on a phone, in Chinese.

A real trytond serves the field pages of meter_field to Debian's Chromium
in a phone-sized viewport with a phone's user agent, driven by
Playwright.  The demo's field user of the east campus (`field` /
`field-demo`) logs in, finds a meter by a code typed as a barcode scanner
types it (the stubbed scan), reads it with a real photo of a meter, is
warned of the anomaly before submitting, submits and sees the result; the
reading is then read back through JSON-RPC as the web client reads it.
A meter of the west campus is not found.  Inside WeChat (a stubbed
JS-SDK) the scanner opens a card and 故障上报 takes two photos at once.
No request may leave the loopback.
"""
import base64
import datetime as dt
import json
import re
import unittest
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

from ..fakes.wechat_api import FakeWeChatApi
from .phone import PhoneMixin
from .server import Server, launch_browser
from .test_field_onsite import real_photos
from .test_wechat_phone import JWEIXIN, PHONE_UA, WECHAT_UA, meter_photo

LOGIN, PASSWORD = 'field', 'field-demo'
APPID, SECRET = 'wx0f1e2d3c4b5a6978', 'field-browser-secret'
STAFF_OPENID = 'oFieldStaffPhone01'
# WeChat's JS-SDK as the WeChat client gives it: its scanner reads the
# east meter's barcode
WX_SCANNER = """
window.wx = (function () {
  var ready = [];
  return {
    calls: [],
    config: function (options) {
      this.calls.push(['config', options]);
      setTimeout(function () { ready.forEach(function (f) { f(); }); }, 0);
    },
    ready: function (callback) { ready.push(callback); },
    error: function () {},
    scanQRCode: function (options) {
      this.calls.push(['scanQRCode', options]);
      setTimeout(function () {
        options.success({resultStr: 'CODE_128,6900000000071'});
      }, 0);
    }
  };
}());
"""

# WeChat's JS-SDK taking two photos at once with chooseImage, each
# uploaded to WeChat (uploadImage) as the media the fake API serves
WX_PHOTOS = """
window.wx = (function () {
  var ready = [];
  var uploaded = 0;
  /* A local id is an address the page shows the photo from */
  var pixel = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
  return {
    calls: [],
    config: function (options) {
      this.calls.push(['config', options]);
      setTimeout(function () { ready.forEach(function (f) { f(); }); }, 0);
    },
    ready: function (callback) { ready.push(callback); },
    error: function () {},
    chooseImage: function (options) {
      this.calls.push(['chooseImage', options]);
      setTimeout(function () {
        options.success({localIds: [pixel + '#1', pixel + '#2']});
      }, 0);
    },
    uploadImage: function (options) {
      this.calls.push(['uploadImage', options]);
      setTimeout(function () {
        options.success({serverId: 'fault-' + (++uploaded)});
      }, 0);
    }
  };
}());
"""


def barcode_image(code):
    "A PNG of code as a Code 128 barcode, as the labels print it"
    import io
    import barcode
    from barcode.writer import ImageWriter
    data = io.BytesIO()
    barcode.get('code128', code, writer=ImageWriter()).write(data,
        options={'module_width': 0.4, 'module_height': 18,
            'quiet_zone': 6})
    return data.getvalue()

SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
Reading = pool.get('meter.reading')
Configuration = pool.get('meter.configuration')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
if 'ocr' in Configuration._fields:
    # Reading the counter is meter_base's to test, and slow on 2 cores
    Configuration.write([Configuration(1)], {'ocr': False})
east = Campus(code='E', name="东校区")
east.save()
west = Campus(code='W', name="西校区")
west.save()
now = dt.datetime.now()
for campus, number, barcode in [
        (east, 'E00007', '6900000000071'), (west, 'W00008', '6900000000088')]:
    account = Account(number='A' + number, name="住户" + number,
        category='resident', campus=campus)
    account.save()
    meter = Meter(number=number, barcode=barcode, kind='water',
        account=account, campus=campus, digits=6, decimals=0,
        multiplier=Decimal(1), initial_value=Decimal(0),
        reading_method='self')
    meter.save()
    Reading.create([{'meter': meter.id, 'value': Decimal(v),
                'source': 'field', 'taken_at': now - dt.timedelta(days=d)}
            for v, d in [(120, 60), (150, 30)]])
# Never read: on today's list whatever the day
Meter(number='E00009', kind='electricity', campus=east,
    digits=6, decimals=0, multiplier=Decimal(1), initial_value=Decimal(0),
    reading_method='manual').save()
Period = pool.get('meter.billing.period')
Bill = pool.get('meter.bill')
today = dt.date.today()
period, = Period.create([{'name': "上月",
            'start_date': today.replace(day=1) - dt.timedelta(days=25),
            'end_date': today.replace(day=1) - dt.timedelta(days=1)}])
for account in Account.search([]):
    Bill.create([{'number': 'B' + account.number, 'account': account.id,
                'campus': account.campus.id, 'category': 'resident',
                'billing_mode': 'postpaid', 'period': period.id,
                'start_date': period.start_date, 'end_date': period.end_date,
                'amount': Decimal('45.60'), 'paid_amount': Decimal(0),
                'state': 'posted'}])
User.create([{
            'login': 'LOGIN', 'name': "外线人员 (东校区)",
            'password': 'PASSWORD',
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_field_staff')])],
            'meter_campuses': [('add', [east.id])],
            }])
""".replace('LOGIN', LOGIN).replace('PASSWORD', PASSWORD)


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class FieldPhoneTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET).start()
        cls.server = Server(MODULES, name='browser_field',
            setup=SETUP, env={
                'TRYTOND_WECHAT__APPID': APPID,
                'TRYTOND_WECHAT__SECRET': SECRET,
                'TRYTOND_WECHAT__API_BASE_URL': cls.api.url,
                'TRYTOND_WECHAT__OAUTH_BASE_URL': cls.api.url + 'connect/',
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
            route.fulfill(body=getattr(self, 'jssdk', WX_SCANNER),
                content_type='application/javascript')
            return True
        return False

    def rpc(self, method, *params):
        "Call the server as the field user, as the web client does"
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
        user_id, key, *_ = call(
            'common.db.login', [LOGIN, {'password': PASSWORD}, 'zh_CN'])
        session = base64.b64encode(
            f'{LOGIN}:{user_id}:{key}'.encode()).decode()
        try:
            return call(method, list(params) + [{}], session)
        finally:
            call('common.db.logout', [], session)

    def log_in(self, page):
        self.open_first(page, self.url(), page.locator('#login'))
        page.locator('#login').fill(LOGIN)
        page.locator('#password').fill(PASSWORD)
        page.get_by_role('button', name="登录").click()
        expect(page.locator('.page__title')).to_have_text("业务中心")

    def test_today_scan_usage_profile(self):
        """Today's work, a stubbed scan, the card's chart and bills,
        用能查询 with its Excel, 个人信息"""
        page = self.phone(PHONE_UA)
        # The camera's photo holds the east meter's barcode: the
        # browser's BarcodeDetector answers it
        page.add_init_script("""
            window.BarcodeDetector = class {
                constructor(options) { this.options = options; }
                detect(image) {
                    return Promise.resolve([{rawValue: '6900000000071'}]);
                }
            };""")
        # The home page's script is held back, as on a slow network, and
        # the first completion request fails
        held, failed = [], []
        page.route('**/static/field.js', lambda route: held.append(route))

        def busy(route):
            if failed:
                route.continue_()
            else:
                failed.append(route.request.url)
                route.fulfill(status=503, body='busy')
        page.route('**/find?*', busy)
        try:
            self.log_in(page)
            # Today's work: the east meter is still to read this month
            expect(page.locator('#unread')).to_contain_text('待抄表计')
            expect(page.locator('.unread')).to_contain_text('E00009')
            expect(page.locator('.unread')).not_to_contain_text('W00008')
            # Typing a part of a number proposes the campus's meters,
            # also when typed before the page's script has run
            page.locator('#code').press_sequentially('E0000')
            for _ in range(100):
                if held:
                    break
                page.wait_for_timeout(100)
            held.pop().continue_()
            page.unroute('**/static/field.js')
            expect(page.locator('#codes option[value="E00007"]')
                ).to_have_count(1)
            expect(page.locator('#codes option[value="W00008"]')
                ).to_have_count(0)
            self.assertEqual(len(failed), 1)
            page.unroute('**/find?*')
            page.locator('#code').fill('')
            scan = page.get_by_role('button', name="扫码")
            self.assertGreaterEqual(scan.bounding_box()['height'], 48)
            with page.expect_file_chooser() as chooser:
                scan.click()
            chooser.value.set_files(files=[{'name': 'code.jpg',
                        'mimeType': 'image/jpeg', 'buffer': meter_photo()}])
            expect(page.locator('.page__title')).to_have_text("水表 E00007")
            # The usage chart drawn by ECharts, the open bill
            expect(page.locator('#usage-chart canvas')).to_have_count(1)
            expect(page.locator('.bills')).to_contain_text('BAE00007')
            expect(page.locator('.bills')).to_contain_text('¥45.60')
            expect(page.locator('.readings')).to_contain_text('外线人员')

            # 用能查询 of the account, and its Excel
            page.get_by_role('link', name="用能查询").click()
            expect(page.locator('.usage-subject')).to_contain_text('水表 E00007')
            page.locator('#usage-account').fill('AE00007')
            page.locator('.usage-account button').click()
            expect(page.locator('.usage-subject')).to_contain_text(
                '户号 AE00007')
            expect(page.locator('.usage-chart canvas')).to_have_count(1)
            expect(page.locator('.usage-table')).to_contain_text(
                dt.date.today().strftime('%Y-%m'))
            with page.expect_download() as download:
                page.get_by_role('link', name="导出 Excel").click()
            path = download.value.path()
            self.assertTrue(download.value.suggested_filename.endswith(
                    '.xlsx'))
            with open(path, 'rb') as fp:
                self.assertEqual(fp.read(2), b'PK')
            # Another campus's account is not found
            response = page.goto(self.url('usage?account=AW00008'))
            self.assertEqual(response.status, 404)
            expect(page.locator('body')).to_contain_text('不属于您负责的校区')

            # 个人信息: a wrong mobile refused and kept, then saved
            page.goto(self.url('profile'))
            expect(page.locator('.profile-data')).to_contain_text(LOGIN)
            page.locator('#mobile').fill('12345')
            page.locator('#email').fill('field@example.edu.cn')
            page.get_by_role('button', name="保存联系方式").click()
            expect(page.locator('.error')).to_contain_text('手机号码无效')
            expect(page.locator('#email')).to_have_value(
                'field@example.edu.cn')
            page.locator('#mobile').fill('13800001234')
            page.get_by_role('button', name="保存联系方式").click()
            expect(page.locator('.done')).to_contain_text('联系方式已保存')
            expect(page.locator('#mobile')).to_have_value('13800001234')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_wechat_binding_and_scan(self):
        """Inside WeChat: the password login binds the OpenID, WeChat's
        scanner finds the meter, the next visit goes straight in"""
        self.api.authorizing = STAFF_OPENID
        page = self.phone(WECHAT_UA)
        try:
            # WeChat's authorisation first: the OpenID is no one's yet
            self.open_first(page, self.url(), page.locator('#login'))
            expect(page.locator('.field')).to_contain_text('绑定当前微信')
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")
            # The page asked WeChat for its scanner, signed for the page
            page.wait_for_function("window.wx && wx.calls.length > 0")
            config = page.evaluate("wx.calls[0][1]")
            self.assertEqual(config['appId'], APPID)
            self.assertEqual(config['jsApiList'], ['scanQRCode'])
            self.assertTrue(config['signature'])
            page.get_by_role('button', name="扫码").click()
            expect(page.locator('.page__title')).to_have_text("水表 E00007")
            # Another day, a new session: straight in
            later = self.phone(WECHAT_UA)
            later.goto(self.url('profile'))
            expect(later.locator('.wechat-state')).to_have_text('已绑定')
            # Unbound: WeChat asks for the password again
            later.get_by_role('button', name="解除微信绑定").click()
            expect(later.locator('.wechat-state')).to_have_text('未绑定')
            again = self.phone(WECHAT_UA)
            again.goto(self.url())
            expect(again.locator('#login')).to_be_visible()
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_fault_photos_in_wechat(self):
        """Inside WeChat 故障上报 takes two photos at once with
        chooseImage; both reach the work order"""
        self.api.authorizing = STAFF_OPENID
        for media_id, photo in zip(['fault-1', 'fault-2'], real_photos()):
            self.api.add_media(media_id, photo)
        self.jssdk = WX_PHOTOS
        self.addCleanup(delattr, self, 'jssdk')
        page = self.phone(WECHAT_UA)
        try:
            self.open_first(page, self.url(), page.locator('#login'))
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")
            page.get_by_role('link', name="故障上报").click()
            expect(page.locator('.page__title')).to_have_text("故障上报")
            choose = page.locator('.photo-choose')
            expect(choose).to_be_visible()
            choose.click()
            expect(page.locator('.photo-list li')).to_have_count(2)
            expect(page.locator('.photo-count')).to_have_text('2/6')
            self.assertEqual(page.evaluate(
                    "wx.calls.filter(c => c[0] === 'chooseImage')"
                    "[0][1].count"), 6)
            page.locator('#description').fill("东门泵房漏水")
            page.locator('#place').fill("东门泵房")
            page.get_by_role('button', name="提交故障").click()
            expect(page.locator('.page__title')).to_have_text("我的上报")
            order = page.locator('.fault-order').first
            expect(order).to_contain_text('东门泵房')
            expect(order).to_contain_text('照片 2 张')
            # Unbound again, as the other tests expect the WeChat free
            page.goto(self.url('profile'))
            page.get_by_role('button', name="解除微信绑定").click()
            expect(page.locator('.wechat-state')).to_have_text('未绑定')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_expired_session_keeps_typed(self):
        "A reading sent after the session expired is typed in again for them"
        page = self.phone(PHONE_UA)
        try:
            self.log_in(page)
            page.goto(self.url('m/6900000000071'))
            expect(page.locator('.page__title')).to_have_text("水表 E00007")
            # The session expires while the staff reads the meter
            page.context.clear_cookies()
            page.locator('#value').fill('777')
            page.locator('input[type=file][name=photo]').set_input_files(
                files=[{'name': 'meter.jpg', 'mimeType': 'image/jpeg',
                        'buffer': meter_photo()}])
            page.get_by_role('button', name="提交读数").click()
            expect(page.locator('.expired')).to_contain_text('登录已过期')
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("水表 E00007")
            expect(page.locator('#value')).to_have_value('777')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_scan_decoded_by_zxing(self):
        "Without BarcodeDetector the photo's barcode is read by ZXing"
        page = self.phone(PHONE_UA)
        page.add_init_script("delete window.BarcodeDetector;")
        try:
            self.log_in(page)
            for code, title in [('UNKNOWN-1', None), (
                    '6900000000071', "水表 E00007")]:
                with page.expect_file_chooser() as chooser:
                    page.get_by_role('button', name="扫码").click()
                chooser.value.set_files(files=[{'name': 'code.png',
                            'mimeType': 'image/png',
                            'buffer': barcode_image(code)}])
                if title:
                    expect(page.locator('.page__title')).to_have_text(title)
                else:
                    expect(page.locator('.error')).to_contain_text(
                        '没有编码为“UNKNOWN-1”的表计')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_read_a_meter_on_phone(self):
        "Log in, scan a meter, read it with a photo, see the warning"
        page = self.phone(PHONE_UA)
        try:
            self.open_first(page, self.url(), page.locator('#login'))
            expect(page).to_have_title("外线人员登录")
            # Big targets for gloves: the fields and the button are tall
            button = page.get_by_role('button', name="登录")
            self.assertGreaterEqual(button.bounding_box()['height'], 48)
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill('not-the-password')
            button.click()
            expect(page.locator('.weui-toptips.error')).to_have_text(
                "账号或密码错误，或账号已停用。")
            expect(page.locator('#login')).to_have_value(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")

            # A meter of the west campus is not found
            page.locator('#code').fill('6900000000088')
            page.locator('#code').press('Enter')
            expect(page.locator('.error')).to_contain_text('没有编码为')
            # The scanner types the east meter's barcode and Enter
            page.locator('#code').fill('6900000000071')
            page.locator('#code').press('Enter')
            expect(page.locator('.page__title')).to_have_text("水表 E00007")
            expect(page.locator('.meter-data')).to_contain_text('AE00007')
            expect(page.locator('.readings')).to_contain_text('150')

            # Lower than the last reading: warned before submitting
            page.locator('#value').fill('140')
            warning = page.locator('#reading-warning')
            expect(warning).to_contain_text('读数低于上次读数')
            expect(warning).to_contain_text('上次读数 150')
            # The real photo of a meter, in WeUI's uploader
            page.locator('input[type=file][name=photo]').set_input_files(
                files=[{'name': 'meter.jpg', 'mimeType': 'image/jpeg',
                        'buffer': meter_photo()}])
            expect(page.locator('.photo-status')).to_have_text("已选择 1 张")
            expect(page.locator('.weui-uploader__file')).to_have_count(1)
            page.get_by_role('button', name="提交读数").click()
            expect(page.locator('.weui-msg__title')).to_have_text(
                re.compile(r'^读数已提交'))
            expect(page.locator('.reading-value')).to_have_text(
                re.compile(r'^140(\.0+)?$'))
            expect(page.locator('.anomalies')).to_contain_text(
                '读数低于上次读数')
            page.get_by_role('link', name="返回表计").click()
            expect(page.locator('.readings')).to_contain_text('140')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

        # The reading is there for sao, of source field, by the field user
        readings = self.rpc('model.meter.reading.search_read',
            [('meter.number', '=', 'E00007'), ('source', '=', 'field'),
                ('value', '=', 140)],
            0, None, None, ['value', 'state', 'anomalies', 'reader.login',
                'photo_id'])
        self.assertEqual(len(readings), 1, readings)
        reading, = readings
        self.assertEqual(reading['state'], 'draft')
        self.assertIn('lower', reading['anomalies'])
        self.assertEqual(reading['reader.']['login'], LOGIN)
        self.assertTrue(reading['photo_id'])


if __name__ == '__main__':
    unittest.main()
