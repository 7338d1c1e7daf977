"""The field staff's pages of on-site meter management (表计管理), under
/<database>/field/ beside the meter's card:

- m/<code>/manage: the meter's record as staff check it on site, its
  position from the phone's GPS and the way to the other pages;
- m/<code>/verify: the number, barcode, communication address and seal
  confirmed or typed as found;
- m/<code>/replace: the meter change, with a photo of each register;
- install: a new meter, in draft until the office confirms it in sao.

The rules are the models' (management.py and meter_base); a page reads
the form, calls one method and renders.  Refused, a form comes back with
what was typed; a meter of another campus answers 404.
"""
import os
import re
from urllib.parse import quote

from trytond.exceptions import UserError
from trytond.modules.meter_wechat.limits import photo_after_limit
from trytond.modules.meter_wechat.web import (
    add_templates, not_found, page, page_url, refusal, render)
from trytond.protocols.wrappers import HTTPStatus, redirect

from .management import VERIFIED_FIELDS
from .pages import FieldStaff

__all__ = []

add_templates(os.path.join(os.path.dirname(__file__), 'templates'))

# What the forms send, read as text and kept to show them again
INSTALL_FIELDS = ('number', 'kind', 'campus', 'location', 'place',
    'barcode', 'comm_address', 'seal', 'multiplier', 'digits',
    'initial_value')
REPLACE_FIELDS = ('final_value', 'number', 'barcode', 'comm_address', 'seal',
    'multiplier', 'digits', 'initial_value', 'reason')
# The outcomes the management page reports after a redirect
DONE = {'verified', 'reported', 'located', 'installed', 'replaced'}
_ORDER_NUMBER = re.compile(r'^[A-Za-z0-9/-]{1,32}$')


def meter_url(request, meter, page='', **query):
    "Return the address of the meter's card, or of its page"
    path = 'm/' + quote(meter.code, safe='')
    return page_url(request, path + ('/' + page if page else ''), **query)


def manage_url(request, meter, **query):
    return meter_url(request, meter, 'manage', **query)


def _meter(pool, code):
    "The meter of the code, within the staff's record rules, or 404"
    meter = pool.get('meter.meter').from_code(code)
    if meter is None:
        raise not_found('meter_field.msg_meter_not_found')
    return meter


def _form(request, names):
    return {n: request.form.get(n, '').strip() for n in names}


def _manage(request, pool, meter, values, status=HTTPStatus.OK,
        error=None):
    Change = pool.get('meter.change')
    done = request.args.get('done')
    done = done if done in DONE else None
    order = request.args.get('order', '')
    changes = Change.search([('new_meter', '=', meter.id)], limit=1)
    return render(request, 'field/onsite_manage.html', status=status,
        meter=meter, error=error, done=done,
        # A work order's number, not any text
        order=order if _ORDER_NUMBER.match(order) else '',
        replaced=changes[0].old_meter if changes else None,
        card=meter_url(request, meter), **values)


@page('m/<code>/manage', visitor=FieldStaff)
def manage(request, pool, visitor, values, code):
    return _manage(request, pool, _meter(pool, code), values)


@page('m/<code>/position', methods=('POST',), visitor=FieldStaff)
def position(request, pool, visitor, values, code):
    "表计位置标记: the phone's GPS position becomes the meter's"
    Meter = pool.get('meter.meter')
    meter = _meter(pool, code)
    try:
        Meter.locate_on_site(meter, request.form.get('latitude'),
            request.form.get('longitude'), request.form.get('accuracy'))
    except UserError as exception:
        error = refusal(exception)
        return _manage(request, pool, _meter(pool, code), values,
            status=HTTPStatus.BAD_REQUEST, error=error)
    return redirect(manage_url(request, meter, done='located'))


def _verify(request, pool, meter, values, status=HTTPStatus.OK,
        error=None, form=None):
    Meter = pool.get('meter.meter')
    return render(request, 'field/onsite_verify.html', status=status,
        meter=meter, fields=VERIFIED_FIELDS, error=error, form=form or {},
        labels={n: Meter.field_label(n) for n in VERIFIED_FIELDS},
        card=meter_url(request, meter), **values)


