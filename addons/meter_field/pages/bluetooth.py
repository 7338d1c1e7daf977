"""蓝牙抄表: a meter read over Bluetooth from its card.

The page gives the phone the meter's request frame and the Bluetooth
bridges to look for (bluetooth.js talks to the meter with Web Bluetooth);
the phone posts back the bytes received, which Reading.submit_bluetooth
decodes and stores.  The request is also served as JSON so that a phone
may keep it for a round without network."""
import os

from trytond.exceptions import UserError
from trytond.modules.meter_wechat.web import (
    in_wechat, json_response, page, page_url, refusal, render)
from trytond.protocols.wrappers import HTTPStatus

from . import static
from .common import FieldStaff, card_url, field_label, find_meter, plain

static.ASSETS['bluetooth.js'] = (
    os.path.join(static.HERE, 'static'), 'bluetooth.js')


def _request(pool, meter):
    """The request frame of meter and the bridges to look for, or the
    reason the meter can not be read over Bluetooth"""
    Reading = pool.get('meter.reading')
    Configuration = pool.get('meter.field.bluetooth.configuration')
    configuration = Configuration(1)
    try:
        frame = Reading.bluetooth_request_of(meter)
    except UserError as exception:
        return {'error': exception.message}
    return {
        'meter': meter.code,
        'protocol': meter.protocol,
        'address': meter.comm_address,
        'frame': frame,
        'bridges': configuration.bridges(),
        'name_prefix': configuration.name_prefix or '',
        'timeout': configuration.reply_timeout,
        }


@page('m/<code>/bluetooth', visitor=FieldStaff)
def bluetooth_page(request, pool, visitor, values, code):
    meter = find_meter(pool, code)
    return render(request, 'field/bluetooth.html', meter=meter,
        request_=_request(pool, meter), wechat=in_wechat(request),
        card=card_url(request, meter), **values)


@page('m/<code>/bluetooth/request', visitor=FieldStaff)
def bluetooth_request(request, pool, visitor, values, code):
    "The request frame and the bridges, as JSON, kept by the phone"
    meter = find_meter(pool, code)
    result = _request(pool, meter)
    return json_response(result,
        HTTPStatus.BAD_REQUEST if 'error' in result else HTTPStatus.OK)


def _result(request, reading, created):
    return {
        'reading': reading.id,
        'created': created,
        'meter': reading.meter.code,
        'value': plain(reading.value),
        'state': reading.state,
        'state_string': field_label(reading, 'state'),
        'url': page_url(request, 'r/%d' % reading.id),
        }


@page('m/<code>/bluetooth', methods=('POST',), visitor=FieldStaff)
def bluetooth_reading(request, pool, visitor, values, code):
    """The bytes the meter answered (reply, hexadecimal) with the phone's
    key of the reading (idempotency_key) and its time (taken_at, ISO 8601
    with the offset): the reading made, as JSON, or why it was refused"""
    Reading = pool.get('meter.reading')
    meter = find_meter(pool, code)
    form = request.form
    key = form.get('idempotency_key', '')
    try:
        position = Reading.parse_position(*(form.get(name)
                for name in ('latitude', 'longitude', 'accuracy')))
        reading, created = Reading.submit_bluetooth(meter,
            form.get('reply', ''), key, form.get('taken_at', ''),
            visitor.user, visitor.submitter, position=position)
    except UserError as exception:
        message = refusal(exception)
        # The same key sent twice at once: the other one made the reading
        reading = Reading.bluetooth_sent(key) if key else None
        if reading is None:
            return json_response(
                {'error': message}, HTTPStatus.UNPROCESSABLE_ENTITY)
        created = False
    return json_response(_result(request, reading, created))
