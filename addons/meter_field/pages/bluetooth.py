"""蓝牙抄表: a meter read over Bluetooth from its card.

The page gives the phone the meter's request frame and the Bluetooth
bridges to look for (bluetooth.js talks to the meter with Web Bluetooth);
the bytes received go to the phone's queue and from there to
sync/bluetooth (sync.py), which Reading.submit_bluetooth decodes and
stores.  Without signal the offline page (offline.py) stands for this
one, with the request kept with the round (Round.field_data)."""
import os

from trytond.exceptions import UserError
from trytond.modules.meter_wechat.web import in_wechat, page, render

from . import static
from .common import FieldStaff, card_url, find_meter

static.ASSETS['bluetooth.js'] = (
    os.path.join(static.HERE, 'static'), 'bluetooth.js')


def _request(pool, meter):
    """The request frame of meter and the bridges to look for, or the
    reason the meter can not be read over Bluetooth"""
    Reading = pool.get('meter.reading')
    Configuration = pool.get('meter.field.bluetooth.configuration')
    try:
        frame = Reading.bluetooth_request_of(meter)
    except UserError as exception:
        return {'error': exception.message}
    return dict(Configuration(1).phone_settings(),
        meter=meter.code, number=meter.number, frame=frame)


@page('m/<code>/bluetooth', visitor=FieldStaff)
def bluetooth_page(request, pool, visitor, values, code):
    meter = find_meter(pool, code)
    return render(request, 'field/bluetooth.html', meter=meter,
        request_=_request(pool, meter), wechat=in_wechat(request),
        card=card_url(request, meter), **values)
