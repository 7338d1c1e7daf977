"Paying: bills, payments and the bank transfers residents declare"
import re
from urllib.parse import urlencode

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.meter_billing.exceptions import PaymentGatewayError
from trytond.modules.meter_billing.rules.unionpay import GatewayError
from trytond.protocols.wrappers import HTTPStatus, Response, redirect
from trytond.wsgi import app

from ..limits import photo_after_limit
from ..web import (
    PREFIX, PageError, base_url, centre_today, configuration, not_found,
    page, page_url, parse_id, refusal, render)


@page('pay', methods=('GET', 'POST'))
def pay(request, pool, visitor, values):
    """Pay: the open bills of an account whose campus takes online payment
    are paid online from here (the chosen ones, all and the oldest first
    by default, go to pay/online); by bank transfer, the resident sends
    the reference and the screenshot of the transfer, finance reviews it
    in the back office."""
    Account = pool.get('meter.account')
    Payment = pool.get('meter.payment')
    BillingConfiguration = pool.get('meter.billing.configuration')
    form = {'account': request.args.get('account', '')}
    error = None
    status = HTTPStatus.OK
    if request.method == 'POST':
        form = {
            'account': request.form.get('account', ''),
            'amount': request.form.get('amount', '').strip(),
            'reference': request.form.get('reference', '').strip()[:64],
            }
        account = visitor.account(parse_id(form['account']))
        if account is None:
            raise not_found('msg_account_not_found')
        try:
            Payment.submit_transfer(account, form['amount'],
                form['reference'], photo_after_limit(
                    request, pool, visitor, 'payment', name='screenshot'),
                payer=visitor.user.phone)
        except UserError as exception:
            error, status = refusal(exception), HTTPStatus.BAD_REQUEST
        else:
            return redirect(page_url(request, 'pay', message='submitted'))
    accounts = visitor.accounts
    bills, paid_bills, payments = Account.payment_history(
        accounts, centre_today(pool))
    return render(request, 'pay.html', status=status, error=error,
        form=form, accounts=accounts, payments=payments, bills=bills,
        transfer_bills=Account.transfer_bills(bills, payments),
        paid_bills=paid_bills, billing=BillingConfiguration(1),
        message=request.args.get('message'),
        online_accounts=_online_accounts(visitor), **values)


@page('bill/<record_id:bill_id>')
def bill_notice(request, pool, visitor, values, bill_id):
    """The electronic payment notice (电子通知单) of a bill: what the
    printed notice says, readable on a phone"""
    NoticeReport = pool.get('meter.bill.notice', type='report')
    bill = visitor.user.bill(bill_id)
    if bill is None:
        raise not_found('msg_bill_not_found')
    return render(request, 'bill.html', bill=bill,
        **NoticeReport.notice_context(), **values)


@page('bill/<record_id:bill_id>/notice.pdf')
def bill_notice_pdf(request, pool, visitor, values, bill_id):
    "The printed payment notice of a bill, as PDF"
    NoticeReport = pool.get('meter.bill.notice', type='report')
    bill = visitor.user.bill(bill_id)
    if bill is None:
        raise not_found('msg_bill_not_found')
    extension, content, _, _ = NoticeReport.execute([bill.id], {})
    name = 'notice-%s.%s' % (
        re.sub(r'[^A-Za-z0-9_.-]', '-', bill.number or str(bill.id)),
        extension)
    return Response(bytes(content), content_type=(
            'application/pdf' if extension == 'pdf'
            else 'application/octet-stream'),
        headers={
            'Content-Disposition': 'attachment; filename="%s"' % name,
            'Cache-Control': 'no-store',
            })


def _online_accounts(visitor):
    "The resident's accounts whose campus takes online payment"
    return [a for a in visitor.accounts
        if a.campus.payment_gateway and a.campus.payment_gateway.active]


