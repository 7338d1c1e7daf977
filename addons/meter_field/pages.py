"""The field staff's pages (业务中心) under /<database>/field/, on the web
layer of meter_wechat (web.py): the login with the Tryton user and
password, the search of a meter by its number or barcode, the meter's
card and its reading with a photo.

A page runs as the staff member's Tryton user with the access and record
rules on (visitor Staff): a meter of another campus is not found.
"""
import os
from urllib.parse import quote

from trytond.exceptions import RateLimitException, UserError
from trytond.i18n import gettext
from trytond.modules.meter_wechat import session as sessions
from trytond.modules.meter_wechat.limits import photo_after_limit
from trytond.modules.meter_wechat.pages.readings import preview
from trytond.modules.meter_wechat.web import (
    CONTEXT, PageError, add_templates, configuration, error_page,
    json_response, not_found, page, page_url, refusal, render, safe_next, set_session,
    set_session_cookie)
from trytond.modules.meter_wechat.visitor import Staff
from trytond.protocols.wrappers import (
    HTTPStatus, redirect, with_pool, with_transaction)
from trytond.wsgi import app

__all__ = ['FieldStaff']

add_templates(os.path.join(os.path.dirname(__file__), 'templates'))

PREFIX = '/<database_name>/field'
# Readings shown on a meter's card
LAST_READINGS = 5


class FieldStaff(Staff):
    "A member of staff on the field pages: unknown, they get the login form"

    @classmethod
    def login(cls, request, configuration, next_):
        return login_form(request, configuration, next_)


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


@page('', visitor=FieldStaff)
def home(request, pool, visitor, values):
    """业务中心: find a meter by its number, barcode or communication
    address; a code that is a meter's number or barcode (typed, or scanned
    into the field) opens its card."""
    Meter = pool.get('meter.meter')
    query = request.args.get('q', '').strip()
    meters, error = [], None
    if query:
        meter = Meter.from_code(query)
        if meter is not None:
            return redirect(card_url(request, meter))
        meters = Meter.field_search(query)
        if not meters:
            error = gettext('meter_field.msg_meter_unknown', code=query)
    return render(request, 'field/home.html', query=query, meters=meters,
        error=error, card_url=lambda m: card_url(request, m), **values)


def card_url(request, meter):
    return page_url(request, 'm/' + quote(meter.code, safe=''))


def _meter(pool, code):
    "The meter of the code, within the staff's record rules, or 404"
    meter = pool.get('meter.meter').from_code(code)
    if meter is None:
        raise not_found('meter_field.msg_meter_not_found')
    return meter


def _card(request, pool, meter, values, status=HTTPStatus.OK, error=None,
        form=None):
    Reading = pool.get('meter.reading')
    readings = Reading.search([('meter', '=', meter.id)],
        order=[('taken_at', 'DESC'), ('id', 'DESC')], limit=LAST_READINGS)
    return render(request, 'field/meter.html', status=status, meter=meter,
        readings=readings, error=error, form=form or {},
        card=card_url(request, meter), **values)


@page('m/<code>', visitor=FieldStaff, jssdk=True)
def meter_card(request, pool, visitor, values, code):
    return _card(request, pool, _meter(pool, code), values)


@page('m/<code>/reading', methods=('POST',), visitor=FieldStaff, jssdk=True)
def meter_reading(request, pool, visitor, values, code):
    """现场抄录: the reading typed with its photo, stored with source field
    through the residents' Reading.submit, so it is checked and reviewed as
    every reading; refused, the card comes back with what was typed."""
    Reading = pool.get('meter.reading')
    meter = _meter(pool, code)
    form = {'value': request.form.get('value', '').strip()}
    if meter.state != 'active':
        return _card(request, pool, meter, values,
            status=HTTPStatus.BAD_REQUEST, form=form,
            error=gettext('meter_field.msg_meter_removed'))
    try:
        reading = Reading.submit(meter, form['value'],
            photo_after_limit(request, pool, visitor, 'reading'),
            visitor.submitter, source='field', reader=visitor.user)
    except UserError as exception:
        error = refusal(exception)
        return _card(request, pool, _meter(pool, code), values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    return redirect(page_url(request, 'r/%d' % reading.id))


@page('m/<code>/check', visitor=FieldStaff)
def reading_check(request, pool, visitor, values, code):
    """What the reading typed would be flagged for, as JSON: the check of
    the residents' reading page, for a reading of source field"""
    meter = pool.get('meter.meter').from_code(code)
    if meter is None:
        return json_response(
            {'error': gettext('meter_field.msg_meter_not_found')},
            HTTPStatus.NOT_FOUND)
    return preview(pool, meter, request.args.get('value', ''), 'field')


@page('r/<record_id:reading_id>', visitor=FieldStaff)
def reading_result(request, pool, visitor, values, reading_id):
    Reading = pool.get('meter.reading')
    readings = Reading.search([('id', '=', reading_id)], limit=1)
    if not readings:
        raise not_found('meter_field.msg_reading_not_found')
    reading, = readings
    return render(request, 'field/reading_result.html', reading=reading,
        card=card_url(request, reading.meter), **values)


@app.route(PREFIX + '/<path:path>',
    methods=['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
@with_pool
@with_transaction(context=CONTEXT)
def page_not_found(request, pool, path):
    "Any other address under the field pages: the pages' 404 in Chinese"
    return error_page(request, HTTPStatus.NOT_FOUND,
        gettext('meter_wechat.msg_page_not_found'))
