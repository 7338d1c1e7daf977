"""HTTP routes of the WeChat service: the message callback, the login of
the residents and their H5 pages.

Every page runs as the root user without access check; what a resident
may see is decided here, from the accounts staff approved for them
(``User.account`` and ``User.meter``), and anything else answers 404.
"""
import datetime as dt
import functools
import json
import logging
import os
import re
import time
from decimal import Decimal
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import (
    Environment, FileSystemLoader, pass_context, select_autoescape)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter
from werkzeug.utils import send_from_directory

from trytond import config
from trytond.exceptions import UserError
from trytond.protocols.wrappers import (
    HTTPStatus, Response, redirect, set_max_request_size, with_pool,
    with_transaction)
from trytond.modules.meter_base import numerals
from trytond.modules.meter_base.configuration import to_local, to_utc
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import session as sessions
from .binding import verification_matches
from .callback import MAX_BODY_SIZE, CallbackError, handle, handshake
from .client import WeChatApiError
from .photo import PhotoError, check_photo
from .reply import PAGES, default_reply_table
from .sms import LogProvider, SmsError, get_provider
from .store import TableCodeStorage, TableNonceStore
from .user import valid_id
from .verification import VerificationCodes
from .work_order import (
    APPOINTMENT_TYPES, REQUEST_TYPES, RESIDENT_KINDS, type_label)

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/wechat'
HERE = os.path.dirname(__file__)
STATIC = os.path.join(HERE, 'static')
# The assets installed by npm (see static/package.json)
ASSETS = {
    'weui.css': ('node_modules/weui/dist/style', 'weui.min.css'),
    'echarts.js': ('node_modules/echarts/dist', 'echarts.min.js'),
    }
_NEXT = re.compile(r'^[a-z0-9_/-]{0,64}$')
MAX_NEXT_QUERY = 512
# WeChat's JS-SDK, which the WeChat client loads for the pages it opens
JWEIXIN = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'
_MEDIA_ID = re.compile(r'^[A-Za-z0-9_-]{1,128}$')
CONTEXT = {'language': 'zh_CN'}
# The OpenID the development login proposes: the resident `make demo`
# binds to an account, so that a newcomer lands on working pages
DEV_OPENID = 'demo-resident'
# Submissions a resident may make per day
DAILY_LIMITS = {
    'bind': 10,
    'bind_failure': 5,
    'sms': 10,
    'reading': 10,
    'work_order': 10,
    'follow_up': 20,
    'payment': 5,
    }
ANOMALIES = {
    'lower': '读数低于上次读数',
    'zero': '本期用量为零',
    'high': '用量远高于近期平均',
    'future': '抄表时间晚于当前时间',
    'backdated': '抄表时间早于上次抄表',
    'same_day': '当天已有读数',
    }
KINDS = {'electricity': '电表', 'water': '水表', 'hot_water': '热水表'}
CATEGORIES = {'resident': '居民', 'unit': '单位', 'dormitory': '集体宿舍'}
BINDING_STATES = {
    'pending': '待审核', 'approved': '已绑定', 'rejected': '未通过',
    'unbound': '已解绑'}
READING_STATES = {'draft': '待审核', 'confirmed': '已确认', 'rejected': '已驳回'}
PAYMENT_STATES = {
    'waiting': '待审核', 'posted': '已入账', 'refused': '未通过',
    'cancelled': '已撤销'}
BILL_STATES = {
    'posted': '待缴费', 'partially_paid': '部分缴费', 'paid': '已缴清'}
NOTICE_KINDS = {
    'water_outage': '停水通知', 'power_outage': '停电通知', 'general': '通知'}
WORK_ORDER_STATES = {
    'open': '待处理', 'processing': '处理中', 'done': '已完成',
    'cancelled': '已取消'}

templates = Environment(
    loader=FileSystemLoader(os.path.join(HERE, 'templates')),
    autoescape=select_autoescape(['html']))
templates.filters['anomaly'] = lambda c: ANOMALIES.get(c, c)


@pass_context
def _local(context, moment, format='%Y-%m-%d %H:%M'):
    """Write a stored moment (naive UTC, as Tryton keeps them) on the
    service centre's clock; the page's ``zone`` is the centre's zone."""
    if moment is None:
        return ''
    return to_local(moment, context['zone']).strftime(format)


templates.filters['local'] = _local
templates.globals.update(
    KINDS=KINDS, CATEGORIES=CATEGORIES, BINDING_STATES=BINDING_STATES,
    READING_STATES=READING_STATES, WORK_ORDER_STATES=WORK_ORDER_STATES,
    WORK_ORDER_KINDS=RESIDENT_KINDS, NOTICE_KINDS=NOTICE_KINDS,
    PAYMENT_STATES=PAYMENT_STATES, BILL_STATES=BILL_STATES,
    JWEIXIN=JWEIXIN)

_sms_providers = {}


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


def parse_decimal(text):
    """Return the Decimal of a number typed in a form, or None.

    Only ASCII digits: Decimal() would take the digits of every script
    (١٢٣, full-width １２３), underscores (1_000), exponents, Infinity and
    NaN, none of which a resident means."""
    try:
        return numerals.parse_decimal(text)
    except ValueError:
        return None


def centre_now(pool):
    "Return the aware time now on the service centre's clock"
    return dt.datetime.now(pool.get('meter.configuration').tzinfo())


