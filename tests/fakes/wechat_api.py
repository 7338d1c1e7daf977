"""A fake of the WeChat official account API.

It answers like api.weixin.qq.com: HTTP 200 with a JSON body, carrying
``errcode``/``errmsg`` on failure, with the documented codes:

- 40001 invalid credential (wrong secret, unknown or expired token)
- 40002 invalid grant_type
- 40003 invalid openid
- 40007 invalid media_id
- 40013 invalid appid
- 40016, 40017, 40018, 40019, 40020, 40023 invalid menu buttons
- 40029 invalid code, 40163 code been used
- 40037 invalid template_id
- 40097 invalid args
- 41001 access_token missing
- 43004 require subscribe
- 47001 data format error

It also plays the WeChat client's side of the web authorisation: its
``/connect/oauth2/authorize`` sends the browser back to ``redirect_uri``
with a code of the OpenID set in ``authorizing`` (the resident whose
phone opened the page).
"""
import itertools
import json
import secrets
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from . import LoopbackServer

__all__ = ['FakeWeChatApi']

ERRORS = {
    40001: 'invalid credential, access_token is invalid or not latest',
    40002: 'invalid grant_type',
    40003: 'invalid openid',
    40007: 'invalid media_id',
    40013: 'invalid appid',
    40016: 'invalid button size',
    40017: 'invalid button type',
    40018: 'invalid button name size',
    40019: 'invalid button key size',
    40020: 'invalid button url size',
    40023: 'invalid sub button size',
    40029: 'invalid code',
    40037: 'invalid template_id',
    40097: 'invalid args',
    40163: 'code been used',
    41001: 'access_token missing',
    43004: 'require subscribe',
    47001: 'data format error',
    }
BUTTON_TYPES = {
    'click', 'view', 'scancode_push', 'scancode_waitmsg', 'pic_sysphoto',
    'pic_photo_or_album', 'pic_weixin', 'location_select', 'media_id',
    'view_limited', 'miniprogram', 'article_id', 'article_view_limited',
    }


def _error(errcode):
    return {'errcode': errcode, 'errmsg': ERRORS[errcode]}


