# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import List, NamedTuple, Optional

from sql import For, Null
from sql.aggregate import Sum

from trytond import backend
from trytond.config import config
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.meter_base.meter import KINDS
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import bulk_write
from .exceptions import BillStateError
from .rules.amount_words import amount_in_words
from .tariff import CATEGORIES

BILL_STATES = [
    ('draft', "Draft"),
    ('posted', "Posted"),
    ('partially_paid', "Partially Paid"),
    ('paid', "Paid"),
    ('cancelled', "Cancelled"),
    ]
OPEN_STATES = ('posted', 'partially_paid')
LINE_TYPES = [
    ('usage', "Usage"),
    ('free', "Free Quota"),
    ('minimum', "Minimum Charge"),
    ('fixed', "Fixed Charge"),
    ]


def centre_selection(model, field):
    """Return {value: text} of the selection of field of model in the
    centre's language (the database's default language), as the printed
    notices and receipts show it whatever the language of the user who
    prints them"""
    with Transaction().set_context(language=centre_language()):
        return dict(Pool().get(model).fields_get([field])[field]['selection'])


def centre_language():
    "Return the language the centre's documents are written in"
    return config.get('database', 'language')


class NewBillMeter(NamedTuple):
    "A meter of a new bill: its readings opening and closing the period"
    meter: int
    kind: str
    previous_value: Optional[Decimal]
    value: Optional[Decimal]
    multiplier: Optional[Decimal]
    usage: Decimal


class NewBillUsage(NamedTuple):
    "The usage of one kind on a new bill as its tariff priced it"
    kind: str
    tariff: int
    usage: Decimal
    free_quantity: Decimal
    billable: Decimal
    amount: Decimal
    carry_out: Decimal
    tier_year: Optional[dt.date]
    tier_usage: Decimal


class NewBillLine(NamedTuple):
    "A line of a new bill: a pricing.BillLine of a meter kind"
    kind: str
    line: object


class NewBill(NamedTuple):
    "The values of a draft bill a billing run creates, with its rows"
    account: int
    campus: int
    category: str
    billing_mode: str
    period: int
    run: Optional[int]
    start_date: dt.date
    end_date: dt.date
    due_date: Optional[dt.date]
    amount: Decimal
    replaces: Optional[int]
    meters: List[NewBillMeter]
    usages: List[NewBillUsage]
    lines: List[NewBillLine]


# Fields that a posted bill may still change: its payment state and the
# reason of its cancellation.
_POSTED_WRITABLE = {'state', 'paid_amount', 'cancel_reason', 'number',
    'posted_date', 'write_uid', 'write_date'}


