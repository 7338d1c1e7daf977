"""HTTP routes of the WeChat service: the message callback, the login of
the residents and their H5 pages.

Every page runs as the root user without access check; what a resident
may see is decided here, from the accounts staff approved for them
(``User.account`` and ``User.meter``), and anything else answers 404.
"""
import datetime as dt
import functools
import logging
import os
import re
import time
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import send_from_directory

from trytond.config import config
from trytond.exceptions import UserError
from trytond.protocols.wrappers import (
    HTTPStatus, Response, redirect, set_max_request_size, with_pool,
    with_transaction)
from trytond.wsgi import app

from . import session as sessions
from .callback import (
    MAX_BODY_SIZE, CallbackError, default_reply_table, handle, handshake)
from .client import WeChatApiError
from .photo import PhotoError, check_photo
from .sms import LogProvider, SmsError, VerificationCodes, get_provider

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
CONTEXT = {'language': 'zh_CN'}
# Submissions a resident may make per day
DAILY_LIMITS = {
    'bind': 5,
    'bind_failure': 5,
    'sms': 10,
    'reading': 10,
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

templates = Environment(
    loader=FileSystemLoader(os.path.join(HERE, 'templates')),
    autoescape=select_autoescape(['html']))
templates.filters['anomaly'] = lambda c: ANOMALIES.get(c, c)
templates.globals.update(
    KINDS=KINDS, CATEGORIES=CATEGORIES, BINDING_STATES=BINDING_STATES,
    READING_STATES=READING_STATES)

_sms_providers = {}


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
    "Return the VerificationCodes with the provider of the configuration"
    from .store import TableCodeStorage
    name = config.get('wechat', 'sms_provider', default='log')
    provider = _sms_providers.get(name)
    if provider is None:
        if name == 'log':
            provider = LogProvider()
        else:
            options = {
                k[len('sms_'):]: v
                for k, v in config.items('wechat')
                if k.startswith('sms_') and k != 'sms_provider'}
            provider = get_provider(name, **options)
        _sms_providers[name] = provider
    return VerificationCodes(provider, storage=TableCodeStorage())


def render(name, status=HTTPStatus.OK, **values):
    return Response(
        templates.get_template(name).render(**values), status=status,
        content_type='text/html; charset=utf-8',
        headers={'Cache-Control': 'no-store'})


def error_page(status, message, **values):
    return render('error.html', status=status, message=message, **values)


def _configuration(pool):
    try:
        Configuration = pool.get('meter.wechat.configuration')
    except KeyError:
        # The module is not activated on this database
        raise PageError(HTTPStatus.NOT_FOUND, "页面不存在")
    return Configuration(1)


def _secret(configuration):
    return (config.get('wechat', 'session_secret', default=None)
        or configuration.session_secret)


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
    value = value if isinstance(value, str) else ''
    return value if _NEXT.match(value) and '..' not in value else ''


def set_session(request, response, configuration, user):
    session, cookie = sessions.encode(_secret(configuration), user.id)
    response.set_cookie(
        sessions.COOKIE_NAME, cookie,
        max_age=sessions.DEFAULT_MAX_AGE,
        path='/%s/wechat' % request.view_args['database_name'],
        secure=request.is_secure, httponly=True, samesite='Lax')
    return session


def _login_redirect(request, configuration, next_):
    if 'MicroMessenger' in request.headers.get('User-Agent', ''):
        api = configuration.api()
        if api:
            redirect_uri = base_url(request, configuration) + 'oauth?' + (
                urlencode({'next': next_}))
            return redirect(api.oauth(redirect_uri).authorize_url)
    if dev_login_enabled():
        return redirect(page_url(request, 'login', next=next_))
    raise PageError(HTTPStatus.UNAUTHORIZED, "请在微信中打开本页面")


def page(name, registered=True, methods=('GET',)):
    """Decorate a resident page: route, transaction, session and CSRF.

    The function receives the request, the pool, the WeChat user and the
    values every template needs.
    """
    def decorator(func):
        @app.route(PREFIX + '/' + name, methods=list(methods))
        @set_max_request_size(12 * 1024 * 1024)
        @with_pool
        @with_transaction(context=CONTEXT)
        @functools.wraps(func)
        def wrapper(request, pool, **kwargs):
            try:
                configuration = _configuration(pool)
                User = pool.get('meter.wechat.user')
                secret = _secret(configuration)
                try:
                    session = sessions.decode(
                        secret, request.cookies.get(sessions.COOKIE_NAME))
                    user = User(session.user)
                    if not User.search(
                            [('id', '=', session.user)], count=True):
                        raise sessions.SessionError("unknown user")
                except sessions.SessionError:
                    return _login_redirect(
                        request, configuration,
                        request.path.rsplit('/wechat/', 1)[-1])
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
                            next=_safe_next(
                                request.path.rsplit('/wechat/', 1)[-1])))
                values = {
                    'user': user,
                    'csrf_token': session.csrf_token(secret),
                    'url': lambda n, **q: page_url(request, n, **q),
                    'service_name': configuration.get_setting('service_name'),
                    'service_phone': configuration.get_setting(
                        'service_phone'),
                    }
                return func(request, pool, user, values, **kwargs)
            except PageError as exception:
                return error_page(exception.status, exception.message)
            except RequestEntityTooLarge:
                return error_page(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "上传的文件过大")
        return wrapper
    return decorator


