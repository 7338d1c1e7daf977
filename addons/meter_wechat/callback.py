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
import threading
import time
from urllib.parse import urlencode, urljoin

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import (
    InvalidAppIdException, InvalidSignatureException)
from wechatpy.replies import BaseReply, TextReply, create_reply
from wechatpy.utils import WeChatSigner, check_signature

__all__ = [
    'MAX_BODY_SIZE', 'MODES', 'CallbackError', 'CallbackSettings',
    'NonceStore', 'MemoryNonceStore', 'DEFAULT_NONCE_STORE', 'Answer',
    'Article', 'ReplyTable', 'PAGES', 'RESERVED_KEYWORDS', 'fill',
    'default_reply_table', 'default_menu', 'handshake', 'handle',
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
_PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]*)\}')
# The pages of the standard table by the name of their placeholder
PAGES = {
    'usage': 'usage',
    'pay': 'pay',
    'repair': 'repair',
    'notice': 'notices',
    'contact': 'contact',
    'bind': 'bind',
    'reading': 'reading',
    'requests': 'requests',
    'info': 'info',
    }
# The words of the answers computed here rather than kept as articles
USAGE_KEYWORDS = ('用量', '余额', '用电', '用水', '查询')
INFO_KEYWORDS = ('便民', '小贴士', '常见问题')
RESERVED_KEYWORDS = USAGE_KEYWORDS + INFO_KEYWORDS
_RESERVED = {w.lower() for w in RESERVED_KEYWORDS}
# How many articles the welcome and help texts list: WeChat does not show
# a text reply over 2048 bytes
LISTED_ARTICLES = 6


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


class NonceStore:
    """Remembers the nonces already seen to refuse replayed requests.

    The in-memory implementation only protects one process; a server with
    many workers should give a store backed by a shared table.
    """

    def remember(self, key, expires, now):
        """Record key until expires (epoch seconds).

        Return False if key is already known and not expired: the request
        is a replay.  Must be atomic.
        """
        raise NotImplementedError


class MemoryNonceStore(NonceStore):
    "Thread-safe in-memory nonce store with expiry"

    def __init__(self, max_size=100000):
        self.max_size = max_size
        self._keys = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._keys)

    def remember(self, key, expires, now):
        with self._lock:
            known = self._keys.get(key)
            if known is not None and known > now:
                return False
            if len(self._keys) >= self.max_size:
                self._purge(now)
            self._keys[key] = expires
            return True

    def _purge(self, now):
        for key, expires in list(self._keys.items()):
            if expires <= now:
                del self._keys[key]
        if len(self._keys) >= self.max_size:
            # Only requests signed with our token get here, so this is a
            # flood from WeChat itself: forget the oldest half.
            ordered = sorted(self._keys.items(), key=lambda i: i[1])
            for key, _ in ordered[:len(ordered) // 2]:
                del self._keys[key]


DEFAULT_NONCE_STORE = MemoryNonceStore()


class Answer:
    """One reply of the table.

    ``content`` is either a text template, formatted with the page URLs of
    the table (``{usage}``, ``{pay}`` …), ``{phone}``, ``{name}`` and
    ``{keywords}``; or a callable ``content(message, table)`` returning a
    text, a wechatpy reply, a list of articles or None for no reply.
    ``summary`` describes it in the welcome and help texts.
    """

    def __init__(self, content, summary=''):
        self.content = content
        self.summary = summary


def fill(template, values):
    """Replace the {name} of values in template, keep anything else as
    written.

    For the texts staff write: a mistyped placeholder or a lone brace
    stays in the answer rather than breaking it, and nothing but the
    values can be reached (no attribute or index as str.format allows).
    """
    def value(match):
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)
    return _PLACEHOLDER.sub(value, template)


class Article:
    """An answer staff keep as an article (meter.wechat.article).

    ``summary`` is the reply, filled as the table's templates by ``fill``;
    a link to ``page``, the whole article, follows it.  ``title``
    describes it in the welcome and help texts when it is ``listed``
    there.
    """

    def __init__(self, keywords, summary, page, title='', listed=False):
        self.keywords = list(keywords)
        self.summary = summary
        self.page = page
        self.title = title
        self.listed = listed

    def answer(self, listed=True):
        "Return the Answer of the table, in the welcome if listed too"
        def content(message, table):
            text = table.fill(self.summary) if self.summary else self.title
            return '%s\n<a href="%s">查看详情</a>' % (
                text, table.url(self.page))
        return Answer(content, self.title if listed and self.listed else '')


