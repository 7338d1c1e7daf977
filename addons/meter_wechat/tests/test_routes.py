"""The routes of the WeChat service through the Tryton WSGI application:
the callback, the login, the registration, the bindings and the pages,
with the WeChat API served by the local fake."""
import datetime as dt
import hashlib
import html
import io
import json
import re
import time
from contextlib import redirect_stdout
from decimal import Decimal
from unittest.mock import patch
from urllib.parse import parse_qs, quote, unquote, urlsplit

from PIL import Image
from wechatpy.crypto import WeChatCrypto

from trytond import config
from trytond.modules.meter_wechat import limits, menu, routes, web
from trytond.modules.meter_wechat import reading as wechat_reading
from trytond.modules.meter_wechat.client import jsapi_signature
from trytond.modules.meter_wechat.exceptions import BindingLimitError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task

from .fakes import FakeWeChatApi
from .test_callback import SUBSCRIBE, TEXT


APPID = 'wx0123456789abcdef'
SECRET = 'app-secret-0123456789'
TOKEN = 'meterToken2024'
AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'
ACCOUNT = 'gh_0123456789ab'
TEMPLATE = 'TPL-binding-0001'
TEMPLATE_REPLY = 'TPL-reply-0001'
CSRF = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')
WX_CONFIG = re.compile(r"data-wx='([^']+)'")
IN_WECHAT = {'User-Agent': (
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) '
        'AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 '
        'MicroMessenger/8.0.50(0x1800322c) NetType/WIFI Language/zh_CN')}


FULL_WIDTH = str.maketrans('0123456789', '０１２３４５６７８９')
ARABIC_INDIC = str.maketrans('0123456789', '٠١٢٣٤٥٦٧٨٩')


def sign(*values):
    return hashlib.sha1(''.join(sorted(values)).encode()).hexdigest()


def image(kind='PNG', size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, (200, 30, 30)).save(data, kind)
    return data.getvalue()


