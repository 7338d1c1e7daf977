"""Tests of the WeChat API client against the local fake, over loopback."""
import unittest

from wechatpy.session.memorystorage import MemoryStorage

from trytond.modules.meter_wechat.reply import (
    default_menu, default_reply_table)
from trytond.modules.meter_wechat.client import (
    MeterWeChatClient, MeterWeChatOAuth, WeChatApi, WeChatApiError,
    jsapi_signature)

from .fakes import FakeWeChatApi
from .reply_texts import TEXTS


APPID = 'wx0123456789abcdef'
SECRET = 'app-secret-0123456789'
OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'
# The smallest JPEG: SOI, EOI
JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
JPEG += b'\xff\xd9'


class ClientTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = FakeWeChatApi(appid=APPID, secret=SECRET)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.server.calls.clear()
        self.server.templates = None
        self.api = WeChatApi(
            APPID, SECRET, api_base_url=self.server.url, timeout=5)

    def assertApiError(self, code, errcode, function, *args, **kwargs):
        with self.assertRaises(WeChatApiError) as context:
            function(*args, **kwargs)
        self.assertEqual(context.exception.code, code)
        self.assertEqual(context.exception.errcode, errcode)
        return context.exception

    def test_base_url(self):
        client = MeterWeChatClient(APPID, SECRET, api_base_url='http://x/')
        self.assertEqual(client.API_BASE_URL, 'http://x/cgi-bin/')
        self.assertEqual(
            MeterWeChatClient.API_BASE_URL,
            'https://api.weixin.qq.com/cgi-bin/')
        oauth = MeterWeChatOAuth(
            APPID, SECRET, 'https://wx.example.edu.cn/meter/pay',
            api_base_url='http://x/', oauth_base_url='http://o/connect/')
        self.assertEqual(oauth.API_BASE_URL, 'http://x/')
        self.assertTrue(oauth.authorize_url.startswith(
                'http://o/connect/oauth2/authorize?appid=' + APPID))
        self.assertIn(
            'redirect_uri=https%3A%2F%2Fwx.example.edu.cn%2Fmeter%2Fpay',
            oauth.authorize_url)

    def test_default_authorize_url(self):
        url = self.api.oauth('https://wx.example.edu.cn/meter/usage').\
            authorize_url
        self.assertTrue(url.startswith(
                'https://open.weixin.qq.com/connect/oauth2/authorize?'))
        self.assertTrue(url.endswith('#wechat_redirect'))

    def test_token_fetched_once(self):
        self.server.subscribe(OPENID)
        self.api.send_template(OPENID, 'TPL', {'first': '你好'})
        self.api.send_template(OPENID, 'TPL', {'first': '你好'})
        self.assertEqual(len(self.server.calls_to('/cgi-bin/token')), 1)
        token_call, = self.server.calls_to('/cgi-bin/token')
        self.assertEqual(token_call['args'], {
                'grant_type': 'client_credential',
                'appid': APPID,
                'secret': SECRET,
                })

    def test_shared_session(self):
        session = MemoryStorage()
        first = WeChatApi(APPID, SECRET, self.server.url, session=session)
        second = WeChatApi(APPID, SECRET, self.server.url, session=session)
        self.server.subscribe(OPENID)
        first.send_template(OPENID, 'TPL', {'first': '1'})
        second.send_template(OPENID, 'TPL', {'first': '2'})
        self.assertEqual(len(self.server.calls_to('/cgi-bin/token')), 1)

    def test_wrong_secret(self):
        api = WeChatApi(APPID, 'wrong', api_base_url=self.server.url)
        self.assertApiError(
            'invalid_credential', 40001, api.create_menu,
            {'button': [{'type': 'click', 'name': 'a', 'key': 'A'}]})

    def test_wrong_appid(self):
        api = WeChatApi('wx0000000000000000', SECRET, self.server.url)
        self.assertApiError('api_error', 40013, api.download_media, 'm')

    def test_expired_token_refreshed_once(self):
        self.server.subscribe(OPENID)
        self.api.send_template(OPENID, 'TPL', {'first': '1'})
        self.server.expire_tokens()
        msgid = self.api.send_template(OPENID, 'TPL', {'first': '2'})
        self.assertTrue(msgid)
        self.assertEqual(len(self.server.calls_to('/cgi-bin/token')), 2)

    def test_token_refused_again(self):
        "A server refusing every token must not make the client loop"
        self.server.subscribe(OPENID)
        self.api.send_template(OPENID, 'TPL', {'first': '1'})
        original = self.server.token

        def useless_token(server, request, payload):
            result = original(request, payload)
            server.expire_tokens()
            return result
        self.server.routes = dict(FakeWeChatApi.routes)
        self.server.routes[('GET', '/cgi-bin/token')] = useless_token
        self.server.expire_tokens()
        try:
            self.assertApiError(
                'invalid_credential', 40001, self.api.send_template,
                OPENID, 'TPL', {'first': '2'})
        finally:
            del self.server.routes
        self.assertEqual(
            len(self.server.calls_to('/cgi-bin/message/template/send')), 3)

    def test_oauth_openid(self):
        self.server.add_code('0a1b2c3d', OPENID)
        self.assertEqual(self.api.oauth_openid('0a1b2c3d'), OPENID)
        call, = self.server.calls_to('/sns/oauth2/access_token')
        self.assertEqual(call['args']['grant_type'], 'authorization_code')
        self.assertEqual(call['args']['code'], '0a1b2c3d')

    def test_oauth_code_used_twice(self):
        self.server.add_code('once', OPENID)
        self.api.oauth_openid('once')
        self.assertApiError('invalid_code', 40163, self.api.oauth_openid,
            'once')

    def test_oauth_invalid_code(self):
        self.assertApiError(
            'invalid_code', 40029, self.api.oauth_openid, 'forged')
        self.assertApiError('invalid_code', 40029, self.api.oauth_openid, '')
        self.assertApiError(
            'invalid_code', 40029, self.api.oauth_openid, None)

    def test_download_media(self):
        self.server.add_media('MEDIA_1', JPEG)
        self.assertEqual(self.api.download_media('MEDIA_1'), JPEG)
        call, = self.server.calls_to('/cgi-bin/media/get')
        self.assertEqual(call['args']['media_id'], 'MEDIA_1')
        self.assertTrue(call['args']['access_token'])

    def test_download_invalid_media(self):
        self.assertApiError(
            'invalid_media', 40007, self.api.download_media, 'unknown')
        self.assertApiError(
            'invalid_media', 40007, self.api.download_media, '')

    def test_download_too_large(self):
        self.server.add_media('BIG', b'\xff\xd8' + b'\0' * 2048)
        api = WeChatApi(APPID, SECRET, self.server.url, max_media_size=1024)
        self.assertApiError('media_too_large', None, api.download_media,
            'BIG')

    def test_send_template(self):
        self.server.subscribe(OPENID)
        self.server.templates = {'TPL_BILL'}
        msgid = self.api.send_template(
            OPENID, 'TPL_BILL', {
                'first': '您的 5 月水电费账单已生成',
                'keyword1': {'value': '36.50 元', 'color': '#173177'},
                }, url='https://wx.example.edu.cn/meter/pay')
        self.assertEqual(msgid, self.server.sent[-1]['msgid'])
        sent = self.server.sent[-1]
        self.assertEqual(sent['touser'], OPENID)
        self.assertEqual(sent['url'], 'https://wx.example.edu.cn/meter/pay')
        self.assertEqual(
            sent['data']['first'], {'value': '您的 5 月水电费账单已生成'})
        self.assertEqual(sent['data']['keyword1']['color'], '#173177')

    def test_send_template_errors(self):
        self.server.templates = {'TPL_BILL'}
        self.assertApiError(
            'not_subscribed', 43004, self.api.send_template,
            'oNotSubscribed', 'TPL_BILL', {'first': 'x'})
        self.server.subscribe(OPENID)
        self.assertApiError(
            'invalid_template', 40037, self.api.send_template,
            OPENID, 'TPL_OTHER', {'first': 'x'})

    def test_create_menu(self):
        table = default_reply_table('https://wx.example.edu.cn/meter/', TEXTS)
        oauth = self.api.oauth
        menu = default_menu(
            table, link=lambda url: oauth(url).authorize_url)
        self.api.create_menu(menu)
        self.assertEqual(self.server.menus[-1], menu)
        call, = self.server.calls_to('/cgi-bin/menu/create')
        self.assertEqual(call['json'], menu)

    def test_create_invalid_menu(self):
        self.assertApiError(
            'api_error', 40016, self.api.create_menu, {'button': []})
        self.assertApiError(
            'api_error', 40017, self.api.create_menu,
            {'button': [{'type': 'teleport', 'name': 'x', 'key': 'X'}]})
        self.assertApiError(
            'api_error', 40018, self.api.create_menu,
            {'button': [{'type': 'click', 'name': '非常非常长的菜单名字',
                        'key': 'X'}]})

    def test_unreachable(self):
        with FakeWeChatApi(appid=APPID, secret=SECRET) as server:
            url = server.url
        api = WeChatApi(APPID, SECRET, api_base_url=url, timeout=1)
        self.assertApiError('network_error', None, api.download_media, 'm')
        self.assertApiError('network_error', None, api.oauth_openid, 'c')

    def test_timeout(self):
        "A silent server does not hang the worker"
        import socket
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        try:
            api = WeChatApi(
                APPID, SECRET,
                'http://127.0.0.1:%d/' % listener.getsockname()[1],
                timeout=0.3)
            self.assertApiError('network_error', None, api.download_media,
                'm')
        finally:
            listener.close()

    def test_jsapi_ticket_cached(self):
        "The jsapi_ticket is fetched once and kept in the session storage"
        session = MemoryStorage()
        api = WeChatApi(APPID, SECRET, self.server.url, session=session)
        ticket = api.jsapi_ticket()
        self.assertEqual(ticket, self.server.tickets[-1])
        other = WeChatApi(APPID, SECRET, self.server.url, session=session)
        self.assertEqual(other.jsapi_ticket(), ticket)
        call, = self.server.calls_to('/cgi-bin/ticket/getticket')
        self.assertEqual(call['args']['type'], 'jsapi')
        self.assertTrue(call['args']['access_token'])
        self.assertEqual(len(self.server.calls_to('/cgi-bin/token')), 1)

    def test_jsapi_ticket_expired_token(self):
        self.api.jsapi_ticket()
        self.server.expire_tokens()
        fresh = WeChatApi(APPID, SECRET, self.server.url,
            session=self.api.client.session)
        fresh.client.session.delete(APPID + '_jsapi_ticket')
        self.assertEqual(fresh.jsapi_ticket(), self.server.tickets[-1])
        self.assertEqual(len(self.server.calls_to('/cgi-bin/token')), 2)

    def test_jsapi_config(self):
        "wx.config gets the appId and the signature of the page's URL"
        url = 'https://wx.example.edu.cn/meter/wechat/reading?meter=3'
        config = self.api.jsapi_config(url + '#photo', now=1414587457)
        self.assertEqual(config['appId'], APPID)
        self.assertEqual(config['timestamp'], 1414587457)
        self.assertRegex(config['nonceStr'], r'^[0-9a-f]{16}$')
        self.assertEqual(config['signature'], jsapi_signature(
                self.server.tickets[-1], config['nonceStr'], 1414587457,
                url))
        again = self.api.jsapi_config(url, now=1414587457)
        self.assertNotEqual(again['nonceStr'], config['nonceStr'])
        self.assertEqual(len(self.server.tickets), 1)

    def test_jsapi_config_refused(self):
        api = WeChatApi(APPID, 'wrong', api_base_url=self.server.url)
        self.assertApiError(
            'invalid_credential', 40001, api.jsapi_config,
            'https://wx.example.edu.cn/')

    def test_required(self):
        with self.assertRaises(ValueError):
            WeChatApi('', SECRET)


class JsapiSignatureTestCase(unittest.TestCase):
    "The signature of wx.config (JS-SDK 附录1 签名算法)"

    def test_documented_example(self):
        "WeChat's own example of the JS-SDK documentation"
        self.assertEqual(jsapi_signature(
                'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSl'
                'Yy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
                'Wm3WZYTPz0wzccnW', 1414587457,
                'http://mp.weixin.qq.com?params=value'),
            '0f9de62fce790f9a083d5c99e95740ceb90c27ed')

    def test_fragment_ignored(self):
        "The part after # is not signed, as the browser never sends it"
        self.assertEqual(
            jsapi_signature('t', 'n', '1', 'https://a/b?c=d#e'),
            jsapi_signature('t', 'n', 1, 'https://a/b?c=d'))
        self.assertNotEqual(
            jsapi_signature('t', 'n', 1, 'https://a/b?c=d'),
            jsapi_signature('t', 'n', 1, 'https://a/b?c=e'))