def centre_today(pool):
    """Return today's date on the centre's clock: the days of the daily
    limits, of the usage months and of the pay page's year start at the
    centre's midnight, not the server's (UTC)."""
    return centre_now(pool).date()


class PageError(Exception):
    "Ends a page with an error page in Chinese"

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def dev_login_enabled():
    "The development login is for servers whose configuration enables it"
    return config.getboolean('wechat', 'dev_login', default=False)


def sms_codes():
    """Return the VerificationCodes with the provider of the configuration.

    The provider is named by ``sms_provider`` ('log' by default) and
    configured by the other ``sms_*`` options of the ``[wechat]`` section,
    e.g. sms_access_key_id, sms_sign_name; ``sms_template_verification``
    is the provider's template of the codes.
    """
    name = config.get('wechat', 'sms_provider', default='log')
    provider = _sms_providers.get(name)
    if provider is None:
        if name == 'log':
            provider = LogProvider()
        else:
            options, templates = {}, {}
            for option in config.options('wechat'):
                value = config.get('wechat', option)
                if option.startswith('sms_template_'):
                    templates[option[len('sms_template_'):]] = value
                elif option.startswith('sms_') and option != 'sms_provider':
                    options[option[len('sms_'):]] = value
            provider = get_provider(name, templates=templates, **options)
        _sms_providers[name] = provider
    return VerificationCodes(provider, storage=TableCodeStorage())


def render(request, name, status=HTTPStatus.OK, **values):
    values.setdefault('url', lambda n, **q: page_url(request, n, **q))
    return Response(
        templates.get_template(name).render(**values), status=status,
        content_type='text/html; charset=utf-8',
        headers={'Cache-Control': 'no-store'})


def error_page(request, status, message, **values):
    return render(
        request, 'error.html', status=status, message=message, **values)


def _configuration(pool):
    try:
        Configuration = pool.get('meter.wechat.configuration')
    except KeyError:
        # The module is not activated on this database
        raise PageError(HTTPStatus.NOT_FOUND, "页面不存在")
    return Configuration(1)


def _secret(configuration):
    return configuration.session_key()


def base_url(request, configuration):
    "Return the URL of the pages, ending with a slash"
    url = configuration.get_setting('base_url')
    if not url:
        url = '%s%s/wechat/' % (
            request.host_url, quote(request.view_args['database_name']))
    if not url.endswith('/'):
        url += '/'
    return url


def page_url(request, name, **query):
    url = '/%s/wechat/%s' % (
        quote(request.view_args['database_name']), name)
    if query:
        url += '?' + urlencode(query)
    return url


def _safe_next(value):
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


def _page_path(request):
    "Return the requested page relative to the pages, with its query"
    path = request.path.rsplit('/wechat/', 1)[-1]
    if request.query_string:
        path += '?' + request.query_string.decode('utf-8', 'replace')
    return path


def in_wechat(request):
    "Tell if the page is opened in WeChat's own browser"
    return 'MicroMessenger' in request.headers.get('User-Agent', '')


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
    url = base_url(request, configuration) + _page_path(request)
    try:
        return api.jsapi_config(url)
    except WeChatApiError as exception:
        logger.warning("No JS-SDK signature for %s: %s (%s)",
            url, exception.code, exception)
        return None


def set_session(request, response, configuration, user):
    session, cookie = sessions.encode(_secret(configuration), user.id)
    response.set_cookie(
        sessions.COOKIE_NAME, cookie,
        max_age=sessions.DEFAULT_MAX_AGE,
        path='/%s/wechat' % request.view_args['database_name'],
        secure=request.is_secure, httponly=True, samesite='Lax')
    return session


def _login_redirect(request, configuration, next_):
    if in_wechat(request):
        api = configuration.api()
        if api:
            redirect_uri = base_url(request, configuration) + 'oauth?' + (
                urlencode({'next': next_}))
            return redirect(api.oauth(redirect_uri).authorize_url)
    if dev_login_enabled():
        return redirect(page_url(request, 'login', next=next_))
    raise PageError(HTTPStatus.UNAUTHORIZED, "请在微信中打开本页面")