class WeChatRouteTestCase(RouteTestCase):
    "Test the routes of the WeChat service"
    module = 'meter_wechat'
    # The pages speak the residents' language, with its translations
    language = 'zh_CN'

    @classmethod
    def setUpClass(cls):
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET)
        cls.api.start()
        cls.api.templates = {TEMPLATE, TEMPLATE_REPLY}
        try:
            super().setUpClass()
        except Exception:
            cls.api.stop()
            raise
        pool = Pool(DB_NAME)
        Configuration = pool.get('meter.configuration')
        if 'ocr' in Configuration._fields:
            # Reading the counter of the synthetic photos is slow and
            # beside the point here: meter_base tests it
            with Transaction().start(DB_NAME, 0, _lock_tables=[
                        Configuration._table]):
                Configuration.write(
                    [Configuration(1)], {'ocr': False})

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.api.stop()

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        config_ = Configuration(1)
        config_.appid = APPID
        config_.secret = SECRET
        config_.token = TOKEN
        config_.mode = 'plain'
        config_.api_base_url = cls.api.url
        config_.oauth_base_url = cls.api.url + 'connect/'
        config_.template_binding = TEMPLATE
        config_.template_work_order = TEMPLATE_REPLY
        config_.service_phone = '010-12345678'
        config_.save()
        campus = Campus(name="主校区", code='MAIN', address="水电楼101",
            hours="8:00-17:00", phone="010-62780000")
        campus.save()
        west = Campus(name="西校区", code='WEST')
        west.save()
        Location = pool.get('meter.location')
        building = Location(name="3号楼", campus=campus, kind='building')
        building.save()
        room = Location(name="201", campus=campus, parent=building,
            kind='room')
        room.save()
        accounts = {}
        for number, name, category, phone in [
                ('R001', "张三", 'resident', '13800001234'),
                ('R002', "李四", 'resident', '13800005678'),
                ('R003', "王五", 'resident', '13900009999'),
                ('R004', "赵六", 'resident', '13700001111'),
                ('U001', "物理系", 'unit', '13600002222'),
                ]:
            account = Account(number=number, name=name, category=category,
                phone=phone, campus=campus,
                location=room if number == 'R003' else None)
            account.save()
            accounts[number] = account
        for number in accounts:
            meter = Meter(number='M-' + number, kind='electricity',
                account=accounts[number], campus=campus, digits=6,
                decimals=0, multiplier=Decimal(1),
                initial_value=Decimal(0), reading_method='self')
            meter.save()
        Notice = pool.get('meter.notice')
        notices = Notice.create([
                {'title': "主校区停电", 'kind': 'power_outage',
                    'campus': campus.id, 'body': "线路检修"},
                {'title': "3号楼停水", 'kind': 'water_outage',
                    'campus': campus.id, 'location': building.id,
                    'body': "水箱清洗"},
                {'title': "西校区停水", 'kind': 'water_outage',
                    'campus': west.id, 'body': "管道维修"},
                {'title': "全校节水倡议", 'body': "请节约用水"},
                {'title': "过期通知", 'body': "已结束",
                    'end': dt.datetime(2020, 1, 1)},
                ])
        Notice.publish(notices)
        Notice.create([{'title': "草稿通知", 'body': "未发布"}])
        today = dt.date.today()
        month = dt.datetime(today.year, today.month, 1)
        meter, = Meter.search([('number', '=', 'M-U001')])
        Reading.create([{
                    'meter': meter.id, 'value': Decimal(value),
                    'source': 'field',
                    'taken_at': month - dt.timedelta(days=days)}
                for value, days in [(100, 62), (150, 31), (180, 1)]])

    def setUp(self):
        super().setUp()
        self.api.calls.clear()
        self.api.sent.clear()

    # helpers

    def url(self, page=''):
        return '/%s/wechat/%s' % (DB_NAME, page)

    def quoted_url(self, page=''):
        "The path of page as the server writes it in a Location"
        return '/%s/wechat/%s' % (quote(DB_NAME), page)

    def absolute_url(self, page=''):
        return 'http://localhost/%s/wechat/%s' % (quote(DB_NAME), page)

    def login(self, openid):
        "Return a client logged in through OAuth as openid"
        client = self.client()
        code = 'code-%s-%s' % (openid, time.monotonic_ns())
        self.api.add_code(code, openid)
        response = client.get(self.url('oauth'), query_string={
                'code': code, 'next': 'accounts', 'state': ''})
        self.assertEqual(response.status_code, 302, response.data)
        self.assertTrue(
            unquote(response.headers['Location']).endswith(
                self.url('accounts')), response.headers['Location'])
        return client

    def csrf(self, client, page):
        response = client.get(self.url(page))
        self.assertEqual(response.status_code, 200, response.data)
        return CSRF.search(response.text).group(1)

    def register(self, client, phone):
        token = self.csrf(client, 'register')
        response = client.post(self.url('sms'), data={'phone': phone},
            headers={'X-CSRF-Token': token})
        self.assertEqual(response.status_code, 200, response.text)
        code = routes._sms_providers['log'].last(phone)['params']['code']
        response = client.post(self.url('register'), data={
                'phone': phone, 'code': code, 'csrf_token': token})
        self.assertEqual(response.status_code, 302, response.text)

    def resident(self, openid, phone, *numbers):
        "Return a registered client with the accounts bound and approved"
        client = self.login(openid)
        self.register(client, phone)
        for number in numbers:
            self.bind(client, number)
        self.review(openid, 'approve')
        return client

    def bind(self, client, number, verification=None):
        token = self.csrf(client, 'bind')
        with Transaction().start(DB_NAME, 0):
            account, = Pool().get('meter.account').search(
                [('number', '=', number)])
            verification = verification or account.phone[-4:]
        return client.post(self.url('bind'), data={
                'number': number, 'verification': verification,
                'csrf_token': token})

    def review(self, openid, action, reason=None):
        "Approve or reject the pending bindings of openid as staff"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 1) as transaction:
            Binding = pool.get('meter.wechat.binding')
            bindings = Binding.search([
                    ('user.openid', '=', openid),
                    ('state', '=', 'pending'),
                    ])
            if reason:
                Binding.write(bindings, {'reject_reason': reason})
            getattr(Binding, action)(bindings)
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        for task in tasks:
            run_task(pool, task)
        return bindings

    def meter_id(self, number):
        with Transaction().start(DB_NAME, 0):
            meter, = Pool().get('meter.meter').search(
                [('number', '=', number)])
            return meter.id

    def self_readings(self, meter_id):
        "Return the number of self readings of the meter"
        with Transaction().start(DB_NAME, 0):
            return Pool().get('meter.reading').search([
                    ('meter', '=', meter_id), ('source', '=', 'self'),
                    ], count=True)

    def callback(self, body, nonce, timestamp=None, signature=None, **args):
        timestamp = timestamp or str(int(time.time()))
        query = {
            'timestamp': timestamp, 'nonce': nonce,
            'signature': signature or sign(TOKEN, timestamp, nonce),
            **args}
        return self.client().post(
            self.url('callback'), query_string=query, data=body,
            content_type='text/xml')

    # the callback

    def test_callback_handshake(self):
        "WeChat verifies the server URL; a forged signature is refused"
        timestamp = str(int(time.time()))
        query = {'timestamp': timestamp, 'nonce': '42', 'echostr': 'hello',
            'signature': sign(TOKEN, timestamp, '42')}
        response = self.client().get(self.url('callback'), query_string=query)
        self.assertEqual((response.status_code, response.text), (200, 'hello'))
        query['signature'] = sign('other', timestamp, '42')
        response = self.client().get(self.url('callback'), query_string=query)
        self.assertEqual(response.status_code, 403)

    def test_callback_text_and_replay(self):
        "A keyword is answered with a link; the same nonce is refused"
        body = TEXT.format(
            to=ACCOUNT, openid='oResident1', content='停电').encode()
        # The same request again: the same timestamp, nonce and signature
        # (a second one would be another request when the clock ticked)
        timestamp = str(int(time.time()))
        response = self.callback(body, 'nonce-text-1', timestamp)
        self.assertEqual(response.status_code, 200)
        self.assertIn('<ToUserName><![CDATA[oResident1]]>', response.text)
        self.assertIn(self.absolute_url('notices'), response.text)
        replay = self.callback(body, 'nonce-text-1', timestamp)
        self.assertEqual((replay.status_code, replay.text),
            (403, 'nonce_replayed'))

    def test_callback_usage(self):
        "用量 answers the last readings of the sender's approved meters"
        self.resident('oUsage', '13866660001', 'U001')
        body = TEXT.format(to=ACCOUNT, openid='oUsage', content='用量')
        response = self.callback(body.encode(), 'nonce-usage-1')
        self.assertEqual(response.status_code, 200)
        self.assertIn('M-U001：180', response.text)
        body = TEXT.format(to=ACCOUNT, openid='oStranger', content='用量')
        response = self.callback(body.encode(), 'nonce-usage-2')
        self.assertIn('请先<a href="%s">绑定户号' % self.absolute_url('bind'),
            response.text)

    def test_callback_subscribe(self):
        "A new follower gets the welcome with the binding link"
        body = SUBSCRIBE.format(
            to=ACCOUNT, openid='oResident2', event='subscribe').encode()
        response = self.callback(body, 'nonce-subscribe')
        self.assertEqual(response.status_code, 200)
        self.assertIn('欢迎关注', response.text)
        self.assertIn(self.absolute_url('bind'), response.text)

    def test_callback_refused(self):
        "Forged, stale, malformed and oversized messages are refused"
        body = TEXT.format(to=ACCOUNT, openid='oX', content='hi').encode()
        forged = self.callback(
            body, 'nonce-forged', signature=sign('bad', '1', '2'))
        self.assertEqual(forged.status_code, 403)
        stale = self.callback(body, 'nonce-stale', timestamp='1348831860')
        self.assertEqual((stale.status_code, stale.text),
            (403, 'timestamp_skew'))
        with self.assertLogs('trytond.modules.meter_wechat.routes',
                'WARNING') as logs:
            malformed = self.callback(b'<xml><oops></xml>', 'nonce-bad-xml')
        self.assertEqual(malformed.status_code, 400)
        self.assertIn('xml_malformed', logs.output[0])
        large = self.callback(b'<xml>' + b' ' * (70 * 1024) + b'</xml>',
            'nonce-large')
        self.assertEqual(large.status_code, 413)

    def test_callback_safe_mode(self):
        "An encrypted message is answered encrypted"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            Configuration = pool.get('meter.wechat.configuration')
            Configuration.write([Configuration(1)], {
                    'mode': 'safe', 'encoding_aes_key': AES_KEY})
            transaction.commit()
        try:
            crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
            timestamp = str(int(time.time()))
            message = TEXT.format(
                to=ACCOUNT, openid='oResident3', content='缴费')
            encrypted = crypto.encrypt_message(
                message, 'nonce-safe', timestamp)
            msg_signature = re.search(
                r'<MsgSignature><!\[CDATA\[(.*?)\]\]>', encrypted).group(1)
            body = re.sub(r'<MsgSignature>.*?</MsgSignature>|'
                r'<TimeStamp>.*?</TimeStamp>|<Nonce>.*?</Nonce>', '',
                encrypted).encode()
            response = self.callback(
                body, 'nonce-safe', timestamp=timestamp,
                msg_signature=msg_signature, encrypt_type='aes')
            self.assertEqual(response.status_code, 200, response.text)
            self.assertIn('<Encrypt>', response.text)
            reply = crypto.decrypt_message(response.text,
                re.search(r'<MsgSignature><!\[CDATA\[(.*?)\]\]>',
                    response.text).group(1),
                re.search(r'<TimeStamp>(\d+)</TimeStamp>',
                    response.text).group(1),
                re.search(r'<Nonce><!\[CDATA\[(.*?)\]\]>',
                    response.text).group(1))
            self.assertIn(self.absolute_url('pay'), reply)
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                Configuration.write([Configuration(1)], {'mode': 'plain'})
                transaction.commit()

    def test_menu(self):
        "The command creates the custom menu with OAuth links to the pages"
        pool = Pool(DB_NAME)
        with self.assertRaises(ValueError):
            menu.create_menu(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            Configuration = pool.get('meter.wechat.configuration')
            Configuration.write([Configuration(1)], {
                    'base_url': 'https://wx.example.edu.cn/meter/wechat/'})
            transaction.commit()
        try:
            output = io.StringIO()
            with redirect_stdout(output):
                self.assertEqual(menu.main(['-d', DB_NAME]), 0)
            self.assertIn('"用水用电"', output.getvalue())
            created = self.api.menus[-1]
            usage = created['button'][0]['sub_button'][0]
            self.assertTrue(usage['url'].startswith(
                    self.api.url + 'connect/oauth2/authorize?appid='))
            self.assertIn(quote(
                    'https://wx.example.edu.cn/meter/wechat/oauth?next=usage',
                    safe=''), usage['url'])
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                Configuration.write([Configuration(1)], {'base_url': None})
                transaction.commit()

    # login and registration

    def test_login_required(self):
        "Outside WeChat without development login the page says so"
        response = self.client().get(self.url('accounts'))
        self.assertEqual(response.status_code, 401)
        self.assertIn('请在微信中打开', response.text)
        response = self.client().get(self.url('accounts'), headers={
                'User-Agent': 'Mozilla/5.0 MicroMessenger/8.0.50'})
        self.assertEqual(response.status_code, 302)
        location = response.headers['Location']
        self.assertTrue(location.startswith(
                self.api.url + 'connect/oauth2/authorize?appid=' + APPID))
        self.assertIn('snsapi_base', location)

    def test_forged_cookie(self):
        "A cookie not signed by the database opens no session"
        client = self.client()
        client.set_cookie('meter_wechat', 'eyJ1IjoxfQ.forged',
            path='/%s/wechat' % DB_NAME)
        response = client.get(self.url('accounts'))
        self.assertEqual(response.status_code, 401)

    def test_oauth_code_refused(self):
        "An unknown or reused OAuth code opens no session"
        response = self.client().get(
            self.url('oauth'), query_string={'code': 'unknown'})
        self.assertEqual(response.status_code, 403)
        self.assertIn('微信授权失败', response.text)

    def test_dev_login(self):
        "The development login exists only when the configuration says so"
        response = self.client().get(self.url('login'))
        self.assertEqual(response.status_code, 404)
        if not config.has_section('wechat'):
            config.add_section('wechat')
        config.set('wechat', 'dev_login', 'True')
        try:
            client = self.client()
            response = client.get(self.url('accounts'))
            self.assertEqual(response.status_code, 302)
            self.assertIn('/wechat/login?next=accounts',
                unquote(response.headers['Location']))
            response = client.post(self.url('login'), data={
                    'openid': 'dev-user-1', 'next': 'accounts'})
            self.assertEqual(response.status_code, 302)
            response = client.get(self.url(''))
            self.assertEqual(response.status_code, 200)
        finally:
            config.set('wechat', 'dev_login', 'False')

    def test_next_keeps_query(self):
        "Through OAuth the resident lands on the page and query they opened"
        self.resident('oDeepLink', '13822220003', 'R003')
        client = self.client()
        meter = self.meter_id('M-R003')
        page = 'reading?meter=%d&from=menu' % meter
        response = client.get(self.url(page), headers=IN_WECHAT)
        self.assertEqual(response.status_code, 302)
        authorize = urlsplit(response.headers['Location'])
        redirect_uri, = parse_qs(authorize.query)['redirect_uri']
        self.assertEqual(redirect_uri, self.absolute_url(
                'oauth?next=' + quote(page, safe='')))
        # WeChat sends the resident back with the code
        code = 'code-deep-link'
        self.api.add_code(code, 'oDeepLink')
        response = client.get(redirect_uri + '&code=%s&state=' % code,
            headers=IN_WECHAT)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response.headers['Location'].endswith(
                self.quoted_url(page)), response.headers['Location'])
        response = client.get(response.headers['Location'])
        self.assertEqual(response.status_code, 200)
        self.assertRegex(response.text,
            '<option value="%d" selected>' % meter)

    def test_next_keeps_query_through_registration(self):
        "A new resident registers, then goes on to the page they opened"
        client = self.login('oDeepLink2')
        page = 'requests/new?kind=complaint'
        response = client.get(self.url(page))
        self.assertEqual(response.status_code, 302)
        location = unquote(response.headers['Location'])
        self.assertTrue(location.endswith(
                self.url('register?next=' + page)), location)
        token = self.csrf(client, 'register')
        client.post(self.url('sms'), data={'phone': '13822220004'},
            headers={'X-CSRF-Token': token})
        code = routes._sms_providers['log'].last('13822220004')[
            'params']['code']
        response = client.post(self.url('register'), data={
                'phone': '13822220004', 'code': code, 'csrf_token': token,
                'next': page})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response.headers['Location'].endswith(
                self.quoted_url(page)), response.headers['Location'])

    def test_dev_login_page(self):
        "The development login is styled and proposes the demo's resident"
        if not config.has_section('wechat'):
            config.add_section('wechat')
        config.set('wechat', 'dev_login', 'True')
        try:
            response = self.client().get(self.url('login'))
            self.assertEqual(response.status_code, 200)
            self.assertIn(
                self.quoted_url('static/weui.css'), response.text)
            self.assertIn('class="weui-btn weui-btn_primary"', response.text)
            self.assertRegex(response.text,
                r'<input[^>]* name="openid" value="demo-resident"')
            self.assertNotIn('dev-openid', response.text)
            response = self.client().post(self.url('login'), data={
                    'openid': 'bad openid!', 'next': ''})
            self.assertEqual(response.status_code, 400)
            self.assertIn('OpenID 格式不正确', response.text)
            self.assertIn('value="bad openid!"', response.text)
        finally:
            config.set('wechat', 'dev_login', 'False')

    def test_dev_login_keeps_query(self):
        "The development login also goes back to the page with its query"
        if not config.has_section('wechat'):
            config.add_section('wechat')
        config.set('wechat', 'dev_login', 'True')
        try:
            client = self.client()
            page = 'usage?month=2024-05&x=%E4%B8%AD'
            response = client.get(self.url(page))
            self.assertEqual(response.status_code, 302)
            login = response.headers['Location']
            self.assertIn('/wechat/login?next=', login)
            form = client.get(login)
            self.assertIn('value="%s"' % html.escape(page), form.text)
            response = client.post(self.url('login'), data={
                    'openid': 'dev-user-2', 'next': page})
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response.headers['Location'].endswith(
                    self.quoted_url(page)), response.headers['Location'])
        finally:
            config.set('wechat', 'dev_login', 'False')

    def test_safe_next(self):
        "Only a page of ours with its arguments re-encoded comes out"
        for value, expected in [
                ('reading?meter=5&from=menu', 'reading?meter=5&from=menu'),
                ('usage/12', 'usage/12'),
                ('', ''),
                ('pay?', 'pay'),
                ('pay?note=a b&x=<y>', 'pay?note=a+b&x=%3Cy%3E'),
                ('pay?a=1\r\nSet-Cookie: x', 'pay?a=1%0D%0ASet-Cookie%3A+x'),
                ('http://evil.example/', ''),
                ('../../admin', ''),
                # A meter's code on the field pages (m/<code>)
                ('m/E-1001', 'm/E-1001'),
                ('m/E.1001', ''),
                ('m/E%2F1', ''),
                ('reading?' + 'a=1&' * 200, ''),
                (None, ''),
                ]:
            with self.subTest(value=value):
                self.assertEqual(web.safe_next(value), expected)

    def test_registration(self):
        "A resident registers their phone with the SMS code"
        client = self.login('oRegister1')
        response = client.get(self.url('accounts'))
        self.assertEqual(response.status_code, 302)
        self.assertIn('register?next=accounts', response.headers['Location'])
        token = self.csrf(client, 'register')
        response = client.post(self.url('sms'), data={'phone': '13812345678'})
        self.assertEqual(response.status_code, 403)
        response = client.post(self.url('sms'), data={'phone': '12345'},
            headers={'X-CSRF-Token': token})
        self.assertEqual(response.status_code, 400)
        response = client.post(self.url('sms'), data={'phone': '13812345678'},
            headers={'X-CSRF-Token': token})
        self.assertEqual(response.status_code, 200)
        again = client.post(self.url('sms'), data={'phone': '13812345678'},
            headers={'X-CSRF-Token': token})
        self.assertEqual(again.status_code, 400)
        self.assertIn('发送过于频繁', again.json['error'])
        code = routes._sms_providers['log'].last('13812345678')[
            'params']['code']
        wrong = '000000' if code != '000000' else '111111'
        response = client.post(self.url('register'), data={
                'phone': '13812345678', 'code': wrong, 'csrf_token': token})
        self.assertEqual(response.status_code, 400)
        self.assertIn('验证码错误', response.text)
        response = client.post(self.url('register'), data={
                'phone': '13812345678', 'code': code, 'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(client.get(self.url('accounts')).status_code, 200)

    # bindings

    def test_binding_approved_and_notified(self):
        "A binding waits for staff, who approve it; the resident is told"
        openid = 'oBinding1'
        self.api.subscribe(openid)
        client = self.login(openid)
        self.register(client, '13811110001')
        response = self.bind(client, 'R001', verification='0000')
        self.assertEqual(response.status_code, 400)
        self.assertIn('户号或验证信息不正确', response.text)
        response = self.bind(client, 'R001', verification='张三')
        self.assertEqual(response.status_code, 302)
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('一个工作日内审核', page.text)
        self.assertIn('待审核', page.text)
        meter = self.meter_id('M-R001')
        self.assertEqual(
            client.get(self.url('usage/%d' % meter)).status_code, 404)
        self.review(openid, 'approve')
        self.assertEqual(len(self.api.sent), 1)
        sent, = self.api.sent
        self.assertEqual((sent['touser'], sent['template_id']),
            (openid, TEMPLATE))
        self.assertEqual(sent['data']['keyword1']['value'], 'R001')
        response = client.get(self.url('usage/%d' % meter))
        self.assertEqual(response.status_code, 200)
        self.assertIn('echarts', response.text)

    def test_binding_rejected(self):
        "A rejected binding shows its reason and gives no access"
        openid = 'oBinding2'
        self.api.subscribe(openid)
        client = self.login(openid)
        self.register(client, '13811110002')
        self.bind(client, 'R002')
        self.review(openid, 'reject', reason="户主信息不符")
        self.assertIn('未通过', self.api.sent[0]['data']['keyword2']['value'])
        page = client.get(self.url('accounts'))
        self.assertIn('户主信息不符', page.text)
        response = client.get(self.url('usage/%d' % self.meter_id('M-R002')))
        self.assertEqual(response.status_code, 404)

    def test_binding_limit(self):
        "At most 2 resident accounts; unbinding frees a place"
        client = self.login('oBinding3')
        self.register(client, '13811110003')
        self.assertEqual(self.bind(client, 'R001').status_code, 302)
        self.assertEqual(self.bind(client, 'R002').status_code, 302)
        self.assertEqual(self.bind(client, 'R002').status_code, 400)
        response = self.bind(client, 'R003')
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.bind(client, 'U001').status_code, 302)
        with Transaction().start(DB_NAME, 0):
            binding, = Pool().get('meter.wechat.binding').search([
                    ('user.openid', '=', 'oBinding3'),
                    ('account.number', '=', 'R002')])
            binding_id = binding.id
        token = self.csrf(client, 'accounts')
        response = client.post(
            self.url('accounts/%d/unbind' % binding_id),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.bind(client, 'R003').status_code, 302)

    def test_binding_limit_batch_approval(self):
        "Staff approving several bindings at once cannot pass the limit"
        client = self.login('oBinding4')
        self.register(client, '13811110004')
        with Transaction().start(DB_NAME, 1) as transaction:
            pool = Pool()
            Binding = pool.get('meter.wechat.binding')
            User = pool.get('meter.wechat.user')
            Account = pool.get('meter.account')
            user, = User.search([('openid', '=', 'oBinding4')])
            # Entered in the back office, where the page's check is not made
            bindings = Binding.create([{
                        'user': user.id, 'account': account.id,
                        'verification': 'staff'}
                    for account in Account.search([
                            ('number', 'in', ['R001', 'R002', 'R003']),
                            ])])
            self.assertEqual(len(bindings), 3)
            with self.assertRaises(BindingLimitError) as context:
                Binding.approve(bindings)
            self.assertIn('2', context.exception.message)
            Binding.approve(bindings[:2])
            self.assertEqual(Binding.search([
                        ('user', '=', user.id),
                        ('state', '=', 'approved'),
                        ], count=True), 2)
            transaction.rollback()

    def test_daily_limit_counts_atomically(self):
        "The daily counter is one upsert: its value is the submission's rank"
        with Transaction().start(DB_NAME, 0) as transaction:
            Store = Pool().get('meter.wechat.store')
            now = time.time()
            self.assertEqual(
                [Store.increment('test:count', now + 60, now)
                    for _ in range(3)], [1, 2, 3])
            # Expired: counting starts again
            self.assertEqual(
                Store.increment('test:count', now + 120, now + 61), 1)
            self.assertEqual(Store.get_value('test:count', now + 62), 1)
            transaction.rollback()

    # pages and other residents' data

    def test_other_residents_refused(self):
        "A resident never sees nor acts on another resident's account"
        owner = self.resident('oOwner', '13822220001', 'R004')
        other = self.resident('oOther', '13822220002')
        meter = self.meter_id('M-R004')
        self.assertEqual(
            owner.get(self.url('usage/%d' % meter)).status_code, 200)
        response = other.get(self.url('usage/%d' % meter))
        self.assertEqual(response.status_code, 404)
        self.assertIn('无权查看', response.text)
        self.assertNotIn('M-R004', other.get(self.url('usage')).text)
        self.assertNotIn('M-R004', other.get(self.url('reading')).text)
        token = self.csrf(other, 'reading')
        response = other.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '5',
                'photo': (io.BytesIO(image()), 'meter.png')})
        self.assertEqual(response.status_code, 404)
        token = self.csrf(owner, 'reading')
        response = owner.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '5',
                'photo': (io.BytesIO(image()), 'meter.png')})
        self.assertEqual(response.status_code, 302)
        result = unquote(response.headers['Location'])
        self.assertEqual(other.get(result).status_code, 404)
        with Transaction().start(DB_NAME, 0):
            binding, = Pool().get('meter.wechat.binding').search([
                    ('user.openid', '=', 'oOwner')])
            binding_id = binding.id
        response = other.post(self.url('accounts/%d/unbind' % binding_id),
            data={'csrf_token': self.csrf(other, 'accounts')})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            owner.get(self.url('usage/%d' % meter)).status_code, 200)

    def test_ids_out_of_range(self):
        "Ids no database holds are pages not found, never a server error"
        client = self.resident('oHuge', '13866660009', 'R002')
        huge = 10 ** 20
        for page in ['usage/%d' % huge, 'reading/%d' % huge,
                'requests/%d' % huge, 'reading?meter=%d' % huge]:
            response = client.get(self.url(page))
            self.assertIn(response.status_code, {200, 404}, page)
        self.assertEqual(
            client.get(self.url('usage/%d' % huge)).status_code, 404)
        self.assertIn('页面不存在',
            client.get(self.url('requests/%d' % huge)).text)
        token = self.csrf(client, 'reading')
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(huge), 'value': '5',
                'photo': (io.BytesIO(image()), 'meter.png')})
        self.assertEqual(response.status_code, 404)

    def test_unknown_page(self):
        "An unknown address under the pages answers the Chinese 404 page"
        client = self.resident('oLost', '13866660021', 'R002')
        for method, page in [
                ('get', 'nothing-here'), ('get', 'usage/1/more'),
                ('post', 'nothing-here'), ('get', 'usage/abc'),
                ('get', 'requests/-1')]:
            for who in [client, self.client()]:
                response = getattr(who, method)(self.url(page))
                self.assertEqual(response.status_code, 404, (method, page))
                self.assertIn('页面不存在', response.text)
                self.assertIn('text/html', response.headers['Content-Type'])
                self.assertNotIn('Not Allowed', response.text)

    def test_ids_ascii_digits(self):
        "Only plain ASCII ids reach a record, in addresses and in forms"
        client = self.resident('oDigits', '13866660022', 'R002')
        meter = self.meter_id('M-R002')
        pool = Pool(DB_NAME)
        readings = self.self_readings(meter)
        with Transaction().start(DB_NAME, 0) as transaction:
            article, = pool.get('meter.wechat.article').create([{
                        'title': "停水须知", 'category': 'info',
                        'body': "请提前储水"}])
            article_id = article.id
            transaction.commit()
        self.assertEqual(
            client.get(self.url('usage/%d' % meter)).status_code, 200)
        self.assertEqual(
            client.get(self.url('info/%d' % article_id)).status_code, 200)
        for page in [
                'usage/%s' % str(meter).translate(FULL_WIDTH),
                'usage/%s' % str(meter).translate(ARABIC_INDIC),
                'usage/0%d' % meter,
                'usage/%s%d' % ('0' * 30, meter),
                'usage/+%d' % meter,
                'info/%s' % str(article_id).translate(FULL_WIDTH),
                'info/00%d' % article_id,
                ]:
            response = client.get(self.url(quote(page)))
            self.assertEqual(response.status_code, 404, page)
            self.assertIn('页面不存在', response.text)
            self.assertNotIn('M-R002', response.text)
        # The ids of the forms and queries too
        for value in [str(meter).translate(FULL_WIDTH), '0%d' % meter,
                ' %d' % meter, '%d.0' % meter]:
            response = client.get(self.url('reading/check'), query_string={
                    'meter': value, 'value': '5'})
            self.assertEqual(response.status_code, 404, value)
            token = self.csrf(client, 'reading')
            response = client.post(self.url('reading'), data={
                    'csrf_token': token, 'meter': value, 'value': '5',
                    'photo': (io.BytesIO(image()), 'meter.png')})
            self.assertEqual(response.status_code, 404, value)
        self.assertEqual(self.self_readings(meter), readings)

    def test_typed_numbers_ascii(self):
        "A typed reading or amount is ASCII digits, refused in Chinese else"
        client = self.resident('oTyped', '13866660023', 'R002')
        meter = self.meter_id('M-R002')
        with Transaction().start(DB_NAME, 0):
            account, = Pool().get('meter.account').search(
                [('number', '=', 'R002')])
            account_id = account.id
        readings = self.self_readings(meter)
        for value in ['１２３', '١٢٣', '1_000', '1e3', '-5', 'NaN',
                'Infinity', '１２.5', '12 5']:
            response = client.get(self.url('reading/check'), query_string={
                    'meter': str(meter), 'value': value})
            self.assertEqual(response.status_code, 400, value)
            self.assertIn('半角数字', response.json['error'])
            token = self.csrf(client, 'reading')
            response = client.post(self.url('reading'), data={
                    'csrf_token': token, 'meter': str(meter), 'value': value,
                    'photo': (io.BytesIO(image()), 'meter.png')})
            self.assertEqual(response.status_code, 400, value)
            self.assertIn('请输入正确的读数', response.text)
            self.assertIn('半角数字', response.text)
        self.assertEqual(client.get(self.url('reading/check'), query_string={
                    'meter': str(meter), 'value': '123.5'}).status_code, 200)
        token = self.csrf(client, 'pay')
        for amount in ['１２', '١٢', '1_000', '1e2', '-12', 'NaN']:
            response = client.post(self.url('pay'), data={
                    'csrf_token': token, 'account': str(account_id),
                    'amount': amount, 'reference': 'TX-DIGITS',
                    'screenshot': (io.BytesIO(image()), 'transfer.png')})
            self.assertEqual(response.status_code, 400, amount)
            self.assertIn('请输入正确的金额', response.text)
        self.assertEqual(self.self_readings(meter), readings)
        with Transaction().start(DB_NAME, 0):
            self.assertFalse(Pool().get('meter.payment').search([
                        ('transfer_reference', '=', 'TX-DIGITS')]))

    def test_daily_limit_before_photo(self):
        "Over the daily limit the photo is neither downloaded nor decoded"
        client = self.resident('oEager', '13866660024', 'R002')
        meter = self.meter_id('M-R002')
        token = self.csrf(client, 'reading')

        def post():
            return client.post(self.url('reading'), data={
                    'csrf_token': token, 'meter': str(meter), 'value': '5',
                    'photo': (io.BytesIO(b'not an image'), 'meter.jpg')})
        for _ in range(limits.DAILY_LIMITS['reading']):
            self.assertEqual(post().status_code, 400)
        with patch.object(wechat_reading, 'check_photo',
                    side_effect=AssertionError("photo decoded")), \
                patch.object(limits, 'uploaded_photo',
                    side_effect=AssertionError("photo read")):
            response = post()
        self.assertEqual(response.status_code, 429)
        self.assertIn('今日提交次数已达上限', response.text)

    def test_daily_limit_centre_day(self):
        "The daily counters are of the centre's day, not the server's"
        pool = Pool(DB_NAME)
        utc = dt.datetime.now(dt.timezone.utc)
        # A zone whose date differs from UTC's at this moment
        zone = 'Pacific/Kiritimati' if utc.hour >= 10 else 'Etc/GMT+12'
        with Transaction().start(DB_NAME, 0, _lock_tables=[
                    pool.get('meter.configuration')._table]):
            Configuration = pool.get('meter.configuration')
            Store = pool.get('meter.wechat.store')
            User = pool.get('meter.wechat.user')
            Configuration.write([Configuration(1)], {'timezone': zone})
            try:
                user = User.login('oClock')
                limits.check_limit(pool, user, 'bind')
                local = dt.datetime.now(Configuration.tzinfo()).date()
                self.assertNotEqual(local, utc.date())

                def counted(date):
                    return Store.get_value('limit:bind:%d:%s' % (
                            user.id, date.isoformat()), time.time())
                self.assertEqual(counted(local), 1)
                self.assertIsNone(counted(utc.date()))
            finally:
                Transaction().rollback()
                Configuration._timezone_cache.clear()

    def test_usage_months_centre_clock(self):
        "A reading counts in the month of the centre's clock it was taken"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            Meter = pool.get('meter.meter')
            Reading = pool.get('meter.reading')
            Configuration = pool.get('meter.configuration')
            zone = Configuration.tzinfo()
            other, = Meter.search([('number', '=', 'M-R002')])
            meter = Meter(number='M-CLOCK', kind='water',
                account=other.account, campus=other.campus, digits=6,
                decimals=0, multiplier=Decimal(1), initial_value=Decimal(0),
                reading_method='self')
            meter.save()
            today = dt.datetime.now(zone).date()
            last_month = (today.replace(day=1) - dt.timedelta(days=1)
                ).replace(day=1)
            # 00:30 on the 1st in Beijing is the evening before in UTC
            taken_at = dt.datetime.combine(last_month, dt.time(0, 30),
                tzinfo=zone).astimezone(dt.timezone.utc).replace(tzinfo=None)
            self.assertEqual(taken_at.month != last_month.month,
                zone.utcoffset(taken_at) > dt.timedelta(0))
            reading, = Reading.create([{
                        'meter': meter.id, 'value': Decimal(42),
                        'source': 'field', 'taken_at': taken_at}])
            self.assertEqual(reading.state, 'confirmed')
            months = dict(meter.monthly_usage())
            self.assertEqual(
                months[last_month.strftime('%Y-%m')], Decimal(42))
            self.assertEqual(sum(months.values()), Decimal(42))
            self.assertEqual(list(months)[-1], today.strftime('%Y-%m'))
            transaction.rollback()

    def test_self_reading(self):
        "A self reading with its photo becomes a reading of source self"
        client = self.resident('oReader', '13833330001', 'R001')
        meter = self.meter_id('M-R001')
        token = self.csrf(client, 'reading')
        response = client.post(self.url('reading'), data={
                'meter': str(meter), 'value': '200',
                'photo': (io.BytesIO(image()), 'meter.png')})
        self.assertEqual(response.status_code, 403)
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '200',
                'photo': (io.BytesIO(b'not an image'), 'meter.jpg')})
        self.assertEqual(response.status_code, 400)
        self.assertIn('不是有效的图片', response.text)
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '200',
                'photo': (io.BytesIO(image('GIF')), 'meter.gif')})
        self.assertEqual(response.status_code, 400)
        # Refused by the evidence rules of meter_base: nothing is kept
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '200',
                'photo': (io.BytesIO(image(size=(100, 80))), 'small.png')})
        self.assertEqual(response.status_code, 400)
        with Transaction().start(DB_NAME, 0):
            self.assertFalse(Pool().get('meter.reading').search([
                        ('meter', '=', meter), ('source', '=', 'self')]))
        photo = image('JPEG')
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '195',
                'photo': (io.BytesIO(photo), 'meter.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        page = client.get(unquote(response.headers['Location']))
        self.assertEqual(page.status_code, 200)
        # Written with the meter's decimals (none), as its register shows it
        self.assertIn('>195<', page.text)
        self.assertNotIn('195.000', page.text)
        with Transaction().start(DB_NAME, 0):
            reading, = Pool().get('meter.reading').search([
                    ('meter', '=', meter), ('source', '=', 'self')])
            self.assertEqual(reading.value, Decimal(195))
            self.assertEqual(reading.photo, photo)
            self.assertTrue(reading.photo_id)
            self.assertEqual(reading.consumption, Decimal(195))
            self.assertIn('13833330001', reading.submitter)
        # A second reading the same day is kept for review, the page says
        # why, and so is the photo that does not show the typed value
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '196',
                'photo': (io.BytesIO(photo), 'meter.jpg')})
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('当天已有读数', page.text)
        self.assertIn('读数待审核', page.text)
        self.assertIn('照片核验未通过', page.text)
        # Warned before a third one
        answer = client.get(self.url('reading/check'), query_string={
                'meter': str(meter), 'value': '197'}).json
        self.assertEqual(
            [a['code'] for a in answer['anomalies']], ['same_day'])

    def test_reading_check(self):
        "Before submitting, the resident learns what the value is flagged for"
        client = self.resident('oChecker', '13833330013', 'U001')
        other = self.resident('oNotOwner', '13833330014')
        meter = self.meter_id('M-U001')

        def check(value, client=client, meter=meter):
            return client.get(self.url('reading/check'), query_string={
                    'meter': str(meter), 'value': value})
        with Transaction().start(DB_NAME, 0):
            Reading = Pool().get('meter.reading')
            count = Reading.search([], count=True)
        response = check('170')
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json, {
                'anomalies': [{'code': 'lower', 'message': '读数低于上次读数'}],
                'consumption': None,
                'previous': '180',
                'rollover': False,
                })
        answer = check('185.5').json
        self.assertEqual(answer['anomalies'], [])
        self.assertEqual(answer['consumption'], '5.5')
        self.assertEqual(check('abc').status_code, 400)
        self.assertIn('请输入正确的读数', check('-1').json['error'])
        self.assertEqual(check('185', client=other).status_code, 404)
        self.assertEqual(check('185', meter='x').status_code, 404)
        with Transaction().start(DB_NAME, 0):
            self.assertEqual(Reading.search([], count=True), count)

    def test_self_reading_media(self):
        "A photo taken with the JS-SDK is downloaded from WeChat"
        client = self.resident('oMedia', '13833330002', 'R002')
        meter = self.meter_id('M-R002')
        token = self.csrf(client, 'reading')
        photo = image('JPEG')
        self.api.add_media('media-0001', photo)
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '12',
                'media_id': 'media-0001'})
        self.assertEqual(response.status_code, 302, response.text)
        response = client.post(self.url('reading'), data={
                'csrf_token': token, 'meter': str(meter), 'value': '13',
                'media_id': 'unknown-media'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('照片下载失败', response.text)
        with Transaction().start(DB_NAME, 0):
            reading, = Pool().get('meter.reading').search([
                    ('meter', '=', meter), ('source', '=', 'self')])
            self.assertEqual(reading.photo, photo)

    def test_jssdk_in_wechat(self):
        "In WeChat the reading page has wx.config signed for its own URL"
        client = self.resident('oJssdk', '13833330003', 'R003')
        meter = self.meter_id('M-R003')
        page = 'reading?meter=%d&from=menu' % meter
        response = client.get(self.url(page), headers=IN_WECHAT)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn(
            '<script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js">',
            response.text)
        self.assertIn('name="media_id"', response.text)
        config = json.loads(html.unescape(
                WX_CONFIG.search(response.text).group(1)))
        self.assertEqual(config['appId'], APPID)
        self.assertLessEqual(abs(config['timestamp'] - time.time()), 60)
        ticket, = self.api.tickets[-1:]
        self.assertEqual(config['signature'], jsapi_signature(
                ticket, config['nonceStr'], config['timestamp'],
                self.absolute_url(page)))
        # The ticket is kept for the next pages, with its access token
        self.api.calls.clear()
        response = client.get(
            self.url('requests/new?kind=waste'), headers=IN_WECHAT)
        config = json.loads(html.unescape(
                WX_CONFIG.search(response.text).group(1)))
        self.assertEqual(config['signature'], jsapi_signature(
                ticket, config['nonceStr'], config['timestamp'],
                self.absolute_url('requests/new?kind=waste')))
        self.assertEqual(self.api.calls, [])

    def test_jssdk_outside_wechat(self):
        "Outside WeChat the page keeps its file input and asks no ticket"
        client = self.resident('oNoJssdk', '13833330004', 'R003')
        response = client.get(self.url('reading'))
        self.assertEqual(response.status_code, 200)
        self.assertNotIn('res.wx.qq.com', response.text)
        self.assertNotIn('data-wx', response.text)
        self.assertIn('type="file" name="photo"', response.text)
        self.assertEqual(
            self.api.calls_to('/cgi-bin/ticket/getticket'), [])

    def test_jssdk_without_ticket(self):
        "When WeChat gives no ticket the page falls back to the file input"
        client = self.resident('oNoTicket', '13833330005', 'R003')
        self.api.routes = dict(FakeWeChatApi.routes)
        self.api.routes[('GET', '/cgi-bin/ticket/getticket')] = (
            lambda server, request, payload: {
                'errcode': 45009, 'errmsg': 'api freq out of limit'})
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            Store = pool.get('meter.wechat.store')
            Store.delete_key('wechatpy:%s_jsapi_ticket' % APPID)
            transaction.commit()
        try:
            with self.assertLogs('trytond.modules.meter_wechat.web',
                    'WARNING') as logs:
                response = client.get(self.url('reading'), headers=IN_WECHAT)
        finally:
            del self.api.routes
        self.assertEqual(response.status_code, 200)
        self.assertIn('rate_limited', logs.output[0])
        self.assertNotIn('res.wx.qq.com', response.text)
        self.assertIn('type="file" name="photo"', response.text)

    def test_work_order_media(self):
        "An energy-saving report's photo taken with the JS-SDK is downloaded"
        client = self.resident('oReporter', '13844440003')
        token = self.csrf(client, 'requests/new?kind=waste')
        self.api.add_media('media-waste-1', b'<html>not a photo</html>',
            content_type='image/jpeg')
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'waste', 'subject': "长明灯",
                'place': "图书馆三楼", 'media_id': 'media-waste-1'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('不是有效的图片', response.text)
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'waste', 'subject': "长明灯",
                'media_id': 'no-such-media'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('照片下载失败', response.text)
        photo = image('JPEG')
        self.api.add_media('media-waste-2', photo)
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'waste', 'subject': "长明灯",
                'place': "图书馆三楼", 'media_id': 'media-waste-2'})
        self.assertEqual(response.status_code, 302, response.text)
        call, = self.api.calls_to('/cgi-bin/media/get')[-1:]
        self.assertEqual(call['args']['media_id'], 'media-waste-2')
        with Transaction().start(DB_NAME, 0):
            order, = Pool().get('meter.work_order').search([
                    ('wechat_user.openid', '=', 'oReporter')])
            self.assertEqual(order.kind, 'waste')
            self.assertEqual([p.photo for p in order.photos], [photo])

    def test_usage_months(self):
        "The chart has the 12 months up to today with their consumption"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0):
            Meter = pool.get('meter.meter')
            meter, = Meter.search([('number', '=', 'M-U001')])
            today = dt.date.today()
            months = meter.monthly_usage(today)
        self.assertEqual(len(months), 12)
        self.assertEqual(months[-1][0], today.strftime('%Y-%m'))
        self.assertEqual(sum(v for _, v in months), Decimal(180))

    def test_usage_with_payments(self):
        "The usage page shows the posted payments of the month beside use"
        client = self.resident('oChart', '13866660011', 'U001')
        meter = self.meter_id('M-U001')
        today = dt.date.today()
        extras = {}
        while True:
            # Receipt numbers lock their sequence: start again with it
            with Transaction().start(DB_NAME, 0, **extras) as transaction:
                pool = Pool()
                Payment = pool.get('meter.payment')
                Account = pool.get('meter.account')
                account, = Account.search([('number', '=', 'U001')])
                payments = Payment.create([{
                            'account': account.id,
                            'campus': account.campus.id,
                            'method': 'cash', 'date': today,
                            'amount': Decimal(amount)}
                        for amount in ['40.50', '9.50', '7.00']])
                try:
                    Payment.post(payments[:2])
                except TransactionError as exception:
                    transaction.rollback()
                    exception.fix(extras)
                    continue
                transaction.commit()
            break
        response = client.get(self.url('usage/%d' % meter))
        self.assertEqual(response.status_code, 200)
        data = json.loads(html.unescape(re.search(
                    r"data-payments='([^']*)'", response.text).group(1)))
        self.assertEqual(len(data), 12)
        # Only the posted ones, summed in this month
        self.assertEqual(data[-1], 50.0)
        self.assertEqual(sum(data[:-1]), 0)
        self.assertIn('缴费 ¥50.00', response.text)

    def test_public_pages(self):
        "Contact lists the campus offices; assets are served"
        client = self.login('oVisitor')
        response = client.get(self.url('contact'))
        self.assertEqual(response.status_code, 200)
        self.assertIn('水电楼101', response.text)
        self.assertIn('010-62780000', response.text)
        self.assertIn('常见问题', response.text)
        response = client.get(self.url('static/app.js'))
        self.assertEqual(response.status_code, 200)
        response = client.get(self.url('static/../routes.py'))
        self.assertEqual(response.status_code, 404)

    # work orders

    def test_work_order(self):
        "A repair request gets a deadline; staff replies reach the resident"
        openid = 'oRequester'
        self.api.subscribe(openid)
        client = self.resident(openid, '13844440001', 'R003')
        other = self.resident('oNosy', '13844440002')
        self.api.sent.clear()
        with Transaction().start(DB_NAME, 0):
            account, = Pool().get('meter.account').search(
                [('number', '=', 'R003')])
            account_id = account.id
        response = client.get(self.url('repair'))
        self.assertIn('requests/new?kind=repair',
            unquote(response.headers['Location']))
        token = self.csrf(client, 'requests/new?kind=repair')
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'waste', 'subject': "长明灯"})
        self.assertEqual(response.status_code, 400)
        self.assertIn('照片', response.text)
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'appointment',
                'subject': "预约换表", 'appointment_at': '2000-01-01T09:00'})
        self.assertEqual(response.status_code, 400)
        response = other.post(self.url('requests/new'), data={
                'csrf_token': self.csrf(other, 'requests/new'),
                'kind': 'repair', 'subject': "漏水",
                'account': str(account_id)})
        self.assertEqual(response.status_code, 404)
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'repair', 'subject': "水表漏水",
                'account': str(account_id), 'place': "3号楼201",
                'photo': (io.BytesIO(image()), 'leak.png')})
        self.assertEqual(response.status_code, 302, response.text)
        page_url = unquote(response.headers['Location'])
        page = client.get(page_url)
        self.assertIn('水表漏水', page.text)
        self.assertIn('答复时限', page.text)
        self.assertEqual(other.get(page_url).status_code, 404)
        self.assertNotIn('水表漏水', other.get(self.url('requests')).text)
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 1) as transaction:
            WorkOrder = pool.get('meter.work_order')
            Reply = pool.get('meter.work_order.reply')
            order, = WorkOrder.search([('wechat_user.openid', '=', openid)])
            self.assertEqual(order.account.id, account_id)
            self.assertTrue(order.deadline > order.submitted_at)
            self.assertEqual(len(order.photos), 1)
            Reply.create([
                    {'work_order': order.id, 'text': "内部备注",
                        'public': False},
                    {'work_order': order.id, 'text': "维修人员已出发"},
                    ])
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        for task in tasks:
            run_task(pool, task)
        sent, = self.api.sent
        self.assertEqual(
            (sent['touser'], sent['template_id']), (openid, TEMPLATE_REPLY))
        self.assertEqual(sent['data']['keyword3']['value'], "维修人员已出发")
        page = client.get(page_url)
        self.assertIn('维修人员已出发', page.text)
        self.assertNotIn('内部备注', page.text)
        response = other.post(page_url, data={
                'csrf_token': self.csrf(other, 'requests'),
                'text': "插一句"})
        self.assertEqual(response.status_code, 404)
        response = client.post(page_url, data={
                'csrf_token': token, 'text': "谢谢"})
        self.assertEqual(response.status_code, 302)
        self.assertIn('谢谢', client.get(page_url).text)
        self.assertEqual(len(self.api.sent), 1)

    def test_payment(self):
        "A transfer with its screenshot waits for finance's review"
        pool = Pool(DB_NAME)
        BillingConfiguration = pool.get('meter.billing.configuration')
        with Transaction().start(DB_NAME, 0, _lock_tables=[
                    BillingConfiguration._table]) as transaction:
            BillingConfiguration.write([BillingConfiguration(1)], {
                    'payee': "某大学", 'bank_name': "工商银行",
                    'bank_account': '0200 0000 0000 1234'})
            transaction.commit()
        payer = self.resident('oPayer', '13877770001', 'R004')
        other = self.resident('oPayerOther', '13877770002', 'R003')
        with Transaction().start(DB_NAME, 0):
            account, = pool.get('meter.account').search(
                [('number', '=', 'R004')])
            account_id = account.id
        page = payer.get(self.url('pay'))
        self.assertEqual(page.status_code, 200)
        self.assertIn('0200 0000 0000 1234', page.text)
        token = CSRF.search(page.text).group(1)
        data = {'csrf_token': token, 'account': str(account_id),
            'amount': '120.50', 'reference': 'TX20261125001'}
        response = payer.post(self.url('pay'), data=dict(data))
        self.assertEqual(response.status_code, 400)
        response = payer.post(self.url('pay'), data=dict(data, amount='1.234',
                screenshot=(io.BytesIO(image()), 'transfer.png')))
        self.assertEqual(response.status_code, 400)
        self.assertIn('金额', response.text)
        response = other.post(self.url('pay'), data=dict(data,
                csrf_token=self.csrf(other, 'pay'),
                screenshot=(io.BytesIO(image()), 'transfer.png')))
        self.assertEqual(response.status_code, 404)
        self.assertIn('无权操作', response.text)
        screenshot = image('JPEG')
        response = payer.post(self.url('pay'), data=dict(data,
                screenshot=(io.BytesIO(screenshot), 'transfer.jpg')))
        self.assertEqual(response.status_code, 302, response.text)
        page = payer.get(unquote(response.headers['Location']))
        self.assertIn('120.50', page.text)
        self.assertIn('待审核', page.text)
        self.assertNotIn('120.50', other.get(self.url('pay')).text)
        with Transaction().start(DB_NAME, 0):
            payment, = pool.get('meter.payment').search(
                [('account', '=', account_id)])
            self.assertEqual(
                (payment.state, payment.method, payment.amount,
                    payment.transfer_reference, payment.screenshot),
                ('waiting', 'transfer', Decimal('120.50'), 'TX20261125001',
                    screenshot))

    def test_pay_without_payee(self):
        "Until the centre's bank account is set the pay page says so"
        pool = Pool(DB_NAME)
        BillingConfiguration = pool.get('meter.billing.configuration')

        def set_payee(values):
            with Transaction().start(DB_NAME, 0, _lock_tables=[
                        BillingConfiguration._table]) as transaction:
                BillingConfiguration.write([BillingConfiguration(1)], values)
                transaction.commit()
        client = self.resident('oNoPayee', '13877770009', 'R002')
        set_payee({'payee': None, 'bank_name': None, 'bank_account': None})
        page = client.get(self.url('pay'))
        self.assertEqual(page.status_code, 200)
        self.assertIn('尚未公布收款账户', page.text)
        self.assertIn('010-12345678', page.text)
        self.assertNotIn('请转账至下方收款账户', page.text)
        set_payee({'payee': "某大学", 'bank_name': "工商银行",
                'bank_account': '0200 0000 0000 9999'})
        page = client.get(self.url('pay'))
        self.assertNotIn('尚未公布收款账户', page.text)
        self.assertIn('请转账至下方收款账户', page.text)
        for text in ['某大学', '工商银行', '0200 0000 0000 9999']:
            self.assertIn(text, page.text)

    def test_notices(self):
        "Residents see the notices of their campus and building only"
        titles = ["主校区停电", "3号楼停水", "西校区停水", "全校节水倡议",
            "过期通知", "草稿通知"]

        def shown(client):
            text = client.get(self.url('notices')).text
            return [t for t in titles if t in text]
        in_building = self.resident('oNotice1', '13855550001', 'R003')
        self.assertEqual(
            shown(in_building), ["主校区停电", "3号楼停水", "全校节水倡议"])
        elsewhere = self.resident('oNotice2', '13855550002', 'R004')
        self.assertEqual(shown(elsewhere), ["主校区停电", "全校节水倡议"])
        self.assertEqual(shown(self.login('oNotice3')), ["全校节水倡议"])


del RouteTestCase