class Bill(Workflow, ModelSQL, ModelView):
    """A bill, printed as a payment notice (缴款通知单).

    One per account and billing period, created in draft by a billing run.
    Once posted it is never edited nor deleted: a wrong bill is cancelled
    with a reason and issued again.  Its amount is the sum of its lines,
    each already rounded to the fen.
    """
    __name__ = 'meter.bill'
    _rec_name = 'number'
    _states = {'readonly': Eval('state') != 'draft'}
    number = fields.Char("Number", readonly=True)
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='RESTRICT',
        states=_states)
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT',
        states=_states)
    category = fields.Selection(
        CATEGORIES, "Category", required=True, states=_states)
    billing_mode = fields.Selection([
            ('postpaid', "Postpaid"),
            ('prepaid', "Prepaid"),
            ], "Billing Mode", required=True, states=_states)
    period = fields.Many2One(
        'meter.billing.period', "Period", required=True,
        ondelete='RESTRICT', states=_states)
    run = fields.Many2One(
        'meter.billing.run', "Billing Run", readonly=True,
        ondelete='SET NULL')
    start_date = fields.Date("Start Date", required=True, states=_states)
    end_date = fields.Date("End Date", required=True, states=_states)
    due_date = fields.Date("Due Date", states=_states)
    posted_date = fields.Date("Posted Date", readonly=True)
    meters = fields.One2Many(
        'meter.bill.meter', 'bill', "Meters", states=_states)
    usages = fields.One2Many(
        'meter.bill.usage', 'bill', "Usages", states=_states)
    lines = fields.One2Many(
        'meter.bill.line', 'bill', "Lines", states=_states)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), readonly=True,
        help="The sum of the lines.")
    paid_amount = fields.Numeric("Paid Amount", digits=(16, 2), readonly=True)
    amount_to_pay = fields.Function(
        fields.Numeric("Amount to Pay", digits=(16, 2)), 'get_amount_to_pay')
    state = fields.Selection(
        BILL_STATES, "State", readonly=True, required=True, sort=False)
    cancel_reason = fields.Text(
        "Cancellation Reason",
        states={
            'readonly': Eval('state') == 'cancelled',
            'required': Eval('state') == 'cancelled',
            })
    replaces = fields.Many2One(
        'meter.bill', "Replaces", readonly=True, ondelete='RESTRICT',
        help="The cancelled bill this one is issued again for.")
    allocations = fields.One2Many(
        'meter.payment.allocation', 'bill', "Payments", readonly=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.account, Index.Range()),
                    (t.period, Index.Range())),
                Index(t, (t.period, Index.Range())),
                # The last bills before a run, on years of history
                Index(t, (t.end_date, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['draft', 'posted', 'partially_paid'])),
                # The bill issued again for a cancelled one: few, but the
                # deletion of any draft checks them among years of bills
                Index(t, (t.replaces, Index.Range()),
                    where=t.replaces != Null),
                })
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'posted'),
            ('draft', 'cancelled'),
            ('posted', 'cancelled'),
            ('posted', 'partially_paid'),
            ('posted', 'paid'),
            ('partially_paid', 'paid'),
            ('partially_paid', 'posted'),
            ('paid', 'partially_paid'),
            ('paid', 'posted'),
            ('paid', 'cancelled'),
            ('partially_paid', 'cancelled'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'depends': ['state'],
                    },
                'reissue': {
                    'invisible': Eval('state') != 'cancelled',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        "A cancelled bill is muted in the lists"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'cancelled', 'muted', ''),
                ['state']),
            ]

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_billing_mode(cls):
        return 'postpaid'

    @classmethod
    def default_amount(cls):
        return Decimal(0)

    @classmethod
    def default_paid_amount(cls):
        return Decimal(0)

    @classmethod
    def get_amount_to_pay(cls, bills, name):
        return {b.id: Decimal(0) if b.state == 'cancelled'
            else (b.amount or 0) - (b.paid_amount or 0) for b in bills}

    @classmethod
    def get_rec_name(cls, bills, name):
        """The number and the account of the bills: the accounts' names
        are read at once for a page of bills"""
        pool = Pool()
        Account = pool.get('meter.account')
        bill = cls.__table__()
        cursor = Transaction().connection.cursor()
        rows = []
        for sub_ids in grouped_slice(
                [b.id for b in bills if b.id is not None and b.id >= 0],
                backend.MAX_QUERY_PARAMS):
            cursor.execute(*bill.select(bill.id, bill.number, bill.account,
                    where=bill.id.in_(list(sub_ids))))
            rows.extend(cursor)
        accounts = {a['id']: a['rec_name'] for a in Account.read(
                list({a for _, _, a in rows}), ['rec_name'])}
        result = {b: f'{n or f"({b})"} {accounts[a]}' for b, n, a in rows}
        # A bill not saved yet is named from its own values
        for bill in bills:
            if bill.id not in result:
                result[bill.id] = (f'{bill.number or f"({bill.id})"} '
                    f'{bill.account.rec_name}')
        return result

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('number', operator, value),
            ('account.rec_name', operator, value),
            ]

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        for bills, values in zip(actions, actions):
            if values.keys() - _POSTED_WRITABLE:
                for bill in bills:
                    if bill.state != 'draft':
                        raise BillStateError(gettext(
                                'meter_billing.msg_bill_modify_posted',
                                bill=bill.rec_name))
        super().write(*args)

    @classmethod
    def delete(cls, bills):
        for bill in bills:
            if bill.state != 'draft':
                raise BillStateError(gettext(
                        'meter_billing.msg_bill_delete_posted',
                        bill=bill.rec_name))
        super().delete(bills)

    @classmethod
    def copy(cls, bills, default=None):
        default = default.copy() if default is not None else {}
        for name in ['number', 'posted_date', 'cancel_reason', 'run',
                'allocations']:
            default.setdefault(name, None)
        default.setdefault('state', 'draft')
        default.setdefault('paid_amount', Decimal(0))
        return super().copy(bills, default=default)

    @classmethod
    def update_amounts(cls, bills):
        "Store the amount of the bills as the sum of their lines"
        pool = Pool()
        Line = pool.get('meter.bill.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        amounts = defaultdict(Decimal)
        ids = [b.id for b in bills]
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.bill, Sum(line.amount),
                    where=line.bill.in_(list(sub_ids)), group_by=line.bill))
            for bill_id, amount in cursor:
                amounts[bill_id] = Decimal(str(amount or 0))
        to_write = defaultdict(list)
        for bill in bills:
            to_write[amounts[bill.id].quantize(Decimal('0.01'))].append(bill)
        args = []
        for amount, records in to_write.items():
            args.extend([records, {'amount': amount}])
        if args:
            super().write(*args)

    @classmethod
    def get_deductions(cls, bills):
        """Return {bill id: amount} paid from the prepaid balance of the
        account when the bills were posted"""
        pool = Pool()
        PrepaidLine = pool.get('meter.prepaid.line')
        line = PrepaidLine.__table__()
        cursor = Transaction().connection.cursor()
        result = defaultdict(lambda: Decimal('0.00'))
        for sub_ids in grouped_slice(
                [int(b) for b in bills], backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.bill, Sum(line.amount),
                    where=line.bill.in_(list(sub_ids))
                    & (line.type == 'deduction'),
                    group_by=line.bill))
            for bill_id, amount in cursor:
                result[bill_id] = -_money(amount)
        return result

    @classmethod
    def update_paid(cls, bills):
        """Recompute the paid amount and state from the allocations of the
        posted payments and the prepaid deduction."""
        pool = Pool()
        Allocation = pool.get('meter.payment.allocation')
        Payment = pool.get('meter.payment')
        allocation = Allocation.__table__()
        payment = Payment.__table__()
        cursor = Transaction().connection.cursor()
        bills = [b for b in bills if b.state not in {'draft', 'cancelled'}]
        paid = cls.get_deductions(bills)
        for sub_ids in grouped_slice(
                [b.id for b in bills], backend.MAX_QUERY_PARAMS):
            cursor.execute(*allocation.join(payment,
                    condition=allocation.payment == payment.id
                    ).select(allocation.bill, Sum(allocation.amount),
                    where=allocation.bill.in_(list(sub_ids))
                    & (payment.state == 'posted'),
                    group_by=allocation.bill))
            for bill_id, amount in cursor:
                paid[bill_id] += _money(amount)
        by_state = defaultdict(list)
        for bill in bills:
            amount = paid[bill.id]
            state = _paid_state(bill.amount, amount)
            if (state, amount) != (bill.state, bill.paid_amount):
                by_state[state, amount].append(bill)
        args = []
        for (state, amount), records in by_state.items():
            args.extend([records, {'state': state, 'paid_amount': amount}])
        if args:
            super().write(*args)

    # The stored columns of NewBill, in its order
    _NEW_BILL_COLUMNS = list(NewBill._fields[:-3])

    @classmethod
    def create_bulk(cls, bills):
        """Create draft bills from NewBill values with their meters, usages
        and lines, in bulk as a billing run creates thousands; return the
        ids of the bills in the order of bills.

        Billing runs create their bills here: call it through the pool,
        ``pool.get('meter.bill').create_bulk``.  The rows skip create(),
        validate() and the defaults of the ORM (paid amount 0, state
        draft are set here).  A module extending meter.bill or its meters,
        usages or lines that must see these bills too overrides this
        method, calls super() and then works on the returned ids
        set-based: one UPDATE or INSERT for the batch (``bulk_write``),
        never one query per bill, for a run bills tens of thousands of
        accounts.  A new stored field is not filled by the bulk insert:
        such an override writes it.
        """
        pool = Pool()
        BillLine = pool.get('meter.bill.line')
        BillMeter = pool.get('meter.bill.meter')
        BillUsage = pool.get('meter.bill.usage')
        ModelAccess = pool.get('ir.model.access')
        for Model in [cls, BillMeter, BillUsage, BillLine]:
            ModelAccess.check(Model.__name__, 'create')
        columns = cls._NEW_BILL_COLUMNS
        count = len(columns)
        zero = Decimal(0)
        ids = bulk_write.insert(cls, columns + ['paid_amount', 'state'],
            [[*bill[:count], zero, 'draft'] for bill in bills],
            with_ids=True)
        meters, usages, lines = [], [], []
        row_from_pricing = BillLine.row_from_pricing
        # The description of a line depends on its type and tier only:
        # translated once for the run, not once per line
        descriptions = {}

        def description(line):
            key = line.kind, line.tier
            if key not in descriptions:
                descriptions[key] = BillLine.pricing_description(line)
            return descriptions[key]
        for bill_id, bill in zip(ids, bills):
            meters.extend([bill_id, *m] for m in bill.meters)
            usages.extend([bill_id, *u] for u in bill.usages)
            lines.extend(
                [bill_id] + row_from_pricing(line.kind, line.line, sequence,
                    description(line.line))
                for sequence, line in enumerate(bill.lines, 1))
        bulk_write.insert(
            BillMeter, ['bill', *NewBillMeter._fields], meters)
        bulk_write.insert(
            BillUsage, ['bill', *NewBillUsage._fields], usages)
        bulk_write.insert(
            BillLine, ['bill'] + BillLine.PRICING_COLUMNS, lines)
        return ids

    @classmethod
    @ModelView.button
    def post(cls, bills):
        "Number the bills and pay them from their account's balance"
        cls.post_ids([b.id for b in bills])

    @classmethod
    def post_ids(cls, ids):
        """Post the draft bills of ids, in bulk as a run posts thousands.

        The bills are numbered from a block of the sequence in the order of
        their ids.  A bill is paid from the balance of its account (the
        top-ups of a prepaid account, the credit an overpayment left on a
        postpaid one) but never by more than the balance, so that a balance
        never goes below zero: what the balance cannot pay stays due on the
        bill, to be paid like any open bill.
        """
        pool = Pool()
        Account = pool.get('meter.account')
        Configuration = pool.get('meter.billing.configuration')
        Date = pool.get('ir.date')
        ModelAccess = pool.get('ir.model.access')
        PrepaidLine = pool.get('meter.prepaid.line')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        bill = cls.__table__()
        ModelAccess.check(cls.__name__, 'write')
        ModelAccess.check(PrepaidLine.__name__, 'create')

        rows = []
        for sub_ids in grouped_slice(
                sorted(set(ids)), backend.MAX_QUERY_PARAMS):
            query = bill.select(
                bill.id, bill.account, bill.billing_mode, bill.amount,
                bill.number, bill.end_date,
                where=bill.id.in_(list(sub_ids)) & (bill.state == 'draft'),
                order_by=[bill.id.asc])
            if transaction.database.has_select_for():
                # Posting twice at once must not number nor deduct twice
                query.for_ = For('UPDATE')
            cursor.execute(*query)
            rows.extend(cursor)
        if not rows:
            return
        config = Configuration(1)
        today = Date.today()
        to_number = sum(1 for r in rows if not r[4])
        numbers = iter(config.bill_sequence.get_many(to_number)
            if to_number else ())
        prepaid = {r[1] for r in rows if r[2] == 'prepaid'}
        # A postpaid account has a balance only from an overpayment: its
        # credit pays its next bills first, as a prepaid balance does.
        balances = Account.get_balances(sorted({r[1] for r in rows}))
        updates, deductions = [], []
        for bill_id, account, mode, amount, number, end_date in rows:
            amount = _money(amount)
            paid = max(min(balances[account], amount), Decimal('0.00'))
            if paid:
                balances[account] -= paid
                deductions.append(
                    [account, end_date, 'deduction', -paid, bill_id])
            updates.append([bill_id, number or next(numbers),
                    _paid_state(amount, paid), paid, today])
        bulk_write.update(
            cls, ['number', 'state', 'paid_amount', 'posted_date'], updates)
        # Every account posted, not only those deducted: a top-up posted at
        # once would else miss the bill it should pay
        deducted = defaultdict(Decimal)
        for account, _, _, amount, _ in deductions:
            deducted[account] += amount
        Account.claim_balances({r[1] for r in rows}, deducted)
        bulk_write.insert(
            PrepaidLine, ['account', 'date', 'type', 'amount', 'bill'],
            deductions)
        low = [a for a in sorted(prepaid)
            if balances[a] < config.low_balance_threshold]
        # By slices: browsing many ids at once costs more than linear
        for sub_ids in grouped_slice(low, 500):
            Account.on_low_balance(Account.browse(list(sub_ids)))

    @classmethod
    @ModelView.button
    def cancel(cls, bills):
        """Cancel the bills with their reason; what was paid from a prepaid
        balance is given back to it."""
        pool = Pool()
        PrepaidLine = pool.get('meter.prepaid.line')
        for bill in bills:
            if not bill.cancel_reason:
                raise BillStateError(gettext(
                        'meter_billing.msg_bill_cancel_reason',
                        bill=bill.rec_name))
            if any(a.payment.state == 'posted' for a in bill.allocations):
                raise BillStateError(gettext(
                        'meter_billing.msg_bill_cancel_paid',
                        bill=bill.rec_name))
        deductions = cls.get_deductions(
            [b for b in bills if b.state not in {'draft', 'cancelled'}])
        refunds = [b for b in bills if deductions[b.id]]
        cls._cancel(bills)
        if refunds:
            PrepaidLine.create([{
                        'account': b.account.id,
                        'date': b.end_date,
                        'type': 'adjustment',
                        'amount': deductions[b.id],
                        'bill': b.id,
                        'description': b.cancel_reason,
                        } for b in refunds])

    @classmethod
    @Workflow.transition('cancelled')
    def _cancel(cls, bills):
        pass

    @classmethod
    @ModelView.button
    def reissue(cls, bills):
        "Issue a draft copy of cancelled bills that refers to them"
        new = []
        for bill in bills:
            if bill.state != 'cancelled':
                continue
            new.extend(cls.copy([bill], default={'replaces': bill.id}))
        return new


