"""The staff's login: with their Tryton user and password, or inside
WeChat by the OpenID bound to their user at a password login there."""
import base64
import hashlib
import hmac
import logging
import re
import time
from urllib.parse import urlencode

from trytond.exceptions import RateLimitException
from trytond.i18n import gettext
from trytond.modules.meter_wechat import session as sessions
from trytond.modules.meter_wechat.client import WeChatApiError
from trytond.modules.meter_wechat.web import (
    CONTEXT, PageError, configuration, error_page, in_wechat, page,
    page_url, pages_url, render, safe_next, set_session, set_session_cookie)
from trytond.protocols.wrappers import (
    HTTPStatus, redirect, with_pool, with_transaction)
from trytond.wsgi import app

from .common import PREFIX, FieldStaff

logger = logging.getLogger(__name__)

# The OpenID of a visitor WeChat named who is bound to no user yet: kept,
# signed, until their password login binds it
OPENID_COOKIE = 'meter_staff_openid'
OPENID_MAX_AGE = 60 * 60
_OPENID = re.compile(r'^[A-Za-z0-9_-]{1,64}$')


class Guest(FieldStaff):
    """The visitor of the login form.  Its session, of user 0 which is no
    member of staff's (Staff.from_session refuses it), is what the form's
    CSRF token is bound to."""
    id = 0

    def __init__(self):
        super().__init__(None)


def guest_session(request, configuration):
    "Return the session of the login form's visitor, or None"
    try:
        session = sessions.decode(FieldStaff.secret(configuration),
            request.cookies.get(FieldStaff.cookie))
    except sessions.SessionError:
        return None
    return session if session.user == 0 else None


