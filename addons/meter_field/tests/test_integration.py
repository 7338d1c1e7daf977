"""Integration settings (数据管理): the secrets are write-only, for the
administrator too, and each connection's test button tries it for real
(the fake WeChat API, a local energy platform, a collector's socket)."""
import datetime as dt
import http.server
import os
import re
import socket
import tempfile
import threading

import openpyxl

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    _DBTestCase as DBTestCase, with_transaction)
from trytond.tools.logging import is_sensitive_key
from trytond.transaction import Transaction

from .tools import FakeWeChatMixin

PLATFORM_TOKEN = 'platform-token-4711'


class _Platform(http.server.BaseHTTPRequestHandler):
    "An energy platform answering its file to the right bearer token only"

    def do_GET(self):
        if self.headers.get('Authorization') != 'Bearer ' + PLATFORM_TOKEN:
            self.send_response(401)
            self.end_headers()
            return
        body = b'{"data": {"items": []}}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def as_rpc():
    "The context of a call from a client: access checked"
    return Transaction().set_context(_check_access=True)


class IntegrationTestCase(FakeWeChatMixin, DBTestCase):
    "Test the integration settings"
    module = 'meter_field'
    language = 'zh_CN'

    def configure_wechat(self, secret=None, api_base_url=None):
        Configuration = Pool().get('meter.wechat.configuration')
        with as_rpc():
            Configuration.write([Configuration(1)], {
                    'appid': self.WECHAT_APPID,
                    'secret_input': secret or self.WECHAT_SECRET,
                    'token_input': 'callback-token-1234',
                    'api_base_url': api_base_url or self.api.url,
                    })
        return Configuration(1)

    @with_transaction()
    def test_wechat_secret_write_only(self):
        "The AppSecret is stored, used, and never read back, by admin either"
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        User = pool.get('res.user')
        self.configure_wechat()
        admin, = User.search([('login', '=', 'admin')])
        with Transaction().set_user(admin.id), as_rpc():
            for name in ['secret', 'token', 'encoding_aes_key',
                    'session_secret']:
                with self.assertRaises(AccessError):
                    Configuration.read([1], [name])
                with self.assertRaises(AccessError):
                    Configuration.search_read([], fields_names=[name])
            values, = Configuration.read([1], [
                    'secret_input', 'secret_set', 'token_input', 'token_set',
                    'encoding_aes_key_set'])
            self.assertEqual(values['secret_input'], None)
            self.assertEqual(values['token_input'], None)
            self.assertIs(values['secret_set'], True)
            self.assertIs(values['token_set'], True)
            self.assertIs(values['encoding_aes_key_set'], False)
            # Nor written directly
            with self.assertRaises(AccessError):
                Configuration.write([Configuration(1)], {'secret': 'x'})
            # Tryton's log of the calls leaves the inputs out
            for name in Configuration._secrets:
                self.assertTrue(is_sensitive_key(name), name)
            # An empty input keeps it
            Configuration.write([Configuration(1)], {'secret_input': ''})
        # The server uses it
        self.assertEqual(
            Configuration(1).get_setting('secret'), self.WECHAT_SECRET)

    @with_transaction()
    def test_wechat_test_connection(self):
        "The test fetches a token: success recorded, failure exact"
        Configuration = Pool().get('meter.wechat.configuration')
        configuration = self.configure_wechat()
        with as_rpc():
            Configuration.test_connection([configuration])
            values, = Configuration.read([1], ['connection_status'])
        self.assertEqual(values['connection_status'], "连接成功。")
        self.assertTrue(Configuration(1).connection_tested_at)

        wrong = 'wrong-secret-0000'
        configuration = self.configure_wechat(secret=wrong)
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([configuration])
        message = context.exception.message
        self.assertIn('40001', message)
        self.assertIn("连接测试失败", message)
        self.assertNotIn(wrong, message)

        # Unreachable: requests quotes the URL with the secret, not here
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            closed = probe.getsockname()[1]
        configuration = self.configure_wechat(
            api_base_url='http://127.0.0.1:%s/' % closed)
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([configuration])
        message = context.exception.message
        self.assertIn('127.0.0.1', message)
        self.assertNotIn(self.WECHAT_SECRET, message)

    @with_transaction()
    def test_platform(self):
        "The platform's token is write-only; the test asks its file"
        pool = Pool()
        Format = pool.get('meter.import.format')
        Platform = pool.get('meter.platform')
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Platform)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            format_ = Format(name="Platform", source='platform',
                file_type='json', records_key='data.items',
                identifier_column='device', value_column='energy',
                date_column='ts')
            format_.save()
            url = 'http://127.0.0.1:%s/readings.json' % server.server_port
            with as_rpc():
                platform, = Platform.create([{
                            'name': "能耗平台", 'url': url,
                            'format': format_.id,
                            'token_input': 'wrong-token',
                            }])
                with self.assertRaises(UserError) as context:
                    Platform.test_connection([platform])
                self.assertIn('401', context.exception.message)
                self.assertNotIn('wrong-token', context.exception.message)
                Platform.write([platform], {'token_input': PLATFORM_TOKEN})
                Platform.test_connection([platform])
                values, = Platform.read([platform.id], [
                        'connection_status', 'token_input', 'token_set'])
                self.assertEqual(
                    values['connection_status'], "连接成功。")
                self.assertEqual(values['token_input'], None)
                self.assertIs(values['token_set'], True)
                with self.assertRaises(AccessError):
                    Platform.read([platform.id], ['token'])
                with self.assertRaises(AccessError):
                    Platform.search_read([], fields_names=['token'])
            # Nothing imported by the test
            self.assertEqual(list(Platform(platform.id).jobs), [])
        finally:
            server.shutdown()
            server.server_close()

    @with_transaction()
    def test_collector(self):
        "The collector's test opens its socket"
        pool = Pool()
        Collector = pool.get('meter.collector')
        listener = socket.create_server(('127.0.0.1', 0))
        try:
            port = listener.getsockname()[1]
            collector, = Collector.create([{
                        'code': 'C1', 'name': "采集器",
                        'port': 'socket://127.0.0.1:%s' % port,
                        }])
            Collector.test_connection([collector])
            self.assertEqual(collector.connection_status, "连接成功。")
        finally:
            listener.close()
        with self.assertRaises(UserError) as context:
            Collector.test_connection([collector])
        self.assertIn('127.0.0.1:%s' % port, context.exception.message)
        self.assertIn("连接测试失败", context.exception.message)


