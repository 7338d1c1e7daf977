"""A meter's card (表计) and its reading with a photo (现场抄录)"""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.meter_wechat.limits import photo_after_limit
from trytond.modules.meter_wechat.pages.readings import preview
from trytond.modules.meter_wechat.web import (
    json_response, not_found, page, page_url, refusal, render)
from trytond.protocols.wrappers import HTTPStatus, redirect

from .common import FieldStaff, card_url, find_meter

# Readings shown on a meter's card
LAST_READINGS = 5


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
    return _card(request, pool, find_meter(pool, code), values)


@page('m/<code>/reading', methods=('POST',), visitor=FieldStaff, jssdk=True)
def meter_reading(request, pool, visitor, values, code):
    """现场抄录: the reading typed with its photo, stored with source field
    through the residents' Reading.submit, so it is checked and reviewed as
    every reading; refused, the card comes back with what was typed."""
    Reading = pool.get('meter.reading')
    meter = find_meter(pool, code)
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
        return _card(request, pool, find_meter(pool, code), values,
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