@page('m/<code>/verify', visitor=FieldStaff, jssdk=True)
def verify_form(request, pool, visitor, values, code):
    return _verify(request, pool, _meter(pool, code), values)


@page('m/<code>/verify', methods=('POST',), visitor=FieldStaff, jssdk=True)
def verify(request, pool, visitor, values, code):
    """核对表计: each field confirmed (ok_<field>) or typed as found; a
    mismatch becomes a work order for the office"""
    Meter = pool.get('meter.meter')
    meter = _meter(pool, code)
    form = _form(request, VERIFIED_FIELDS + ('note',))
    form.update({'ok_' + n: bool(request.form.get('ok_' + n))
            for n in VERIFIED_FIELDS})
    found = {}
    for name in VERIFIED_FIELDS:
        if form['ok_' + name]:
            found[name] = None
        elif form[name]:
            found[name] = form[name]
    try:
        order = Meter.verify_on_site(meter, found, note=form['note'],
            photo=photo_after_limit(request, pool, visitor, 'work_order'))
    except UserError as exception:
        error = refusal(exception)
        return _verify(request, pool, _meter(pool, code), values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    if order is None:
        return redirect(manage_url(request, meter, done='verified'))
    return redirect(manage_url(request, meter, done='reported',
            order=order.number or ''))


def _replace(request, pool, meter, values, status=HTTPStatus.OK,
        error=None, form=None):
    return render(request, 'field/onsite_replace.html', status=status,
        meter=meter, error=error, form=form or {},
        card=meter_url(request, meter), **values)


@page('m/<code>/replace', visitor=FieldStaff)
def replace_form(request, pool, visitor, values, code):
    return _replace(request, pool, _meter(pool, code), values)


@page('m/<code>/replace', methods=('POST',), visitor=FieldStaff)
def replace(request, pool, visitor, values, code):
    """换装信息现场提交: the old meter's final reading and the new one's
    initial reading, a photo of each, by the rules of the sao wizard"""
    Meter = pool.get('meter.meter')
    meter = _meter(pool, code)
    form = _form(request, REPLACE_FIELDS)
    try:
        change = Meter.replace_on_site(meter, form,
            photo_after_limit(request, pool, visitor, 'reading',
                'old_photo'),
            photo_after_limit(request, pool, visitor, 'reading',
                'new_photo'))
    except UserError as exception:
        error = refusal(exception)
        return _replace(request, pool, _meter(pool, code), values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    return redirect(manage_url(request, change.new_meter, done='replaced'))


def _install(request, pool, visitor, values, status=HTTPStatus.OK,
        error=None, form=None):
    Location = pool.get('meter.location')
    campuses = _campuses(pool, visitor)
    return render(request, 'field/onsite_install.html', status=status,
        campuses=campuses,
        locations=Location.search(
            [('campus', 'in', [c.id for c in campuses])],
            order=[('campus', 'ASC'), ('name', 'ASC')]),
        error=error, form=form or {}, **values)


def _campuses(pool, visitor):
    "The campuses the staff install meters on: theirs, else all they see"
    Campus = pool.get('meter.campus')
    return list(visitor.user.campuses) or Campus.search([])


@page('install', visitor=FieldStaff, jssdk=True)
def install_form(request, pool, visitor, values):
    return _install(request, pool, visitor, values)


@page('install', methods=('POST',), visitor=FieldStaff, jssdk=True)
def install(request, pool, visitor, values):
    """新装表计登记: the meter with its register's photo and initial value,
    in draft until the office confirms it"""
    Meter = pool.get('meter.meter')
    form = _form(request, INSTALL_FIELDS)
    try:
        meter = Meter.install_on_site(form,
            photo_after_limit(request, pool, visitor, 'reading'),
            _campuses(pool, visitor))
    except UserError as exception:
        error = refusal(exception)
        return _install(request, pool, visitor, values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    return redirect(manage_url(request, meter, done='installed'))
