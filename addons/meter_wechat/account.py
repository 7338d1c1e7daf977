import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.meter_billing.rules import pricing
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

# The language of the residents, in which their messages are written
RESIDENT_LANGUAGE = 'zh_CN'


class Account(metaclass=PoolMeta):
    """The residents bound to a prepaid account are told when its balance
    falls below the threshold, so that they top up before the supply is
    at risk."""
    __name__ = 'meter.account'
    wechat_bindings = fields.One2Many(
        'meter.wechat.binding', 'account', "WeChat Bindings", readonly=True)

    @classmethod
    def on_low_balance(cls, accounts):
        super().on_low_balance(accounts)
        cls.__queue__.push_low_balance(accounts)

    @classmethod
    def push_low_balance(cls, accounts):
        "Send the low balance template message to the residents"
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Configuration = pool.get('meter.billing.configuration')
        threshold = Configuration(1).low_balance_threshold
        # The balance may have been topped up since the task was queued
        Binding.push('template_balance', [
                ([('id', '=', a.id)], a.low_balance_data(threshold), 'pay')
                for a in cls.browse(accounts) if a.low_balance])

    def low_balance_data(self, threshold):
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            return {
                'first': gettext('meter_wechat.msg_push_low_balance'),
                'keyword1': self.number,
                'keyword2': f'¥{self.balance:.2f}',
                'keyword3': f'¥{threshold:.2f}',
                'remark': gettext(
                    'meter_wechat.msg_push_low_balance_remark'),
                }

    @classmethod
    def payment_history(cls, accounts, today, days=366):
        """Return what the pay page shows of accounts as (open bills by
        due date, bills paid within days of today latest first, payments
        made within days of today)"""
        pool = Pool()
        Bill = pool.get('meter.bill')
        Payment = pool.get('meter.payment')
        if not accounts:
            return [], [], []
        ids = [a.id for a in accounts]
        since = today - dt.timedelta(days=days)
        # The open bills whatever their age, and those paid in the year
        bills = Bill.search([
                ('account', 'in', ids),
                ['OR',
                    ('state', 'in', ['posted', 'partially_paid']),
                    [('state', '=', 'paid'), ('end_date', '>=', since)],
                    ],
                ], order=[('due_date', 'ASC'), ('id', 'ASC')])
        payments = Payment.search([
                ('account', 'in', ids),
                ('date', '>=', since),
                ('state', '!=', 'draft'),
                ])
        return ([b for b in bills if b.state != 'paid'],
            [b for b in reversed(bills) if b.state == 'paid'], payments)

    @classmethod
    def transfer_bills(cls, bills, payments):
        """Return the ids of the open bills that the transfers waiting for
        finance would pay when posted (allocated as posting does, the
        oldest first): the pay page does not offer them for paying online
        by default, so that a resident does not pay them twice"""
        covered = set()
        for account in {b.account for b in bills}:
            waiting = sum((p.amount for p in payments
                    if p.account == account and p.state == 'waiting'),
                Decimal(0))
            if not waiting:
                continue
            result = pricing.allocate_payment(waiting, [
                    pricing.OpenBill(key=b.id, number=b.number,
                        due_date=b.due_date, amount=b.amount_to_pay)
                    for b in bills if b.account == account])
            covered.update(a.key for a in result.allocations)
        return covered

    def monthly_payments(self, months):
        """Return the posted payments of the account summed by month, for
        the months given as YYYY-MM, oldest first"""
        pool = Pool()
        Payment = pool.get('meter.payment')
        totals = {m: Decimal(0) for m in months}
        year, month = map(int, months[0].split('-'))
        # One query of two columns by the index of the account's payments
        payment = Payment.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.select(payment.date, payment.amount,
                where=(payment.account == self.id)
                & (payment.state == 'posted')
                & (payment.date >= dt.date(year, month, 1))))
        for date, amount in cursor:
            if isinstance(date, str):
                date = dt.date.fromisoformat(date)
            key = date.strftime('%Y-%m')
            if key in totals:
                totals[key] += Decimal(str(amount))
        return totals
