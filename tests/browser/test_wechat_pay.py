"""A resident pays a bill online on a phone, through the fake UnionPay.

A real trytond serves the resident pages to Debian's Chromium; the
campus's payment gateway is the local fake of UnionPay's online payment,
which signs with keys and certificates made for the test.  The resident
opens the bill's electronic notice, pays it at the fake's cashier, comes
back to the result page and sees the bill paid; finance finds the
payment and the order with its log through JSON-RPC, as sao shows them.
Finance reconciles each gateway's statement of the day in sao.  Nothing
leaves the loopback.
"""
import base64
import datetime as dt
import json
import re
import unittest
import urllib.request
from decimal import Decimal

from playwright.sync_api import expect, sync_playwright

from ..fakes.unionpay import FakeUnionPay, unionpay
from ..fakes.wechat_api import FakeWeChatApi
from ..fakes.wechat_pay import FakeWeChatPay
from .phone import PhoneMixin
from .sao import open_menu, settle
from .server import Server, launch_browser, sao_login

RESIDENT = 'o-pay-resident'
WECHAT_RESIDENT = 'o-pay-wechat-resident'
APPID = 'wxpay0123456789ab'
SECRET = 'pay-browser-secret-0123'
JWEIXIN = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'
WECHAT_UA_SUFFIX = (
    ' XWEB/1260117 MMWEBSDK/20240501 MicroMessenger/8.0.50.2701(0x28003255)'
    ' WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64')
# WeChat's JS-SDK as the WeChat client gives it: chooseWXPay only runs
# there, so the stand-in keeps the options until the test has paid at the
# fake WeChat Pay, then answers success as WeChat does
WX_STAND_IN = """
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
    chooseWXPay: function (options) {
      this.calls.push(['chooseWXPay', options]);
      window.wxPayOptions = options;
    }
  };
}());
"""
STAFF_PASSWORD = 'staff-pay-2024'
PHONE_UA = (
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 '
    '(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36')

SETUP = """
import datetime as dt
import json
from decimal import Decimal
Campus = pool.get('meter.campus')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
Period = pool.get('meter.billing.period')
Bill = pool.get('meter.bill')
Gateway = pool.get('meter.payment.gateway')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
WeChatUser = pool.get('meter.wechat.user')
Binding = pool.get('meter.wechat.binding')
pki = json.loads(PKI)
gateway, = Gateway.create([{
            'name': "银联", 'provider': 'unionpay', 'merchant': MERCHANT,
            'url': GATEWAY_URL, 'server_url': SERVER_URL,
            'private_key': pki['merchant_key'],
            'certificate': pki['merchant_cert'],
            'authority_certificate': pki['authority_cert'],
            }])
campus = Campus(code='E', name="东校区", phone='010-62780000',
    payment_gateway=gateway)
campus.save()
account = Account(number='E30001', name="张三", category='resident',
    phone='13800001234', campus=campus)
account.save()
meter = Meter(number='DB-30001', kind='electricity', account=account,
    campus=campus, digits=6, decimals=0, multiplier=Decimal(1),
    initial_value=Decimal(0), reading_method='self')
meter.save()
today = dt.date.today()
end = today.replace(day=1) - dt.timedelta(days=1)
period = Period(name='pay-' + end.strftime('%Y-%m'),
    start_date=end.replace(day=1), end_date=end,
    due_date=today + dt.timedelta(days=20))
period.save()
bill, = Bill.create([{
            'account': account.id, 'campus': campus.id,
            'category': 'resident', 'period': period.id,
            'start_date': period.start_date, 'end_date': period.end_date,
            'due_date': period.due_date,
            'meters': [('create', [{
                            'meter': meter.id, 'kind': 'electricity',
                            'previous_value': Decimal(160),
                            'value': Decimal(230),
                            'multiplier': Decimal(1),
                            'usage': Decimal(70)}])],
            'lines': [('create', [{
                            'sequence': 1, 'kind': 'electricity',
                            'type': 'usage', 'name': "电费",
                            'quantity': Decimal(70),
                            'unit_price': Decimal('0.4883'),
                            'amount': Decimal('34.18')}])],
            }])
Bill.post([bill])
user = WeChatUser(openid=RESIDENT, phone='13800001234')
user.save()
binding = Binding(user=user, account=account, verification="张三")
binding.save()
Binding.approve([binding])
wechat_gateway, = Gateway.create([{
            'name': "微信支付", 'provider': 'wechat', 'merchant': WX_MCH,
            'appid': WX_APPID, 'api_key': WX_KEY, 'url': WX_URL,
            'server_url': SERVER_URL,
            }])
west = Campus(code='W', name="西校区", payment_gateway=wechat_gateway)
west.save()
west_account = Account(number='W30002', name="李四", category='resident',
    phone='13900005678', campus=west)
west_account.save()
west_meter = Meter(number='SB-30002', kind='water', account=west_account,
    campus=west, digits=5, decimals=0, multiplier=Decimal(1),
    initial_value=Decimal(0), reading_method='self')
west_meter.save()
west_bill, = Bill.create([{
            'account': west_account.id, 'campus': west.id,
            'category': 'resident', 'period': period.id,
            'start_date': period.start_date, 'end_date': period.end_date,
            'due_date': period.due_date,
            'lines': [('create', [{
                            'sequence': 1, 'kind': 'water',
                            'type': 'usage', 'name': "水费",
                            'quantity': Decimal(5),
                            'unit_price': Decimal('4.20'),
                            'amount': Decimal('21.00')}])],
            }])
Bill.post([west_bill])
west_user = WeChatUser(openid=WECHAT_RESIDENT, phone='13900005678')
west_user.save()
west_binding = Binding(user=west_user, account=west_account,
    verification="李四")
west_binding.save()
Binding.approve([west_binding])
Reconciliation = pool.get('meter.payment.reconciliation')
Reconciliation.create([
        {'gateway': gateway.id, 'date': today},
        # A day WeChat Pay saw no payment of
        {'gateway': wechat_gateway.id, 'date': today - dt.timedelta(days=2)},
        ])
zh, = pool.get('ir.lang').search([('code', '=', 'zh_CN')])
User.create([{
            'login': 'finance', 'name': "财务", 'password': STAFF_PASSWORD,
            'language': zh.id,
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_finance')])],
            'meter_campuses': [('add', [campus.id])],
            }])
"""


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_wechat', 'meter_billing']


class WeChatPayTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'wechat'

    @classmethod
    def setUpClass(cls):
        cls.unionpay = FakeUnionPay().start()
        cls.wechat_pay = FakeWeChatPay(appid=APPID).start()
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET).start()
        cls.server = Server(MODULES,
            name='browser_wechat_pay', env={
                'TRYTOND_WECHAT__DEV_LOGIN': 'True',
                # The gateway's page sends the browser back with a form
                'TRYTOND_WEB__CORS': cls.unionpay.url.rstrip('/'),
                'TRYTOND_WECHAT__APPID': APPID,
                'TRYTOND_WECHAT__SECRET': SECRET,
                'TRYTOND_WECHAT__API_BASE_URL': cls.api.url,
                'TRYTOND_WECHAT__OAUTH_BASE_URL': cls.api.url + 'connect/',
                })
        cls.server.setup = SETUP.replace(
            'PKI', repr(json.dumps(cls.unionpay.pki))).replace(
            'MERCHANT', repr(cls.unionpay.mer_id)).replace(
            'GATEWAY_URL', repr(cls.unionpay.url)).replace(
            'SERVER_URL', repr(cls.server.url)).replace(
            'STAFF_PASSWORD', repr(STAFF_PASSWORD)).replace(
            'WECHAT_RESIDENT', repr(WECHAT_RESIDENT)).replace(
            'RESIDENT', repr(RESIDENT)).replace(
            'WX_MCH', repr(cls.wechat_pay.mch_id)).replace(
            'WX_APPID', repr(APPID)).replace(
            'WX_KEY', repr(cls.wechat_pay.api_key)).replace(
            'WX_URL', repr(cls.wechat_pay.url))
        try:
            cls.server.start()
            cls.playwright = sync_playwright().start()
            cls.browser = launch_browser(cls.playwright)
        except Exception:
            cls.server.stop()
            cls.unionpay.stop()
            cls.wechat_pay.stop()
            cls.api.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.server.stop()
        cls.unionpay.stop()
        cls.wechat_pay.stop()
        cls.api.stop()

    def stand_in(self, route, url, user_agent):
        "WeChat's JS-SDK, inside WeChat only"
        if url == JWEIXIN and 'MicroMessenger' in user_agent:
            route.fulfill(
                body=WX_STAND_IN, content_type='application/javascript')
            return True
        return False

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
        user_id, key, *_ = call('common.db.login',
            [login, {'password': STAFF_PASSWORD}, 'zh_CN'])
        session = base64.b64encode(
            f'{login}:{user_id}:{key}'.encode()).decode()
        try:
            return call(method, list(params) + [{}], session)
        finally:
            call('common.db.logout', [], session)

    def test_pay_online(self):
        "Open the notice, pay at the gateway, see the bill paid"
        page = self.phone(PHONE_UA)
        try:
            self._test_pay_online(page)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise

    def _test_pay_online(self, page):
        title = page.locator('h1.page__title')
        self.open_first(page, self.url('pay'),
            page.get_by_role('heading', name="开发登录（仅开发环境）"))
        page.get_by_label("OpenID").fill(RESIDENT)
        page.get_by_role('button', name="登录").click()
        expect(title).to_have_text("缴费")

        # The open bill, offered for paying online right here, checked
        bill = page.locator('.bills-open .bill')
        expect(bill).to_have_count(1)
        expect(bill.locator('input[name=bill]')).to_be_checked()
        expect(bill.locator('.weui-cell__ft')).to_have_text('¥34.18')
        pay_bills = page.locator('.pay-online-bills')
        expect(pay_bills).to_have_text('在线支付 ¥34.18')
        # The bill opens as its electronic notice
        page.locator('.bills-open .bill-notice').click()
        expect(title).to_have_text("缴款通知单")
        expect(page.locator('.bill-account')).to_have_text('E30001')
        meter = page.locator('.bill-meter')
        expect(meter.locator('.previous')).to_have_text('160')
        expect(meter.locator('.current')).to_have_text('230')
        expect(meter.locator('.usage')).to_have_text('70')
        expect(page.locator('.bill-amount')).to_have_text('¥34.18')
        expect(page.locator('.bill-amount-words')).to_have_text(
            "叁拾肆元壹角捌分")
        with page.expect_download() as download:
            page.locator('.notice-pdf').click()
        with open(download.value.path(), 'rb') as fp:
            self.assertEqual(fp.read(4), b'%PDF')

        # Online payment of the bill, checked by default
        page.locator('.pay-online').click()
        expect(title).to_have_text("在线缴费")
        box = page.locator('.bills-online input[name=bill]')
        expect(box).to_be_checked()
        expect(page.locator('#online-total')).to_have_text('¥34.18')
        page.locator('.bills-online .weui-check__label').click()
        expect(page.locator('#online-total')).to_have_text('¥0.00')
        expect(page.locator('#online-pay')).to_be_disabled()
        page.locator('.bills-online .weui-check__label').click()
        expect(page.locator('#online-total')).to_have_text('¥34.18')
        expect(page.locator('#online-pay')).to_be_enabled()

        # Back on the pay page, the bills chosen are paid from there: the
        # button is on the phone's screen, its total follows the choice
        page.locator('.weui-btn', has_text="返回缴费").click()
        expect(title).to_have_text("缴费")
        box = page.locator('.bills-open input[name=bill]')
        expect(box).to_be_checked()
        pay_bills.scroll_into_view_if_needed()
        expect(pay_bills).to_be_in_viewport()
        width = pay_bills.bounding_box()['width']
        self.assertTrue(0 < width <= 390, width)
        page.locator('.bills-open .bill .weui-cell__ft').click()
        expect(box).not_to_be_checked()
        expect(pay_bills).to_have_text('在线支付 ¥0.00')
        expect(pay_bills).to_be_disabled()
        page.locator('.bills-open .bill .weui-cell__ft').click()
        expect(pay_bills).to_have_text('在线支付 ¥34.18')
        pay_bills.click()

        # The fake gateway's cashier
        expect(page.get_by_role('heading', name="银联在线支付（测试网关）")
            ).to_be_visible()
        expect(page.locator('.amount')).to_have_text('¥34.18')
        page.get_by_role('button', name="确认支付").click()

        # Back on the result page: the gateway's notification posted it
        expect(page.locator('.pay-result')).to_have_text("缴费成功")
        receipt = page.locator('.receipt').inner_text()
        self.assertTrue(receipt)
        self.assertEqual([status for _, _, status in
                self.unionpay.notifications], [200])
        page.locator('.weui-btn', has_text="返回缴费").click()
        expect(page.locator('.bills-open')).to_have_count(0)
        expect(page.locator('.bills-paid .state-paid')).to_have_text(
            "已缴清")
        self.assertEqual(self.outside, [])
        self.assertEqual(self.errors, [])

        # A second notification of the same payment posts nothing more
        number, = self.unionpay.orders
        self.assertEqual(self.unionpay.notify(number), 200)

        # Finance sees the payment, its order and the gateway's log
        payments = self.rpc('finance', 'model.meter.payment.search_read',
            [('method', '=', 'online')], 0, None, None,
            ['amount', 'state', 'receipt_number', 'online_order'])
        self.assertEqual(len(payments), 1)
        payment, = payments
        self.assertEqual((str(payment['amount']['decimal'] if isinstance(
                        payment['amount'], dict) else payment['amount']),
                payment['state'], payment['receipt_number']),
            ('34.18', 'posted', receipt))
        events = self.rpc('finance',
            'model.meter.payment.gateway.event.search_read',
            [('order', '=', payment['online_order'])], 0, None,
            [('id', 'ASC')], ['outcome', 'kind'])
        self.assertEqual([(e['kind'], e['outcome']) for e in events],
            [('notification', 'posted'), ('notification', 'duplicate')])
        # The page that asked nothing of the browser's return: a result
        # page opened again still says paid
        page.goto(self.url('pay/result?order=' + number))
        expect(page.locator('.pay-result')).to_have_text("缴费成功")
        self.assertTrue(re.fullmatch(r'\S+', receipt))

    def test_wechat_pay(self):
        "Inside WeChat: chooseWXPay (stubbed), then the bill is paid"
        page = self.phone(PHONE_UA + WECHAT_UA_SUFFIX)
        try:
            self._test_wechat_pay(page)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise

    def _test_wechat_pay(self, page):
        title = page.locator('h1.page__title')
        # Opened in WeChat: the OAuth code of the fake API logs in
        self.api.authorizing = WECHAT_RESIDENT
        self.open_first(page, self.url('pay/online'), title)
        expect(title).to_have_text("在线缴费")
        expect(page.locator('#online-total')).to_have_text('¥21.00')
        page.locator('#online-pay').click()
        expect(title).to_have_text("微信支付")
        page.wait_for_function('window.wxPayOptions !== undefined')
        options = page.evaluate('window.wxPayOptions')
        number = page.locator('.order-number').inner_text()
        placed = self.wechat_pay.orders[number]
        self.assertEqual((placed['total_fee'], placed['openid']),
            ('2100', WECHAT_RESIDENT))
        self.assertEqual(options['package'],
            'prepay_id=' + placed['prepay_id'])
        # WeChat took the money; its notification reaches the server
        self.wechat_pay.pay(number)
        (_, _, (status, answer)), = self.wechat_pay.notifications
        self.assertEqual(status, 200)
        self.assertIn('SUCCESS', answer)
        page.evaluate('window.wxPayOptions.success({})')
        expect(page.locator('.pay-result')).to_have_text("缴费成功")
        self.assertEqual(self.outside, [])
        self.assertEqual(self.errors, [])

    def test_sao_reconciliation(self):
        """Finance downloads the day's statement of each gateway in sao
        and reconciles it: UnionPay's archive lists what it has that was
        not posted; WeChat Pay's day without bill reconciles empty"""
        sao = self.browser.new_page(
            viewport={'width': 1400, 'height': 900}, locale='zh-CN')
        self.addCleanup(sao.close)
        errors = []
        sao.on('pageerror', lambda e: errors.append(str(e)))
        self.unionpay.extra_statement_lines = [unionpay.StatementLine(
                'SAOUNKNOWN0001', 'Q-SAO-0001', Decimal('12.00'),
                dt.datetime.now().strftime('%Y%m%d%H%M%S'))]
        try:
            self._test_sao_reconciliation(sao)
        except Exception:
            sao.screenshot(path=self.screenshot.replace('.png', '-sao.png'),
                full_page=True)
            raise
        finally:
            self.unionpay.extra_statement_lines = []
        self.assertEqual(errors, [])

    def _test_sao_reconciliation(self, sao):
        sao_login(sao, self.server.url, self.server.name, 'finance',
            STAFF_PASSWORD)
        expect(sao.locator('.treeview')).to_contain_text("收费管理")
        tab = sao.locator('#tabcontent > .tab-pane.active')
        for gateway, check in [
                ("银联", self._check_unionpay_statement),
                ("微信支付", self._check_no_bill)]:
            open_menu(sao, "收费管理", "缴费记录", "网关对账")
            tab.locator('.treeview tbody tr', has_text=gateway).dblclick()
            state = tab.locator('select[name="state"]')
            expect(state).to_have_value('"draft"')
            tab.get_by_role('button', name="下载对账单").click()
            settle(sao)
            check(sao, tab, before=True)
            tab.get_by_role('button', name="对账", exact=True).click()
            expect(state).to_have_value('"done"')
            check(sao, tab, before=False)
        # The gateway's form with where UnionPay's statements come from
        open_menu(sao, "收费管理", "收费配置", "支付网关")
        tab.locator('.treeview tbody tr', has_text="银联").dblclick()
        expect(tab.locator('input[name="statement_url"]:visible')
            ).to_be_visible()
        expect(tab.locator('label', has_text="对账文件下载地址")
            ).to_be_visible()

    def _check_unionpay_statement(self, sao, tab, before):
        if before:
            return
        line = tab.locator('.treeview tbody tr', has_text='SAOUNKNOWN0001')
        expect(line).to_contain_text("未入账")
        expect(line).to_contain_text("Q-SAO-0001")
        expect(line).to_contain_text("12.00")

    def _check_no_bill(self, sao, tab, before):
        note = tab.locator('input[name="note"]:visible')
        expect(note).to_have_value(re.compile(
                r'^微信支付 没有 .+ 的对账单：当天没有交易。$'))
        if not before:
            expect(tab.locator('.treeview tbody tr', has_text='¥')
                ).to_have_count(0)
            expect(tab.locator('input[name="differences"]:visible')
                ).to_have_value('0')