class FakeWeChatApi(LoopbackServer):
    """The fake server with its state.

    Register what WeChat would know with add_code(), add_media(),
    subscribe() and templates; read calls, sent, menus to assert.
    """

    def __init__(self, appid='wx0123456789abcdef', secret='fake-secret'):
        super().__init__()
        self.appid = appid
        self.secret = secret
        self.tokens = set()
        self.codes = {}
        self.used_codes = set()
        self.media = {}
        self.subscribers = set()
        self.templates = None
        self.sent = []
        self.menus = []
        self.tickets = []
        self.authorizing = None
        self.expires_in = 7200
        self._msgids = itertools.count(200228332)
        self._lock = threading.Lock()

    def add_code(self, code, openid):
        "Make code an OAuth code of openid (usable once)"
        self.codes[code] = openid

    def add_media(self, media_id, content, content_type='image/jpeg'):
        self.media[media_id] = (content, content_type)

    def subscribe(self, openid):
        self.subscribers.add(openid)

    def expire_tokens(self):
        "Invalidate every access token given so far"
        with self._lock:
            self.tokens.clear()

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = ValueError
        self.record(
            method=request.method, path=request.path,
            args=request.args.to_dict(), json=payload)
        route = self.routes.get((request.method, request.path))
        if route is None:
            response = Response('Not Found', status=404)
        else:
            result = route(self, request, payload)
            if isinstance(result, Response):
                response = result
            else:
                response = Response(
                    json.dumps(result, ensure_ascii=False),
                    content_type='application/json; encoding=utf-8')
        return response(environ, start_response)

    def _check_token(self, request):
        token = request.args.get('access_token')
        if not token:
            return _error(41001)
        with self._lock:
            if token not in self.tokens:
                return _error(40001)
        return None

    def token(self, request, payload):
        args = request.args
        if args.get('grant_type') != 'client_credential':
            return _error(40002)
        if args.get('appid') != self.appid:
            return _error(40013)
        if args.get('secret') != self.secret:
            return _error(40001)
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens.add(token)
        return {'access_token': token, 'expires_in': self.expires_in}

    def oauth_access_token(self, request, payload):
        args = request.args
        if args.get('grant_type') != 'authorization_code':
            return _error(40002)
        if args.get('appid') != self.appid:
            return _error(40013)
        if args.get('secret') != self.secret:
            return _error(40001)
        code = args.get('code')
        with self._lock:
            if code in self.used_codes:
                return _error(40163)
            if code not in self.codes:
                return _error(40029)
            self.used_codes.add(code)
            openid = self.codes.pop(code)
        return {
            'access_token': secrets.token_urlsafe(32),
            'expires_in': 7200,
            'refresh_token': secrets.token_urlsafe(32),
            'openid': openid,
            'scope': 'snsapi_base',
            }

    def ticket_getticket(self, request, payload):
        "The jsapi_ticket of the JS-SDK: a new one at each call"
        error = self._check_token(request)
        if error:
            return error
        if request.args.get('type') != 'jsapi':
            return _error(40097)
        ticket = secrets.token_urlsafe(64)
        with self._lock:
            self.tickets.append(ticket)
        return {'errcode': 0, 'errmsg': 'ok', 'ticket': ticket,
            'expires_in': self.expires_in}

    def oauth_authorize(self, request, payload):
        """The resident's WeChat agrees to snsapi_base for the OpenID in
        authorizing and goes back to redirect_uri with code and state."""
        args = request.args
        redirect_uri = args.get('redirect_uri', '')
        if (args.get('appid') != self.appid
                or args.get('response_type') != 'code'
                or args.get('scope') not in {'snsapi_base', 'snsapi_userinfo'}
                or not redirect_uri.startswith(('http://', 'https://'))
                or not self.authorizing):
            return Response('invalid request', status=400)
        code = secrets.token_urlsafe(16)
        self.add_code(code, self.authorizing)
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [
            ('code', code), ('state', args.get('state', ''))]
        return Response(status=302, headers={
                'Location': urlunsplit(parts._replace(query=urlencode(query))),
                })

    def media_get(self, request, payload):
        error = self._check_token(request)
        if error:
            return error
        media_id = request.args.get('media_id')
        if media_id not in self.media:
            return _error(40007)
        content, content_type = self.media[media_id]
        return Response(content, content_type=content_type, headers={
                'Content-disposition':
                'attachment; filename="%s.jpg"' % media_id,
                })

    def template_send(self, request, payload):
        error = self._check_token(request)
        if error:
            return error
        if not isinstance(payload, dict) or not isinstance(
                payload.get('data'), dict):
            return _error(47001)
        touser = payload.get('touser')
        if not isinstance(touser, str) or not touser:
            return _error(40003)
        if touser not in self.subscribers:
            return _error(43004)
        template_id = payload.get('template_id')
        if not template_id or (
                self.templates is not None
                and template_id not in self.templates):
            return _error(40037)
        for value in payload['data'].values():
            if not isinstance(value, dict) or 'value' not in value:
                return _error(47001)
        msgid = next(self._msgids)
        self.sent.append(dict(payload, msgid=msgid))
        return {'errcode': 0, 'errmsg': 'ok', 'msgid': msgid}

    def menu_create(self, request, payload):
        error = self._check_token(request)
        if error:
            return error
        if not isinstance(payload, dict):
            return _error(47001)
        buttons = payload.get('button')
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _error(40016)
        for button in buttons:
            if not isinstance(button, dict):
                return _error(47001)
            if not 0 < len(button.get('name', '').encode('utf-8')) <= 16:
                return _error(40018)
            subs = button.get('sub_button')
            if subs:
                if len(subs) > 5:
                    return _error(40023)
                for sub in subs:
                    error = self._check_button(sub, 60)
                    if error:
                        return error
            else:
                error = self._check_button(button, 16)
                if error:
                    return error
        self.menus.append(payload)
        return {'errcode': 0, 'errmsg': 'ok'}

    @staticmethod
    def _check_button(button, name_size):
        if not isinstance(button, dict):
            return _error(47001)
        if button.get('type') not in BUTTON_TYPES:
            return _error(40017)
        if not 0 < len(button.get('name', '').encode('utf-8')) <= name_size:
            return _error(40018)
        if button['type'] == 'view':
            if not 0 < len(button.get('url', '')) <= 1024:
                return _error(40020)
        elif button['type'] not in {
                'media_id', 'view_limited', 'miniprogram', 'article_id',
                'article_view_limited'}:
            if not 0 < len(button.get('key', '').encode('utf-8')) <= 128:
                return _error(40019)
        return None

    routes = {
        ('GET', '/cgi-bin/token'): token,
        ('GET', '/sns/oauth2/access_token'): oauth_access_token,
        ('GET', '/cgi-bin/media/get'): media_get,
        ('GET', '/cgi-bin/ticket/getticket'): ticket_getticket,
        ('GET', '/connect/oauth2/authorize'): oauth_authorize,
        ('POST', '/cgi-bin/message/template/send'): template_send,
        ('POST', '/cgi-bin/menu/create'): menu_create,
        }
