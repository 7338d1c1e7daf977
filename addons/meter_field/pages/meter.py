"""A meter's card (表计): its data, last readings with their photos, usage
of 12 months, the account's bills and payments (收费查询) and open work
orders; and its reading with a photo (现场抄录)"""
import datetime as dt

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.meter_wechat.limits import photo_after_limit
from trytond.modules.meter_wechat.pages.readings import preview
from trytond.modules.meter_wechat.web import (
    centre_today, json_response, not_found, page, page_url, parse_id,
    refusal, render)
from trytond.protocols.wrappers import HTTPStatus, Response, redirect

from ..exceptions import SyncError
from ..sync import once, parse_key
from .common import FieldStaff, card_path, card_url, find_meter

# Readings shown on a meter's card
LAST_READINGS = 5
# Payments shown on a meter's card
LAST_PAYMENTS = 5


def _card(request, pool, meter, values, status=HTTPStatus.OK, error=None,
        form=None):
    Reading = pool.get('meter.reading')
    Account = pool.get('meter.account')
    readings = Reading.search([('meter', '=', meter.id)],
        order=[('taken_at', 'DESC'), ('id', 'DESC')], limit=LAST_READINGS)
    months = meter.monthly_usage_history(centre_today(pool))
    if meter.account:
        bills, _, payments = Account.payment_history(
            [meter.account], centre_today(pool))
    else:
        bills, payments = [], []
    return render(request, 'field/meter.html', status=status, meter=meter,
        readings=readings, error=error, form=form or {},
        months=[(m, v) for m, v, _ in months],
        labels=[m for m, _, _ in months],
        usage=[float(v) for _, v, _ in months],
        history=[h for _, _, h in months],
        bills=bills, payments=payments[:LAST_PAYMENTS],
        orders=meter.open_work_orders(),
        card=card_url(request, meter), back=card_path(meter), **values)


@page('m/<code>', visitor=FieldStaff, jssdk=True)
def meter_card(request, pool, visitor, values, code):
    """The card; after a login that followed an expired session, the value
    typed before comes back in the query"""
    form = {'value': request.args.get('value', '')[:32],
        'round': parse_id(request.args.get('round', ''))}
    return _card(request, pool, find_meter(pool, code), values, form=form)


@page('m/<code>/reading', methods=('POST',), visitor=FieldStaff, jssdk=True)
def meter_reading(request, pool, visitor, values, code):
    """现场抄录: the reading typed with its photo, stored with source field
    through the residents' Reading.submit, so it is checked and reviewed as
    every reading; refused, the card comes back with what was typed."""
    Reading = pool.get('meter.reading')
    meter = find_meter(pool, code)
    form = {'value': request.form.get('value', '').strip(),
        'round': parse_id(request.form.get('round', ''))}
    if meter.state != 'active':
        return _card(request, pool, meter, values,
            status=HTTPStatus.BAD_REQUEST, form=form,
            error=gettext('meter_field.msg_meter_removed'))
    try:
        position = Reading.parse_position(*(request.form.get(name)
                for name in ('latitude', 'longitude', 'accuracy')))
        photo = photo_after_limit(request, pool, visitor, 'reading')
        if request.form.get('idempotency_key'):
            # The key the page made: a second tap or a resend after a
            # timeout answers with the first reading
            key = parse_key(request.form['idempotency_key'])
            reading, _ = once(Reading, key, lambda: Reading.submit_taken(
                    meter, form['value'], photo, visitor.submitter,
                    dt.datetime.now().replace(microsecond=0), key,
                    source='field', reader=visitor.user, position=position))
            if reading.reader != visitor.user:
                raise SyncError(
                    gettext('meter_field.msg_idempotency_key_other'))
        else:
            reading = Reading.submit(meter, form['value'], photo,
                visitor.submitter, source='field', reader=visitor.user,
                position=position)
    except UserError as exception:
        error = refusal(exception)
        return _card(request, pool, find_meter(pool, code), values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    if form['round']:
        # Read from a round: back to it, the reading linked to its line
        return redirect(page_url(request, 'rounds/%d' % form['round'],
                read=reading.id))
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


def _reading(pool, reading_id):
    "The reading of id within the staff's record rules, or 404"
    Reading = pool.get('meter.reading')
    readings = Reading.search([('id', '=', reading_id)], limit=1)
    if not readings:
        raise not_found('meter_field.msg_reading_not_found')
    return readings[0]


@page('r/<record_id:reading_id>', visitor=FieldStaff)
def reading_result(request, pool, visitor, values, reading_id):
    reading = _reading(pool, reading_id)
    return render(request, 'field/reading_result.html', reading=reading,
        card=card_url(request, reading.meter), **values)


@page('r/<record_id:reading_id>/photo', visitor=FieldStaff)
def reading_photo(request, pool, visitor, values, reading_id):
    """The thumbnail of a reading's photo (a JPEG of 256 pixels at most
    made by the evidence checks), for a reading the staff may read"""
    thumbnail = _reading(pool, reading_id).photo_thumbnail
    if not thumbnail:
        raise not_found('meter_field.msg_photo_not_found')
    return Response(thumbnail, content_type='image/jpeg',
        headers={'Cache-Control': 'private, max-age=3600'})
