"""The routes of the WeChat service itself: the message callback, the
residents' login (OAuth, development login, registration by SMS) and the
pages' assets.  The residents' pages are in pages/, on the web layer of
web.py.
"""
import logging
import os
import re
import time

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import send_from_directory

from trytond.i18n import gettext
from trytond.modules.meter_base.configuration import to_local
from trytond.protocols.wrappers import (
    HTTPStatus, Response, redirect, set_max_request_size, with_pool,
    with_transaction)
from trytond.pool import Pool
from trytond.transaction import without_check_access
from trytond.wsgi import app

from . import sms_configuration, web
from .callback import MAX_BODY_SIZE, CallbackError, handle, handshake
from .client import WeChatApiError
from .labels import label
from .reply import default_reply_table
from .sms import SmsError
from .store import TableCodeStorage, TableNonceStore
from .verification import VerificationCodes
from .visitor import Resident
from .web import PREFIX, PageError, page, page_url, render, safe_next

logger = logging.getLogger(__name__)

STATIC = os.path.join(web.HERE, 'static')
# The assets installed by npm (see static/package.json)
ASSETS = {
    'weui.css': ('node_modules/weui/dist/style', 'weui.min.css'),
    'echarts.js': ('node_modules/echarts/dist', 'echarts.min.js'),
    }
# The OpenID the development login proposes: the resident `make demo`
# binds to an account, so that a newcomer lands on working pages
DEV_OPENID = 'demo-resident'
_OPENID = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
# The meters the answer to 用量 lists
USAGE_METERS = 10

# The providers built, kept (the log provider keeps its messages)
_sms_providers = sms_configuration.providers


def sms_codes():
    """Return the VerificationCodes with the provider of the SMS settings
    (数据管理 › 短信设置, the ``sms_*`` options of the ``[wechat]`` section
    of the server configuration for what is not set there; the log
    provider when nothing is)"""
    Configuration = Pool().get('meter.sms.configuration')
    with without_check_access():
        provider = Configuration(1).get_provider()
    return VerificationCodes(provider, storage=TableCodeStorage())


def sms_message(exception):
    "Return the translated message of an SmsError"
    name = exception.code
    if name == 'rate_limited' and 'retry_after' in exception.details:
        name = 'rate_limited_wait'
    return gettext(
        'meter_wechat.msg_sms_%s' % name, **exception.details)


# The message callback

def usage_answer(pool):
    "Answer 用量 with the last readings of the sender's approved meters"
    def answer(message, table):
        User = pool.get('meter.wechat.user')
        users = User.search([('openid', '=', message.source)], limit=1)
        meters = users[0].meters() if users else []
        if not meters:
            return table.render(gettext('meter_wechat.msg_usage_unbound'))
        lines = [gettext('meter_wechat.msg_usage_header')]
        zone = pool.get('meter.configuration').tzinfo()
        for meter in meters[:USAGE_METERS]:
            if meter.last_taken_at:
                lines.append(gettext('meter_wechat.msg_usage_line',
                        kind=label(meter, 'kind'), number=meter.number,
                        value=meter.last_value,
                        date=to_local(meter.last_taken_at, zone).strftime(
                            '%Y-%m-%d')))
            else:
                lines.append(gettext('meter_wechat.msg_usage_line_none',
                        kind=label(meter, 'kind'), number=meter.number))
        lines.append(table.render(gettext('meter_wechat.msg_usage_footer')))
        return '\n'.join(lines)
    return answer


def reply_table(request, pool, configuration):
    "The standard table with the keywords of the active articles"
    Article = pool.get('meter.wechat.article')
    return default_reply_table(
        web.base_url(request, configuration), configuration.reply_texts(),
        name=configuration.get_setting('service_name'),
        phone=configuration.get_setting('service_phone'),
        usage=usage_answer(pool), articles=Article.reply_articles())


@app.route(PREFIX + '/callback', methods=['GET', 'POST'])
@set_max_request_size(MAX_BODY_SIZE)
@with_pool
@with_transaction(context=web.CONTEXT)
def callback(request, pool):
    "The server URL (服务器地址) given to WeChat"
    try:
        configuration = web.configuration(pool)
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
@with_transaction(readonly=False, context=web.CONTEXT)
def oauth(request, pool):
    "Where WeChat sends the resident back with the code of snsapi_base"
    try:
        configuration = web.configuration(pool)
        api = configuration.api()
        code = request.args.get('code')
        if not api or not code:
            raise PageError(HTTPStatus.BAD_REQUEST, 'msg_page_open_in_wechat')
        try:
            openid = api.oauth_openid(code)
        except WeChatApiError as exception:
            logger.info("OAuth refused: %s", exception)
            raise PageError(HTTPStatus.FORBIDDEN, 'msg_page_oauth_failed')
        User = pool.get('meter.wechat.user')
        response = redirect(
            page_url(request, safe_next(request.args.get('next'))))
        web.set_session(
            request, response, configuration, Resident(User.login(openid)))
        return response
    except PageError as exception:
        return web.error_page(request, exception.status, exception.message)


@app.route(PREFIX + '/login', methods=['GET', 'POST'])
@with_pool
@with_transaction(context=web.CONTEXT)
def dev_login(request, pool):
    "Login by OpenID outside WeChat, for development servers only"
    try:
        if not web.dev_login_enabled():
            raise web.not_found()
        configuration = web.configuration(pool)
    except PageError as exception:
        return web.error_page(request, exception.status, exception.message)
    next_ = safe_next(request.values.get('next'))
    if request.method == 'POST':
        openid = request.form.get('openid', '').strip()
        if not _OPENID.match(openid):
            return render(request, 'login.html', status=HTTPStatus.BAD_REQUEST,
                next=next_, openid=openid,
                error=gettext('meter_wechat.msg_dev_login_openid'))
        User = pool.get('meter.wechat.user')
        response = redirect(page_url(request, next_))
        web.set_session(
            request, response, configuration, Resident(User.login(openid)))
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
@with_pool
@with_transaction(context=web.CONTEXT)
def not_found(request, pool, path):
    """Any other address under the pages: the pages' own 404 in Chinese
    rather than Werkzeug's English answer (a 405, as a CORS route of
    trytond takes every path for OPTIONS)."""
    return web.error_page(request, HTTPStatus.NOT_FOUND,
        gettext('meter_wechat.msg_page_not_found'))


# Registration

@page('register', registered=False, methods=('GET', 'POST'))
def register(request, pool, visitor, values):
    next_ = safe_next(request.values.get('next'))
    if request.method == 'POST':
        phone = request.form.get('phone', '')
        try:
            phone = sms_codes().verify(
                phone, request.form.get('code', ''), purpose='register')
        except SmsError as exception:
            return render(request, 'register.html',
                status=HTTPStatus.BAD_REQUEST,
                error=sms_message(exception), phone=phone, next=next_,
                **values)
        visitor.user.register(phone)
        return redirect(page_url(request, next_ or 'accounts'))
    return render(request, 'register.html', error=None,
        phone=visitor.user.phone or '', next=next_, **values)


@page('sms', registered=False, methods=('POST',))
def send_code(request, pool, visitor, values):
    "Send the SMS code of the registration form (called by its script)"
    try:
        visitor.check_limit(pool, 'sms')
        expires = sms_codes().send(
            request.form.get('phone', ''), purpose='register')
    except PageError as exception:
        return web.json_response(
            {'error': exception.message}, exception.status)
    except SmsError as exception:
        return web.json_response(
            {'error': sms_message(exception)}, HTTPStatus.BAD_REQUEST)
    return web.json_response({'expires_in': int(expires - time.time())})
