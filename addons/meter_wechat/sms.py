"""Text messages (短信) and phone verification codes.

Residents bind their account (户号) to WeChat by proving they own the
phone number registered on it.  The providers are pluggable so that the
development and test servers never send a real message; the production
one is selected by name from the configuration.
"""
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from urllib.parse import quote

import requests

__all__ = [
    'SmsError', 'VerificationError', 'SmsProvider', 'LogProvider',
    'AliyunProvider', 'PROVIDERS', 'register_provider', 'get_provider',
    'normalize_phone', 'percent_encode', 'aliyun_signature',
    ]

logger = logging.getLogger(__name__)

_PHONE = re.compile(r'^1[3-9]\d{9}$')
_PHONE_NOISE = re.compile(r'[\s\-()]')
# Daily limits follow the day of the residents, not of the server
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), 'Asia/Shanghai')


class SmsError(Exception):
    """A refused or failed text message.

    ``code`` is stable and ``details`` its figures (``retry_after``,
    ``remaining``): the ORM side shows the resident the translated message
    ``meter_wechat.msg_sms_<code>`` made of them; ``message`` is for the
    logs.
    """

    def __init__(self, code, message, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self):
        return '%s(%r, %r)' % (
            self.__class__.__name__, self.code, self.message)


class VerificationError(SmsError):
    "A verification code that was not accepted"


def normalize_phone(phone):
    """Return the 11 digits of a mainland mobile number.

    Spaces, dashes and the +86 prefix are what residents type, anything
    else is refused.
    """
    if not isinstance(phone, str):
        raise SmsError('phone_invalid', "The phone number is not valid.")
    phone = _PHONE_NOISE.sub('', phone)
    if phone.startswith('+86'):
        phone = phone[3:]
    elif phone.startswith('0086'):
        phone = phone[4:]
    elif len(phone) == 13 and phone.startswith('86'):
        phone = phone[2:]
    if not phone.isascii() or not _PHONE.match(phone):
        raise SmsError('phone_invalid', "The phone number is not valid.")
    return phone


class SmsProvider:
    """Sends text messages from a template of the provider.

    ``template`` is a name used by the code (e.g. 'verification'), mapped
    to the provider's own template identifier by ``templates``.
    """
    name = None

    def __init__(self, templates=None):
        self.templates = dict(templates or {})

    def template_code(self, template):
        return self.templates.get(template, template)

    def send(self, phone, template, params):
        """Send the template filled with params (a dict of strings) to
        phone and return the provider's message identifier.

        Raise SmsError on failure.
        """
        raise NotImplementedError


PROVIDERS = {}


def register_provider(cls):
    "Make the provider class available to get_provider under its name"
    PROVIDERS[cls.name] = cls
    return cls


def get_provider(name, **config):
    "Return an instance of the provider named in the configuration"
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise ValueError("unknown SMS provider %r" % name)
    try:
        return cls(**config)
    except TypeError as exception:
        # An option missing or unknown to the provider
        raise ValueError("SMS provider %r: %s" % (name, exception))


@register_provider
class LogProvider(SmsProvider):
    """Logs the messages instead of sending them.

    It keeps the last ones so that tests and developers can read the codes;
    never use it in production: codes end up in the log.
    """
    name = 'log'

    def __init__(self, templates=None, keep=100):
        super().__init__(templates)
        self.messages = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, phone, template, params):
        phone = normalize_phone(phone)
        message_id = uuid.uuid4().hex
        with self._lock:
            self.messages.append({
                    'id': message_id,
                    'phone': phone,
                    'template': self.template_code(template),
                    'params': dict(params),
                    'time': time.time(),
                    })
        logger.info(
            "SMS to %s with %s: %s", phone, self.template_code(template),
            params)
        return message_id

    def last(self, phone=None):
        "Return the last message sent (to phone) or None"
        with self._lock:
            for message in reversed(self.messages):
                if phone is None or message['phone'] == phone:
                    return message
        return None


def percent_encode(value):
    "Encode value as Aliyun's POP signature requires (RFC 3986)"
    return quote(str(value).encode('utf-8'), safe='-_.~')


