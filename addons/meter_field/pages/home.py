"""业务中心: the staff's home, where they find a meter"""
from trytond.i18n import gettext
from trytond.modules.meter_wechat.web import page, render
from trytond.protocols.wrappers import redirect

from .common import FieldStaff, card_url


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
