"""The staff's login with their Tryton user and password, and logout"""
from trytond.exceptions import RateLimitException
from trytond.i18n import gettext
from trytond.modules.meter_wechat import session as sessions
from trytond.modules.meter_wechat.web import (
    CONTEXT, PageError, configuration, error_page, page, page_url, render,
    safe_next, set_session, set_session_cookie)
from trytond.protocols.wrappers import (
    HTTPStatus, redirect, with_pool, with_transaction)
from trytond.wsgi import app

from .common import PREFIX, FieldStaff


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


def login_form(request, configuration, next_, status=HTTPStatus.OK,
        error=None, login=''):
    """Render the login form with the CSRF token of the guest session,
    opened when the visitor has none"""
    secret = FieldStaff.secret(configuration)
    session, cookie = guest_session(request, configuration), None
    if session is None:
        session, cookie = sessions.encode(secret, Guest.id)
    response = render(request, 'field/login.html', status=status,
        next=next_, error=error, login=login,
        csrf_token=session.csrf_token(secret),
        service_name=configuration.get_setting('service_name'))
    if cookie:
        set_session_cookie(request, response, Guest, cookie)
    return response


@app.route(PREFIX + '/login', methods=['POST'])
@with_pool
@with_transaction(readonly=False, context=CONTEXT)
def login(request, pool):
    """Check the user and password with Tryton's own login (its throttling
    and its refusal of inactive users) and open the staff's session"""
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
    response = redirect(page_url(request, next_))
    set_session(request, response, settings, FieldStaff(User(user_id)))
    return response


@page('logout', methods=('POST',), visitor=FieldStaff)
def logout(request, pool, visitor, values):
    response = redirect(page_url(request, ''))
    response.delete_cookie(FieldStaff.cookie,
        path='/%s/field' % request.view_args['database_name'])
    return response
