"""The one web layer of every H5 page: residents' (routes.py, pages/) and
field staff's (meter_field).

It holds the Jinja environment and ``render``, the ``page()`` decorator
with the session, the CSRF check and the daily limits, the URL helpers
and the error pages.  A page knows its visitor (visitor.py): a resident,
whose pages run as root and check what the resident owns, or a member of
staff, whose page runs as that Tryton user with access and record rules
on.  A page reads the request, calls one model method and renders.
"""
import datetime as dt
import functools
import json
import logging
import os
import re
from urllib.parse import parse_qsl, quote, urlencode

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from trytond import config
from trytond.i18n import gettext
from trytond.modules.meter_base import numerals
from trytond.protocols.wrappers import (
    HTTPStatus, Response, redirect, set_max_request_size, with_pool,
    with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import session as sessions
from .account import RESIDENT_LANGUAGE
from .client import WeChatApiError
from .exceptions import SubmissionError
# add_templates and day are the pages' names for them too
from .templating import add_templates, day, templates, weekday
from .user import valid_id
from .visitor import Resident, Staff

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/wechat'
HERE = os.path.dirname(__file__)
_NEXT = re.compile(r'^[A-Za-z0-9_/-]{0,64}$')
MAX_NEXT_QUERY = 512
CONTEXT = {'language': RESIDENT_LANGUAGE}
MAX_REQUEST_SIZE = 12 * 1024 * 1024

class RecordIdConverter(BaseConverter):
    """The id of a record in the path of a page: ASCII digits without a
    leading zero, as the pages write them.  Other digits (１２, ١٢), leading
    zeros and signs match no page rather than reach a record."""
    regex = r'[1-9][0-9]{0,17}'
    weight = 50

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))


app.url_map.converters['record_id'] = RecordIdConverter


def parse_id(text):
    """Return the id a form or a query names, or None: written as the
    pages write ids (RecordIdConverter) and within what a record's id
    can be."""
    if not isinstance(text, str) or text.startswith('0'):
        return None
    try:
        value = numerals.parse_integer(text, max_digits=18)
    except ValueError:
        return None
    return value if valid_id(value) else None


def centre_now(pool):
    "Return the aware time now on the service centre's clock"
    return dt.datetime.now(pool.get('meter.configuration').tzinfo())


def centre_today(pool):
    """Return today's date on the centre's clock: the days of the daily
    limits, of the usage months and of the pay page's year start at the
    centre's midnight, not the server's (UTC)."""
    return centre_now(pool).date()


class PageError(Exception):
    """Ends a page with the error page; message is the id of a message
    of meter_wechat (or module.msg_... of another module), translated when
    the page is rendered."""

    def __init__(self, status, message, **variables):
        super().__init__(message)
        self.status = status
        self.message_id = message
        self.variables = variables

    @property
    def message(self):
        message_id = self.message_id
        if '.' not in message_id:
            message_id = 'meter_wechat.' + message_id
        return gettext(message_id, **self.variables)


def not_found(message='msg_page_not_found'):
    return PageError(HTTPStatus.NOT_FOUND, message)


def render(request, name, status=HTTPStatus.OK, **values):
    values.setdefault('url', lambda n, **q: page_url(request, n, **q))
    values.setdefault('static', lambda n: static_url(request, n))
    values.setdefault('pages', pages_of(request))
    return Response(
        templates.get_template(name).render(**values), status=status,
        content_type='text/html; charset=utf-8',
        headers={'Cache-Control': 'no-store'})


def error_page(request, status, message, **values):
    return render(
        request, 'error.html', status=status, message=message, **values)


def json_response(value, status=HTTPStatus.OK):
    return Response(
        json.dumps(value, ensure_ascii=False), status=status,
        content_type='application/json; charset=utf-8')


def refusal(exception):
    """Return the message of a refused submission.  Unless it was refused
    before anything was written (SubmissionError), nothing of it may be
    committed: the transaction is rolled back, the page goes on."""
    if not isinstance(exception, SubmissionError):
        Transaction().rollback()
    return exception.message


def configuration(pool):
    try:
        Configuration = pool.get('meter.wechat.configuration')
    except KeyError:
        # The module is not activated on this database
        raise not_found()
    return Configuration(1)


def base_url(request, configuration):
    "Return the URL of the pages, ending with a slash"
    url = configuration.get_setting('base_url')
    if not url:
        url = '%s%s/wechat/' % (
            request.host_url, quote(request.view_args['database_name']))
    if not url.endswith('/'):
        url += '/'
    return url


def pages_url(request, configuration):
    """Return the URL of the pages of the request, ending with a slash:
    the staff's are beside the residents' (…/field/ by …/wechat/)"""
    url = base_url(request, configuration)
    pages = pages_of(request)
    if pages != 'wechat' and url.endswith('/wechat/'):
        url = url[:-len('wechat/')] + pages + '/'
    return url


def pages_of(request):
    """Return the set of pages the request is for: 'wechat' (residents)
    or 'field' (staff), the segment of its path after the database"""
    start = len('/%s/' % request.view_args['database_name'])
    return request.path[start:].split('/', 1)[0]


def page_url(request, name, **query):
    url = '/%s/%s/%s' % (
        quote(request.view_args['database_name']), pages_of(request), name)
    if query:
        url += '?' + urlencode(query)
    return url


def static_url(request, name):
    "Return the URL of an asset of the pages, served by meter_wechat"
    return '/%s/wechat/static/%s' % (
        quote(request.view_args['database_name']), name)


