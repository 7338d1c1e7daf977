# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import bulk_write
from .exceptions import PrepaidBalanceError, PrepaidLineError


class PrepaidLine(ModelSQL, ModelView):
    """A line of the balance ledger of an account (预付费余额).

    Top-ups are positive, deductions at billing negative, adjustments
    either.  Lines are never changed nor deleted, so the balance of an
    account is always the sum of its lines: a mistake is corrected by an
    adjustment.  The account stores that sum, added to with every line
    (Account.claim_balances), so that posting a month's bills does not sum
    years of ledger.  The balance of a prepaid account never goes below zero
    (see check_balance).
    """
    __name__ = 'meter.prepaid.line'
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='RESTRICT')
    date = fields.Date("Date", required=True)
    type = fields.Selection([
            ('topup', "Top-up"),
            ('deduction', "Deduction"),
            ('adjustment', "Adjustment"),
            ], "Type", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)
    bill = fields.Many2One(
        'meter.bill', "Bill", readonly=True, ondelete='RESTRICT')
    payment = fields.Many2One(
        'meter.payment', "Payment", readonly=True, ondelete='RESTRICT')
    description = fields.Char("Description")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.account, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_type(cls):
        return 'adjustment'

    @classmethod
    def create(cls, vlist):
        for values in vlist:
            if (values.get('amount') is not None
                    and Decimal(values['amount']) != Decimal(
                        values['amount']).quantize(Decimal('0.01'))):
                raise PrepaidLineError(gettext(
                        'meter_billing.msg_prepaid_line_digits',
                        amount=values['amount']))
        lines = super().create(vlist)
        amounts = defaultdict(Decimal)
        for line in lines:
            amounts[line.account.id] += line.amount
        Pool().get('meter.account').claim_balances(amounts, amounts)
        cls.check_balance({l.account for l in lines if l.amount < 0})
        adjusted = {l.account for l in lines if l.type == 'adjustment'
            and not l.bill and not l.payment}
        if adjusted:
            cls.check_low_balance(adjusted)
        return lines

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        for lines, values in zip(actions, actions):
            if lines and values.keys() - {'write_uid', 'write_date'}:
                raise PrepaidLineError(gettext(
                        'meter_billing.msg_prepaid_line_modify'))
        super().write(*args)

    @classmethod
    def delete(cls, lines):
        if lines:
            raise PrepaidLineError(gettext(
                    'meter_billing.msg_prepaid_line_modify'))
        super().delete(lines)

    @classmethod
    def copy(cls, lines, default=None):
        if lines:
            raise PrepaidLineError(gettext(
                    'meter_billing.msg_prepaid_line_modify'))
        return super().copy(lines, default=default)

    @classmethod
    def check_balance(cls, accounts):
        """Refuse a prepaid balance below zero.

        Only a decrease typed in (an adjustment, the cancellation of a
        top-up) can take it there: posting a bill deducts at most the
        balance and leaves the rest due on the bill.
        """
        pool = Pool()
        Account = pool.get('meter.account')
        accounts = [a for a in accounts if a.billing_mode == 'prepaid']
        if not accounts:
            return
        balances = Account.get_balances(accounts)
        for account in accounts:
            if balances[account.id] < 0:
                raise PrepaidBalanceError(gettext(
                        'meter_billing.msg_prepaid_balance_negative',
                        account=account.rec_name,
                        balance=balances[account.id]))

    @classmethod
    def check_low_balance(cls, accounts):
        """Raise the low-balance event for the prepaid accounts whose
        balance is below the threshold of the configuration."""
        pool = Pool()
        Account = pool.get('meter.account')
        Configuration = pool.get('meter.billing.configuration')
        threshold = Configuration(1).low_balance_threshold
        accounts = [a for a in accounts if a.billing_mode == 'prepaid']
        if not accounts:
            return
        balances = Account.get_balances(accounts)
        low = [a for a in accounts if balances[a.id] < threshold]
        if low:
            Account.on_low_balance(Account.browse(low))