def check_limit(pool, user, action):
    "Count a submission of user and refuse those over the daily limit"
    Store = pool.get('meter.wechat.store')
    now = time.time()
    key = 'limit:%s:%s:%s' % (action, user.id, dt.date.today().isoformat())
    count = (Store.get_value(key, now) or 0)
    if count >= DAILY_LIMITS[action]:
        raise PageError(
            HTTPStatus.TOO_MANY_REQUESTS, "今日提交次数已达上限，请明天再试")
    Store.set_value(key, count + 1, now + 24 * 60 * 60)


# The message callback

def reply_table(request, configuration):
    return default_reply_table(
        base_url(request, configuration),
        name=configuration.get_setting('service_name'),
        phone=configuration.get_setting('service_phone'))


@app.route(PREFIX + '/callback', methods=['GET', 'POST'])
@set_max_request_size(MAX_BODY_SIZE)
@with_pool
@with_transaction()
def callback(request, pool):
    "The server URL (服务器地址) given to WeChat"
    from .store import TableNonceStore
    try:
        configuration = _configuration(pool)
    except PageError:
        return Response('not found', HTTPStatus.NOT_FOUND)
    settings = configuration.callback_settings()
    if settings is None:
        return Response('not configured', HTTPStatus.NOT_FOUND)
    args = request.args.to_dict(flat=False)
    try:
        if request.method == 'GET':
            return Response(
                handshake(settings, args), content_type='text/plain')
        try:
            body = request.stream.read(MAX_BODY_SIZE + 1)
        except RequestEntityTooLarge:
            raise CallbackError('body_too_large', 413, "body over 64 KB")
        answer = handle(
            settings, args, body, reply_table(request, configuration),
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
        return error_page(exception.status, exception.message)


@app.route(PREFIX + '/login', methods=['GET', 'POST'])
@with_pool
@with_transaction(context=CONTEXT)
def dev_login(request, pool):
    "Login by OpenID outside WeChat, for development servers only"
    if not dev_login_enabled():
        return error_page(HTTPStatus.NOT_FOUND, "页面不存在")
    try:
        configuration = _configuration(pool)
    except PageError as exception:
        return error_page(exception.status, exception.message)
    next_ = _safe_next(request.values.get('next'))
    if request.method == 'POST':
        openid = request.form.get('openid', '').strip()
        if not re.match(r'^[A-Za-z0-9_-]{1,64}$', openid):
            return render('login.html', status=HTTPStatus.BAD_REQUEST,
                next=next_, error="OpenID 格式不正确")
        User = pool.get('meter.wechat.user')
        user = User.login(openid)
        response = redirect(page_url(request, next_))
        set_session(request, response, configuration, user)
        return response
    return render('login.html', next=next_, error=None)


@app.route(PREFIX + '/logout', methods=['POST'])
@with_pool
def logout(request, pool):
    response = redirect(page_url(request, ''))
    response.delete_cookie(
        sessions.COOKIE_NAME,
        path='/%s/wechat' % request.view_args['database_name'])
    return response


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
            return render('register.html', status=HTTPStatus.BAD_REQUEST,
                error=exception.message, phone=phone, next=next_, **values)
        user.register(phone)
        return redirect(page_url(request, next_ or 'accounts'))
    return render('register.html', error=None, phone=user.phone or '',
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
    import json
    return Response(
        json.dumps(value, ensure_ascii=False), status=status,
        content_type='application/json; charset=utf-8')


# Pages

@page('', registered=False)
def home(request, pool, user, values):
    return render('home.html', **values)


@page('accounts')
def accounts(request, pool, user, values):
    Binding = pool.get('meter.wechat.binding')
    bindings = Binding.search([
            ('user', '=', user.id),
            ('state', 'in', ['pending', 'approved', 'rejected']),
            ])
    return render('accounts.html', bindings=bindings,
        message=request.args.get('message'), **values)


@page('bind', methods=('GET', 'POST'))
def bind(request, pool, user, values):
    pool_account = pool.get('meter.account')
    Binding = pool.get('meter.wechat.binding')
    from .binding import verification_matches
    if request.method == 'POST':
        number = request.form.get('number', '').strip()
        verification = request.form.get('verification', '').strip()
        form = {'number': number, 'verification': verification}
        check_limit(pool, user, 'bind')
        accounts = pool_account.search([
                ('number', '=', number),
                ], limit=1) if number else []
        if not accounts or not verification_matches(
                accounts[0], verification):
            check_limit(pool, user, 'bind_failure')
            return render('bind.html', status=HTTPStatus.BAD_REQUEST,
                error="户号或验证信息不正确", form=form, **values)
        try:
            Binding.request(user, accounts[0], verification)
        except UserError as exception:
            return render('bind.html', status=HTTPStatus.BAD_REQUEST,
                error=exception.message, form=form, **values)
        return redirect(page_url(request, 'accounts', message='submitted'))
    return render('bind.html', error=None, form={}, **values)


@page('accounts/<int:binding_id>/unbind', methods=('POST',))
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
    return render('usage.html', meters=user.meters(), **values)


def monthly_usage(pool, meter, today=None):
    """Return the 12 months up to today's with the confirmed consumption
    of meter in each, by the month the reading was taken."""
    Reading = pool.get('meter.reading')
    today = today or dt.date.today()
    months = []
    year, month = today.year, today.month
    for _ in range(12):
        months.insert(0, (year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    start = dt.datetime(*months[0], 1)
    totals = {m: Decimal(0) for m in months}
    for reading in Reading.search([
                ('meter', '=', meter.id),
                ('state', '=', 'confirmed'),
                ('taken_at', '>=', start),
                ('consumption', '!=', None),
                ]):
        key = (reading.taken_at.year, reading.taken_at.month)
        if key in totals:
            totals[key] += reading.consumption
    return [('%04d-%02d' % m, totals[m]) for m in months]


@page('usage/<int:meter_id>')
def meter_usage(request, pool, user, values, meter_id):
    meter = user.meter(meter_id)
    if meter is None:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该表计，或您无权查看")
    months = monthly_usage(pool, meter)
    return render('meter_usage.html', meter=meter, months=months,
        labels=[m for m, _ in months],
        values=[float(v) for _, v in months], **values)


@page('reading', methods=('GET', 'POST'))
def self_reading(request, pool, user, values):
    Reading = pool.get('meter.reading')
    meters = user.meters()
    if request.method == 'POST':
        form = {
            'meter': request.form.get('meter', ''),
            'value': request.form.get('value', '').strip(),
            }

        def invalid(error):
            return render('reading.html', status=HTTPStatus.BAD_REQUEST,
                meters=meters, error=error, form=form, **values)
        try:
            meter = user.meter(int(form['meter']))
        except ValueError:
            meter = None
        if meter is None or meter.state != 'active':
            raise PageError(HTTPStatus.NOT_FOUND, "没有找到该表计，或您无权抄表")
        try:
            value = Decimal(form['value'])
            if not value.is_finite() or value < 0 or value >= 10 ** 12:
                raise InvalidOperation
        except InvalidOperation:
            return invalid("请输入正确的读数")
        photo = _uploaded_photo(request, pool)
        try:
            check_photo(photo)
        except PhotoError as exception:
            return invalid(str(exception))
        check_limit(pool, user, 'reading')
        reading, = Reading.create([{
                    'meter': meter.id,
                    'value': value.quantize(Decimal('0.001')),
                    'taken_at': dt.datetime.now().replace(microsecond=0),
                    'source': 'self',
                    'reader': None,
                    'submitter': 'wechat:%s %s' % (user.phone, user.openid),
                    'photo': photo,
                    }])
        return redirect(page_url(request, 'reading/%d' % reading.id))
    return render('reading.html', meters=meters, error=None,
        form={'meter': request.args.get('meter', '')}, **values)


def _uploaded_photo(request, pool):
    "Return the bytes of the photo: a file or a media of the JS-SDK"
    upload = request.files.get('photo')
    if upload and upload.filename:
        return upload.read()
    media_id = request.form.get('media_id')
    if media_id:
        api = _configuration(pool).api()
        if api:
            try:
                return api.download_media(media_id)
            except WeChatApiError as exception:
                logger.info("media %s not downloaded: %s", media_id, exception)
                raise PageError(
                    HTTPStatus.BAD_REQUEST, "照片下载失败，请重新上传")
    return None


@page('reading/<int:reading_id>')
def reading_result(request, pool, user, values, reading_id):
    Reading = pool.get('meter.reading')
    readings = Reading.search([('id', '=', reading_id)], limit=1)
    if not readings or user.meter(readings[0].meter.id) is None:
        raise PageError(HTTPStatus.NOT_FOUND, "没有找到该读数，或您无权查看")
    return render('reading_result.html', reading=readings[0], **values)


@page('contact', registered=False)
def contact(request, pool, user, values):
    Campus = pool.get('meter.campus')
    return render('contact.html', campuses=Campus.search([]), **values)


@page('pay', registered=False)
def pay(request, pool, user, values):
    Campus = pool.get('meter.campus')
    return render('info.html', title="缴费",
        text="在线缴费暂未开通，请携带户号到以下服务网点缴费。",
        campuses=Campus.search([]), **values)


@page('repair', registered=False)
def repair(request, pool, user, values):
    Campus = pool.get('meter.campus')
    return render('info.html', title="报修",
        text="报修请拨打以下服务网点电话；漏水、断电、冒烟等紧急情况请拨打值班电话。",
        campuses=Campus.search([]), **values)


@page('notices', registered=False)
def notices(request, pool, user, values):
    Campus = pool.get('meter.campus')
    return render('info.html', title="通知公告",
        text="停水停电通知将在公众号推送，也可咨询以下服务网点。",
        campuses=Campus.search([]), **values)