def safe_next(value):
    """Return the page to go to after the login: a path relative to the
    pages with its query string, rebuilt from its parsed arguments so that
    nothing but a page of ours can come out; '' for anything else."""
    if not isinstance(value, str):
        return ''
    path, _, query = value.partition('?')
    if not _NEXT.match(path) or '..' in path or len(query) > MAX_NEXT_QUERY:
        return ''
    arguments = parse_qsl(query, keep_blank_values=True)
    return path + ('?' + urlencode(arguments) if arguments else '')


def page_path(request):
    "Return the requested page relative to the pages, with its query"
    path = request.path.rsplit('/%s/' % pages_of(request), 1)[-1]
    if request.query_string:
        path += '?' + request.query_string.decode('utf-8', 'replace')
    return path


def in_wechat(request):
    "Tell if the page is opened in WeChat's own browser"
    return 'MicroMessenger' in request.headers.get('User-Agent', '')


def dev_login_enabled():
    "The development login is for servers whose configuration enables it"
    return config.getboolean('wechat', 'dev_login', default=False)


def jssdk_config(request, configuration):
    """Return the parameters of wx.config for the requested page, or None
    outside WeChat or when they can not be had: the page then keeps its
    file input."""
    if not in_wechat(request):
        return None
    api = configuration.api()
    if not api:
        return None
    # The signature is of the address the resident's browser shows
    url = pages_url(request, configuration) + page_path(request)
    try:
        return api.jsapi_config(url)
    except WeChatApiError as exception:
        logger.warning("No JS-SDK signature for %s: %s (%s)",
            url, exception.code, exception)
        return None


def set_session(request, response, configuration, visitor):
    "Open the session of the visitor (a Resident or Staff) on response"
    secret = visitor.secret(configuration)
    session, cookie = sessions.encode(secret, visitor.id)
    set_session_cookie(request, response, visitor, cookie)
    return session


def set_session_cookie(request, response, visitor, cookie):
    "Set the session cookie of the visitor's pages on response"
    response.set_cookie(
        visitor.cookie, cookie, max_age=sessions.DEFAULT_MAX_AGE,
        path='/%s/%s' % (
            request.view_args['database_name'], visitor.pages),
        secure=request.is_secure, httponly=True, samesite='Lax')


def login_redirect(request, configuration, next_):
    if in_wechat(request):
        api = configuration.api()
        if api:
            redirect_uri = base_url(request, configuration) + 'oauth?' + (
                urlencode({'next': next_}))
            return redirect(api.oauth(redirect_uri).authorize_url)
    if dev_login_enabled():
        return redirect(page_url(request, 'login', next=next_))
    raise PageError(HTTPStatus.UNAUTHORIZED, 'msg_page_open_in_wechat')


def page(name, registered=True, methods=('GET',), jssdk=False,
        visitor=Resident):
    """Decorate a page: route, transaction, session, CSRF and visitor.

    The function receives the request, the pool, the visitor (a Resident
    by default, Staff for the staff's pages, under /<database>/field/)
    and the values every
    template needs.  A resident's page runs as root and checks what the
    resident owns; a staff page runs as the staff's Tryton user with the
    access and record rules on.  A jssdk page gets in ``wx`` the
    parameters of WeChat's JS-SDK when opened in WeChat; its transaction
    is never read-only, as it may have to keep a new access token and
    jsapi_ticket for the other processes.
    """
    def decorator(func):
        @app.route('/<database_name>/%s/%s' % (visitor.pages, name),
            methods=list(methods))
        @set_max_request_size(MAX_REQUEST_SIZE)
        @with_pool
        @with_transaction(
            readonly=False if jssdk else None, context=CONTEXT)
        @functools.wraps(func)
        def wrapper(request, pool, **kwargs):
            try:
                if not all(valid_id(v) for v in kwargs.values()
                        if isinstance(v, int)):
                    # Beyond what the database can hold: no such record
                    raise not_found()
                settings = configuration(pool)
                secret = visitor.secret(settings)
                try:
                    session = sessions.decode(
                        secret, request.cookies.get(visitor.cookie))
                    guest = visitor.from_session(pool, session)
                except sessions.SessionError:
                    return visitor.login(request, settings,
                        safe_next(page_path(request)))
                if guest.blocked:
                    raise PageError(HTTPStatus.FORBIDDEN, 'msg_page_blocked')
                if request.method == 'POST':
                    token = (request.form.get('csrf_token')
                        or request.headers.get('X-CSRF-Token'))
                    if not session.check_csrf(secret, token):
                        raise PageError(
                            HTTPStatus.FORBIDDEN, 'msg_page_expired')
                if registered and not guest.registered:
                    return redirect(page_url(
                            request, 'register',
                            next=safe_next(page_path(request))))
                values = {
                    'user': guest.user,
                    'zone': pool.get('meter.configuration').tzinfo(),
                    'csrf_token': session.csrf_token(secret),
                    'service_name': settings.get_setting('service_name'),
                    'service_phone': settings.get_setting('service_phone'),
                    }
                if jssdk:
                    values['wx'] = jssdk_config(request, settings)
                with guest.running():
                    return func(request, pool, guest, values, **kwargs)
            except PageError as exception:
                return error_page(request, exception.status, exception.message)
            except RequestEntityTooLarge:
                return error_page(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    gettext('meter_wechat.msg_page_too_large'))
        return wrapper
    return decorator


__all__ = [
    'PREFIX', 'CONTEXT', 'templates', 'PageError',
    'not_found', 'render', 'error_page', 'json_response', 'refusal',
    'add_templates', 'configuration', 'base_url', 'pages_url', 'pages_of',
    'page_url', 'static_url', 'safe_next', 'page_path',
    'in_wechat', 'dev_login_enabled', 'jssdk_config', 'set_session',
    'set_session_cookie',
    'login_redirect', 'page', 'parse_id', 'centre_now', 'centre_today',
    'day', 'weekday', 'Resident', 'Staff',
    ]
