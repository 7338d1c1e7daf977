"""Tests of the WeChat message callback, without database."""
import hashlib
import random
import time
import unittest

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply

from trytond.modules.meter_wechat.callback import (
    MAX_BODY_SIZE, CallbackError, CallbackSettings, handle, handshake)
from trytond.modules.meter_wechat.nonce import MemoryNonceStore, NonceStore
from trytond.modules.meter_wechat.reply import (
    Answer, Article, ReplyTable, default_menu, default_reply_table)

from .reply_texts import TEXTS

BASE_URL = 'https://wx.example.edu.cn/meter/'
# The keyword answers, kept by staff as articles (meter.wechat.article)
ARTICLES = [
    Article(['缴费', '充值'], '在线缴费请<a href="{pay}">点击这里</a>。',
        'info/1', title='在线缴纳水电费', listed=True),
    Article(['报修', '维修'], '请<a href="{repair}">填写报修单</a>。',
        'info/2', title='报修水电故障', listed=True),
    Article(['停水', '停电'], '请查看<a href="{notice}">最新公告</a>。',
        'info/3', title='查看停水停电通知', listed=True),
    Article(['电话', '联系'], '值班电话：{phone}',
        'info/4', title='获取联系电话', listed=True),
    ]

# Message encryption sample published by WeChat with its WXBizMsgCrypt demo
# (safe mode: only ToUserName and Encrypt are sent in clear).
SAFE_SAMPLE = {
    'appid': 'wx5823bf96d3bd56c7',
    'token': 'QDG6eK',
    'encoding_aes_key': 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
    'msg_signature': '477715d11cdb4164915debcba66cb864d751f3e6',
    'timestamp': '1409659813',
    'nonce': '1372623149',
    'body': (
        '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>'
        '<Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/'
        'wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3'
        'TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4'
        'Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5m'
        'ZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVG'
        'Ucallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNe'
        'lZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2u'
        'yPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>'
        '<AgentID><![CDATA[218]]></AgentID></xml>').encode(),
    }

# Sample of the official account's encryption demo (compatible mode: the
# clear fields are sent next to Encrypt).
COMPATIBLE_SAMPLE = {
    'appid': 'wx2c2769f8efd9abc2',
    'token': 'spamtest',
    'encoding_aes_key': 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    'msg_signature': '5d197aaffba7e9b25a30732f161a50dee96bd5fa',
    'timestamp': '1409735669',
    'nonce': '1320562132',
    'body': (
        '<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>'
        '<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>'
        '</FromUserName><CreateTime>1409735668</CreateTime>'
        '<MsgType><![CDATA[text]]></MsgType>'
        '<Content><![CDATA[abcdteT]]></Content>'
        '<MsgId>6054768590064713728</MsgId>'
        '<Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B6'
        '55HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbU'
        'Ah0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jis'
        'a+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6'
        'KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ'
        'pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ix'
        'rcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt>'
        '</xml>').encode(),
    }

TOKEN = 'meterToken2024'
APPID = 'wx0123456789abcdef'
OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'
ACCOUNT = 'gh_0123456789ab'

# Plain-mode messages as shown in WeChat's message documentation
TEXT = '''<xml>
  <ToUserName><![CDATA[{to}]]></ToUserName>
  <FromUserName><![CDATA[{openid}]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[{content}]]></Content>
  <MsgId>1234567890123456</MsgId>
</xml>'''
SUBSCRIBE = '''<xml>
  <ToUserName><![CDATA[{to}]]></ToUserName>
  <FromUserName><![CDATA[{openid}]]></FromUserName>
  <CreateTime>123456789</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[{event}]]></Event>
</xml>'''
CLICK = '''<xml>
  <ToUserName><![CDATA[{to}]]></ToUserName>
  <FromUserName><![CDATA[{openid}]]></FromUserName>
  <CreateTime>123456789</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[{event}]]></Event>
  <EventKey><![CDATA[{key}]]></EventKey>
</xml>'''
IMAGE = '''<xml>
  <ToUserName><![CDATA[{to}]]></ToUserName>
  <FromUserName><![CDATA[{openid}]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[image]]></MsgType>
  <PicUrl><![CDATA[http://mmbiz.qpic.cn/example]]></PicUrl>
  <MediaId><![CDATA[media_id_1]]></MediaId>
  <MsgId>1234567890123456</MsgId>
</xml>'''


