"""业务中心: the staff's home, with today's work, and where they find a
meter by its code, typed or scanned"""
from trytond.i18n import gettext
from trytond.modules.meter_wechat.labels import label
from trytond.modules.meter_wechat.web import (
    centre_today, json_response, page, render)
from trytond.protocols.wrappers import redirect

from ..meter import scanned_code
from .common import PAGE_SIZE, FieldStaff, card_url


def page_number(request):
    "The page of a list the query asks for, from 1"
    text = request.args.get('page', '1')
    return int(text) if text.isascii() and text.isdigit() \
        and 0 < len(text) < 6 and int(text) > 0 else 1


@page('', visitor=FieldStaff, jssdk=True)
def home(request, pool, visitor, values):
    """业务中心: today's work (the meters of the staff's campuses not yet
    read this month, their readings waiting for review, the open work
    orders assigned to them) and the search of a meter by its number,
    barcode or communication address; a code that is a meter's number or
    barcode (typed, or scanned) opens its card."""
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    query = scanned_code(request.args.get('q', ''))
    meters, error = [], None
    if query:
        meter = Meter.from_code(query)
        if meter is not None:
            return redirect(card_url(request, meter))
        meters = Meter.field_search(query)
        if not meters:
            error = gettext('meter_field.msg_meter_unknown',
                code=query[:64])
    today = centre_today(pool)
    number = page_number(request)
    unread_count, unread = Meter.unread_in_period(today,
        offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    review_count, in_review = Reading.in_review_of(visitor.user)
    order_count, orders = visitor.user.field_work_orders()
    return render(request, 'field/home.html', query=query, meters=meters,
        error=error, card_url=lambda m: card_url(request, m),
        today=today, unread=unread, unread_count=unread_count,
        page=number, page_count=-(-unread_count // PAGE_SIZE),
        in_review=in_review, review_count=review_count,
        orders=orders, order_count=order_count, **values)


# Meters proposed while a code is typed
COMPLETIONS = 8


@page('find', visitor=FieldStaff)
def find(request, pool, visitor, values):
    """The completion of the code typed on the home page, as JSON: the
    meters of the staff's campuses whose number, barcode or communication
    address contains it"""
    Meter = pool.get('meter.meter')
    text = request.args.get('q', '').strip()
    meters = Meter.field_search(text, limit=COMPLETIONS) \
        if len(text) >= 2 else []
    return json_response([{
                'code': m.number,
                'text': ' · '.join(filter(None, [
                            label(m, 'kind'), m.barcode,
                            m.location.rec_name if m.location else None])),
                } for m in meters])