def page(name, registered=True, methods=('GET',), jssdk=False):
    """Decorate a resident page: route, transaction, session and CSRF.

    The function receives the request, the pool, the WeChat user and the
    values every template needs.  A jssdk page gets in ``wx`` the
    parameters of WeChat's JS-SDK when opened in WeChat; its transaction
    is never read-only, as it may have to keep a new access token and
    jsapi_ticket for the other processes.
    """
    def decorator(func):
        @app.route(PREFIX + '/' + name, methods=list(methods))
        @set_max_request_size(12 * 1024 * 1024)
        @with_pool
        @with_transaction(
            readonly=False if jssdk else None, context=CONTEXT)
        @functools.wraps(func)
        def wrapper(request, pool, **kwargs):
            try:
                if not all(valid_id(v) for v in kwargs.values()
                        if isinstance(v, int)):
                    # Beyond what the database can hold: no such record
                    raise PageError(HTTPStatus.NOT_FOUND, "页面不存在")
                configuration = _configuration(pool)
                User = pool.get('meter.wechat.user')
                secret = _secret(configuration)
                try:
                    session = sessions.decode(
                        secret, request.cookies.get(sessions.COOKIE_NAME))
                    users = User.search(
                        [('id', '=', session.user)], limit=1)
                    if not users:
                        raise sessions.SessionError("unknown user")
                    user, = users
                except sessions.SessionError:
                    return _login_redirect(
                        request, configuration,
                        _safe_next(_page_path(request)))
                if user.blocked:
                    raise PageError(
                        HTTPStatus.FORBIDDEN, "您的账户已被停用，请联系服务网点")
                if request.method == 'POST':
                    token = (request.form.get('csrf_token')
                        or request.headers.get('X-CSRF-Token'))
                    if not session.check_csrf(secret, token):
                        raise PageError(
                            HTTPStatus.FORBIDDEN, "页面已过期，请刷新后重试")
                if registered and not user.phone:
                    return redirect(page_url(
                            request, 'register',
                            next=_safe_next(_page_path(request))))
                values = {
                    'user': user,
                    'zone': pool.get('meter.configuration').tzinfo(),
                    'csrf_token': session.csrf_token(secret),
                    'service_name': configuration.get_setting('service_name'),
                    'service_phone': configuration.get_setting(
                        'service_phone'),
                    }
                if jssdk:
                    values['wx'] = jssdk_config(request, configuration)
                return func(request, pool, user, values, **kwargs)
            except PageError as exception:
                return error_page(request, exception.status, exception.message)
            except RequestEntityTooLarge:
                return error_page(
                    request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "上传的文件过大")
        return wrapper
    return decorator


def limit_key(user, action, date):
    "The key of the counter of user's submissions of action on date"
    return 'limit:%s:%s:%s' % (action, user.id, date.isoformat())


def check_limit(pool, user, action):
    """Count a submission of user and refuse those over the daily limit.

    The day is the centre's: the counter of a day starts at the centre's
    midnight and expires at the next one."""
    Store = pool.get('meter.wechat.store')
    local = centre_now(pool)
    tomorrow = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(), tzinfo=local.tzinfo)
    now = local.timestamp()
    key = limit_key(user, action, local.date())
    if Store.increment(key, tomorrow.timestamp(), now) > DAILY_LIMITS[action]:
        raise PageError(
            HTTPStatus.TOO_MANY_REQUESTS, "今日提交次数已达上限，请明天再试")


# The message callback

def usage_answer(pool):
    "Answer 用量 with the last readings of the sender's approved meters"
    def answer(message, table):
        User = pool.get('meter.wechat.user')
        users = User.search([('openid', '=', message.source)], limit=1)
        meters = users[0].meters() if users else []
        if not meters:
            return table.render(
                '查询水电用量，请先<a href="{bind}">绑定户号</a>，'
                '审核通过后即可查询。')
        lines = ['您绑定表计的最新读数：']
        zone = pool.get('meter.configuration').tzinfo()
        for meter in meters[:10]:
            if meter.last_taken_at:
                lines.append('%s %s：%s（%s）' % (
                        KINDS.get(meter.kind, ''), meter.number,
                        meter.last_value,
                        to_local(meter.last_taken_at, zone).strftime(
                            '%Y-%m-%d')))
            else:
                lines.append('%s %s：暂无读数' % (
                        KINDS.get(meter.kind, ''), meter.number))
        lines.append(table.render('近12个月用量请<a href="{usage}">点击查看</a>。'))
        return '\n'.join(lines)
    return answer


def reply_table(request, pool, configuration):
    "The standard table with the keywords of the active articles"
    Article = pool.get('meter.wechat.article')
    return default_reply_table(
        base_url(request, configuration),
        name=configuration.get_setting('service_name'),
        phone=configuration.get_setting('service_phone'),
        usage=usage_answer(pool), articles=Article.reply_articles())


@app.route(PREFIX + '/callback', methods=['GET', 'POST'])
@set_max_request_size(MAX_BODY_SIZE)
@with_pool
@with_transaction()
def callback(request, pool):
    "The server URL (服务器地址) given to WeChat"
    try:
        configuration = _configuration(pool)
    except PageError:
        return Response('not found', HTTPStatus.NOT_FOUND)
    settings = configuration.callback_settings()
    if settings is None:
        return Response('not configured', HTTPStatus.NOT_FOUND)
    # A repeated argument is kept as a list, which callback refuses
    args = {k: v[0] if len(v) == 1 else v
        for k, v in request.args.to_dict(flat=False).items()}
    try:
        if request.method == 'GET':
            return Response(
                handshake(settings, args), content_type='text/plain')
        try:
            body = request.stream.read(MAX_BODY_SIZE + 1)
        except RequestEntityTooLarge:
            raise CallbackError('body_too_large', 413, "body over 64 KB")
        answer = handle(
            settings, args, body, reply_table(request, pool, configuration),
            nonce_store=TableNonceStore())
    except CallbackError as exception:
        logger.warning(
            "WeChat callback refused from %s: %s (%s)",
            request.remote_addr, exception.code, exception)
        return Response(
            exception.code, exception.status, content_type='text/plain')
    content_type = ('text/plain' if answer == b'success'
        else 'application/xml')
    return Response(answer, content_type=content_type)


# Login