def sign(token, timestamp, nonce, *extra):
    return hashlib.sha1(''.join(
            sorted([token, timestamp, nonce, *extra])).encode()).hexdigest()


def text_body(content, openid=OPENID):
    return TEXT.format(to=ACCOUNT, openid=openid, content=content).encode()


def event_body(event, key=None):
    template = SUBSCRIBE if key is None else CLICK
    return template.format(
        to=ACCOUNT, openid=OPENID, event=event, key=key).encode()


def reply_of(answer):
    return xmltodict.parse(answer)['xml']


class CallbackTestCase(unittest.TestCase):

    def setUp(self):
        self.now = 1700000000
        self.nonces = iter(range(10 ** 6, 10 ** 7))
        self.store = MemoryNonceStore()
        self.settings = CallbackSettings(APPID, TOKEN)
        self.table = default_reply_table(
            BASE_URL, TEXTS, phone='0571-88881234', articles=ARTICLES)

    def plain_args(self, timestamp=None, nonce=None):
        timestamp = str(self.now if timestamp is None else timestamp)
        nonce = nonce or str(next(self.nonces))
        return {
            'signature': sign(TOKEN, timestamp, nonce),
            'timestamp': timestamp,
            'nonce': nonce,
            'openid': OPENID,
            }

    def post(self, body, args=None, table=None, settings=None, now=None):
        return handle(
            settings or self.settings, args or self.plain_args(), body,
            table or self.table, now=self.now if now is None else now,
            nonce_store=self.store)

    def assertRefused(self, code, status, *args, **kwargs):
        with self.assertRaises(CallbackError) as context:
            self.post(*args, **kwargs)
        self.assertEqual(context.exception.code, code)
        self.assertEqual(context.exception.status, status)
        return context.exception


class SettingsTestCase(unittest.TestCase):

    def test_modes(self):
        CallbackSettings(APPID, TOKEN)
        CallbackSettings(
            APPID, TOKEN, SAFE_SAMPLE['encoding_aes_key'], mode='safe')
        with self.assertRaises(ValueError):
            CallbackSettings(APPID, TOKEN, mode='secret')

    def test_safe_mode_needs_key(self):
        for key in [None, '', 'short', '!' * 43]:
            with self.subTest(key=key), self.assertRaises(ValueError):
                CallbackSettings(APPID, TOKEN, key, mode='compatible')

    def test_required(self):
        with self.assertRaises(ValueError):
            CallbackSettings('', TOKEN)
        with self.assertRaises(ValueError):
            CallbackSettings(APPID, TOKEN, max_clock_skew=-1)


class HandshakeTestCase(unittest.TestCase):

    def setUp(self):
        self.settings = CallbackSettings(APPID, TOKEN)
        self.now = 1700000000

    def args(self, **values):
        args = {
            'timestamp': str(self.now),
            'nonce': '1514711492',
            'echostr': '6837461098573285',
            }
        args['signature'] = sign(TOKEN, args['timestamp'], args['nonce'])
        args.update(values)
        return args

    def test_echo(self):
        self.assertEqual(
            handshake(self.settings, self.args(), now=self.now),
            '6837461098573285')

    def test_forged(self):
        for args in [
                self.args(signature='0' * 40),
                self.args(nonce='1514711493'),
                ]:
            with self.assertRaises(CallbackError) as context:
                handshake(self.settings, args, now=self.now)
            self.assertEqual(context.exception.code, 'signature_invalid')
            self.assertEqual(context.exception.status, 403)

    def test_missing_signature(self):
        args = self.args()
        del args['signature']
        with self.assertRaises(CallbackError) as context:
            handshake(self.settings, args, now=self.now)
        self.assertEqual(context.exception.code, 'signature_missing')
        self.assertEqual(context.exception.status, 403)

    def test_stale(self):
        with self.assertRaises(CallbackError) as context:
            handshake(self.settings, self.args(), now=self.now + 301)
        self.assertEqual(context.exception.code, 'timestamp_skew')
        self.assertEqual(context.exception.status, 403)

    def test_missing_echostr(self):
        args = self.args()
        del args['echostr']
        with self.assertRaises(CallbackError) as context:
            handshake(self.settings, args, now=self.now)
        self.assertEqual(context.exception.status, 400)

    def test_list_arguments(self):
        "Arguments parsed by parse_qs come as lists"
        args = {k: [v] for k, v in self.args().items()}
        args['echostr'] = '6837461098573285'
        self.assertEqual(
            handshake(self.settings, args, now=self.now),
            '6837461098573285')