def _money(value):
    "Return the amount read from the database as Decimal yuan"
    return Decimal(str(value or 0)).quantize(Decimal('0.01'))


def _paid_state(amount, paid):
    "Return the state of a posted bill of amount of which paid is paid"
    if paid >= amount:
        return 'paid'
    elif paid:
        return 'partially_paid'
    return 'posted'


class BillMeter(ModelSQL, ModelView):
    "A meter of a bill with the readings that open and close the period"
    __name__ = 'meter.bill.meter'
    bill = fields.Many2One(
        'meter.bill', "Bill", required=True, ondelete='CASCADE')
    meter = fields.Many2One(
        'meter.meter', "Meter", required=True, ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True)
    previous_value = fields.Numeric("Previous Reading", digits=(16, 3))
    value = fields.Numeric("Current Reading", digits=(16, 3))
    multiplier = fields.Numeric("Multiplier", digits=(16, 4))
    usage = fields.Numeric("Usage", digits=(16, 3), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.bill, Index.Range())))


class BillUsage(ModelSQL, ModelView):
    """The usage of one kind on a bill as the tariff priced it.

    It keeps what the next period needs: the free quota carried out and,
    for yearly tiers, the usage of the tier year so far.
    """
    __name__ = 'meter.bill.usage'
    bill = fields.Many2One(
        'meter.bill', "Bill", required=True, ondelete='CASCADE')
    kind = fields.Selection(KINDS, "Kind", required=True)
    tariff = fields.Many2One('meter.tariff', "Tariff", ondelete='RESTRICT')
    usage = fields.Numeric("Usage", digits=(16, 3), required=True)
    free_quantity = fields.Numeric("Free Quantity", digits=(16, 3))
    billable = fields.Numeric("Billable", digits=(16, 3))
    amount = fields.Numeric("Amount", digits=(16, 2))
    carry_out = fields.Numeric("Free Quota Carried Out", digits=(16, 3))
    tier_year = fields.Date("Tier Year")
    tier_usage = fields.Numeric("Tier Year Usage", digits=(16, 3))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.bill, Index.Range())))


