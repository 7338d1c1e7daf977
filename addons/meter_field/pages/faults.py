"""故障上报: a fault the staff report from site, with its photos, its
description and where it is (a meter, a building of their campuses or a
place described with the phone's position), which becomes a work order
of kind fault for the service desk (WorkOrder.report_fault); and 我的上报,
the faults they reported with their state.

Refused, the form comes back with what was typed (the photos must be
taken again); a meter or building of another campus answers 404."""
from trytond.exceptions import UserError
from trytond.modules.meter_service.work_order import MAX_REPORT_PHOTOS
from trytond.modules.meter_wechat.limits import photos_after_limit
from trytond.modules.meter_wechat.web import (
    not_found, page, page_url, parse_id, refusal, render)
from trytond.protocols.wrappers import HTTPStatus, redirect

from .common import PAGE_SIZE, FieldStaff, card_url, find_meter
from .home import page_number

# What the form sends, read as text and kept to show it again
FIELDS = ('where', 'meter', 'location', 'place', 'latitude', 'longitude',
    'description')
# Where a fault may be
PLACES = ('meter', 'building', 'place')
MAX_FIELD = {'description': 2000, 'place': 200}


def _form(values):
    form = {n: (values.get(n) or '').strip()[:MAX_FIELD.get(n, 64)]
        for n in FIELDS}
    if form['where'] not in PLACES:
        form['where'] = ('meter' if form['meter']
            else 'building' if form['location'] else 'place')
    return form


def _building(pool, text):
    "The building of the id typed among the staff's, or 404"
    Location = pool.get('meter.location')
    building = Location.field_building(parse_id(text))
    if building is None:
        raise not_found('meter_field.msg_building_not_found')
    return building


def _render(request, pool, values, form, meter=None,
        status=HTTPStatus.OK, error=None):
    Location = pool.get('meter.location')
    return render(request, 'field/fault.html', status=status, form=form,
        meter=meter, card=card_url(request, meter) if meter else None,
        buildings=Location.field_buildings(), error=error,
        max_photos=MAX_REPORT_PHOTOS, **values)


@page('fault', visitor=FieldStaff, jssdk=True)
def fault_form(request, pool, visitor, values):
    """The form, for the meter of the card it was opened from (?meter=);
    after a login that followed an expired session, with what was typed
    before in the query"""
    form = _form(request.args)
    meter = find_meter(pool, form['meter']) if form['meter'] else None
    return _render(request, pool, values, form, meter)


@page('fault', methods=('POST',), visitor=FieldStaff, jssdk=True)
def fault(request, pool, visitor, values):
    WorkOrder = pool.get('meter.work_order')
    form = _form(request.form)
    # The meter of the card the form was opened from, whatever is chosen
    meter = find_meter(pool, form['meter']) if form['meter'] else None
    location = place = None
    if form['where'] == 'building' and form['location']:
        location = _building(pool, form['location'])
    elif form['where'] == 'place':
        place = form['place']
    try:
        order = WorkOrder.report_fault(visitor.user, form['description'],
            meter=meter if form['where'] == 'meter' else None,
            location=location, place=place,
            latitude=form['latitude'], longitude=form['longitude'],
            photos=photos_after_limit(request, pool, visitor, 'work_order',
                MAX_REPORT_PHOTOS))
    except UserError as exception:
        error = refusal(exception)
        meter = find_meter(pool, form['meter']) if form['meter'] else None
        return _render(request, pool, values, form, meter,
            status=HTTPStatus.BAD_REQUEST, error=error)
    return redirect(page_url(request, 'faults', reported=order.number))


@page('faults', visitor=FieldStaff)
def faults(request, pool, visitor, values):
    "我的上报: the faults the staff reported, the last first, by pages"
    number = page_number(request)
    count, orders = visitor.user.field_faults(
        offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    reported = request.args.get('reported', '')
    return render(request, 'field/faults.html', orders=orders, count=count,
        reported=reported if any(o.number == reported for o in orders)
        else '', page=number, page_count=-(-count // PAGE_SIZE),
        card_url=lambda m: card_url(request, m), **values)