class OfficialSampleTestCase(unittest.TestCase):

    def post_sample(self, sample, mode, appid=None, **args):
        settings = CallbackSettings(
            appid or sample['appid'], sample['token'],
            sample['encoding_aes_key'], mode=mode)
        query = {
            'msg_signature': sample['msg_signature'],
            'timestamp': sample['timestamp'],
            'nonce': sample['nonce'],
            }
        query.update(args)
        answer = handle(
            settings, query, sample['body'],
            default_reply_table(BASE_URL, TEXTS), now=int(sample['timestamp']),
            nonce_store=MemoryNonceStore())
        return settings, answer

    def decrypt(self, settings, answer):
        envelope = reply_of(answer)
        return reply_of(settings.crypto.decrypt_message(
                answer, envelope['MsgSignature'], envelope['TimeStamp'],
                envelope['Nonce']))

    def test_safe_sample(self):
        settings, answer = self.post_sample(SAFE_SAMPLE, 'safe')
        self.assertNotIn(b'<Content>', answer)
        reply = self.decrypt(settings, answer)
        self.assertEqual(reply['MsgType'], 'text')
        self.assertEqual(reply['ToUserName'], 'mycreate')
        self.assertEqual(reply['FromUserName'], 'wx5823bf96d3bd56c7')
        self.assertIn('回复「用量」', reply['Content'])

    def test_compatible_sample(self):
        settings, answer = self.post_sample(
            COMPATIBLE_SAMPLE, 'compatible', encrypt_type='aes')
        reply = self.decrypt(settings, answer)
        self.assertEqual(reply['ToUserName'], 'oyORnuP8q7ou2gfYjqLzSIWZf0rs')
        self.assertEqual(reply['FromUserName'], 'gh_10f6c3c3ac5a')
        self.assertEqual(reply['MsgType'], 'text')

    def test_sample_decrypts_with_wechatpy(self):
        "The sample is the message WeChat documents"
        sample = SAFE_SAMPLE
        crypto = WeChatCrypto(
            sample['token'], sample['encoding_aes_key'], sample['appid'])
        message = reply_of(crypto.decrypt_message(
                sample['body'], sample['msg_signature'],
                sample['timestamp'], sample['nonce']))
        self.assertEqual(message['Content'], 'hello')

    def test_other_appid(self):
        with self.assertRaises(CallbackError) as context:
            self.post_sample(SAFE_SAMPLE, 'safe', appid='wx0000000000000000')
        self.assertEqual(context.exception.code, 'appid_mismatch')
        self.assertEqual(context.exception.status, 400)

    def test_forged_msg_signature(self):
        with self.assertRaises(CallbackError) as context:
            self.post_sample(
                SAFE_SAMPLE, 'safe', msg_signature='1' * 40)
        self.assertEqual(context.exception.code, 'signature_invalid')
        self.assertEqual(context.exception.status, 403)

    def test_missing_msg_signature(self):
        with self.assertRaises(CallbackError) as context:
            self.post_sample(SAFE_SAMPLE, 'safe', msg_signature='')
        self.assertEqual(context.exception.code, 'signature_missing')

    def test_stale_sample(self):
        settings = CallbackSettings(
            SAFE_SAMPLE['appid'], SAFE_SAMPLE['token'],
            SAFE_SAMPLE['encoding_aes_key'], mode='safe')
        with self.assertRaises(CallbackError) as context:
            handle(settings, {
                    'msg_signature': SAFE_SAMPLE['msg_signature'],
                    'timestamp': SAFE_SAMPLE['timestamp'],
                    'nonce': SAFE_SAMPLE['nonce'],
                    }, SAFE_SAMPLE['body'], default_reply_table(BASE_URL, TEXTS),
                nonce_store=MemoryNonceStore())
        self.assertEqual(context.exception.code, 'timestamp_skew')