def aliyun_signature(params, secret, method='POST'):
    """Return the signature version 1.0 of the request parameters.

    As published by Aliyun: HMAC-SHA1 keyed with secret + '&' over
    method & %2F & the encoded sorted query, base64 encoded.
    """
    query = '&'.join(
        '%s=%s' % (percent_encode(k), percent_encode(v))
        for k, v in sorted(params.items()) if k != 'Signature')
    string_to_sign = '&'.join(
        [method.upper(), percent_encode('/'), percent_encode(query)])
    digest = hmac.new(
        (secret + '&').encode('utf-8'), string_to_sign.encode('utf-8'),
        hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


@register_provider
class AliyunProvider(SmsProvider):
    """Aliyun (阿里云) Short Message Service, API SendSms of 2017-05-25.

    The request is signed with the RPC signature version 1.0 and POSTed
    as a form; endpoint may point to a local fake for tests.
    """
    name = 'aliyun'
    version = '2017-05-25'

    def __init__(
            self, access_key_id, access_key_secret, sign_name,
            templates=None, endpoint='https://dysmsapi.aliyuncs.com/',
            region_id='cn-hangzhou', timeout=5, session=None):
        super().__init__(templates)
        if not access_key_id or not access_key_secret or not sign_name:
            raise ValueError(
                "access_key_id, access_key_secret and sign_name are "
                "required")
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.endpoint = endpoint
        self.region_id = region_id
        self.timeout = timeout
        self.session = session or requests.Session()

    def parameters(self, phone, template, params, nonce=None, timestamp=None):
        "Return the signed parameters of a SendSms request"
        if timestamp is None:
            timestamp = dt.datetime.now(dt.timezone.utc).strftime(
                '%Y-%m-%dT%H:%M:%SZ')
        parameters = {
            'AccessKeyId': self.access_key_id,
            'Action': 'SendSms',
            'Format': 'JSON',
            'PhoneNumbers': phone,
            'RegionId': self.region_id,
            'SignName': self.sign_name,
            'SignatureMethod': 'HMAC-SHA1',
            'SignatureNonce': nonce or uuid.uuid4().hex,
            'SignatureVersion': '1.0',
            'TemplateCode': self.template_code(template),
            'TemplateParam': json.dumps(
                params, ensure_ascii=False, separators=(',', ':')),
            'Timestamp': timestamp,
            'Version': self.version,
            }
        parameters['Signature'] = aliyun_signature(
            parameters, self.access_key_secret, 'POST')
        return parameters

    def send(self, phone, template, params):
        phone = normalize_phone(phone)
        parameters = self.parameters(phone, template, params)
        body = '&'.join(
            '%s=%s' % (percent_encode(k), percent_encode(v))
            for k, v in parameters.items())
        try:
            response = self.session.post(
                self.endpoint, data=body.encode('ascii'),
                headers={
                    'Content-Type': 'application/x-www-form-urlencoded',
                    'Accept': 'application/json',
                    },
                timeout=self.timeout)
        except requests.RequestException as exception:
            logger.warning("Aliyun SMS unreachable: %s", exception)
            raise SmsError(
                'provider_unavailable', "The text message could not be sent.",
                reason=str(exception))
        try:
            result = response.json()
        except ValueError:
            result = None
        if not isinstance(result, dict):
            logger.warning(
                "Aliyun SMS answered HTTP %s without JSON",
                response.status_code)
            raise SmsError(
                'provider_unavailable', "The text message could not be sent.",
                reason='HTTP %s' % response.status_code)
        code = result.get('Code')
        if response.status_code != 200 or code != 'OK':
            logger.warning(
                "Aliyun SMS refused %s: %s %s (request %s)", template, code,
                result.get('Message'), result.get('RequestId'))
            if code == 'isv.MOBILE_NUMBER_ILLEGAL':
                raise SmsError(
                    'phone_invalid', "The phone number is not valid.",
                    provider_code=code, provider_message=result.get('Message'))
            if code in {'isv.BUSINESS_LIMIT_CONTROL', 'Throttling.User'}:
                raise SmsError(
                    'rate_limited', "Too many messages sent.",
                    provider_code=code, provider_message=result.get('Message'))
            raise SmsError(
                'provider_error', "The text message could not be sent.",
                provider_code=code, provider_message=result.get('Message'))
        return result.get('BizId') or result.get('RequestId') or ''
