"The residents' readings: self reading with a photo, usage and payments"
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.protocols.wrappers import HTTPStatus, redirect

from ..exceptions import SubmissionError
from ..labels import anomaly
from ..limits import photo_after_limit
from ..web import (
    json_response, not_found, page, page_url, parse_id,
    refusal, render)


@page('usage')
def usage(request, pool, visitor, values):
    return render(request, 'usage.html', meters=visitor.meters(), **values)


@page('usage/<record_id:meter_id>')
def meter_usage(request, pool, visitor, values, meter_id):
    meter = visitor.meter(meter_id)
    if meter is None:
        raise not_found('msg_meter_not_found')
    months = meter.monthly_usage_history()
    payments = meter.account.monthly_payments([m for m, _, _ in months])
    return render(request, 'meter_usage.html', meter=meter,
        months=[(m, v, payments[m], h) for m, v, h in months],
        labels=[m for m, _, _ in months],
        values=[float(v) for _, v, _ in months],
        history=[h for _, _, h in months],
        payments=[float(payments[m]) for m, _, _ in months], **values)


def _active_meter(visitor, text):
    "The active meter of the visitor the form names, or None"
    meter = visitor.meter(parse_id(text))
    return meter if meter is not None and meter.state == 'active' else None


@page('reading', methods=('GET', 'POST'), jssdk=True)
def self_reading(request, pool, visitor, values):
    Reading = pool.get('meter.reading')
    meters = visitor.meters()
    if request.method == 'POST':
        form = {
            'meter': request.form.get('meter', ''),
            'value': request.form.get('value', '').strip(),
            }
        meter = _active_meter(visitor, form['meter'])
        if meter is None:
            raise not_found('msg_meter_not_found_reading')
        try:
            reading = Reading.submit(meter, form['value'],
                photo_after_limit(request, pool, visitor, 'reading'),
                visitor.submitter)
        except UserError as exception:
            return render(request, 'reading.html',
                status=HTTPStatus.BAD_REQUEST, meters=meters,
                error=refusal(exception), form=form, **values)
        return redirect(page_url(request, 'reading/%d' % reading.id))
    return render(request, 'reading.html', meters=meters, error=None,
        form={'meter': request.args.get('meter', '')}, **values)


@page('reading/check')
def reading_check(request, pool, visitor, values):
    """Tell, before the resident submits, what the reading typed would be
    flagged for: the same checks the submitted reading gets, as JSON."""
    meter = _active_meter(visitor, request.args.get('meter', ''))
    if meter is None:
        return json_response(
            {'error': not_found('msg_meter_not_found_reading').message},
            HTTPStatus.NOT_FOUND)
    return preview(pool, meter, request.args.get('value', ''))


def preview(pool, meter, text, source='self'):
    """Answer, as JSON, what a reading of meter typed as text would be
    flagged for: the residents' and the field staff's check"""
    Reading = pool.get('meter.reading')
    try:
        anomalies, consumption, rollover = Reading.submit_preview(
            meter, text.strip(), source)
    except SubmissionError as exception:
        return json_response(
            {'error': exception.message}, HTTPStatus.BAD_REQUEST)
    return json_response({
            'anomalies': [
                {'code': c, 'message': anomaly(c)} for c in anomalies],
            'consumption': _plain(consumption),
            'previous': _plain(meter.last_value),
            'rollover': rollover and gettext(
                'meter_wechat.msg_reading_rollover',
                consumption=_plain(consumption)),
            })


def _plain(number):
    "A Decimal as text without its trailing zeros (230.000 → 230)"
    return None if number is None else '{:f}'.format(
        Decimal(number).normalize())


@page('reading/<record_id:reading_id>')
def reading_result(request, pool, visitor, values, reading_id):
    Reading = pool.get('meter.reading')
    readings = Reading.search([('id', '=', reading_id)], limit=1)
    if not readings or visitor.meter(readings[0].meter.id) is None:
        raise not_found('msg_reading_not_found')
    return render(
        request, 'reading_result.html', reading=readings[0], **values)
