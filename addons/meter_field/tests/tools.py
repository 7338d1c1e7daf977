"""What the tests of the field pages share: a test case of the pages under
/<database>/field/ in Chinese with the OCR of the evidence off (reading
the counter of a plain coloured photo is beside the point), their URLs,
the CSRF token of a page, a logged-in client, and a photo."""
import io
import re
from urllib.parse import quote

from PIL import Image

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# The password of the users the tests create
PASSWORD = 'field-pages-2026'


def image(kind='JPEG', size=(640, 480), color=(200, 30, 30)):
    "Return a plain photo as bytes"
    data = io.BytesIO()
    Image.new('RGB', size, color).save(data, kind)
    return data.getvalue()


class FieldTestCase(RouteTestCase):
    "A test case of the field pages; its users have the password PASSWORD"
    module = 'meter_field'
    language = 'zh_CN'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Configuration = Pool(DB_NAME).get('meter.configuration')
        if 'ocr' in Configuration._fields:
            with Transaction().start(DB_NAME, 0, _lock_tables=[
                        Configuration._table]):
                Configuration.write([Configuration(1)], {'ocr': False})

    def url(self, page=''):
        return '/%s/field/%s' % (DB_NAME, page)

    def href(self, page=''):
        "The address of a page as the pages write it (the database quoted)"
        return '/%s/field/%s' % (quote(DB_NAME), page)

    def token(self, client, page=''):
        "Return the CSRF token of the page, opened by client"
        response = client.get(self.url(page))
        self.assertEqual(response.status_code, 200, response.text)
        return CSRF.search(response.text).group(1)

    def post_login(self, client, login, password, next_=''):
        return client.post(self.url('login'), data={
                'csrf_token': self.token(client), 'login': login,
                'password': password, 'next': next_})

    def logged_in(self, login='field1', client=None):
        "Return a client (a new one unless given) logged in as login"
        client = client or self.client()
        response = self.post_login(client, login, PASSWORD)
        self.assertEqual(response.status_code, 302, response.text)
        return client


class FakeWeChatMixin:
    """Start the fake WeChat API (WECHAT_APPID, WECHAT_SECRET) for the
    test case, as cls.api; the test case points the configuration at it"""
    WECHAT_APPID = 'wxfield0123456789'
    WECHAT_SECRET = 'field-secret'

    @classmethod
    def setUpClass(cls):
        from trytond.modules.meter_wechat.tests.fakes import FakeWeChatApi
        cls.api = FakeWeChatApi(
            appid=cls.WECHAT_APPID, secret=cls.WECHAT_SECRET)
        cls.api.start()
        try:
            super().setUpClass()
        except Exception:
            cls.api.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.api.stop()