class SafeModeTestCase(CallbackTestCase):

    def setUp(self):
        super().setUp()
        self.settings = CallbackSettings(
            APPID, TOKEN, COMPATIBLE_SAMPLE['encoding_aes_key'], mode='safe')
        self.crypto = self.settings.crypto

    def encrypted(self, body, encrypt=None):
        timestamp = str(self.now)
        nonce = str(next(self.nonces))
        if encrypt is None:
            envelope = reply_of(
                self.crypto.encrypt_message(body.decode(), nonce, timestamp))
            encrypt = envelope['Encrypt']
        body = ('<xml><ToUserName><![CDATA[%s]]></ToUserName>'
            '<Encrypt><![CDATA[%s]]></Encrypt></xml>' % (
                ACCOUNT, encrypt)).encode()
        args = self.plain_args(timestamp, nonce)
        args.update(
            encrypt_type='aes',
            msg_signature=sign(TOKEN, timestamp, nonce, encrypt))
        return body, args

    def test_round_trip(self):
        body, args = self.encrypted(text_body('缴费'))
        answer = self.post(body, args)
        envelope = reply_of(answer)
        reply = reply_of(self.crypto.decrypt_message(
                answer, envelope['MsgSignature'], envelope['TimeStamp'],
                envelope['Nonce']))
        self.assertIn(BASE_URL + 'pay', reply['Content'])
        self.assertEqual(envelope['TimeStamp'], str(self.now))

    def test_tampered_encrypt(self):
        body, args = self.encrypted(text_body('缴费'))
        body = body.replace(b'<Encrypt><![CDATA[', b'<Encrypt><![CDATA[A')
        self.assertRefused('signature_invalid', 403, body, args)

    def test_plain_body_refused(self):
        args = self.plain_args()
        args['msg_signature'] = sign(TOKEN, args['timestamp'], args['nonce'])
        self.assertRefused('signature_invalid', 403, text_body('缴费'), args)

    def test_bad_plain_signature(self):
        body, args = self.encrypted(text_body('缴费'))
        args['signature'] = '0' * 40
        self.assertRefused('signature_invalid', 403, body, args)

    def test_undecryptable(self):
        "Signed with our token but not valid ciphertext"
        for encrypt in ['not base64!', 'QUJD', 'A' * 64, 'AAAA' * 8]:
            with self.subTest(encrypt=encrypt):
                body, args = self.encrypted(b'', encrypt=encrypt)
                self.assertRefused('decryption_failed', 400, body, args)

    def test_encrypted_garbage(self):
        for plaintext in [b'garbage', b'<xml><a>1</a></xml>', b'<x/>']:
            with self.subTest(plaintext=plaintext):
                body, args = self.encrypted(plaintext)
                self.assertRefused('xml_malformed', 400, body, args)

    def test_unsubscribe_success(self):
        body, args = self.encrypted(event_body('unsubscribe'))
        self.assertEqual(self.post(body, args), b'success')


