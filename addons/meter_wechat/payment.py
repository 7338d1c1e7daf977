from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.modules.meter_base import numerals
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .account import RESIDENT_LANGUAGE
from .exceptions import SubmissionError
from .labels import label
from .submission import check_photo, fetch_photo

# The largest transfer a resident may declare, in yuan
MAX_TRANSFER = 1_000_000


class Payment(metaclass=PoolMeta):
    """The residents bound to the account are told by template message
    when a payment is posted (with its receipt) or a transfer refused."""
    __name__ = 'meter.payment'

    @classmethod
    def parse_transfer_amount(cls, text):
        """Return the Decimal of an amount typed in a form: yuan of ASCII
        digits with at most two decimals, above 0 and up to MAX_TRANSFER"""
        try:
            amount = numerals.parse_decimal(text)
        except ValueError:
            amount = None
        if (amount is None or amount <= 0 or amount > MAX_TRANSFER
                or amount != amount.quantize(Decimal('0.01'))):
            raise SubmissionError(
                gettext('meter_wechat.msg_payment_amount'))
        return amount

    @classmethod
    def submit_transfer(cls, account, amount, reference, screenshot, payer):
        """Record the bank transfer a payer declares for account, with the
        screenshot of it, and send it to finance's review; return it.

        amount is the text typed; screenshot the bytes or a callable
        returning them, called after the amount and reference are checked
        (see submission.py).  Raise SubmissionError when refused before
        anything is written."""
        amount = cls.parse_transfer_amount(amount)
        reference = (reference or '').strip()[:64]
        if not reference:
            raise SubmissionError(
                gettext('meter_wechat.msg_payment_reference'))
        screenshot = fetch_photo(screenshot)
        check_photo(screenshot)
        payment, = cls.create([{
                    'account': account.id,
                    'campus': account.campus.id,
                    'method': 'transfer',
                    'amount': amount,
                    'payer': payer,
                    'transfer_reference': reference,
                    'screenshot': screenshot,
                    }])
        cls.post([payment])
        return payment

    @classmethod
    @ModelView.button
    def post(cls, payments):
        super().post(payments)
        cls._queue_results(payments)

    @classmethod
    @ModelView.button
    def approve(cls, payments):
        super().approve(payments)
        cls._queue_results(payments)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, payments):
        super().refuse(payments)
        cls.__queue__.push_results(payments)

    @classmethod
    def _queue_results(cls, payments):
        posted = [p for p in cls.browse(payments) if p.state == 'posted']
        if posted:
            cls.__queue__.push_results(posted)

    @classmethod
    def push_results(cls, payments):
        "Send the template message of the payments to their residents"
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Binding.push('template_payment', [
                ([('id', '=', p.account.id)], p.template_data(), 'pay')
                for p in payments if p.state in {'posted', 'refused'}])

    def template_data(self):
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            if self.state == 'posted':
                first = gettext('meter_wechat.msg_push_payment_posted')
                remark = gettext('meter_wechat.msg_push_payment_receipt',
                    receipt=self.receipt_number)
            else:
                first = gettext('meter_wechat.msg_push_payment_refused')
                remark = gettext('meter_wechat.msg_push_payment_reason',
                    reason=self.cancel_reason)
            return {
                'first': first,
                'keyword1': self.account.number,
                'keyword2': f'¥{self.amount:.2f}',
                'keyword3': label(self, 'method'),
                'keyword4': f'{self.date:%Y-%m-%d}',
                'remark': remark,
                }
