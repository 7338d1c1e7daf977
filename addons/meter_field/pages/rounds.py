"""我的抄表任务: the staff's reading rounds on the phone.

- rounds: their rounds to work and the last closed;
- rounds/<id>: a round in route order, read / left / skipped with its
  progress; each meter opens its card, whose reading comes back here;
- rounds/<id>/skip/<line>: why a meter is not read;
- rounds/<id>/start, /notes, /close: the round's work and its log;
- rounds/<id>/data: the round as JSON, what a phone carries offline.

The rules are the models' (round.py); another's round answers 404.
"""
from trytond.exceptions import UserError
from trytond.modules.meter_wechat.web import (
    json_response, not_found, page, page_url, parse_id, refusal, render)
from trytond.protocols.wrappers import HTTPStatus, redirect

from ..round import MAX_SKIP_NOTE
from .common import FieldStaff, card_url


def _round(pool, visitor, round_id):
    "The round of id of the staff member, or 404"
    round_ = pool.get('meter.field.round').of_staff(visitor.user, round_id)
    if round_ is None:
        raise not_found('meter_field.msg_round_not_found')
    return round_


def _line(round_, line_id):
    line = round_.line_of(line_id)
    if line is None:
        raise not_found('meter_field.msg_round_line_not_found')
    return line


def round_url(request, round_, **query):
    return page_url(request, 'rounds/%d' % round_.id, **query)


def _skip_reasons(pool):
    "The reasons as staff read them: their translation in zh_CN.po"
    Line = pool.get('meter.field.round.line')
    return [r for r in Line.fields_get(['skip_reason'])['skip_reason'][
            'selection'] if r[0]]


@page('rounds', visitor=FieldStaff)
def rounds(request, pool, visitor, values):
    open_, closed = pool.get('meter.field.round').staff_rounds(visitor.user)
    return render(request, 'field/rounds.html', rounds=open_,
        closed=closed, round_url=lambda r: round_url(request, r), **values)


def _page(request, pool, round_, values, status=HTTPStatus.OK, error=None,
        notes=None):
    Reading = pool.get('meter.reading')
    read = parse_id(request.args.get('read', ''))
    reading = None
    if read:
        readings = Reading.search([('id', '=', read)], limit=1)
        reading = readings[0] if readings else None
    return render(request, 'field/round.html', status=status,
        round=round_, error=error, reading=reading,
        notes=round_.notes if notes is None else notes,
        done=request.args.get('done', ''),
        card_url=lambda m: card_url(request, m) + '?round=%d' % round_.id,
        base=round_url(request, round_),
        **values)


@page('rounds/<record_id:round_id>', visitor=FieldStaff)
def round_page(request, pool, visitor, values, round_id):
    return _page(request, pool, _round(pool, visitor, round_id), values)


@page('rounds/<record_id:round_id>/data', visitor=FieldStaff)
def round_data(request, pool, visitor, values, round_id):
    "The round as a phone carries it without signal"
    return json_response(_round(pool, visitor, round_id).field_data())


@page('rounds/<record_id:round_id>/start', methods=('POST',),
    visitor=FieldStaff)
def round_start(request, pool, visitor, values, round_id):
    Round = pool.get('meter.field.round')
    round_ = _round(pool, visitor, round_id)
    if round_.state == 'planned':
        Round.start([round_])
    return redirect(round_url(request, round_))


@page('rounds/<record_id:round_id>/notes', methods=('POST',),
    visitor=FieldStaff)
def round_notes(request, pool, visitor, values, round_id):
    "日志记录: the notes of the round, kept as typed"
    Round = pool.get('meter.field.round')
    round_ = _round(pool, visitor, round_id)
    notes = request.form.get('notes', '')
    try:
        Round.keep_notes(round_, notes)
    except UserError as exception:
        error = refusal(exception)
        return _page(request, pool, _round(pool, visitor, round_id), values,
            status=HTTPStatus.BAD_REQUEST, error=error, notes=notes)
    return redirect(round_url(request, round_, done='notes'))


@page('rounds/<record_id:round_id>/close', methods=('POST',),
    visitor=FieldStaff)
def round_close(request, pool, visitor, values, round_id):
    "Close the round with its notes: who and when are recorded"
    Round = pool.get('meter.field.round')
    round_ = _round(pool, visitor, round_id)
    notes = request.form.get('notes', '')
    try:
        Round.close_with_notes(round_, notes)
    except UserError as exception:
        error = refusal(exception)
        return _page(request, pool, _round(pool, visitor, round_id), values,
            status=HTTPStatus.BAD_REQUEST, error=error, notes=notes)
    return redirect(round_url(request, round_, done='closed'))


def _skip(request, pool, round_, line, values, status=HTTPStatus.OK,
        error=None, form=None):
    return render(request, 'field/round_skip.html', status=status,
        round=round_, line=line, reasons=_skip_reasons(pool),
        max_note=MAX_SKIP_NOTE, error=error, form=form or {},
        back=round_url(request, round_),
        action=page_url(request, 'rounds/%d/skip/%d' % (round_.id, line.id)),
        **values)


@page('rounds/<record_id:round_id>/skip/<record_id:line_id>',
    visitor=FieldStaff)
def skip_form(request, pool, visitor, values, round_id, line_id):
    round_ = _round(pool, visitor, round_id)
    return _skip(request, pool, round_, _line(round_, line_id), values)


@page('rounds/<record_id:round_id>/skip/<record_id:line_id>',
    methods=('POST',), visitor=FieldStaff)
def skip(request, pool, visitor, values, round_id, line_id):
    "Why the meter is not read: a reason from the list, other with a note"
    Line = pool.get('meter.field.round.line')
    round_ = _round(pool, visitor, round_id)
    line = _line(round_, line_id)
    form = {
        'reason': request.form.get('reason', ''),
        'note': request.form.get('note', '').strip(),
        }
    try:
        Line.skip([line], form['reason'], form['note'])
    except UserError as exception:
        error = refusal(exception)
        round_ = _round(pool, visitor, round_id)
        return _skip(request, pool, round_, _line(round_, line_id), values,
            status=HTTPStatus.BAD_REQUEST, error=error, form=form)
    return redirect(round_url(request, round_, done='skipped') + '#line-%d'
        % line.id)