@page('pay/online', methods=('GET', 'POST'), jssdk=True)
def pay_online(request, pool, visitor, values):
    """Pay online: the bills chosen (all open ones, the oldest first, by
    default) or a top-up of a prepaid account, sent to the gateway of the
    account's campus by the browser"""
    Order = pool.get('meter.payment.order')
    accounts = _online_accounts(visitor)
    # The resident's orders left unpaid are checked as the cron does
    Order.expire_orders([('account', 'in', [a.id for a in accounts])])
    account = None
    if accounts:
        account = visitor.account(parse_id(request.values.get(
                    'account', str(accounts[0].id))))
        if account is None or account not in accounts:
            raise not_found('msg_account_not_found')
    error = None
    status = HTTPStatus.OK
    if request.method == 'POST' and account:
        bills = [parse_id(b) for b in request.form.getlist('bill')]
        amount = None
        if not bills and request.form.get('amount'):
            Payment = pool.get('meter.payment')
            try:
                amount = Payment.parse_transfer_amount(
                    request.form.get('amount', '').strip())
            except UserError as exception:
                error, status = exception.message, HTTPStatus.BAD_REQUEST
        if error is None:
            try:
                # An id that is none names no bill: refused as such
                order = Order.create_for(account, bills=[
                        b or 0 for b in bills], amount=amount,
                    payer=visitor.user.phone)
            except PaymentGatewayError as exception:
                # Refused before anything was written
                error, status = exception.message, HTTPStatus.BAD_REQUEST
            else:
                if order.gateway.provider == 'wechat':
                    return _pay_wechat(request, pool, visitor, values, order)
                action, fields = order.front_form(
                    request.view_args['database_name'],
                    '%spay/return?%s' % (
                        base_url(request, configuration(pool)),
                        urlencode({'order': order.number})))
                return render(request, 'pay_gateway.html', order=order,
                    action=action, fields=fields, **values)
    Account = pool.get('meter.account')
    Bill = pool.get('meter.bill')
    Payment = pool.get('meter.payment')
    bills = Bill.search([
            ('account', '=', account.id),
            ('state', 'in', ['posted', 'partially_paid']),
            ], order=[('due_date', 'ASC'), ('start_date', 'ASC'),
            ('id', 'ASC')]) if account else []
    transfers = Payment.search([
            ('account', '=', account.id),
            ('state', '=', 'waiting'),
            ]) if bills else []
    return render(request, 'pay_online.html', status=status, error=error,
        accounts=accounts, account=account, bills=bills,
        transfer_bills=Account.transfer_bills(bills, transfers), **values)


def _pay_wechat(request, pool, visitor, values, order):
    """WeChat Pay: the order is placed and the page calls chooseWXPay of
    the JS-SDK, inside WeChat only"""
    if not values.get('wx'):
        raise PageError(HTTPStatus.BAD_REQUEST, 'msg_page_open_in_wechat')
    try:
        params = order.wechat_jsapi(request.view_args['database_name'],
            visitor.user.openid, request.remote_addr or '127.0.0.1',
            gettext('meter_wechat.msg_pay_wechat_body',
                account=order.account.number))
    except GatewayError as exception:
        raise PageError(HTTPStatus.BAD_GATEWAY, 'msg_pay_gateway_failed',
            error=exception.code)
    return render(request, 'pay_wechat.html', order=order, pay=params,
        **values)


@app.route(PREFIX + '/pay/return', methods=['GET', 'POST'])
def pay_return(request, database_name):
    """Where the gateway sends the resident's browser back: to the result
    page of the order, which asks the gateway.  What the browser brings
    is not read: a payment is posted from the gateway's word only."""
    return redirect(page_url(request, 'pay/result',
            order=request.args.get('order', '')[:64]), code=303)


@page('pay/result', jssdk=True)
def pay_result(request, pool, visitor, values):
    "The result of an online payment, as the gateway says it"
    Order = pool.get('meter.payment.order')
    orders = Order.search([
            ('number', '=', request.args.get('order', '')),
            ('account', 'in', [a.id for a in visitor.accounts]),
            ], limit=1)
    if not orders:
        raise not_found('msg_payment_order_not_found')
    order, = orders
    if order.state == 'pending':
        Order.check([order])
        order = Order(order.id)
    return render(request, 'pay_result.html', order=order, **values)