class PlainModeTestCase(CallbackTestCase):

    def test_text_keyword(self):
        reply = reply_of(self.post(text_body('用量')))
        self.assertEqual(reply['MsgType'], 'text')
        self.assertEqual(reply['ToUserName'], OPENID)
        self.assertEqual(reply['FromUserName'], ACCOUNT)
        self.assertEqual(reply['CreateTime'], str(self.now))
        self.assertIn('<a href="%susage">' % BASE_URL, reply['Content'])

    def test_keywords(self):
        for content, expected in [
                ('缴费', BASE_URL + 'pay'),
                ('我要报修', BASE_URL + 'repair'),
                ('明天停水吗？', BASE_URL + 'notices'),
                ('电话', '0571-88881234'),
                ('  充值 ', BASE_URL + 'pay'),
                ]:
            with self.subTest(content=content):
                reply = reply_of(self.post(text_body(content)))
                self.assertIn(expected, reply['Content'])

    def test_unknown_text(self):
        reply = reply_of(self.post(text_body('你好')))
        self.assertIn('没有理解', reply['Content'])
        for word in ['用量', '缴费', '报修', '停水', '电话']:
            self.assertIn('回复「%s」' % word, reply['Content'])

    def test_user_text_not_echoed(self):
        reply = reply_of(self.post(text_body('<script>x</script>')))
        self.assertNotIn('script', reply['Content'])

    def test_subscribe(self):
        reply = reply_of(self.post(event_body('subscribe')))
        self.assertIn('欢迎关注水电保障中心', reply['Content'])
        self.assertIn('回复「报修」报修水电故障', reply['Content'])
        self.assertIn(BASE_URL + 'bind', reply['Content'])

    def test_unsubscribe(self):
        self.assertEqual(self.post(event_body('unsubscribe')), b'success')

    def test_click(self):
        reply = reply_of(self.post(event_body('CLICK', 'USAGE')))
        self.assertIn(BASE_URL + 'usage', reply['Content'])
        reply = reply_of(self.post(event_body('CLICK', 'CONTACT')))
        self.assertIn('0571-88881234', reply['Content'])

    def test_unknown_click(self):
        reply = reply_of(self.post(event_body('CLICK', 'HELP')))
        self.assertIn('回复「用量」', reply['Content'])

    def test_view_event(self):
        self.assertEqual(
            self.post(event_body('VIEW', BASE_URL + 'pay')), b'success')

    def test_image(self):
        body = IMAGE.format(to=ACCOUNT, openid=OPENID).encode()
        reply = reply_of(self.post(body))
        self.assertIn('回复「用量」', reply['Content'])

    def test_image_handler(self):
        seen = []

        def photo(message, table):
            seen.append(message.media_id)
            return '照片已收到，谢谢！'
        table = default_reply_table(BASE_URL, TEXTS, handlers={'image': photo})
        body = IMAGE.format(to=ACCOUNT, openid=OPENID).encode()
        reply = reply_of(self.post(body, table=table))
        self.assertEqual(reply['Content'], '照片已收到，谢谢！')
        self.assertEqual(seen, ['media_id_1'])

    def test_callable_answer(self):
        def usage(message, table):
            return '户号 1001 本月用电 35.2 度，余额 12.80 元。'
        table = default_reply_table(BASE_URL, TEXTS, usage=usage)
        reply = reply_of(self.post(text_body('用量'), table=table))
        self.assertEqual(reply['Content'], '户号 1001 本月用电 35.2 度，余额 12.80 元。')
        reply = reply_of(self.post(event_body('CLICK', 'USAGE'), table=table))
        self.assertIn('35.2', reply['Content'])

    def test_callable_gets_openid(self):
        openids = []

        def usage(message, table):
            openids.append(message.source)
        table = default_reply_table(BASE_URL, TEXTS, usage=usage)
        self.assertEqual(
            self.post(text_body('用量'), table=table), b'success')
        self.assertEqual(openids, [OPENID])

    def test_callable_failure(self):
        def usage(message, table):
            raise RuntimeError("database is down")
        table = default_reply_table(BASE_URL, TEXTS, usage=usage)
        with self.assertLogs('trytond.modules.meter_wechat.callback'):
            reply = reply_of(self.post(text_body('用量'), table=table))
        self.assertEqual(reply['Content'], '系统繁忙，请稍后再试。')

    def test_callable_wrong_type(self):
        table = ReplyTable(
            BASE_URL, keywords={'x': Answer(lambda m, t: 42)},
            error='系统繁忙')
        with self.assertLogs('trytond.modules.meter_wechat.callback'):
            reply = reply_of(self.post(text_body('x'), table=table))
        self.assertEqual(reply['Content'], '系统繁忙')

    def test_empty_keyword(self):
        with self.assertRaises(ValueError):
            ReplyTable(BASE_URL, keywords={' ': Answer('x')})

    def test_articles(self):
        article = {
            'title': '停水通知', 'description': '东区 6 月 1 日停水',
            'image': '', 'url': BASE_URL + 'notices/1'}
        table = ReplyTable(
            BASE_URL, keywords={'停水': Answer(lambda m, t: [article] * 3)})
        reply = reply_of(self.post(text_body('停水'), table=table))
        self.assertEqual(reply['MsgType'], 'news')
        self.assertEqual(reply['ArticleCount'], '1')

    def test_reply_object(self):
        def news(message, table):
            return ArticlesReply(articles=[{'title': '公告', 'url': BASE_URL}])
        table = ReplyTable(BASE_URL, keywords={'公告': Answer(news)})
        reply = reply_of(self.post(text_body('公告'), table=table))
        self.assertEqual(reply['MsgType'], 'news')
        self.assertEqual(reply['ToUserName'], OPENID)

    def test_cdata_end_in_answer(self):
        table = ReplyTable(
            BASE_URL, keywords={'x': Answer(lambda m, t: 'a]]>b<c>')})
        reply = reply_of(self.post(text_body('x'), table=table))
        self.assertEqual(reply['Content'], 'a]]>b<c>')

    def test_longest_keyword_wins(self):
        table = ReplyTable(BASE_URL, keywords={
                '通知': Answer('general'),
                '停水通知': Answer('water'),
                })
        reply = reply_of(self.post(text_body('有停水通知吗'), table=table))
        self.assertEqual(reply['Content'], 'water')

    def test_invalid_template(self):
        with self.assertRaises(ValueError):
            ReplyTable(BASE_URL, keywords={'x': Answer('{unknown}')})

    def test_default_menu(self):
        menu = default_menu(self.table, link=lambda url: url + '#oauth')
        self.assertEqual(len(menu['button']), 3)
        urls = [b.get('url') for top in menu['button']
            for b in top.get('sub_button', [top])]
        self.assertIn(BASE_URL + 'pay#oauth', urls)
        keys = [b.get('key') for top in menu['button']
            for b in top.get('sub_button', [top])]
        for key in keys:
            if key and key != 'HELP':
                self.assertIn(key, self.table.clicks)


