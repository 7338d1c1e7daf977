"Paying: bills, payments and the bank transfers residents declare"
import re

from trytond.exceptions import UserError
from trytond.protocols.wrappers import HTTPStatus, Response, redirect

from ..limits import photo_after_limit
from ..web import (
    centre_today, not_found, page, page_url, parse_id, refusal, render)


@page('pay', methods=('GET', 'POST'))
def pay(request, pool, visitor, values):
    """Pay by bank transfer: the resident sends the reference and the
    screenshot of the transfer, finance reviews it in the back office."""
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
        paid_bills=paid_bills, billing=BillingConfiguration(1),
        message=request.args.get('message'), **values)


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
