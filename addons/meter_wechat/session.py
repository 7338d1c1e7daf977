"""The residents' session: a signed cookie, and the CSRF tokens of forms.

The cookie holds the id of the WeChat user, its expiry and a random
nonce, signed with HMAC-SHA256 by the database's secret: nothing is kept
on the server and any process can check it.  A form's CSRF token is bound
to the nonce of the session that displayed it.
"""
import base64
import hashlib
import hmac
import json
import secrets
import time

__all__ = ['COOKIE_NAME', 'SessionError', 'Session', 'encode', 'decode']

COOKIE_NAME = 'meter_wechat'
DEFAULT_MAX_AGE = 7 * 24 * 60 * 60


class SessionError(Exception):
    "A missing, forged or expired session cookie"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def _sign(secret, payload):
    return hmac.new(
        secret.encode('utf-8'), payload.encode('ascii'),
        hashlib.sha256).digest()


class Session:
    "The session of one WeChat user"

    def __init__(self, user, expires, nonce=None):
        self.user = user
        self.expires = expires
        self.nonce = nonce or secrets.token_hex(16)

    def csrf_token(self, secret):
        "Return the token the forms of this session must carry"
        return _b64(_sign(secret, 'csrf.' + self.nonce))

    def check_csrf(self, secret, token):
        if not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(
            self.csrf_token(secret).encode('ascii'),
            token.encode('utf-8', 'replace'))


def encode(secret, user, max_age=DEFAULT_MAX_AGE, now=None):
    "Return a new session of user and the value of its cookie"
    if now is None:
        now = time.time()
    session = Session(user, int(now + max_age))
    payload = _b64(json.dumps(
            [session.user, session.expires, session.nonce]).encode('ascii'))
    return session, payload + '.' + _b64(_sign(secret, payload))


def decode(secret, cookie, now=None):
    "Return the Session of the cookie or raise SessionError"
    if now is None:
        now = time.time()
    if not isinstance(cookie, str) or cookie.count('.') != 1 \
            or len(cookie) > 512:
        raise SessionError("malformed cookie")
    payload, signature = cookie.split('.')
    try:
        valid = hmac.compare_digest(
            _b64(_sign(secret, payload)).encode('ascii'),
            signature.encode('ascii'))
    except (UnicodeEncodeError, ValueError):
        valid = False
    if not valid:
        raise SessionError("invalid signature")
    try:
        user, expires, nonce = json.loads(_unb64(payload))
    except ValueError:
        raise SessionError("malformed cookie")
    if not isinstance(user, int) or not isinstance(expires, int) \
            or not isinstance(nonce, str):
        raise SessionError("malformed cookie")
    if expires <= now:
        raise SessionError("expired")
    return Session(user, expires, nonce)