class ReplyTable:
    """What the account answers.

    ``keywords`` maps a word found in a text message to an ``Answer``
    (several words may share the same one), ``clicks`` maps the key of a
    menu button to an ``Answer`` and ``handlers`` maps other message types
    ('image', 'location', 'voice', 'event:scan' …) to a callable
    ``handler(message, table)``.  Pages are given by name and path
    relative to ``base_url``.
    """

    def __init__(
            self, base_url, pages=None, keywords=None, clicks=None,
            handlers=None, welcome='', help='', error='', name='',
            phone=''):
        if not base_url.endswith('/'):
            base_url += '/'
        self.base_url = base_url
        self.pages = dict(pages or {})
        self.keywords = dict(keywords or {})
        if not all(w.strip() for w in self.keywords):
            raise ValueError("empty keyword would match every message")
        self.clicks = dict(clicks or {})
        self.handlers = dict(handlers or {})
        self.welcome = welcome
        self.help = help
        self.error = error
        self.name = name
        self.phone = phone
        # Longest first so that "停水通知" wins over "通知" (stable sort)
        self._words = sorted(self.keywords, key=len, reverse=True)
        self._values = self._compute_values()
        # Staff write {phone} whether or not the service has one
        self._staff_values = dict(
            self._values, phone=phone or '见“联系我们”页面')
        for answer in self._answers():
            if not callable(answer.content):
                self.render(answer.content)
        for template in (welcome, help, error):
            self.render(template)

    def url(self, page, **query):
        "Return the absolute URL of the named page"
        url = urljoin(self.base_url, self.pages.get(page, page))
        if query:
            url += ('&' if '?' in url else '?') + urlencode(query)
        return url

    def _answers(self):
        seen = []
        for answer in list(self.keywords.values()) + list(
                self.clicks.values()):
            if answer not in seen:
                seen.append(answer)
        return seen

    def _listing(self):
        lines = []
        for answer in self._answers():
            words = [w for w, a in self.keywords.items() if a is answer]
            if words and answer.summary:
                lines.append('回复「%s」%s' % (words[0], answer.summary))
        return '\n'.join(lines)

    def _compute_values(self):
        values = {name: self.url(name) for name in self.pages}
        values.update(
            phone=self.phone, name=self.name, keywords=self._listing())
        return values

    def render(self, template):
        "Format template with the page URLs and the table's values"
        try:
            return template.format_map(self._values)
        except (KeyError, IndexError, ValueError, AttributeError) as exception:
            raise ValueError(
                "invalid reply template %r: %s" % (template, exception))

    def fill(self, template):
        "Format a text written by staff, see fill"
        return fill(template, self._staff_values)

    def match(self, text):
        "Return the answer for the text of a message or None"
        text = text.strip().lower()
        if not text:
            return None
        for word in self._words:
            if word.lower() == text:
                return self.keywords[word]
        for word in self._words:
            if word.lower() in text:
                return self.keywords[word]
        return None


def default_reply_table(
        base_url, name='水电保障中心', phone='', usage=None, articles=(),
        handlers=None):
    """Return the standard table of the service centre.

    The keywords are answered by the articles (Article) staff keep, but
    the words of the usage query and of the convenience services page,
    which are computed here.  usage may be a callable giving a personal
    answer (for example the last readings of the account bound to the
    OpenID); without it the answer is a link to the page.  The menu
    buttons are answered with links to the pages.
    """
    answers = {
        'usage': Answer(
            usage or ('查询水电用量和余额，请'
                '<a href="{usage}">点击这里</a>。\n'
                '首次使用请先<a href="{bind}">绑定户号</a>。'),
            '查询水电用量和余额'),
        'info': Answer(
            '便民信息、生活小贴士和常见问题请<a href="{info}">点击查看</a>。',
            '查看便民信息和生活小贴士'),
        }
    keywords = {w: answers['usage'] for w in USAGE_KEYWORDS}
    listed = 0
    for article in articles:
        answer = article.answer(listed=listed < LISTED_ARTICLES)
        listed += bool(answer.summary)
        for word in article.keywords:
            if word.strip() and word.lower() not in _RESERVED:
                keywords.setdefault(word, answer)
    keywords.update({w: answers['info'] for w in INFO_KEYWORDS})
    clicks = {
        'USAGE': answers['usage'],
        'PAY': Answer('在线缴纳水电费，请<a href="{pay}">点击这里</a>。'),
        'REPAIR': Answer('报修水电故障，请<a href="{repair}">填写报修单</a>。'),
        'NOTICE': Answer(
            '停水、停电等通知请查看<a href="{notice}">最新公告</a>。'),
        'CONTACT': Answer(
            ('{name}的服务网点和办公时间请查看<a href="{contact}">联系我们</a>。'
                + ('\n值班电话：{phone}' if phone else ''))),
        'INFO': answers['info'],
        }
    return ReplyTable(
        base_url, pages=PAGES, keywords=keywords, clicks=clicks,
        handlers=handlers, name=name, phone=phone,
        welcome=('欢迎关注{name}！\n'
            '在这里您可以：\n{keywords}\n'
            '也可以使用下方菜单。首次使用请先<a href="{bind}">绑定户号</a>。'),
        help=('抱歉，没有理解您的意思。您可以：\n{keywords}\n'
            '或使用下方菜单。'),
        error='系统繁忙，请稍后再试。')


def default_menu(table, link=None):
    """Return the custom menu (自定义菜单) matching default_reply_table.

    link turns a page URL into the URL of the button, typically the OAuth
    authorize URL that gives the page the resident's OpenID.
    """
    link = link or (lambda url: url)

    def view(name, page):
        return {'type': 'view', 'name': name, 'url': link(table.url(page))}

    def click(name, key):
        return {'type': 'click', 'name': name, 'key': key}
    return {
        'button': [
            {
                'name': '用水用电',
                'sub_button': [
                    view('用量查询', 'usage'),
                    view('在线缴费', 'pay'),
                    view('绑定户号', 'bind'),
                    ],
                },
            view('报修', 'repair'),
            {
                'name': '服务指南',
                'sub_button': [
                    click('停水停电通知', 'NOTICE'),
                    click('联系我们', 'CONTACT'),
                    view('便民服务', 'info'),
                    click('使用帮助', 'HELP'),
                    ],
                },
            ],
        }


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