class SmsIntegrationTestCase(DBTestCase):
    "Test the SMS settings of 数据管理 against the fake Aliyun SMS"
    module = 'meter_field'
    language = 'zh_CN'
    PHONE = '13800138000'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from trytond.modules.meter_wechat.tests.fakes import FakeAliyunSms
        cls.gateway = FakeAliyunSms(templates=['SMS_000001'])
        cls.gateway.start()

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.gateway.fail_with = None

    def configure(self, **values):
        Configuration = Pool().get('meter.sms.configuration')
        settings = {
            'provider': 'aliyun',
            'endpoint': self.gateway.url,
            'access_key_id': self.gateway.access_key_id,
            'access_key_secret_input': self.gateway.access_key_secret,
            'sign_name': '水电保障中心',
            'template_verification': 'SMS_000001',
            'test_phone': self.PHONE,
            }
        settings.update(values)
        with as_rpc():
            Configuration.write([Configuration(1)], settings)
        return Configuration(1)

    @with_transaction()
    def test_secret_write_only(self):
        "The AccessKey secret is used and never read back, by admin either"
        pool = Pool()
        Configuration = pool.get('meter.sms.configuration')
        User = pool.get('res.user')
        self.configure()
        admin, = User.search([('login', '=', 'admin')])
        with Transaction().set_user(admin.id), as_rpc():
            with self.assertRaises(AccessError):
                Configuration.read([1], ['access_key_secret'])
            with self.assertRaises(AccessError):
                Configuration.search_read(
                    [], fields_names=['access_key_secret'])
            with self.assertRaises(AccessError):
                Configuration.write(
                    [Configuration(1)], {'access_key_secret': 'x'})
            values, = Configuration.read([1], [
                    'access_key_secret_input', 'access_key_secret_set'])
            self.assertEqual(values['access_key_secret_input'], None)
            self.assertIs(values['access_key_secret_set'], True)
            self.assertTrue(is_sensitive_key('access_key_secret_input'))
            # An empty input keeps it
            Configuration.write(
                [Configuration(1)], {'access_key_secret_input': ''})
        self.assertEqual(Configuration(1).access_key_secret,
            self.gateway.access_key_secret)

    @with_transaction()
    def test_connection(self):
        "The test sends a code to the test number: success saved with time"
        Configuration = Pool().get('meter.sms.configuration')
        configuration = self.configure()
        sent = len(self.gateway.messages)
        with as_rpc():
            Configuration.test_connection([configuration])
            values, = Configuration.read(
                [1], ['connection_status', 'connection_tested_at'])
        message = self.gateway.messages[-1]
        self.assertEqual(len(self.gateway.messages), sent + 1)
        self.assertEqual((message['phone'], message['template'],
                message['sign_name']),
            (self.PHONE, 'SMS_000001', '水电保障中心'))
        self.assertEqual(values['connection_status'],
            "测试验证码 %s 已发送至 %s。" % (
                message['params']['code'], self.PHONE))
        self.assertTrue(values['connection_tested_at'])

    @with_transaction()
    def test_connection_refused(self):
        "A wrong secret, key or signature: the provider's exact code"
        Configuration = Pool().get('meter.sms.configuration')
        wrong = 'wrong-secret-0000'
        for values, expected in [
                ({'access_key_secret_input': wrong}, 'SignatureDoesNotMatch'),
                ({'access_key_id': 'LTAI-unknown'},
                    'InvalidAccessKeyId.NotFound'),
                ({'sign_name': '别的签名'}, 'isv.SMS_SIGNATURE_ILLEGAL'),
                ({'template_verification': 'SMS_9'},
                    'isv.SMS_TEMPLATE_ILLEGAL'),
                ]:
            configuration = self.configure(**values)
            with self.assertRaises(UserError) as context:
                Configuration.test_connection([configuration])
            message = context.exception.message
            self.assertIn("连接测试失败", message)
            self.assertIn("短信", message)
            self.assertIn(expected, message)
            self.assertNotIn(wrong, message)
            self.assertNotIn(self.gateway.access_key_secret, message)
            # Put back what was right
            self.configure()
        # Throttled by the provider
        self.gateway.fail_with = 'isv.BUSINESS_LIMIT_CONTROL'
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([self.configure()])
        self.assertIn('isv.BUSINESS_LIMIT_CONTROL', context.exception.message)
        # Nothing saved of a failure
        self.assertFalse(Configuration(1).connection_tested_at)

    @with_transaction()
    def test_connection_unreachable(self):
        "An endpoint nobody answers: the reason, not the secret"
        Configuration = Pool().get('meter.sms.configuration')
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            closed = probe.getsockname()[1]
        configuration = self.configure(
            endpoint='http://127.0.0.1:%s/' % closed)
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([configuration])
        message = context.exception.message
        self.assertIn("连接测试失败", message)
        self.assertIn('127.0.0.1', message)
        self.assertNotIn(self.gateway.access_key_secret, message)

    @with_transaction()
    def test_connection_not_set(self):
        "No test number, or a provider without its keys: said so"
        Configuration = Pool().get('meter.sms.configuration')
        configuration = self.configure(test_phone=None)
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([configuration])
        self.assertIn("测试手机号", context.exception.message)
        configuration = self.configure(sign_name=None)
        with self.assertRaises(UserError) as context:
            Configuration.test_connection([configuration])
        self.assertIn("连接测试失败", context.exception.message)

    @with_transaction()
    def test_residents_codes(self):
        "The residents' codes go through the provider set here"
        from trytond.modules.meter_wechat.routes import sms_codes
        self.configure()
        codes = sms_codes()
        codes.send('13900139000')
        message = self.gateway.messages[-1]
        self.assertEqual((message['phone'], message['template']),
            ('13900139000', 'SMS_000001'))
        # Empty: the server configuration's (the log by default)
        Configuration = Pool().get('meter.sms.configuration')
        Configuration.write([Configuration(1)], {'provider': None})
        self.assertEqual(sms_codes().provider.name, 'log')

    @with_transaction()
    def test_connection_log(self):
        """With the development provider the test says the code went to
        the server log, not that a text message was sent"""
        Configuration = Pool().get('meter.sms.configuration')
        configuration = self.configure()
        Configuration.write([configuration], {'provider': 'log'})
        sent = len(self.gateway.messages)
        with self.assertLogs('trytond.modules.meter_wechat', 'INFO') as log:
            Configuration.test_connection([configuration])
        status = Configuration(1).connection_status
        self.assertEqual(len(self.gateway.messages), sent)
        self.assertNotIn("已发送", status)
        self.assertIn("服务器日志", status)
        code = re.search(r'验证码 (\d{6})', status).group(1)
        self.assertTrue(any(code in line for line in log.output))