@app.route(PREFIX + '/oauth', methods=['GET'])
@with_pool
@with_transaction(readonly=False, context=CONTEXT)
def oauth(request, pool):
    "Where WeChat sends the resident back with the code of snsapi_base"
    try:
        configuration = _configuration(pool)
        api = configuration.api()
        code = request.args.get('code')
        if not api or not code:
            raise PageError(HTTPStatus.BAD_REQUEST, "请在微信中打开本页面")
        try:
            openid = api.oauth_openid(code)
        except WeChatApiError as exception:
            logger.info("OAuth refused: %s", exception)
            raise PageError(
                HTTPStatus.FORBIDDEN, "微信授权失败，请从公众号菜单重新进入")
        User = pool.get('meter.wechat.user')
        user = User.login(openid)
        response = redirect(
            page_url(request, _safe_next(request.args.get('next'))))
        set_session(request, response, configuration, user)
        return response
    except PageError as exception:
        return error_page(request, exception.status, exception.message)


@app.route(PREFIX + '/login', methods=['GET', 'POST'])
@with_pool
@with_transaction(context=CONTEXT)
def dev_login(request, pool):
    "Login by OpenID outside WeChat, for development servers only"
    if not dev_login_enabled():
        return error_page(request, HTTPStatus.NOT_FOUND, "页面不存在")
    try:
        configuration = _configuration(pool)
    except PageError as exception:
        return error_page(request, exception.status, exception.message)
    next_ = _safe_next(request.values.get('next'))
    if request.method == 'POST':
        openid = request.form.get('openid', '').strip()
        if not re.match(r'^[A-Za-z0-9_-]{1,64}$', openid):
            return render(request, 'login.html', status=HTTPStatus.BAD_REQUEST,
                next=next_, openid=openid, error="OpenID 格式不正确")
        User = pool.get('meter.wechat.user')
        user = User.login(openid)
        response = redirect(page_url(request, next_))
        set_session(request, response, configuration, user)
        return response
    return render(
        request, 'login.html', next=next_, openid=DEV_OPENID, error=None)


@app.route(PREFIX + '/static/<path:path>', methods=['GET'])
def static(request, database_name, path):
    "The page assets: ours and those installed by npm"
    if path in ASSETS:
        directory, path = ASSETS[path]
        directory = os.path.join(STATIC, directory)
    elif path in {'app.js', 'app.css'}:
        directory = STATIC
    else:
        return Response('not found', HTTPStatus.NOT_FOUND)
    response = send_from_directory(directory, path, request.environ)
    response.cache_control.max_age = 3600
    return response


