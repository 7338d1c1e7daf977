"""What a phone's queue sends when the network is back (sync/<kind>):
each submission made without signal, with the idempotency key the phone
made and the time it was made on the phone (taken_at), answered in JSON.

A submission sent again (its answer lost, another tab, a restart)
answers with the record it made the first time, ``replayed``; a refused
one answers 400 with the reason, which the phone shows on its entry and
keeps it.  The rules are the models' (sync.py, Reading.submit_taken,
Reading.submit_bluetooth, RoundLine.skip, WorkOrder.report_fault_once)."""
import functools

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.meter_service.work_order import MAX_REPORT_PHOTOS
from trytond.modules.meter_wechat.labels import anomaly, label
from trytond.modules.meter_wechat.limits import (
    photo_after_limit, photos_after_limit)
from trytond.modules.meter_wechat.web import (
    PageError, json_response, page, page_url, parse_id, refusal)
from trytond.protocols.wrappers import HTTPStatus

from ..sync import once, parse_key, parse_taken_at
from .common import FieldStaff, find_meter, plain
from .faults import _building, _form


def _refused(message, status=HTTPStatus.BAD_REQUEST):
    return json_response({'error': message}, status)


def _answer(kind, key, record, replayed, **values):
    return json_response(dict({
                'kind': kind,
                'key': key,
                'id': record.id,
                'replayed': replayed,
                }, **values))


def _reading(reading, key, replayed, kind='reading', **values):
    return _answer(kind, key, reading, replayed,
        meter=reading.meter.number, value='{:f}'.format(reading.value),
        state=reading.state, state_string=label(reading, 'state'),
        anomalies=[anomaly(c) for c in reading.anomalies or []], **values)


def _sync(func):
    """Run the submission: a refusal, a record not found or a key used by
    another answer in JSON, what was written rolled back"""
    @functools.wraps(func)
    def wrapper(request, pool, visitor, values, **kwargs):
        try:
            return func(request, pool, visitor, values, **kwargs)
        except PageError as exception:
            return _refused(exception.message, exception.status)
        except UserError as exception:
            return _refused(refusal(exception))
    return wrapper


@page('sync/reading', methods=('POST',), visitor=FieldStaff)
@_sync
def sync_reading(request, pool, visitor, values):
    """A reading taken on the phone: meter (its code), value, photo,
    taken_at, idempotency_key and the phone's position"""
    Reading = pool.get('meter.reading')
    key = parse_key(request.form.get('idempotency_key'))
    taken_at = parse_taken_at(request.form.get('taken_at'))
    meter = find_meter(pool, request.form.get('meter', '').strip())
    if meter.state != 'active':
        return _refused(gettext('meter_field.msg_meter_removed'))
    position = Reading.parse_position(*(request.form.get(name)
            for name in ('latitude', 'longitude', 'accuracy')))

    def create():
        return Reading.submit_taken(meter, request.form.get('value', ''),
            photo_after_limit(request, pool, visitor, 'reading'),
            visitor.submitter, taken_at, key, source='field',
            reader=visitor.user, position=position)
    reading, replayed = once(Reading, key, create)
    if reading.reader != visitor.user:
        return _refused(gettext('meter_field.msg_idempotency_key_other'))
    return _reading(reading, key, replayed)


@page('sync/bluetooth', methods=('POST',), visitor=FieldStaff)
@_sync
def sync_bluetooth(request, pool, visitor, values):
    """A meter read over Bluetooth on the phone: meter (its code), reply
    (every byte received, as hexadecimal), taken_at, idempotency_key and
    the phone's position; the reply is decoded now, and answered with the
    reading and its page (url)"""
    Reading = pool.get('meter.reading')
    key = parse_key(request.form.get('idempotency_key'))
    taken_at = parse_taken_at(request.form.get('taken_at'))
    meter = find_meter(pool, request.form.get('meter', '').strip())
    position = Reading.parse_position(*(request.form.get(name)
            for name in ('latitude', 'longitude', 'accuracy')))

    def create():
        return Reading.submit_bluetooth(meter, request.form.get('reply', ''),
            visitor.submitter, taken_at, key, reader=visitor.user,
            position=position)
    reading, replayed = once(Reading, key, create)
    if reading.reader != visitor.user:
        return _refused(gettext('meter_field.msg_idempotency_key_other'))
    return _reading(reading, key, replayed, kind='bluetooth',
        value_text=plain(reading.value),
        url=page_url(request, 'r/%d' % reading.id))


@page('sync/skip', methods=('POST',), visitor=FieldStaff)
@_sync
def sync_skip(request, pool, visitor, values):
    """A meter of a round not read, with its reason: round, line, reason,
    note, taken_at, idempotency_key"""
    Round = pool.get('meter.field.round')
    Line = pool.get('meter.field.round.line')
    key = parse_key(request.form.get('idempotency_key'))
    taken_at = parse_taken_at(request.form.get('taken_at'))
    round_ = Round.of_staff(visitor.user,
        parse_id(request.form.get('round', '')) or -1)
    line = round_.line_of(parse_id(request.form.get('line', ''))) \
        if round_ else None
    if line is None:
        return _refused(gettext('meter_field.msg_round_line_not_found'),
            HTTPStatus.NOT_FOUND)

    def create():
        Line.skip([line], request.form.get('reason', ''),
            request.form.get('note', ''), skipped_at=taken_at, key=key)
        return line
    line, replayed = once(Line, key, create)
    if line.round.staff != visitor.user:
        return _refused(gettext('meter_field.msg_idempotency_key_other'))
    return _answer('skip', key, line, replayed,
        meter=line.meter.number, state=line.state,
        reason=line.skip_reason)


@page('sync/fault', methods=('POST',), visitor=FieldStaff)
@_sync
def sync_fault(request, pool, visitor, values):
    """A fault reported on site: the fields of 故障上报 (where, meter,
    location, place, latitude, longitude, description, photos) with
    taken_at, the time it was reported on the phone, and
    idempotency_key"""
    WorkOrder = pool.get('meter.work_order')
    key = parse_key(request.form.get('idempotency_key'))
    taken_at = parse_taken_at(request.form.get('taken_at'))
    form = _form(request.form)
    meter = find_meter(pool, form['meter']) if form['meter'] else None
    location = place = None
    if form['where'] == 'building' and form['location']:
        location = _building(pool, form['location'])
    elif form['where'] == 'place':
        place = form['place']

    def create():
        return WorkOrder.report_fault_once(key, taken_at, visitor.user,
            form['description'],
            meter=meter if form['where'] == 'meter' else None,
            location=location, place=place,
            latitude=form['latitude'], longitude=form['longitude'],
            photos=photos_after_limit(request, pool, visitor, 'work_order',
                MAX_REPORT_PHOTOS))
    order, replayed = once(WorkOrder, key, create)
    if order.reporter != visitor.user:
        return _refused(gettext('meter_field.msg_idempotency_key_other'))
    return _answer('fault', key, order, replayed, number=order.number)