class BillLine(ModelSQL, ModelView):
    "A line of a bill: quantity × unit price rounded to the fen"
    __name__ = 'meter.bill.line'
    bill = fields.Many2One(
        'meter.bill', "Bill", required=True, ondelete='CASCADE')
    sequence = fields.Integer("Sequence")
    kind = fields.Selection(KINDS, "Kind", required=True)
    type = fields.Selection(LINE_TYPES, "Type", required=True)
    code = fields.Char("Code")
    name = fields.Char("Name")
    description = fields.Char("Description")
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True)
    unit_price = fields.Numeric("Unit Price", digits=(16, 4), required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)
    tier = fields.Integer("Tier")
    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.bill, Index.Range())))
        cls._order = [('bill', 'ASC'), ('sequence', 'ASC'), ('id', 'ASC')]

    @classmethod
    def create(cls, vlist):
        lines = super().create(vlist)
        cls._update_bills(lines)
        return lines

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        lines = sum((ls for ls, _ in zip(actions, actions)), [])
        cls._check_draft(lines)
        super().write(*args)
        cls._update_bills(lines)

    @classmethod
    def delete(cls, lines):
        cls._check_draft(lines)
        bills = {l.bill for l in lines}
        super().delete(lines)
        Pool().get('meter.bill').update_amounts(list(bills))

    @classmethod
    def _check_draft(cls, lines):
        for line in lines:
            if line.bill.state != 'draft':
                raise BillStateError(gettext(
                        'meter_billing.msg_bill_modify_posted',
                        bill=line.bill.rec_name))

    @classmethod
    def _update_bills(cls, lines):
        Pool().get('meter.bill').update_amounts(list({l.bill for l in lines}))

    # The columns of row_from_pricing
    PRICING_COLUMNS = ['sequence', 'kind', 'type', 'code', 'name',
        'description', 'quantity', 'unit_price', 'amount', 'tier',
        'start_date', 'end_date']

    @classmethod
    def row_from_pricing(cls, kind, line, sequence, description=None):
        """Return the values of PRICING_COLUMNS for a pricing.BillLine,
        with its description when the caller has it already"""
        if description is None:
            description = cls.pricing_description(line)
        return [sequence, kind, line.kind, line.code, line.name,
            description, line.quantity, line.unit_price,
            line.amount, line.tier, line.start, line.end]

    @classmethod
    def pricing_description(cls, line):
        """Return the description of a pricing.BillLine (第2阶梯, 免费额度 …)
        in the centre's language: it is stored with the bill and printed
        on its notice"""
        if line.kind == 'usage' and line.tier is None:
            return ''
        with Transaction().set_context(language=centre_language()):
            return gettext('meter_billing.msg_bill_line_%s' % line.kind,
                tier=line.tier)


class NoticeReport(Report):
    "Payment notice (缴款通知单)"
    __name__ = 'meter.bill.notice'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context.update(cls.notice_context())
        return context

    @classmethod
    def notice_context(cls):
        """Return what a notice shows besides its bill: the centre's
        payee and bank, the labels and the amount in words; the electronic
        notice of the residents' pages shows the same"""
        Configuration = Pool().get('meter.billing.configuration')
        return {
            'config': Configuration(1),
            'kinds': centre_selection('meter.bill.line', 'kind'),
            'line_types': centre_selection('meter.bill.line', 'type'),
            'amount_in_words': amount_in_words,
            }
