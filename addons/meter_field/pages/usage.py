"""用能查询: the usage of a meter, an account or a building by month, as
charts and a table, and as an Excel workbook for the office; within the
staff's record rules, another campus's answers 404"""
from urllib.parse import quote

from trytond.i18n import gettext
from trytond.modules.meter_wechat.labels import label, selection
from trytond.modules.meter_wechat.web import (
    centre_today, not_found, page, parse_id, render)
from trytond.protocols.wrappers import Response

from ..export import usage_workbook
from ..meter import scanned_code
from .common import FieldStaff


def _subject(pool, args):
    """Return (title, query, meters) of what the query asks the usage of,
    None when it asks nothing, or raise 404"""
    Meter = pool.get('meter.meter')
    Account = pool.get('meter.account')
    Location = pool.get('meter.location')
    if args.get('meter'):
        meter = Meter.from_code(scanned_code(args['meter']))
        if meter is None:
            raise not_found('meter_field.msg_meter_not_found')
        return (gettext('meter_field.msg_usage_meter',
                kind=label(meter, 'kind'), number=meter.number),
            {'meter': meter.code}, [meter])
    if args.get('account'):
        number = args['account'].strip()[:64]
        accounts = Account.search([('number', '=', number)], limit=1)
        if not accounts:
            raise not_found('meter_field.msg_usage_not_found')
        account, = accounts
        return (gettext('meter_field.msg_usage_account',
                number=account.number, name=account.name),
            {'account': account.number}, list(account.meters))
    if args.get('location'):
        locations = Location.search(
            [('id', '=', parse_id(args['location']) or -1)], limit=1)
        meters = locations[0].field_meters() if locations else []
        if not meters:
            raise not_found('meter_field.msg_usage_not_found')
        return (gettext('meter_field.msg_usage_location',
                name=locations[0].rec_name),
            {'location': locations[0].id}, meters)
    return None


def _usage(pool, args):
    "Return the subject of the query and its usage by kind, or 404"
    Meter = pool.get('meter.meter')
    subject = _subject(pool, args)
    if subject is None:
        return None, []
    usage = Meter.usage_by_kind_history(subject[2], centre_today(pool))
    kinds = [k for k, _ in Meter.fields_get(['kind'])['kind']['selection']
        if k in usage]
    return subject, [(k, usage[k]) for k in kinds]


def _kind_texts(pool):
    "The kinds as the pages name a meter: 电表, 水表"
    return dict(selection('meter.meter', 'kind'))


@page('usage', visitor=FieldStaff)
def usage(request, pool, visitor, values):
    Location = pool.get('meter.location')
    subject, usage = _usage(pool, request.args)
    # The list to choose from; the usage itself is of the meters the
    # record rules let the staff see
    buildings = Location.field_buildings()
    texts = _kind_texts(pool)
    return render(request, 'field/usage.html', subject=subject,
        charts=[{
                'kind': kind, 'text': texts[kind],
                'unit': gettext('meter_field.msg_unit_' + kind),
                'labels': [m for m, _, _ in months],
                'data': [float(v) for _, v, _ in months],
                'history': [h for _, _, h in months],
                } for kind, months in usage],
        table=[(month, [months[i][1] for _, months in usage],
                any(months[i][2] for _, months in usage))
            for i, (month, _, _) in reversed(list(enumerate(
                        usage[0][1] if usage else [])))],
        kinds=[texts[k] for k, _ in usage],
        buildings=buildings, args=request.args, **values)


@page('usage.xlsx', visitor=FieldStaff)
def usage_export(request, pool, visitor, values):
    "The usage asked as an Excel workbook"
    subject, usage = _usage(pool, request.args)
    if subject is None:
        raise not_found('meter_field.msg_usage_not_found')
    title, query, _ = subject
    texts = _kind_texts(pool)
    rows = [(month, texts[kind], value,
            gettext('meter_field.msg_unit_' + kind))
        for kind, months in usage for month, value, _ in months]
    data = usage_workbook(title, [
            gettext('meter_field.msg_export_month'),
            gettext('meter_field.msg_export_kind'),
            gettext('meter_field.msg_export_usage'),
            gettext('meter_field.msg_export_unit'),
            ], rows)
    name = gettext('meter_field.msg_export_filename',
        subject=next(iter(query.values())),
        date=centre_today(pool).isoformat()) + '.xlsx'
    return Response(data, content_type=(
            'application/vnd.openxmlformats-officedocument'
            '.spreadsheetml.sheet'),
        headers={
            'Content-Disposition': "attachment; filename=usage.xlsx; "
            "filename*=UTF-8''" + quote(name),
            'Cache-Control': 'no-store',
            })