def _openid_signature(configuration, payload):
    key = ('openid:' + FieldStaff.secret(configuration)).encode('utf-8')
    digest = hmac.new(key, payload.encode('ascii'), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def openid_cookie(configuration, openid, now=None):
    "Return the value of the cookie keeping openid until the login"
    payload = '%s.%d' % (openid, int((now or time.time()) + OPENID_MAX_AGE))
    return payload + '.' + _openid_signature(configuration, payload)


def cookie_openid(request, configuration, now=None):
    "Return the OpenID of the visitor's cookie, or None"
    value = request.cookies.get(OPENID_COOKIE)
    if not isinstance(value, str) or value.count('.') != 2 \
            or len(value) > 256:
        return None
    openid, expires, signature = value.split('.')
    payload = openid + '.' + expires
    if not _OPENID.match(openid) or not expires.isdigit() \
            or not payload.isascii() or not hmac.compare_digest(
                _openid_signature(configuration, payload).encode('ascii'),
                signature.encode('utf-8', 'replace')):
        return None
    if int(expires) <= (now or time.time()):
        return None
    return openid


def login_form(request, configuration, next_, status=HTTPStatus.OK,
        error=None, login='', expired=False, openid=None):
    """Render the login form with the CSRF token of the guest session,
    opened when the visitor has none"""
    secret = FieldStaff.secret(configuration)
    session, cookie = guest_session(request, configuration), None
    if session is None:
        session, cookie = sessions.encode(secret, Guest.id)
    response = render(request, 'field/login.html', status=status,
        next=next_, error=error, login=login, expired=expired,
        wechat=bool(openid or cookie_openid(request, configuration)),
        csrf_token=session.csrf_token(secret),
        service_name=configuration.get_setting('service_name'))
    if cookie:
        set_session_cookie(request, response, Guest, cookie)
    return response


def login_redirect(request, configuration, next_, expired=False):
    """The answer to a visitor without a session: inside WeChat, WeChat's
    authorisation, which knows them by their OpenID when it is bound;
    elsewhere, the login form"""
    api = configuration.api() if in_wechat(request) else None
    if api:
        redirect_uri = pages_url(request, configuration) + 'oauth?' + (
            urlencode({'next': next_}))
        return redirect(api.oauth(redirect_uri).authorize_url)
    return login_form(request, configuration, next_, expired=expired)


@app.route(PREFIX + '/login', methods=['GET'])
@with_pool
@with_transaction(context=CONTEXT)
def login_page(request, pool):
    "The login form itself, where logging out leads, even inside WeChat"
    try:
        settings = configuration(pool)
    except PageError as exception:
        return error_page(request, exception.status, exception.message)
    return login_form(request, settings, safe_next(request.args.get('next')))


@app.route(PREFIX + '/oauth', methods=['GET'])
@with_pool
@with_transaction(readonly=False, context=CONTEXT)
def oauth(request, pool):
    """Where WeChat sends the member of staff back with the code of
    snsapi_base: the user bound to the OpenID is in at once; any other
    visitor gets the login form, their OpenID kept for the binding."""
    User = pool.get('res.user')
    try:
        settings = configuration(pool)
    except PageError as exception:
        return error_page(request, exception.status, exception.message)
    next_ = safe_next(request.args.get('next'))
    api, code = settings.api(), request.args.get('code')
    openid = None
    if api and code:
        try:
            openid = api.oauth_openid(code)
        except WeChatApiError as exception:
            logger.info("Field OAuth refused: %s", exception)
    if not openid or not _OPENID.match(openid):
        return login_form(request, settings, next_,
            error=gettext('meter_field.msg_oauth_failed'))
    user = User.field_user_of_openid(openid)
    if user is None:
        response = login_form(request, settings, next_, openid=openid)
        response.set_cookie(OPENID_COOKIE, openid_cookie(settings, openid),
            max_age=OPENID_MAX_AGE,
            path='/%s/field' % request.view_args['database_name'],
            secure=request.is_secure, httponly=True, samesite='Lax')
        return response
    response = redirect(page_url(request, next_))
    set_session(request, response, settings, FieldStaff(user))
    return response


@app.route(PREFIX + '/login', methods=['POST'])
@with_pool
@with_transaction(readonly=False, context=CONTEXT)
def login(request, pool):
    """Check the user and password with Tryton's own login (its throttling
    and its refusal of inactive users) and open the staff's session;
    inside WeChat, the OpenID WeChat gave is bound to the user."""
    User = pool.get('res.user')
    try:
        settings = configuration(pool)
        session = guest_session(request, settings)
        if session is None or not session.check_csrf(
                FieldStaff.secret(settings), request.form.get('csrf_token')):
            raise PageError(HTTPStatus.FORBIDDEN, 'msg_page_expired')
    except PageError as exception:
        return error_page(request, exception.status, exception.message)
    next_ = safe_next(request.form.get('next'))
    name = request.form.get('login', '').strip()[:100]
    password = request.form.get('password', '')
    status, user_id = HTTPStatus.BAD_REQUEST, None
    if not name or not password:
        error = 'meter_field.msg_login_missing'
    else:
        try:
            user_id = User.get_login(name, {'password': password})
        except RateLimitException:
            status, error = HTTPStatus.TOO_MANY_REQUESTS, (
                'meter_field.msg_login_too_many')
        else:
            error = 'meter_field.msg_login_failed'
    if not user_id:
        return login_form(request, settings, next_, status=status,
            error=gettext(error), login=name)
    user = User(user_id)
    openid = cookie_openid(request, settings)
    if openid:
        user.bind_field_openid(openid)
    response = redirect(page_url(request, next_))
    response.delete_cookie(OPENID_COOKIE,
        path='/%s/field' % request.view_args['database_name'])
    set_session(request, response, settings, FieldStaff(user))
    return response


@page('logout', methods=('POST',), visitor=FieldStaff)
def logout(request, pool, visitor, values):
    "End the session; the login form follows, even inside WeChat"
    response = redirect(page_url(request, 'login'))
    response.delete_cookie(FieldStaff.cookie,
        path='/%s/field' % request.view_args['database_name'])
    return response
