"""Message callback of the WeChat official account (公众号).

WeChat calls the account's server URL with ``GET`` to verify it and with
``POST`` for every message or event a resident sends.  This module does
all of that without knowing the web framework: the route only has to pass
the query arguments and the raw body, and turn ``CallbackError`` into its
HTTP status.

Nothing here does I/O except the callables given in the reply table, so
the answer is produced far inside WeChat's 5 seconds.
"""
import hmac
import logging
import re
import secrets
import string
import time

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import (
    InvalidAppIdException, InvalidSignatureException)
from wechatpy.replies import BaseReply, TextReply, create_reply
from wechatpy.utils import WeChatSigner, check_signature

from .nonce import DEFAULT_NONCE_STORE

__all__ = [
    'MAX_BODY_SIZE', 'MODES', 'CallbackError', 'CallbackSettings',
    'handshake', 'handle',
    ]

logger = logging.getLogger(__name__)

MAX_BODY_SIZE = 64 * 1024
MODES = ('plain', 'compatible', 'safe')
# WeChat never sends more, longer values can only be forged or broken
_MAX_PARAMETER = 128
_MAX_ECHOSTR = 512
# Without a clock check a nonce can not expire by itself
_NONCE_TTL_WITHOUT_SKEW = 24 * 60 * 60
# OpenIDs and original IDs (gh_...) are copied into the reply XML
_USER_NAME = re.compile(r'^[A-Za-z0-9_\-@.]{1,128}$')
_BASE64_CHARS = set(string.ascii_letters + string.digits + '+/')
_SUCCESS = b'success'


class CallbackError(Exception):
    """A callback request that must be refused.

    ``code`` is stable and meant for logs and tests, ``status`` is the HTTP
    status the route must answer with.
    """

    def __init__(self, code, status, message=''):
        super().__init__(message or code)
        self.code = code
        self.status = status

    def __repr__(self):
        return '%s(%r, %r, %r)' % (
            self.__class__.__name__, self.code, self.status, str(self))


class CallbackSettings:
    """The account's settings, as filled in on the WeChat admin page.

    ``mode`` is the message encryption mode (消息加解密方式): 'plain'
    (明文), 'compatible' (兼容) or 'safe' (安全).  ``max_clock_skew`` is the
    accepted difference in seconds between WeChat's timestamp and our
    clock, 0 disables the check (and nonces are then kept a day).
    """

    def __init__(
            self, appid, token, encoding_aes_key=None, mode='plain',
            max_clock_skew=300):
        if not appid or not token:
            raise ValueError("appid and token are required")
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % ', '.join(MODES))
        if max_clock_skew < 0:
            raise ValueError("max_clock_skew must not be negative")
        self.appid = appid
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.mode = mode
        self.max_clock_skew = max_clock_skew
        self.crypto = None
        if mode != 'plain':
            if (not encoding_aes_key or len(encoding_aes_key) != 43
                    or not set(encoding_aes_key) <= _BASE64_CHARS):
                raise ValueError(
                    "encoding_aes_key must be the 43 characters "
                    "EncodingAESKey")
            self.crypto = WeChatCrypto(token, encoding_aes_key, appid)




def _argument(args, name):
    value = args.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, str) or len(value) > _MAX_PARAMETER:
        return None
    return value


def _check_timestamp(settings, timestamp, now):
    if timestamp is None or not timestamp.isascii() \
            or not timestamp.isdigit() or len(timestamp) > 12:
        raise CallbackError('timestamp_invalid', 403, "invalid timestamp")
    timestamp = int(timestamp)
    skew = settings.max_clock_skew
    if skew and abs(now - timestamp) > skew:
        raise CallbackError(
            'timestamp_skew', 403,
            "timestamp %s is %d s away from our clock"
            % (timestamp, now - timestamp))
    return timestamp