class Account(metaclass=PoolMeta):
    __name__ = 'meter.account'
    prepaid_lines = fields.One2Many(
        'meter.prepaid.line', 'account', "Balance Ledger", readonly=True)
    ledger_total = fields.Numeric("Ledger Total", digits=(16, 2),
        readonly=True,
        help="The sum of the lines of the balance ledger, added to with "
        "every line: what the balance reads.")
    balance = fields.Function(
        fields.Numeric("Balance", digits=(16, 2),
            help="The sum of the lines of the balance ledger."),
        'get_balance')
    low_balance = fields.Function(
        fields.Boolean("Low Balance",
            states={'invisible': Eval('billing_mode') != 'prepaid'}),
        'get_balance')

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        Line = pool.get('meter.prepaid.line')
        table_h = cls.__table_handler__(module)
        cursor = Transaction().connection.cursor()
        account = cls.__table__()
        line = Line.__table__()
        stored = table_h.column_exist('ledger_total')

        super().__register__(module)

        # Migration from the balance summed from the ledger on every read
        if not stored:
            cursor.execute(*account.update([account.ledger_total],
                    [line.select(Coalesce(Sum(line.amount), 0),
                            where=line.account == account.id)]))

    @classmethod
    def default_ledger_total(cls):
        return Decimal('0.00')

    @classmethod
    def copy(cls, accounts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('ledger_total', None)
        return super().copy(accounts, default=default)

    @classmethod
    def claim_balances(cls, account_ids, amounts=None):
        """Mark the balances of the accounts as changed by the transaction
        and add to them the {account id: amount} of the ledger lines it
        created.

        A balance is the sum of the ledger, so two transactions adding
        lines to the same account would each decide on a balance that
        misses the other's lines (PostgreSQL runs Tryton's transactions in
        repeatable read): both could spend the same money.  Writing the
        accounts' rows makes the second one fail on a serialisation error,
        and Tryton runs it again on the balance the first one left.
        """
        account = cls.__table__()
        cursor = Transaction().connection.cursor()
        amounts = {int(a): v for a, v in (amounts or {}).items() if v}
        for sub_ids in grouped_slice(
                sorted(set(map(int, account_ids)) | amounts.keys()),
                backend.MAX_QUERY_PARAMS // 3):
            sub_ids = list(sub_ids)
            added = [(account.id == i, amounts[i])
                for i in sub_ids if i in amounts]
            total = (Coalesce(account.ledger_total, 0)
                + Case(*added, else_=0) if added else account.ledger_total)
            cursor.execute(*account.update(
                    [account.write_date, account.ledger_total],
                    [account.write_date, total],
                    where=account.id.in_(sub_ids)))
        bulk_write._clear_cache(cls, list(amounts))

    @classmethod
    def get_balances(cls, accounts):
        """Return {account id: balance} of the accounts (records or ids):
        the sum of their ledger lines, as stored"""
        account = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = defaultdict(lambda: Decimal('0.00'))
        for sub_ids in grouped_slice(
                [int(a) for a in accounts], backend.MAX_QUERY_PARAMS):
            cursor.execute(*account.select(account.id, account.ledger_total,
                    where=account.id.in_(list(sub_ids))))
            for account_id, amount in cursor:
                result[account_id] = (amount or Decimal(0)).quantize(
                    Decimal('0.01'))
        return result

    @classmethod
    def get_balance(cls, accounts, names):
        pool = Pool()
        Configuration = pool.get('meter.billing.configuration')
        balances = cls.get_balances(accounts)
        threshold = Configuration(1).low_balance_threshold
        result = {}
        if 'balance' in names:
            result['balance'] = {a.id: balances[a.id] for a in accounts}
        if 'low_balance' in names:
            result['low_balance'] = {
                a.id: (a.billing_mode == 'prepaid'
                    and balances[a.id] < threshold)
                for a in accounts}
        return result

    @classmethod
    def on_low_balance(cls, accounts):
        """Called with the prepaid accounts whose balance fell below the
        threshold; other modules extend it to warn the residents (e.g. a
        WeChat template message)."""
        pass
