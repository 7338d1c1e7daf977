"""A fake of Aliyun's Short Message Service endpoint (dysmsapi).

It verifies the RPC signature version 1.0 with its own implementation of
Aliyun's published algorithm, so a wrong signer fails here as it would on
the real service, and answers with the documented JSON and codes:

- HTTP 404 InvalidAccessKeyId.NotFound
- HTTP 400 SignatureDoesNotMatch, SignatureNonceUsed,
  InvalidTimeStamp.Expired, MissingParameter, InvalidAction.NotFound
- HTTP 200 with Code OK, isv.MOBILE_NUMBER_ILLEGAL,
  isv.SMS_TEMPLATE_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL,
  isv.INVALID_JSON_PARAM, isv.BUSINESS_LIMIT_CONTROL
"""
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import uuid
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import LoopbackServer

__all__ = ['FakeAliyunSms', 'reference_signature']

REQUIRED = (
    'AccessKeyId', 'Action', 'PhoneNumbers', 'SignName', 'SignatureMethod',
    'SignatureNonce', 'SignatureVersion', 'TemplateCode', 'Timestamp',
    'Version', 'Signature')


def _encode(value):
    encoded = quote(value, safe='')
    return encoded.replace('+', '%20').replace('*', '%2A').replace(
        '%7E', '~')


def reference_signature(method, params, secret):
    "Signature of params as described in Aliyun's documentation"
    canonical = '&'.join(
        _encode(k) + '=' + _encode(params[k])
        for k in sorted(params) if k != 'Signature')
    string_to_sign = method + '&' + _encode('/') + '&' + _encode(canonical)
    mac = hmac.new(
        (secret + '&').encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class FakeAliyunSms(LoopbackServer):
    """The fake endpoint, its credentials and the messages it accepted.

    Set fail_with to a Code (or to an HTTP status int) to make the next
    requests fail that way.
    """

    def __init__(
            self, access_key_id='LTAI-fake', access_key_secret='fake-secret',
            sign_names=('水电保障中心',), templates=('SMS_000001',)):
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_names = set(sign_names)
        self.templates = set(templates)
        self.messages = []
        self.nonces = set()
        self.fail_with = None
        self._lock = threading.Lock()

    @staticmethod
    def _answer(status=200, **result):
        result.setdefault('RequestId', str(uuid.uuid4()).upper())
        return Response(
            json.dumps(result, ensure_ascii=False), status=status,
            content_type='application/json;charset=utf-8')

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        params = (request.form if request.method == 'POST'
            else request.args).to_dict()
        self.record(method=request.method, path=request.path, params=params)
        return self.process(request.method, params)(environ, start_response)

    def process(self, method, params):
        for name in REQUIRED:
            if not params.get(name):
                return self._answer(
                    400, Code='MissingParameter',
                    Message='The input parameter "%s" that is mandatory '
                    'for processing this request is not supplied.' % name)
        if params['AccessKeyId'] != self.access_key_id:
            return self._answer(
                404, Code='InvalidAccessKeyId.NotFound',
                Message='Specified access key is not found.')
        expected = reference_signature(
            method, params, self.access_key_secret)
        if (params['SignatureMethod'] != 'HMAC-SHA1'
                or params['SignatureVersion'] != '1.0'
                or not hmac.compare_digest(expected, params['Signature'])):
            return self._answer(
                400, Code='SignatureDoesNotMatch',
                Message='Specified signature is not matched with our '
                'calculation.')
        try:
            timestamp = dt.datetime.strptime(
                params['Timestamp'], '%Y-%m-%dT%H:%M:%SZ').replace(
                tzinfo=dt.timezone.utc)
        except ValueError:
            timestamp = None
        now = dt.datetime.now(dt.timezone.utc)
        if timestamp is None or abs(now - timestamp) > dt.timedelta(
                minutes=15):
            return self._answer(
                400, Code='InvalidTimeStamp.Expired',
                Message='Specified time stamp or date value is expired.')
        with self._lock:
            if params['SignatureNonce'] in self.nonces:
                return self._answer(
                    400, Code='SignatureNonceUsed',
                    Message='Specified signature nonce was used already.')
            self.nonces.add(params['SignatureNonce'])
        if params['Action'] != 'SendSms' or params['Version'] != '2017-05-25':
            return self._answer(
                400, Code='InvalidAction.NotFound',
                Message='Specified api is not found, please check your '
                'url and method.')
        if isinstance(self.fail_with, int):
            return Response('Internal Server Error', status=self.fail_with)
        if self.fail_with:
            return self._answer(Code=self.fail_with, Message='failure')
        if not re.fullmatch(r'1[3-9]\d{9}', params['PhoneNumbers']):
            return self._answer(
                Code='isv.MOBILE_NUMBER_ILLEGAL', Message='非法手机号')
        if params['SignName'] not in self.sign_names:
            return self._answer(
                Code='isv.SMS_SIGNATURE_ILLEGAL', Message='签名不合法')
        if params['TemplateCode'] not in self.templates:
            return self._answer(
                Code='isv.SMS_TEMPLATE_ILLEGAL', Message='模板不合法')
        try:
            template_params = json.loads(params.get('TemplateParam') or '{}')
        except ValueError:
            template_params = None
        if not isinstance(template_params, dict):
            return self._answer(
                Code='isv.INVALID_JSON_PARAM', Message='JSON参数不合法')
        biz_id = '%d^0' % (900000000000 + len(self.messages))
        self.messages.append({
                'phone': params['PhoneNumbers'],
                'sign_name': params['SignName'],
                'template': params['TemplateCode'],
                'params': template_params,
                'biz_id': biz_id,
                })
        return self._answer(Code='OK', Message='OK', BizId=biz_id)