def _check_plain_signature(settings, args):
    signature = _argument(args, 'signature')
    timestamp = _argument(args, 'timestamp')
    nonce = _argument(args, 'nonce')
    if not signature or timestamp is None or nonce is None:
        raise CallbackError('signature_missing', 403, "missing signature")
    try:
        check_signature(settings.token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise CallbackError('signature_invalid', 403, "invalid signature")


def handshake(settings, args, now=None):
    """Answer the server URL verification (GET) of WeChat.

    Return the echostr to send back as text/plain.
    """
    if now is None:
        now = time.time()
    _check_plain_signature(settings, args)
    _check_timestamp(settings, _argument(args, 'timestamp'), now)
    echostr = args.get('echostr')
    if (not isinstance(echostr, str) or not echostr
            or len(echostr) > _MAX_ECHOSTR or not echostr.isprintable()):
        raise CallbackError('echostr_invalid', 400, "invalid echostr")
    return echostr


def _parse_xml(text):
    "Parse the flat <xml> document of WeChat into a dict of strings"
    try:
        root = xml_fromstring(text)
    except DefusedXmlException:
        raise CallbackError('xml_malformed', 400, "forbidden DTD or entity")
    except Exception:
        raise CallbackError('xml_malformed', 400, "malformed XML")
    if root.tag != 'xml':
        raise CallbackError('xml_malformed', 400, "root must be <xml>")
    return {child.tag: (child.text or '') for child in root}


def _decode(body):
    try:
        return body.decode('utf-8')
    except UnicodeDecodeError:
        raise CallbackError('xml_malformed', 400, "body is not UTF-8")


def _check_msg_signature(settings, args, fields, timestamp, nonce):
    "Check msg_signature and return the Encrypt element it covers"
    msg_signature = _argument(args, 'msg_signature')
    if not msg_signature:
        raise CallbackError(
            'signature_missing', 403, "missing msg_signature")
    encrypt_type = _argument(args, 'encrypt_type')
    if encrypt_type not in {None, 'aes'}:
        raise CallbackError(
            'decryption_failed', 400, "unknown encrypt_type")
    encrypt = fields.get('Encrypt')
    if not encrypt:
        raise CallbackError(
            'signature_invalid', 403, "no Encrypt element to verify")
    signer = WeChatSigner()
    signer.add_data(settings.token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(
            signer.signature.encode(), msg_signature.encode('utf-8')):
        raise CallbackError('signature_invalid', 403, "invalid msg_signature")
    return encrypt


def _decrypt_payload(settings, args, encrypt, timestamp, nonce):
    try:
        return settings.crypto.decrypt_message(
            {'Encrypt': encrypt}, _argument(args, 'msg_signature'),
            timestamp, nonce)
    except InvalidAppIdException:
        raise CallbackError(
            'appid_mismatch', 400, "message is for another appid")
    except Exception:
        # base64, AES, padding and length errors of a message signed
        # with our token: it is broken, not forged
        raise CallbackError('decryption_failed', 400, "cannot decrypt")


def _message(text):
    fields = _parse_xml(text)
    if not fields.get('MsgType'):
        raise CallbackError('xml_malformed', 400, "missing MsgType")
    for name in ('FromUserName', 'ToUserName'):
        if not _USER_NAME.match(fields.get(name, '')):
            raise CallbackError('xml_malformed', 400, "invalid %s" % name)
    # wechatpy converts them when read, so the callables could fail
    for name in ('CreateTime', 'MsgId'):
        value = fields.get(name, '0').strip()
        if not (value.isascii() and value.isdigit()):
            raise CallbackError('xml_malformed', 400, "invalid %s" % name)
    try:
        return parse_message(text)
    except Exception:
        raise CallbackError('xml_malformed', 400, "unparsable message")


def handle(
        settings, args, body, replies, now=None,
        nonce_store=DEFAULT_NONCE_STORE):
    """Process a message POSTed by WeChat and return the answer body.

    args are the query arguments, body the raw request body (the route
    should read at most MAX_BODY_SIZE + 1 bytes).  The answer is the reply
    XML (encrypted when the message was) or b'success' when there is
    nothing to say.  Raise CallbackError for every refused request.
    nonce_store None disables the replay check.
    """
    if now is None:
        now = time.time()
    if not isinstance(body, (bytes, bytearray)):
        raise CallbackError('xml_malformed', 400, "body must be bytes")
    if len(body) > MAX_BODY_SIZE:
        raise CallbackError('body_too_large', 413, "body over 64 KB")
    if settings.mode == 'plain':
        _check_plain_signature(settings, args)
    timestamp = _argument(args, 'timestamp')
    nonce = _argument(args, 'nonce')
    if timestamp is None or not nonce:
        raise CallbackError('signature_missing', 403, "missing nonce")
    text = _decode(body)
    encrypted = settings.mode != 'plain'
    if encrypted:
        if _argument(args, 'signature') is not None:
            _check_plain_signature(settings, args)
        encrypt = _check_msg_signature(
            settings, args, _parse_xml(text), timestamp, nonce)
    stamp = _check_timestamp(settings, timestamp, now)
    if settings.max_clock_skew:
        expires = max(stamp, now) + settings.max_clock_skew + 1
    else:
        expires = now + _NONCE_TTL_WITHOUT_SKEW
    if (nonce_store is not None
            and not nonce_store.remember(
                '%s:%s' % (timestamp, nonce), expires, now)):
        raise CallbackError('nonce_replayed', 403, "replayed nonce")
    if encrypted:
        text = _decrypt_payload(settings, args, encrypt, timestamp, nonce)
    xml = _dispatch(_message(text), replies, now)
    if xml is None:
        return _SUCCESS
    if encrypted:
        xml = settings.crypto.encrypt_message(
            xml, _new_nonce(), str(int(now)))
    return xml.encode('utf-8')


def _new_nonce():
    return str(secrets.randbelow(10 ** 10)).zfill(10)


def _safe_text(text):
    # wechatpy puts text in CDATA without escaping its end marker
    return text.replace(']]>', ']]]]><![CDATA[>')


def _reply(message, content):
    if content is None:
        return None
    if isinstance(content, str):
        if not content:
            return None
        return TextReply(message=message, content=_safe_text(content))
    if isinstance(content, BaseReply):
        return create_reply(content, message)
    if isinstance(content, (list, tuple)):
        if not content:
            return None
        # WeChat shows a single article in answer to a message
        limit = 8 if message.type == 'event' else 1
        return create_reply(list(content)[:limit], message)
    raise TypeError("unsupported reply %r" % (content,))


def _answer(message, table, answer):
    if callable(answer.content):
        return _reply(message, answer.content(message, table))
    return _reply(message, table.render(answer.content))


def _dispatch(message, table, now):
    "Return the reply XML to message or None"
    try:
        reply = _route(message, table)
        if reply is not None:
            reply.time = int(now)
            return reply.render()
    except Exception:
        # A bug or an unavailable database must not leave the resident
        # with WeChat's "该公众号暂时无法提供服务"
        logger.exception("reply to %s message failed", message.type)
        reply = _reply(message, table.render(table.error))
        if reply is not None:
            reply.time = int(now)
            return reply.render()
    return None


def _route(message, table):
    kind = message.type
    if kind == 'event':
        event = message.event
        handler = table.handlers.get('event:%s' % event)
        if handler is not None:
            return _reply(message, handler(message, table))
        if event in {'subscribe', 'subscribe_scan'}:
            return _reply(message, table.render(table.welcome))
        if event == 'click':
            answer = table.clicks.get(message.key or '')
            if answer is None:
                return _reply(message, table.render(table.help))
            return _answer(message, table, answer)
        # unsubscribe, view, location, template send reports…
        return None
    handler = table.handlers.get(kind)
    if handler is not None:
        return _reply(message, handler(message, table))
    if kind == 'text':
        answer = table.match(message.content or '')
        if answer is None:
            return _reply(message, table.render(table.help))
        return _answer(message, table, answer)
    if kind in {'image', 'voice', 'video', 'shortvideo', 'location',
            'link'}:
        return _reply(message, table.render(table.help))
    return None
