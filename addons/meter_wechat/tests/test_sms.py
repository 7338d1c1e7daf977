"""Tests of the SMS providers and verification codes, without database."""
import datetime as dt
import json
import unittest
from urllib.parse import parse_qsl

import requests

from trytond.modules.meter_wechat.sms import (
    CHINA_TZ, PROVIDERS, AliyunProvider, LogProvider, SmsError, SmsProvider,
    VerificationError, aliyun_signature, get_provider, normalize_phone,
    percent_encode)
from trytond.modules.meter_wechat.verification import (
    MemoryCodeStorage, VerificationCodes)

from .fakes import FakeAliyunSms, reference_signature


PHONE = '13800138000'


class PhoneTestCase(unittest.TestCase):

    def test_valid(self):
        for phone in [
                '13800138000', '19912345678', '+86 138 0013 8000',
                '138-0013-8000', '8613800138000', '008613800138000']:
            with self.subTest(phone=phone):
                self.assertEqual(
                    normalize_phone(phone),
                    '1' + normalize_phone(phone)[1:])
                self.assertEqual(len(normalize_phone(phone)), 11)

    def test_invalid(self):
        for phone in [
                '', '12800138000', '1380013800', '138001380000',
                '+1 415 555 2671', '1380013800a', None, 13800138000,
                '１３８００１３８０００', '0571-88881234']:
            with self.subTest(phone=phone):
                with self.assertRaises(SmsError) as context:
                    normalize_phone(phone)
                self.assertEqual(context.exception.code, 'phone_invalid')


class SignatureTestCase(unittest.TestCase):

    def test_sms_documentation_example(self):
        "The SendSms example of Aliyun's signature documentation"
        params = {
            'AccessKeyId': 'testId',
            'Action': 'SendSms',
            'Format': 'XML',
            'OutId': '123',
            'PhoneNumbers': '15300000001',
            'RegionId': 'cn-hangzhou',
            'SignName': '阿里云短信测试专用',
            'SignatureMethod': 'HMAC-SHA1',
            'SignatureNonce': '45e25e9b-0a6f-4070-8c85-2956eda1b466',
            'SignatureVersion': '1.0',
            'TemplateCode': 'SMS_71390007',
            'TemplateParam': '{"customer":"test"}',
            'Timestamp': '2017-07-12T02:42:19Z',
            'Version': '2017-05-25',
            }
        self.assertEqual(
            aliyun_signature(params, 'testSecret', 'GET'),
            'zJDF+Lrzhj/ThnlvIToysFRq6t4=')
        self.assertEqual(
            aliyun_signature(
                dict(params, Signature='ignored'), 'testSecret', 'GET'),
            'zJDF+Lrzhj/ThnlvIToysFRq6t4=')

    def test_rpc_documentation_example(self):
        "The DescribeRegions example of Aliyun's RPC signature mechanism"
        params = {
            'AccessKeyId': 'testid',
            'Action': 'DescribeRegions',
            'Format': 'XML',
            'SignatureMethod': 'HMAC-SHA1',
            'SignatureNonce': '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
            'SignatureVersion': '1.0',
            'Timestamp': '2016-02-23T12:46:24Z',
            'Version': '2014-05-26',
            }
        self.assertEqual(
            aliyun_signature(params, 'testsecret', 'GET'),
            'OLeaidS1JvxuMvnyHOwuJ+uX5qY=')

    def test_percent_encode(self):
        self.assertEqual(percent_encode('a b'), 'a%20b')
        self.assertEqual(percent_encode('*'), '%2A')
        self.assertEqual(percent_encode('~-_.'), '~-_.')
        self.assertEqual(percent_encode('/=&+'), '%2F%3D%26%2B')
        self.assertEqual(percent_encode('水'), '%E6%B0%B4')

    def test_same_as_reference(self):
        provider = AliyunProvider('id', 'secret', '水电保障中心')
        params = provider.parameters(
            PHONE, 'SMS_1', {'code': '123456', 'name': 'a b*~'})
        self.assertEqual(
            params['Signature'],
            reference_signature('POST', params, 'secret'))


