"Service requests: repairs, requests, appointments, complaints, reports"
import datetime as dt

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.meter_base.configuration import to_local
from trytond.protocols.wrappers import HTTPStatus, redirect

from ..limits import photo_after_limit
from ..web import (
    day, not_found, page, page_url, parse_id, refusal, render)
from ..work_order import RESIDENT_KINDS, SLOT_FORMAT

FORM_FIELDS = {
    'subject': 100, 'description': 2000, 'place': 100,
    'appointment_type': None, 'request_type': None, 'slot': None,
    }


@page('repair')
def repair(request, pool, visitor, values):
    return redirect(page_url(request, 'requests/new', kind='repair'))


@page('requests')
def work_orders(request, pool, visitor, values):
    WorkOrder = pool.get('meter.work_order')
    orders = WorkOrder.search([('wechat_user', '=', visitor.id)], limit=100)
    return render(request, 'work_orders.html', orders=orders,
        kinds=RESIDENT_KINDS, **values)


def slot_days(slots, zone):
    """Return the slots offered, grouped by day for the form: each day with
    its morning and afternoon, their value and places left."""
    days = []
    for start, end, left in slots:
        # Shown on the centre's clock; the value stays the stored moment
        local_start, local_end = to_local(start, zone), to_local(end, zone)
        if not days or days[-1]['date'] != local_start.date():
            days.append({
                    'date': local_start.date(), 'label': day(local_start),
                    'slots': []})
        halves = days[-1]['slots']
        halves.append({
                'value': start.strftime(SLOT_FORMAT),
                'half': gettext('meter_wechat.msg_afternoon' if halves
                    else 'meter_wechat.msg_morning'),
                'start': local_start, 'end': local_end, 'left': max(left, 0),
                })
    return days


@page('requests/new', methods=('GET', 'POST'), jssdk=True)
def work_order_new(request, pool, visitor, values):
    """The form of a work order; an appointment picks its type and a slot
    of the working calendar of the account's campus, a service request
    its type, and the others are told when they will be answered."""
    WorkOrder = pool.get('meter.work_order')
    Calendar = pool.get('meter.calendar')
    accounts = visitor.accounts
    kind = request.values.get('kind')
    if kind not in RESIDENT_KINDS:
        kind = 'request'
    form = {name: request.form.get(name, '').strip()[:size]
        for name, size in FORM_FIELDS.items()}
    # A visit is to an account's place: propose the first one
    form.update(kind=kind, account=request.values.get('account',
            str(accounts[0].id) if kind == 'appointment' and accounts
            else ''))
    account = None
    if form['account']:
        account = visitor.account(parse_id(form['account']))
        if account is None:
            raise not_found('msg_account_not_found')
    campus = account.campus if account else None
    error, status = None, HTTPStatus.OK
    if request.method == 'POST':
        try:
            order = WorkOrder.submit(kind, account=account,
                subject=form['subject'], description=form['description'],
                place=form['place'],
                appointment_type=form['appointment_type'],
                request_type=form['request_type'], slot=form['slot'],
                photo=photo_after_limit(request, pool, visitor, 'work_order'),
                phone=visitor.user.phone, wechat_user=visitor.user)
        except UserError as exception:
            # e.g. the last place went to another resident meanwhile
            error, status = refusal(exception), HTTPStatus.BAD_REQUEST
        else:
            return redirect(page_url(request, 'requests/%d' % order.id))
    days, deadline = [], None
    if kind == 'appointment':
        days = slot_days(Calendar.appointment_slots(campus), values['zone'])
    else:
        deadline = Calendar.deadline(
            dt.datetime.now().replace(microsecond=0), campus)
    return render(request, 'work_order_new.html', status=status,
        error=error, form=form, accounts=accounts, slot_days=days,
        deadline=deadline, **values)


@page('requests/<record_id:order_id>', methods=('GET', 'POST'))
def work_order(request, pool, visitor, values, order_id):
    WorkOrder = pool.get('meter.work_order')
    orders = WorkOrder.search([
            ('id', '=', order_id),
            ('wechat_user', '=', visitor.id),
            ], limit=1)
    if not orders:
        raise not_found('msg_work_order_not_found')
    order, = orders
    if request.method == 'POST':
        order.follow_up(request.form.get('text', ''),
            before=lambda: visitor.check_limit(pool, 'follow_up'))
        return redirect(page_url(request, 'requests/%d' % order.id))
    replies = [r for r in order.replies if r.public]
    return render(request, 'work_order.html', order=order, replies=replies,
        **values)