@app.route(PREFIX + '/<path:path>',
    methods=['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
def not_found(request, database_name, path):
    """Any other address under the pages: the pages' own 404 in Chinese
    rather than Werkzeug's English answer (a 405, as a CORS route of
    trytond takes every path for OPTIONS)."""
    return error_page(request, HTTPStatus.NOT_FOUND, "页面不存在")


# Registration

@page('register', registered=False, methods=('GET', 'POST'))
def register(request, pool, user, values):
    next_ = _safe_next(request.values.get('next'))
    if request.method == 'POST':
        phone = request.form.get('phone', '')
        try:
            phone = sms_codes().verify(
                phone, request.form.get('code', ''), purpose='register')
        except SmsError as exception:
            return render(request, 'register.html',
                status=HTTPStatus.BAD_REQUEST,
                error=exception.message, phone=phone, next=next_, **values)
        user.register(phone)
        return redirect(page_url(request, next_ or 'accounts'))
    return render(request, 'register.html', error=None, phone=user.phone or '',
        next=next_, **values)


@page('sms', registered=False, methods=('POST',))
def send_code(request, pool, user, values):
    "Send the SMS code of the registration form (called by its script)"
    try:
        check_limit(pool, user, 'sms')
        expires = sms_codes().send(
            request.form.get('phone', ''), purpose='register')
    except PageError as exception:
        return _json({'error': exception.message}, exception.status)
    except SmsError as exception:
        return _json({'error': exception.message}, HTTPStatus.BAD_REQUEST)
    return _json({'expires_in': int(expires - time.time())})


def _json(value, status=HTTPStatus.OK):
    return Response(
        json.dumps(value, ensure_ascii=False), status=status,
        content_type='application/json; charset=utf-8')


# Pages

@page('', registered=False)
def home(request, pool, user, values):
    return render(request, 'home.html', **values)


@page('accounts')
def accounts(request, pool, user, values):
    Binding = pool.get('meter.wechat.binding')
    bindings = Binding.search([
            ('user', '=', user.id),
            ('state', 'in', ['pending', 'approved', 'rejected']),
            ])
    return render(request, 'accounts.html', bindings=bindings,
        message=request.args.get('message'), **values)


@page('bind', methods=('GET', 'POST'))
def bind(request, pool, user, values):
    Account = pool.get('meter.account')
    Binding = pool.get('meter.wechat.binding')
    if request.method == 'POST':
        number = request.form.get('number', '').strip()
        verification = request.form.get('verification', '').strip()
        form = {'number': number, 'verification': verification}
        check_limit(pool, user, 'bind')
        accounts = Account.search([
                ('number', '=', number),
                ], limit=1) if number else []
        if not accounts or not verification_matches(
                accounts[0], verification):
            check_limit(pool, user, 'bind_failure')
            return render(request, 'bind.html', status=HTTPStatus.BAD_REQUEST,
                error="户号或验证信息不正确", form=form, **values)
        try:
            Binding.request(user, accounts[0], verification)
        except UserError as exception:
            return render(request, 'bind.html', status=HTTPStatus.BAD_REQUEST,
                error=exception.message, form=form, **values)
        return redirect(page_url(request, 'accounts', message='submitted'))
    return render(request, 'bind.html', error=None, form={}, **values)


@page('accounts/<record_id:binding_id>/unbind', methods=('POST',))
def unbind(request, pool, user, values, binding_id):
    Binding = pool.get('meter.wechat.binding')
    bindings = Binding.search([
            ('id', '=', binding_id),
            ('user', '=', user.id),
            ('state', 'in', ['pending', 'approved']),
            ])
    if not bindings:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该户号绑定")
    Binding.unbind(bindings)
    return redirect(page_url(request, 'accounts', message='unbound'))


@page('usage')
def usage(request, pool, user, values):
    return render(request, 'usage.html', meters=user.meters(), **values)


def monthly_usage(pool, meter, today=None):
    """Return the 12 months up to today's with the confirmed consumption
    of meter in each, by the month the reading was taken.

    Months are the centre's: a reading taken on the 1st at 06:00 Beijing
    time (22:00 UTC the day before) counts in the month it was taken."""
    Reading = pool.get('meter.reading')
    zone = pool.get('meter.configuration').tzinfo()
    today = today or centre_today(pool)
    months = []
    year, month = today.year, today.month
    for _ in range(12):
        months.insert(0, (year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    start = to_utc(dt.datetime(*months[0], 1), zone)
    totals = {m: Decimal(0) for m in months}
    # The page of the residents' most asked question: read two columns
    # rather than whole readings
    for reading in Reading.search_read([
                ('meter', '=', meter.id),
                ('state', '=', 'confirmed'),
                ('taken_at', '>=', start),
                ('consumption', '!=', None),
                ], order=[], fields_names=['taken_at', 'consumption']):
        taken_at = to_local(reading['taken_at'], zone)
        key = (taken_at.year, taken_at.month)
        if key in totals:
            totals[key] += reading['consumption']
    return [('%04d-%02d' % m, totals[m]) for m in months]


@page('usage/<record_id:meter_id>')
def meter_usage(request, pool, user, values, meter_id):
    meter = user.meter(meter_id)
    if meter is None:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该表计，或您无权查看")
    months = monthly_usage(pool, meter)
    payments = monthly_payments(pool, meter.account, [m for m, _ in months])
    return render(request, 'meter_usage.html', meter=meter,
        months=[(m, v, payments[m]) for m, v in months],
        labels=[m for m, _ in months],
        values=[float(v) for _, v in months],
        payments=[float(payments[m]) for m, _ in months], **values)


def monthly_payments(pool, account, months):
    "Return the posted payments of account summed by month (YYYY-MM)"
    Payment = pool.get('meter.payment')
    totals = {m: Decimal(0) for m in months}
    year, month = map(int, months[0].split('-'))
    for payment in Payment.search_read([
                ('account', '=', account.id),
                ('state', '=', 'posted'),
                ('date', '>=', dt.date(year, month, 1)),
                ], order=[], fields_names=['date', 'amount']):
        key = payment['date'].strftime('%Y-%m')
        if key in totals:
            totals[key] += payment['amount']
    return totals


@page('reading', methods=('GET', 'POST'), jssdk=True)
def self_reading(request, pool, user, values):
    Reading = pool.get('meter.reading')
    meters = user.meters()
    if request.method == 'POST':
        form = {
            'meter': request.form.get('meter', ''),
            'value': request.form.get('value', '').strip(),
            }

        def invalid(error):
            return render(request, 'reading.html',
                status=HTTPStatus.BAD_REQUEST,
                meters=meters, error=error, form=form, **values)
        meter = user.meter(parse_id(form['meter']))
        if meter is None or meter.state != 'active':
            raise PageError(HTTPStatus.NOT_FOUND, "没有找到该表计，或您无权抄表")
        value = reading_value(form['value'])
        if value is None:
            return invalid(READING_VALUE_ERROR)
        # Counted before the photo is downloaded, decoded or read: a
        # resident over the limit costs no image work
        check_limit(pool, user, 'reading')
        try:
            photo = _uploaded_photo(request, pool)
            check_photo(photo)
        except PageError as exception:
            return invalid(exception.message)
        except PhotoError as exception:
            return invalid(str(exception))
        try:
            reading, = Reading.create([{
                        'meter': meter.id,
                        'value': value.quantize(Decimal('0.001')),
                        'taken_at': dt.datetime.now().replace(microsecond=0),
                        'source': 'self',
                        'reader': None,
                        'submitter': 'wechat:%s %s' % (
                            user.phone, user.openid),
                        'photo': photo,
                        }])
        except UserError as exception:
            # Nothing of a refused reading may be committed
            Transaction().rollback()
            return invalid(exception.message)
        return redirect(page_url(request, 'reading/%d' % reading.id))
    return render(request, 'reading.html', meters=meters, error=None,
        form={'meter': request.args.get('meter', '')}, **values)


@page('reading/check')
def reading_check(request, pool, user, values):
    """Tell, before the resident submits, what the reading typed would be
    flagged for: the same checks the submitted reading gets, as JSON."""
    Reading = pool.get('meter.reading')
    meter = user.meter(parse_id(request.args.get('meter', '')))
    if meter is None or meter.state != 'active':
        return _json({'error': "没有找到该表计，或您无权抄表"},
            HTTPStatus.NOT_FOUND)
    value = reading_value(request.args.get('value', '').strip())
    if value is None:
        return _json({'error': READING_VALUE_ERROR}, HTTPStatus.BAD_REQUEST)
    anomalies, consumption = Reading.preview(
        meter, value.quantize(Decimal('0.001')), 'self')
    return _json({
            'anomalies': [
                {'code': c, 'message': ANOMALIES.get(c, c)}
                for c in anomalies],
            'consumption': _plain(consumption),
            'previous': _plain(meter.last_value),
            })


READING_VALUE_ERROR = "请输入正确的读数（半角数字 0-9，可带小数点）"


def reading_value(text):
    "Return the Decimal of a typed reading or None when it is not one"
    value = parse_decimal(text)
    if value is None or value < 0 or value >= 10 ** 12:
        return None
    return value


def _plain(number):
    "A Decimal as text without its trailing zeros (230.000 → 230)"
    return None if number is None else '{:f}'.format(number.normalize())


def _uploaded_photo(request, pool):
    """Return the bytes of the photo: a file, or the serverId of a photo
    the JS-SDK uploaded to WeChat (wx.uploadImage), downloaded from it.
    Either is then checked as any upload."""
    upload = request.files.get('photo')
    if upload and upload.filename:
        return upload.read()
    media_id = request.form.get('media_id', '').strip()
    if media_id:
        api = _configuration(pool).api()
        if not api or not _MEDIA_ID.match(media_id):
            raise PageError(HTTPStatus.BAD_REQUEST, "照片下载失败，请重新上传")
        try:
            return api.download_media(media_id)
        except WeChatApiError as exception:
            logger.info("media %s not downloaded: %s", media_id, exception)
            raise PageError(
                HTTPStatus.BAD_REQUEST, "照片下载失败，请重新上传")
    return None


@page('reading/<record_id:reading_id>')
def reading_result(request, pool, user, values, reading_id):
    Reading = pool.get('meter.reading')
    readings = Reading.search([('id', '=', reading_id)], limit=1)
    if not readings or user.meter(readings[0].meter.id) is None:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该读数，或您无权查看")
    return render(
        request, 'reading_result.html', reading=readings[0], **values)


@page('contact', registered=False)
def contact(request, pool, user, values):
    Campus = pool.get('meter.campus')
    Article = pool.get('meter.wechat.article')
    return render(
        request, 'contact.html', campuses=Campus.search([]),
        faqs=[a for a in Article.index() if a['category'] == 'faq'],
        **values)


@page('pay', methods=('GET', 'POST'))
def pay(request, pool, user, values):
    """Pay by bank transfer: the resident sends the reference and the
    screenshot of the transfer, finance reviews it in the back office."""
    Payment = pool.get('meter.payment')
    Bill = pool.get('meter.bill')
    BillingConfiguration = pool.get('meter.billing.configuration')
    accounts = user.approved_accounts
    form = {'account': request.args.get('account', '')}
    error = None
    status = HTTPStatus.OK
    if request.method == 'POST':
        form = {
            'account': request.form.get('account', ''),
            'amount': request.form.get('amount', '').strip(),
            'reference': request.form.get('reference', '').strip()[:64],
            }
        account = user.account(parse_id(form['account']))
        if account is None:
            raise PageError(HTTPStatus.NOT_FOUND, "没有找到该户号，或您无权操作")
        amount = parse_decimal(form['amount'])
        if (amount is not None and (amount <= 0 or amount > 1_000_000
                    or amount != amount.quantize(Decimal('0.01')))):
            amount = None
        upload = request.files.get('screenshot')
        screenshot = upload.read() if upload and upload.filename else None
        if amount is None:
            error = "请输入正确的金额（元，半角数字，最多两位小数）"
        elif not form['reference']:
            error = "请填写转账流水号"
        else:
            # Counted before the screenshot is decoded
            check_limit(pool, user, 'payment')
            try:
                check_photo(screenshot)
            except PhotoError as exception:
                error = str(exception)
        if error:
            status = HTTPStatus.BAD_REQUEST
        else:
            try:
                payment, = Payment.create([{
                            'account': account.id,
                            'campus': account.campus.id,
                            'method': 'transfer',
                            'amount': amount,
                            'payer': user.phone,
                            'transfer_reference': form['reference'],
                            'screenshot': screenshot,
                            }])
                Payment.post([payment])
            except UserError as exception:
                Transaction().rollback()
                error = exception.message
                status = HTTPStatus.BAD_REQUEST
            else:
                return redirect(
                    page_url(request, 'pay', message='submitted'))
    account_ids = [a.id for a in accounts]
    since = centre_today(pool) - dt.timedelta(days=366)
    # The open bills whatever their age, and those paid in the last year
    bills = Bill.search([
            ('account', 'in', account_ids),
            ['OR',
                ('state', 'in', ['posted', 'partially_paid']),
                [('state', '=', 'paid'), ('end_date', '>=', since)],
                ],
            ], order=[('due_date', 'ASC'), ('id', 'ASC')]) if accounts else []
    payments = Payment.search([
            ('account', 'in', account_ids),
            ('date', '>=', since),
            ('state', '!=', 'draft'),
            ]) if accounts else []
    return render(request, 'pay.html', status=status, error=error,
        form=form, accounts=accounts, payments=payments,
        bills=[b for b in bills if b.state != 'paid'],
        paid_bills=[b for b in reversed(bills) if b.state == 'paid'],
        billing=BillingConfiguration(1), message=request.args.get('message'),
        **values)


@page('notices', registered=False)
def notices(request, pool, user, values):
    "The published notices of the resident's campuses and buildings"
    Notice = pool.get('meter.notice')
    accounts = user.approved_accounts
    notices = Notice.search(Notice.current_domain(
            campuses={a.campus.id for a in accounts},
            locations={a.location.id for a in accounts if a.location}),
        limit=50)
    return render(request, 'notices.html', notices=notices, **values)


# Work orders: requests, appointments, complaints, reports

@page('repair')
def repair(request, pool, user, values):
    return redirect(page_url(request, 'requests/new', kind='repair'))


@page('requests')
def work_orders(request, pool, user, values):
    WorkOrder = pool.get('meter.work_order')
    orders = WorkOrder.search([('wechat_user', '=', user.id)], limit=100)
    return render(request, 'work_orders.html', orders=orders, **values)


SLOT_FORMAT = '%Y-%m-%dT%H:%M'
WEEKDAY_NAMES = '一二三四五六日'


def _weekday(date):
    return '周' + WEEKDAY_NAMES[date.weekday()]


def _day(date):
    "Return the day as the pages write it: 11月26日 周四"
    return '%d月%d日 %s' % (date.month, date.day, _weekday(date))


@pass_context
def _local_day(context, moment):
    "The day of a stored (UTC) moment on the centre's clock: 11月26日 周四"
    return _day(to_local(moment, context['zone']))


@pass_context
def _local_weekday(context, moment):
    return _weekday(to_local(moment, context['zone']))


templates.filters.update(
    weekday=_local_weekday, day=_local_day, order_type=type_label)
templates.globals.update(
    APPOINTMENT_TYPES=APPOINTMENT_TYPES, REQUEST_TYPES=REQUEST_TYPES)


def _slot_days(slots, zone):
    """Return the slots offered, grouped by day for the form: each day with
    its morning and afternoon, their value and places left."""
    days = []
    for start, end, left in slots:
        # Shown on the centre's clock; the value stays the stored moment
        local_start, local_end = to_local(start, zone), to_local(end, zone)
        if not days or days[-1]['date'] != local_start.date():
            days.append({
                    'date': local_start.date(), 'label': _day(local_start),
                    'slots': []})
        halves = days[-1]['slots']
        halves.append({
                'value': start.strftime(SLOT_FORMAT),
                'half': '下午' if halves else '上午',
                'start': local_start, 'end': local_end, 'left': max(left, 0),
                })
    return days


def _parse_appointment(text, slots):
    "Return the slot of slots the form chose as (start, end, left) or None"
    for slot in slots:
        if slot[0].strftime(SLOT_FORMAT) == text:
            return slot
    return None


@page('requests/new', methods=('GET', 'POST'), jssdk=True)
def work_order_new(request, pool, user, values):
    """The form of a work order; an appointment picks its type and a slot
    of the working calendar of the account's campus, a service request
    its type, and the others are told when they will be answered."""
    WorkOrder = pool.get('meter.work_order')
    Calendar = pool.get('meter.calendar')
    accounts = user.approved_accounts
    kind = request.values.get('kind')
    if kind not in RESIDENT_KINDS:
        kind = 'request'
    form = {
        'kind': kind,
        # A visit is to an account's place: propose the first one
        'account': request.values.get('account', str(accounts[0].id)
            if kind == 'appointment' and accounts else ''),
        'subject': request.form.get('subject', '').strip()[:100],
        'description': request.form.get('description', '').strip()[:2000],
        'place': request.form.get('place', '').strip()[:100],
        'appointment_type': request.form.get('appointment_type', ''),
        'request_type': request.form.get('request_type', ''),
        'slot': request.form.get('slot', ''),
        }
    account = None
    if form['account']:
        account = user.account(parse_id(form['account']))
        if account is None:
            raise PageError(
                HTTPStatus.NOT_FOUND, "没有找到该户号，或您无权操作")
    campus = account.campus if account else None

    def show(error=None, status=HTTPStatus.OK):
        slot_days, deadline = [], None
        if kind == 'appointment':
            slot_days = _slot_days(
                Calendar.appointment_slots(campus), values['zone'])
        else:
            deadline = Calendar.deadline(
                dt.datetime.now().replace(microsecond=0), campus)
        return render(request, 'work_order_new.html', status=status,
            error=error, form=form, accounts=accounts,
            slot_days=slot_days, deadline=deadline, **values)

    def invalid(error):
        return show(error, HTTPStatus.BAD_REQUEST)
    if request.method == 'POST':
        appointment_at = appointment_type = request_type = None
        # The type of an appointment or a request says what it is about
        subject = form['subject']
        if kind == 'appointment':
            appointment_type = form['appointment_type']
            if appointment_type not in APPOINTMENT_TYPES:
                return invalid("请选择预约类型")
            slot = _parse_appointment(
                form['slot'], Calendar.appointment_slots(campus))
            if slot is None:
                return invalid("请选择可预约的时段")
            appointment_at, _, left = slot
            if left <= 0:
                return invalid("该时段已约满，请选择其他时段")
            subject = subject or APPOINTMENT_TYPES[appointment_type]
        elif kind == 'request':
            request_type = form['request_type']
            if request_type not in REQUEST_TYPES:
                return invalid("请选择申请类型")
            subject = subject or REQUEST_TYPES[request_type]
        if not subject:
            return invalid("请填写标题")
        # Counted before the photo is downloaded or decoded
        check_limit(pool, user, 'work_order')
        try:
            photo = _uploaded_photo(request, pool)
        except PageError as exception:
            return invalid(exception.message)
        if photo is not None:
            try:
                check_photo(photo)
            except PhotoError as exception:
                return invalid(str(exception))
        elif kind == 'waste':
            return invalid("节能先锋报告请附上现场照片")
        try:
            order, = WorkOrder.create([{
                        'kind': kind,
                        'appointment_type': appointment_type,
                        'request_type': request_type,
                        'subject': subject,
                        'description': form['description'],
                        'place': form['place'],
                        'account': account.id if account else None,
                        'campus': campus.id if campus else None,
                        'location': (account.location.id
                            if account and account.location else None),
                        'appointment_at': appointment_at,
                        'requester_phone': user.phone,
                        'requester': user.phone,
                        'wechat_user': user.id,
                        'photos': ([('create', [{
                                            'photo': photo,
                                            'name': 'photo',
                                            }])] if photo else []),
                        }])
        except UserError as exception:
            # The last place went to another resident meanwhile: nothing
            # of the refused order may be committed
            Transaction().rollback()
            return invalid(exception.message)
        return redirect(page_url(request, 'requests/%d' % order.id))
    return show()


def _own_work_order(pool, user, order_id):
    WorkOrder = pool.get('meter.work_order')
    orders = WorkOrder.search([
            ('id', '=', order_id),
            ('wechat_user', '=', user.id),
            ], limit=1)
    if not orders:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该工单，或您无权查看")
    return orders[0]


@page('requests/<record_id:order_id>', methods=('GET', 'POST'))
def work_order(request, pool, user, values, order_id):
    Reply = pool.get('meter.work_order.reply')
    order = _own_work_order(pool, user, order_id)
    if request.method == 'POST':
        text = request.form.get('text', '').strip()[:2000]
        if text and order.state not in {'done', 'cancelled'}:
            check_limit(pool, user, 'follow_up')
            Reply.create([{
                        'work_order': order.id,
                        'text': text,
                        'public': True,
                        'from_requester': True,
                        'author': None,
                        }])
        return redirect(page_url(request, 'requests/%d' % order.id))
    replies = [r for r in order.replies if r.public]
    return render(request, 'work_order.html', order=order, replies=replies,
        **values)


# Convenience information, living tips and FAQ

ARTICLE_SECTIONS = {
    'info': '便民信息',
    'tip': '生活小贴士',
    'faq': '常见问题',
    }
# The pages the body of an article may link as {name}, with their text
ARTICLE_LINKS = {
    'usage': '用量查询',
    'pay': '在线缴费',
    'repair': '在线报修',
    'notice': '通知公告',
    'contact': '联系我们',
    'bind': '绑定户号',
    'reading': '自助抄表',
    'requests': '服务申请',
    'info': '便民服务',
    }
_EMPTY_LINE = re.compile(r'\n[ \t\r]*\n')
_ARTICLE_LINK = re.compile(r'\{([a-z_]+)\}')
_TAG = re.compile(r'<[^>]*>')


def article_paragraphs(text):
    """Return the paragraphs of an article's text, separated by empty
    lines, as lists of (text, page): a link to page when page is set.

    The template escapes every text: staff write plain text and only the
    known {name} of ARTICLE_LINKS become links.
    """
    paragraphs = []
    for block in _EMPTY_LINE.split(text or ''):
        parts = _ARTICLE_LINK.split(block.strip())
        segments = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                if part:
                    segments.append((part, None))
            elif part in ARTICLE_LINKS:
                segments.append((ARTICLE_LINKS[part], PAGES[part]))
            else:
                segments.append(('{%s}' % part, None))
        if segments:
            paragraphs.append(segments)
    return paragraphs


@page('info', registered=False)
def info(request, pool, user, values):
    "The convenience services (便民服务): the articles by category"
    Article = pool.get('meter.wechat.article')
    articles = Article.index()
    sections = [(label, [a for a in articles if a['category'] == category])
        for category, label in ARTICLE_SECTIONS.items()]
    return render(request, 'info.html', sections=sections, **values)


@page('info/<record_id:article_id>', registered=False)
def info_article(request, pool, user, values, article_id):
    Article = pool.get('meter.wechat.article')
    articles = Article.search([
            ('id', '=', article_id),
            ('active', '=', True),
            ], limit=1)
    if not articles:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该文章，可能已经下线")
    article, = articles
    # Without a body the page shows the reply, its links as plain text
    text = article.body or _TAG.sub('', article.summary or '')
    return render(request, 'article.html', article=article,
        section=ARTICLE_SECTIONS.get(article.category, ''),
        paragraphs=article_paragraphs(text), **values)