class BillingExchangeTestCase(DBTestCase):
    "Test the billing system's exchange of 数据管理"
    module = 'meter_field'
    language = 'zh_CN'

    def exchange(self, **values):
        Exchange = Pool().get('meter.billing.exchange')
        exchange = Exchange(1)
        if values:
            with as_rpc():
                Exchange.write([exchange], values)
        return Exchange(1)

    def failure(self, exchange):
        Exchange = Pool().get('meter.billing.exchange')
        with self.assertRaises(UserError) as context:
            Exchange.test_connection([exchange])
        self.assertIn("连接测试失败", context.exception.message)
        self.assertIn("收费系统接口", context.exception.message)
        return context.exception.message

    @with_transaction()
    def test_directory(self):
        "A writable directory passes, the probe removed; else the reason"
        Exchange = Pool().get('meter.billing.exchange')
        with tempfile.TemporaryDirectory() as directory:
            exchange = self.exchange(directory=directory)
            with as_rpc():
                Exchange.test_connection([exchange])
            self.assertEqual(os.listdir(directory), [])
            self.assertEqual(Exchange(1).connection_status, "连接成功。")
            self.assertTrue(Exchange(1).connection_tested_at)

            missing = os.path.join(directory, 'absent')
            message = self.failure(self.exchange(directory=missing))
            self.assertIn(missing, message)
            self.assertIn("不存在或不是目录", message)

            a_file = os.path.join(directory, 'file')
            open(a_file, 'w').close()
            message = self.failure(self.exchange(directory=a_file))
            self.assertIn(a_file, message)
            if os.geteuid():
                os.chmod(directory, 0o500)
                try:
                    message = self.failure(
                        self.exchange(directory=directory))
                    self.assertIn(directory, message)
                finally:
                    os.chmod(directory, 0o700)

    @with_transaction()
    def test_columns(self):
        "The files' columns must hold what the billing system needs"
        message = self.failure(self.exchange(columns=[('create', [
                            {'file': 'bills', 'column': 'account',
                                'header': '用户编号'},
                            {'file': 'bills', 'column': 'amount',
                                'header': '应收金额'},
                            ])]))
        self.assertIn("账单", message)
        self.assertIn("表号、月份、用量", message)
        self.assertNotIn("缴费记录", message)
        # A column of the other file is refused
        with self.assertRaises(UserError):
            self.exchange(columns=[('create', [{'file': 'bills',
                                'column': 'receipt', 'header': '收据'}])])

    @with_transaction()
    def test_sample(self):
        "The sample history file reads, or its first row's error is told"
        Exchange = Pool().get('meter.billing.exchange')
        good = '户号,月份,用量,金额\nE1,2026-01,12.5,8.75\n'.encode()
        exchange = self.exchange(sample=good, sample_name='history.csv')
        with as_rpc():
            Exchange.test_connection([exchange])
        self.assertEqual(Exchange(1).connection_status, "连接成功。")

        bad = ('户号,月份,用量,金额\nE1,2026-01,12.5,8.75\n'
            'E2,2026-13,3,1\nE3,2026-02,x,1\n').encode()
        message = self.failure(
            self.exchange(sample=bad, sample_name='history.csv'))
        self.assertIn("history.csv", message)
        self.assertIn("第 3 行", message)
        self.assertIn("2026-13", message)
        self.assertNotIn("第 4 行", message)

        message = self.failure(
            self.exchange(sample=b'\x00\x01', sample_name='history.xls'))
        self.assertIn("history.xls", message)

    @with_transaction()
    def test_export_layout(self):
        "The export is laid out by the columns and written to the directory"
        pool = Pool()
        Period = pool.get('meter.billing.period')
        Export = pool.get('meter.billing.export', type='wizard')
        period, = Period.create([{'name': '2026-03',
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}])
        with tempfile.TemporaryDirectory() as directory:
            self.exchange(directory=directory, columns=[('create', [
                            {'file': 'payments', 'column': 'receipt',
                                'header': '票据号', 'sequence': 1},
                            {'file': 'payments', 'column': 'amount',
                                'header': '实收金额', 'sequence': 2},
                            ])])
            session_id, _, _ = Export.create()
            export = Export(session_id)
            export.start.period = period
            export.start.what = 'payments'
            export.transition_export()
            path = os.path.join(directory, 'payments-2026-03.xlsx')
            workbook = openpyxl.load_workbook(path)
            self.assertEqual(
                [c.value for c in next(workbook.active.iter_rows())],
                ['票据号', '实收金额'])
            # A directory gone: the export says so
            self.exchange(directory=os.path.join(directory, 'gone'))
            with self.assertRaises(UserError) as context:
                export.transition_export()
            self.assertIn('gone', context.exception.message)