class LogProviderTestCase(unittest.TestCase):

    def test_send(self):
        provider = LogProvider(templates={'verification': 'SMS_1'})
        with self.assertLogs('trytond.modules.meter_wechat.sms', 'INFO'):
            message_id = provider.send(
                '+86 13800138000', 'verification', {'code': '123456'})
        last = provider.last(PHONE)
        self.assertEqual(last['id'], message_id)
        self.assertEqual(last['template'], 'SMS_1')
        self.assertEqual(last['params'], {'code': '123456'})
        self.assertIsNone(provider.last('13900139000'))

    def test_keeps_last(self):
        provider = LogProvider(keep=3)
        for i in range(5):
            provider.send(PHONE, 'notice', {'n': str(i)})
        self.assertEqual(len(provider.messages), 3)
        self.assertEqual(provider.last()['params'], {'n': '4'})

    def test_invalid_phone(self):
        with self.assertRaises(SmsError):
            LogProvider().send('12345', 'notice', {})

    def test_registry(self):
        self.assertIs(PROVIDERS['log'], LogProvider)
        self.assertIs(PROVIDERS['aliyun'], AliyunProvider)
        self.assertIsInstance(get_provider('log'), LogProvider)
        provider = get_provider(
            'aliyun', access_key_id='id', access_key_secret='secret',
            sign_name='水电保障中心', endpoint='http://127.0.0.1:9/')
        self.assertEqual(provider.endpoint, 'http://127.0.0.1:9/')
        with self.assertRaises(ValueError):
            get_provider('carrier-pigeon')
        with self.assertRaises(ValueError):
            get_provider('aliyun', access_key_id='id', access_key_secret='',
                sign_name='x')

    def test_base(self):
        with self.assertRaises(NotImplementedError):
            SmsProvider().send(PHONE, 'x', {})


class AliyunProviderTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = FakeAliyunSms(
            access_key_id='LTAI-meter', access_key_secret='meter-secret',
            sign_names=['水电保障中心'], templates=['SMS_465000001'])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.server.fail_with = None
        self.provider = self.make()

    def make(self, **values):
        config = {
            'access_key_id': 'LTAI-meter',
            'access_key_secret': 'meter-secret',
            'sign_name': '水电保障中心',
            'templates': {'verification': 'SMS_465000001'},
            'endpoint': self.server.url,
            'timeout': 5,
            }
        config.update(values)
        return get_provider('aliyun', **config)

    def test_send(self):
        biz_id = self.provider.send(
            '+86 138 0013 8000', 'verification', {'code': '042137'})
        self.assertTrue(biz_id)
        message = self.server.messages[-1]
        self.assertEqual(message['phone'], PHONE)
        self.assertEqual(message['template'], 'SMS_465000001')
        self.assertEqual(message['sign_name'], '水电保障中心')
        self.assertEqual(message['params'], {'code': '042137'})
        self.assertEqual(message['biz_id'], biz_id)
        call = self.server.calls[-1]
        self.assertEqual(call['method'], 'POST')
        self.assertEqual(call['params']['Format'], 'JSON')
        self.assertEqual(call['params']['Version'], '2017-05-25')

    def test_nonces_differ(self):
        for i in range(3):
            self.provider.send(PHONE, 'verification', {'code': '000000'})
        nonces = [c['params']['SignatureNonce']
            for c in self.server.calls[-3:]]
        self.assertEqual(len(set(nonces)), 3)

    def test_wrong_secret(self):
        provider = self.make(access_key_secret='wrong')
        with self.assertRaises(SmsError) as context:
            provider.send(PHONE, 'verification', {'code': '1'})
        self.assertEqual(context.exception.code, 'provider_error')
        self.assertEqual(
            context.exception.details['provider_code'],
            'SignatureDoesNotMatch')

    def test_unknown_key(self):
        provider = self.make(access_key_id='LTAI-other')
        with self.assertRaises(SmsError) as context:
            provider.send(PHONE, 'verification', {'code': '1'})
        self.assertEqual(
            context.exception.details['provider_code'],
            'InvalidAccessKeyId.NotFound')

    def test_unknown_template(self):
        with self.assertRaises(SmsError) as context:
            self.provider.send(PHONE, 'SMS_999', {'code': '1'})
        self.assertEqual(context.exception.code, 'provider_error')
        self.assertEqual(
            context.exception.details['provider_code'],
            'isv.SMS_TEMPLATE_ILLEGAL')

    def test_business_limit(self):
        self.server.fail_with = 'isv.BUSINESS_LIMIT_CONTROL'
        with self.assertRaises(SmsError) as context:
            self.provider.send(PHONE, 'verification', {'code': '1'})
        self.assertEqual(context.exception.code, 'rate_limited')

    def test_server_error(self):
        self.server.fail_with = 500
        with self.assertRaises(SmsError) as context:
            self.provider.send(PHONE, 'verification', {'code': '1'})
        self.assertEqual(context.exception.code, 'provider_unavailable')

    def test_unreachable(self):
        with FakeAliyunSms() as server:
            url = server.url
        provider = self.make(endpoint=url, timeout=1)
        with self.assertRaises(SmsError) as context:
            provider.send(PHONE, 'verification', {'code': '1'})
        self.assertEqual(context.exception.code, 'provider_unavailable')

    def test_fake_refuses_replayed_nonce(self):
        params = self.provider.parameters(
            PHONE, 'verification', {'code': '1'},
            timestamp=dt.datetime.now(dt.timezone.utc).strftime(
                '%Y-%m-%dT%H:%M:%SZ'))
        first = requests.post(self.server.url, data=params, timeout=5)
        second = requests.post(self.server.url, data=params, timeout=5)
        self.assertEqual(first.json()['Code'], 'OK')
        self.assertEqual(second.json()['Code'], 'SignatureNonceUsed')

    def test_fake_refuses_stale_timestamp(self):
        params = self.provider.parameters(
            PHONE, 'verification', {'code': '1'},
            timestamp='2017-07-12T02:42:19Z')
        answer = requests.post(self.server.url, data=params, timeout=5)
        self.assertEqual(answer.status_code, 400)
        self.assertEqual(answer.json()['Code'], 'InvalidTimeStamp.Expired')

    def test_body_encoding(self):
        "The form body decodes to exactly the signed parameters"
        self.provider.send(PHONE, 'verification', {'code': 'a b+c'})
        params = self.server.calls[-1]['params']
        self.assertEqual(
            json.loads(params['TemplateParam']), {'code': 'a b+c'})
        query = '&'.join('%s=%s' % (percent_encode(k), percent_encode(v))
            for k, v in params.items())
        self.assertEqual(dict(parse_qsl(query)), params)