class RefusalTestCase(CallbackTestCase):

    def test_forged_signature(self):
        args = self.plain_args()
        args['signature'] = sign('wrong-token', args['timestamp'],
            args['nonce'])
        self.assertRefused('signature_invalid', 403, text_body('用量'), args)

    def test_missing_signature(self):
        args = self.plain_args()
        del args['signature']
        self.assertRefused('signature_missing', 403, text_body('用量'), args)

    def test_stale_timestamp(self):
        for delta in [-301, 301, -86400]:
            with self.subTest(delta=delta):
                self.assertRefused(
                    'timestamp_skew', 403, text_body('用量'),
                    self.plain_args(self.now + delta))

    def test_skew_within_limit(self):
        self.post(text_body('用量'), self.plain_args(self.now - 299))
        self.post(text_body('用量'), self.plain_args(self.now + 299))

    def test_skew_disabled(self):
        settings = CallbackSettings(APPID, TOKEN, max_clock_skew=0)
        self.post(
            text_body('用量'), self.plain_args(self.now - 10 ** 6),
            settings=settings)

    def test_invalid_timestamp(self):
        for timestamp in ['abc', '-5', '１７００００００００', '9' * 20]:
            with self.subTest(timestamp=timestamp):
                self.assertRefused(
                    'timestamp_invalid', 403, text_body('用量'),
                    self.plain_args(timestamp=timestamp))

    def test_replayed_nonce(self):
        args = self.plain_args()
        self.post(text_body('用量'), dict(args))
        self.assertRefused('nonce_replayed', 403, text_body('用量'), args)

    def test_replay_after_expiry(self):
        "A nonce is free again once its timestamp is refused anyway"
        store = MemoryNonceStore()
        self.assertTrue(store.remember('1:2', 10, 5))
        self.assertFalse(store.remember('1:2', 10, 9))
        self.assertTrue(store.remember('1:2', 20, 10))

    def test_nonce_store_bounded(self):
        store = MemoryNonceStore(max_size=10)
        for i in range(25):
            self.assertTrue(store.remember(str(i), 100, 1))
        self.assertLessEqual(len(store), 10)

    def test_custom_nonce_store(self):
        class Store(NonceStore):
            keys = []

            def remember(self, key, expires, now):
                self.keys.append((key, expires))
                return True
        store = Store()
        args = self.plain_args()
        handle(self.settings, args, text_body('用量'), self.table,
            now=self.now, nonce_store=store)
        self.assertEqual(store.keys, [(
                    '%s:%s' % (args['timestamp'], args['nonce']),
                    self.now + 301)])

    def test_too_large(self):
        body = text_body('用量' + ' ' * MAX_BODY_SIZE)
        self.assertRefused('body_too_large', 413, body)

    def test_too_large_before_signature(self):
        args = self.plain_args()
        args['signature'] = 'forged'
        self.assertRefused(
            'body_too_large', 413, b'x' * (MAX_BODY_SIZE + 1), args)

    def test_limit_size_accepted(self):
        body = text_body('用量')
        body = body.replace(b'</xml>', b' ' * (
                MAX_BODY_SIZE - len(body)) + b'</xml>')
        self.assertEqual(len(body), MAX_BODY_SIZE)
        self.assertIn(b'usage', self.post(body))

    def test_malformed_xml(self):
        for body in [
                b'', b'<xml>', b'not xml', b'<xml><a></b></xml>',
                b'<other><MsgType>text</MsgType></other>',
                b'\xff\xfe<xml/>',
                text_body('用量').replace(b'<MsgType>', b'<MsgTyp>'),
                text_body('用量', openid='x]]><a>'),
                text_body('用量').replace(b'1348831860', b'soon'),
                ]:
            with self.subTest(body=body[:40]):
                self.assertRefused('xml_malformed', 400, body)

    def test_entities_refused(self):
        bomb = (b'<?xml version="1.0"?><!DOCTYPE xml ['
            b'<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            b'<xml><MsgType>text</MsgType><Content>&c;</Content></xml>')
        self.assertRefused('xml_malformed', 400, bomb)
        external = (b'<?xml version="1.0"?><!DOCTYPE xml ['
            b'<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<xml><MsgType>text</MsgType><Content>&e;</Content></xml>')
        self.assertRefused('xml_malformed', 400, external)

    def test_body_type(self):
        self.assertRefused('xml_malformed', 400, '<xml/>')

    def test_fuzz_random_bytes(self):
        generator = random.Random(20240601)
        safe = CallbackSettings(
            APPID, TOKEN, COMPATIBLE_SAMPLE['encoding_aes_key'], mode='safe')
        for i in range(300):
            body = generator.randbytes(generator.randrange(0, 2048))
            for settings in [self.settings, safe]:
                args = self.plain_args()
                args['msg_signature'] = sign(
                    TOKEN, args['timestamp'], args['nonce'])
                try:
                    self.post(body, args, settings=settings)
                except CallbackError as exception:
                    self.assertIn(exception.status, {400, 403, 413})

    def test_fuzz_mutated_messages(self):
        generator = random.Random(7)
        samples = [
            text_body('用量'), event_body('subscribe'),
            event_body('CLICK', 'PAY'),
            IMAGE.format(to=ACCOUNT, openid=OPENID).encode()]
        for i in range(400):
            body = bytearray(generator.choice(samples))
            for _ in range(generator.randrange(1, 6)):
                position = generator.randrange(len(body))
                body[position] = generator.randrange(256)
            try:
                answer = self.post(bytes(body))
            except CallbackError as exception:
                self.assertEqual(exception.status, 400)
            else:
                self.assertIsInstance(answer, bytes)

    def test_fast(self):
        start = time.perf_counter()
        for i in range(300):
            self.post(text_body('用量'))
        self.assertLess(time.perf_counter() - start, 3)
