"""The management centre in the web client: business messages reach the
desk by the bell of sao, and the WeChat, SMS and billing system
connections are tested from 数据管理, their secrets written and never
shown back.

A real trytond serves the real sao 8.0 to Debian's Chromium; WeChat is the
local fake of its API, reached by wechatpy on the server's side, the SMS
gateway the local fake of Aliyun's, reached by the server's own client.
"""
import os
import re
import tempfile

from playwright.sync_api import expect

from ..fakes.sms_api import FakeAliyunSms
from ..fakes.wechat_api import FakeWeChatApi
from .sao import SaoCase
from .server import PASSWORD, Server

APPID, SECRET = 'wx5a6b7c8d9e0f1a2b', 'messages-browser-secret'
SMS_KEY, SMS_SECRET = 'LTAI-browser', 'sms-browser-secret-77'
SIGN, TEST_PHONE = '水电保障中心', '13900001111'
DESK_PASSWORD = 'desk-browser-2026'
SETUP = """
ModelData = pool.get('ir.model.data')
Campus = pool.get('meter.campus')
Account = pool.get('meter.account')
Department = pool.get('meter.department')
Post = pool.get('meter.post')
User = pool.get('res.user')
WeChatUser = pool.get('meter.wechat.user')
Binding = pool.get('meter.wechat.binding')
Configuration = pool.get('meter.wechat.configuration')
Configuration.write([Configuration(1)], {
        'appid': %(appid)r, 'api_base_url': %(api)r})
Sms = pool.get('meter.sms.configuration')
Sms.write([Sms(1)], {'provider': 'aliyun', 'endpoint': %(sms)r,
        'access_key_id': %(sms_key)r, 'sign_name': %(sign)r,
        'template_verification': 'SMS_000001',
        'test_phone': %(phone)r})
east, = Campus.create([{'code': 'E', 'name': 'East'}])
account, = Account.create([{'number': 'E00001', 'name': 'E00001',
            'category': 'resident', 'campus': east.id}])
centre, = Department.create([{'code': 'CS', 'name': 'Desk'}])
post, = Post.create([{'name': 'Cashier', 'department': centre.id,
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_service_desk')])],
            'campuses': [('add', [east.id])],
            'message_binding': True}])
zh, = pool.get('ir.lang').search([('code', '=', 'zh_CN')])
User.create([{'login': 'desk', 'name': 'Desk', 'password': %(password)r,
            'language': zh.id, 'posts': [('add', [post.id])]}])
resident, = WeChatUser.create([{'openid': 'o-resident',
            'phone': '13800000000'}])
Binding.create([{'user': resident.id, 'account': account.id}])
"""


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class SaoMessagesTestCase(SaoCase):
    MODULES = MODULES
    NAME = 'browser_messages'

    @classmethod
    def start_server(cls):
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET).start()
        cls.sms = FakeAliyunSms(access_key_id=SMS_KEY,
            access_key_secret=SMS_SECRET, sign_names=[SIGN])
        cls.sms.start()
        try:
            return Server(cls.MODULES, name=cls.NAME,
                setup=SETUP % {'appid': APPID, 'api': cls.api.url,
                    'password': DESK_PASSWORD, 'sms': cls.sms.url,
                    'sms_key': SMS_KEY, 'sign': SIGN,
                    'phone': TEST_PHONE}).start()
        except Exception:
            cls.api.stop()
            cls.sms.stop()
            raise

    @classmethod
    def tearDownServer(cls):
        super().tearDownServer()
        cls.api.stop()
        cls.sms.stop()

    def test_bell(self):
        "The desk's bell tells of the binding request and opens the list"
        page = self.page
        self.login('desk', DESK_PASSWORD)
        badge = page.locator('#user-preferences .notification-badge')
        expect(badge).to_have_text('1')
        page.click('#user-preferences > a.dropdown-toggle')
        item = page.locator('.notification-menu .notification-item',
            has_text="1 条绑定申请待审批")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("请打开列表处理")
        item.locator('a').click()
        # The bindings' list, on its tab of the pending ones with a count
        tab = page.locator('#tabcontent > .tab-pane.active')
        expect(tab.locator('.nav-tabs li.active')).to_contain_text('1')
        expect(tab.locator('.treeview tbody tr')).to_have_count(1)
        expect(tab.locator('.treeview tbody tr')).to_contain_text('E00001')
        # Read: the badge is gone
        page.reload()
        expect(self.page.locator('.treeview').first).to_contain_text(
            "计量管理")
        self.settle()
        expect(badge).to_be_hidden()
        self.assertEqual(self.errors, [])

    def test_wechat_connection(self):
        "The AppSecret is typed, never shown back, and tested for real"
        page = self.page
        self.login('admin', PASSWORD)
        self.open_menu("计量管理", "数据管理", "微信配置")
        secret = self.field('secret_input')
        expect(secret).to_have_attribute('type', 'password')
        expect(secret).to_have_value('')
        self.type_into(secret, SECRET)
        self.save()
        # Not shown back after saving
        expect(self.field('secret_input')).to_have_value('')
        expect(self.page.locator('#tabcontent > .tab-pane.active '
                'input[name="secret_set"]:visible')).to_be_checked()
        self.assertNotIn(SECRET, page.content())

        page.locator('#tabcontent > .tab-pane.active button',
            has_text="测试连接").click()
        self.expect_status("连接成功。")

        wrong = 'wrong-browser-secret'
        self.type_into(self.field('secret_input'), wrong)
        self.save()
        page.locator('#tabcontent > .tab-pane.active button',
            has_text="测试连接").click()
        dialog = page.locator('.modal.in .modal-dialog')
        expect(dialog).to_contain_text("连接测试失败")
        expect(dialog).to_contain_text('40001')
        self.assertNotIn(wrong, dialog.inner_text())
        self.assertNotIn(SECRET, page.content())
        self.assertTrue(re.search(r'invalid credential', dialog.inner_text()))

    def click_test(self):
        "Click 测试连接 of the form shown"
        self.page.locator('#tabcontent > .tab-pane.active button',
            has_text="测试连接").click()

    def expect_status(self, value):
        """The connection test's status becomes value; when it does not,
        the failure tells what sao showed instead"""
        try:
            expect(self.field('connection_status')).to_have_value(value)
        except AssertionError as error:
            shown = self.page.locator('.modal.in').all_inner_texts()
            raise AssertionError(f'{error}\nsao showed: {shown}') from None

    def test_sms_connection(self):
        "The AccessKey secret is typed, never shown back, tested for real"
        page = self.page
        self.login('admin', PASSWORD)
        self.open_menu("计量管理", "数据管理", "短信设置")
        secret = self.field('access_key_secret_input')
        expect(secret).to_have_attribute('type', 'password')
        expect(secret).to_have_value('')

        wrong = 'wrong-sms-secret'
        self.type_into(secret, wrong)
        self.save()
        expect(self.field('access_key_secret_input')).to_have_value('')
        self.click_test()
        dialog = page.locator('.modal.in .modal-dialog')
        expect(dialog).to_contain_text("连接测试失败")
        expect(dialog).to_contain_text('SignatureDoesNotMatch')
        self.assertNotIn(wrong, dialog.inner_text())
        dialog.locator('.modal-footer button').first.click()
        expect(dialog).to_have_count(0)
        self.assertEqual(self.sms.messages, [])

        self.type_into(self.field('access_key_secret_input'), SMS_SECRET)
        self.save()
        expect(self.page.locator('#tabcontent > .tab-pane.active '
                'input[name="access_key_secret_set"]:visible')
            ).to_be_checked()
        self.click_test()
        self.expect_status(
            re.compile(r'测试验证码 \d{6} 已发送至 %s。' % TEST_PHONE))
        message, = self.sms.messages
        self.assertEqual((message['phone'], message['sign_name']),
            (TEST_PHONE, SIGN))
        self.assertIn(message['params']['code'],
            self.field('connection_status').input_value())
        self.assertNotIn(SMS_SECRET, page.content())

    def test_billing_exchange_connection(self):
        "The exchange directory is tried by writing a file in it"
        page = self.page
        self.login('admin', PASSWORD)
        self.open_menu("计量管理", "数据管理", "收费系统接口")
        with tempfile.TemporaryDirectory() as directory:
            self.type_into(self.field('directory'), directory)
            self.save()
            self.click_test()
            self.expect_status("连接成功。")
            self.assertEqual(os.listdir(directory), [])

            missing = os.path.join(directory, 'absent')
            self.type_into(self.field('directory'), missing)
            self.save()
            self.click_test()
            dialog = page.locator('.modal.in .modal-dialog')
            expect(dialog).to_contain_text("连接测试失败")
            expect(dialog).to_contain_text(missing)
            expect(dialog).to_contain_text("不存在或不是目录")