class VerificationCodesTestCase(unittest.TestCase):

    def setUp(self):
        self.provider = LogProvider()
        self.storage = MemoryCodeStorage()
        self.codes = VerificationCodes(self.provider, self.storage)
        # 10:00 in China
        self.now = dt.datetime(
            2024, 6, 1, 10, 0, tzinfo=CHINA_TZ).timestamp()

    def sent_code(self, phone=PHONE):
        return self.provider.last(phone)['params']['code']

    def test_send_and_verify(self):
        expires = self.codes.send('+86 13800138000', now=self.now)
        self.assertEqual(expires, self.now + 300)
        code = self.sent_code()
        self.assertRegex(code, r'^\d{6}$')
        self.assertEqual(self.provider.last()['template'], 'verification')
        self.assertEqual(
            self.codes.verify('138 0013 8000', code, now=self.now + 10),
            PHONE)

    def test_single_use(self):
        self.codes.send(PHONE, now=self.now)
        code = self.sent_code()
        self.codes.verify(PHONE, code, now=self.now + 1)
        with self.assertRaises(VerificationError) as context:
            self.codes.verify(PHONE, code, now=self.now + 2)
        self.assertEqual(context.exception.code, 'code_expired')

    def test_expiry(self):
        self.codes.send(PHONE, now=self.now)
        code = self.sent_code()
        with self.assertRaises(VerificationError) as context:
            self.codes.verify(PHONE, code, now=self.now + 301)
        self.assertEqual(context.exception.code, 'code_expired')

    def test_purpose(self):
        self.codes.send(PHONE, purpose='bind', now=self.now)
        with self.assertRaises(VerificationError):
            self.codes.verify(
                PHONE, self.sent_code(), purpose='unbind', now=self.now)

    def test_wrong_attempts(self):
        self.codes.send(PHONE, now=self.now)
        code = self.sent_code()
        wrong = '%06d' % ((int(code) + 1) % 10 ** 6)
        for remaining in [4, 3, 2, 1]:
            with self.assertRaises(VerificationError) as context:
                self.codes.verify(PHONE, wrong, now=self.now)
            self.assertEqual(context.exception.code, 'code_invalid')
            self.assertEqual(
                context.exception.details['remaining'], remaining)
            self.assertIn(str(remaining), context.exception.message)
        with self.assertRaises(VerificationError) as context:
            self.codes.verify(PHONE, wrong, now=self.now)
        self.assertEqual(context.exception.code, 'too_many_attempts')
        with self.assertRaises(VerificationError) as context:
            self.codes.verify(PHONE, code, now=self.now)
        self.assertEqual(context.exception.code, 'code_expired')

    def test_malformed_codes_count(self):
        self.codes.send(PHONE, now=self.now)
        for code in [None, '', '12345', '１２３４５６', 'abcdef']:
            with self.subTest(code=code):
                with self.assertRaises(VerificationError):
                    self.codes.verify(PHONE, code, now=self.now)
        # the fifth wrong attempt spent the code
        with self.assertRaises(VerificationError) as context:
            self.codes.verify(PHONE, self.sent_code(), now=self.now)
        self.assertEqual(context.exception.code, 'code_expired')

    def test_new_code_replaces(self):
        self.codes.send(PHONE, now=self.now)
        first = self.sent_code()
        self.codes.send(PHONE, now=self.now + 60)
        second = self.sent_code()
        if first != second:
            with self.assertRaises(VerificationError):
                self.codes.verify(PHONE, first, now=self.now + 61)
        self.codes.verify(PHONE, second, now=self.now + 61)

    def test_interval(self):
        self.codes.send(PHONE, now=self.now)
        with self.assertRaises(SmsError) as context:
            self.codes.send(PHONE, now=self.now + 59)
        self.assertEqual(context.exception.code, 'rate_limited')
        self.assertEqual(context.exception.details['retry_after'], 1)
        self.codes.send('13900139000', now=self.now + 1)
        self.codes.send(PHONE, now=self.now + 60)

    def test_daily_limit(self):
        for i in range(10):
            self.codes.send(PHONE, now=self.now + 60 * i)
        with self.assertRaises(SmsError) as context:
            self.codes.send(PHONE, now=self.now + 60 * 10)
        self.assertEqual(context.exception.code, 'daily_limit')
        self.assertEqual(len(self.provider.messages), 10)
        # The day changes at midnight in China, not in UTC
        tomorrow = dt.datetime(
            2024, 6, 2, 0, 0, 1, tzinfo=CHINA_TZ).timestamp()
        self.codes.send(PHONE, now=tomorrow)

    def test_invalid_phone(self):
        with self.assertRaises(SmsError) as context:
            self.codes.send('110', now=self.now)
        self.assertEqual(context.exception.code, 'phone_invalid')
        self.assertEqual(len(self.provider.messages), 0)

    def test_provider_failure_not_counted(self):
        class Failing(SmsProvider):
            def send(self, phone, template, params):
                raise SmsError('provider_unavailable', "短信发送失败")
        codes = VerificationCodes(Failing(), self.storage)
        with self.assertRaises(SmsError):
            codes.send(PHONE, now=self.now)
        self.codes.send(PHONE, now=self.now + 1)

    def test_with_aliyun(self):
        with FakeAliyunSms(templates=['SMS_1']) as server:
            provider = AliyunProvider(
                'LTAI-fake', 'fake-secret', '水电保障中心',
                templates={'verification': 'SMS_1'}, endpoint=server.url)
            codes = VerificationCodes(provider)
            codes.send(PHONE)
            code = server.messages[-1]['params']['code']
            self.assertEqual(codes.verify(PHONE, code), PHONE)

    def test_storage_expiry(self):
        storage = MemoryCodeStorage()
        storage.set('a', {'x': 1}, 10)
        self.assertEqual(storage.get('a', 9), {'x': 1})
        self.assertIsNone(storage.get('a', 10))
        storage.set('b', {'x': 1}, 10)
        storage.purge(11)
        self.assertIsNone(storage.get('b', 0))
