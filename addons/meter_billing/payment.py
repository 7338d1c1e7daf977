# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, Id
from trytond.report import Report
from trytond.rpc import RPC
from trytond.modules.meter_base.evidence import check_image
from trytond.transaction import Transaction, without_check_access

from .bill import OPEN_STATES, centre_selection
from .exceptions import PaymentError, PaymentStateError
from .rules import pricing
from .rules.amount_words import amount_in_words

METHODS = [
    ('cash', "Cash"),
    ('cheque', "Cheque"),
    ('transfer', "Bank Transfer"),
    ('online', "Online Payment"),
    ]


class Campus(metaclass=PoolMeta):
    __name__ = 'meter.campus'
    receipt_sequence = fields.Many2One(
        'ir.sequence', "Receipt Sequence",
        domain=[('sequence_type', '=',
                Id('meter_billing', 'sequence_type_receipt'))],
        help="The model of the receipt numbers of the payments taken at "
        "the campus: each year gets a copy of it that starts again at 1; "
        "use ${year} in the prefix to show the year.")
    receipt_sequences = fields.One2Many(
        'meter.campus.receipt_sequence', 'campus', "Receipt Sequences",
        readonly=True)


class CampusReceiptSequence(ModelSQL, ModelView):
    """The sequence numbering the receipts of a campus in one year.

    Receipt numbers restart every year at each campus: the sequence of a
    year is created with the first payment of the year, from the receipt
    sequence of the campus or, for a campus without one, from that of the
    configuration with the campus code in front so that the numbers of two
    campuses never clash.
    """
    __name__ = 'meter.campus.receipt_sequence'
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    sequence = fields.Many2One(
        'ir.sequence', "Sequence", required=True, ondelete='RESTRICT',
        domain=[('sequence_type', '=',
                Id('meter_billing', 'sequence_type_receipt'))])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('campus_year_unique', Unique(t, t.campus, t.year),
                'meter_billing.msg_receipt_sequence_unique'),
            ]
        cls._order = [('campus', 'ASC'), ('year', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_sequence(cls, campus, year):
        "Return the receipt sequence of campus for year, created if needed"
        pool = Pool()
        Configuration = pool.get('meter.billing.configuration')
        Sequence = pool.get('ir.sequence')
        domain = [('campus', '=', campus.id), ('year', '=', year)]
        records = cls.search(domain, limit=1)
        if not records:
            # Only one transaction creates the sequence of the year
            cls.lock()
            records = cls.search(domain, limit=1)
        if records:
            return records[0].sequence
        template = campus.receipt_sequence
        prefix = template.prefix if template else None
        if not template:
            template = Configuration(1).receipt_sequence
            prefix = f'{campus.code}-{template.prefix or ""}'
        sequence, = Sequence.create([{
                    'name': f'{template.name} {campus.code} {year}',
                    'sequence_type': template.sequence_type.id,
                    'prefix': prefix,
                    'suffix': template.suffix,
                    'type': 'incremental',
                    'padding': template.padding,
                    'number_increment': template.number_increment or 1,
                    'number_next': 1,
                    }])
        cls.create([{
                    'campus': campus.id,
                    'year': year,
                    'sequence': sequence.id,
                    }])
        return sequence


class Payment(Workflow, ModelSQL, ModelView):
    """A payment taken at a campus office for an account, of any campus.

    A cash or cheque payment is posted at once; a bank transfer waits for
    finance to review its reference and screenshot.  Posting allocates the
    amount to the open bills of the account, the oldest first; what is
    left goes to the account's balance.  A posted payment is never deleted:
    it is cancelled with a reason, which undoes its allocation.
    """
    __name__ = 'meter.payment'
    _rec_name = 'receipt_number'
    _states = {'readonly': Eval('state') != 'draft'}
    receipt_number = fields.Char("Receipt Number", readonly=True)
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='RESTRICT',
        states=_states)
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT',
        states=_states, help="The campus office that takes the payment.")
    date = fields.Date("Date", required=True, states=_states)
    method = fields.Selection(METHODS, "Method", required=True,
        states=_states)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True, states=_states,
        domain=[('amount', '>', 0)])
    payer = fields.Char("Payer", states=_states)
    cheque_number = fields.Char(
        "Cheque Number",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('method') == 'cheque',
            'invisible': Eval('method') != 'cheque',
            })
    cheque_bank = fields.Char(
        "Cheque Bank",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('method') == 'cheque',
            'invisible': Eval('method') != 'cheque',
            })
    transfer_reference = fields.Char(
        "Transfer Reference",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('method') == 'transfer',
            'invisible': Eval('method') != 'transfer',
            })
    screenshot = fields.Binary(
        "Screenshot", file_id='screenshot_id', store_prefix='meter_payment',
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('method') != 'transfer',
            })
    screenshot_id = fields.Char("Screenshot ID", readonly=True)
    reviewed_by = fields.Many2One('res.user', "Reviewed By", readonly=True)
    allocations = fields.One2Many(
        'meter.payment.allocation', 'payment', "Allocations", readonly=True)
    advance = fields.Numeric(
        "To Balance", digits=(16, 2), readonly=True,
        help="The part of the payment not allocated to a bill, added to "
        "the account's balance.")
    receipt_print_count = fields.Integer("Receipt Prints", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting for Review"),
            ('posted', "Posted"),
            ('refused', "Refused"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    cancel_reason = fields.Text(
        "Cancellation Reason",
        states={
            'readonly': Eval('state').in_(['cancelled', 'refused']),
            'required': Eval('state').in_(['cancelled', 'refused']),
            })
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.account, Index.Range())),
                Index(t, (t.date, Index.Range())),
                # The few payments waiting for someone among years of
                # posted ones: the transfers to review
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['draft', 'waiting'])),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'waiting'),
            ('draft', 'posted'),
            ('waiting', 'posted'),
            ('waiting', 'refused'),
            ('waiting', 'draft'),
            ('refused', 'draft'),
            ('posted', 'cancelled'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'waiting',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state') != 'waiting',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': ~Eval('state').in_(['waiting', 'refused']),
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'posted',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_method(cls):
        return 'cash'

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_receipt_print_count(cls):
        return 0

    @fields.depends('account', 'campus', '_parent_account.campus')
    def on_change_account(self):
        if self.account and not self.campus:
            self.campus = self.account.campus

    def get_rec_name(self, name):
        number = self.receipt_number or f'({self.id})'
        return f'{number} {self.account.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('receipt_number', operator, value),
            ('account.rec_name', operator, value),
            ]

    @classmethod
    def create(cls, vlist):
        # A screenshot is evidence: checked as a reading's photo is
        for values in vlist:
            if values.get('screenshot'):
                check_image(values['screenshot'])
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        for values in args[1::2]:
            if values.get('screenshot'):
                check_image(values['screenshot'])
        super().write(*args)

    @classmethod
    def delete(cls, payments):
        for payment in payments:
            if payment.state not in {'draft', 'refused'} or (
                    payment.receipt_number):
                raise PaymentStateError(gettext(
                        'meter_billing.msg_payment_delete',
                        payment=payment.rec_name))
        super().delete(payments)

    @classmethod
    def copy(cls, payments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['receipt_number', 'allocations', 'advance',
                'reviewed_by', 'cancel_reason', 'screenshot']:
            default.setdefault(name, None)
        default.setdefault('receipt_print_count', 0)
        return super().copy(payments, default=default)

    @classmethod
    @ModelView.button
    def post(cls, payments):
        "Post cash and cheque payments; send bank transfers to review"
        transfers = [p for p in payments if p.method == 'transfer']
        for payment in transfers:
            if not payment.screenshot and not payment.transfer_reference:
                raise PaymentError(gettext(
                        'meter_billing.msg_payment_transfer_evidence',
                        payment=payment.rec_name))
        cls.wait(transfers)
        others = [p for p in payments
            if p.method != 'transfer' and p.state == 'draft']
        cls._post(others)
        cls._allocate(cls.browse(others))

    @classmethod
    @Workflow.transition('waiting')
    def wait(cls, payments):
        pass

    @classmethod
    @ModelView.button
    def approve(cls, payments):
        payments = [p for p in payments if p.state == 'waiting']
        cls._post(payments)
        cls.write(payments, {'reviewed_by': Transaction().user})
        cls._allocate(cls.browse(payments))

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, payments):
        for payment in payments:
            if not payment.cancel_reason:
                raise PaymentError(gettext(
                        'meter_billing.msg_payment_reason',
                        payment=payment.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, payments):
        cls.write(payments, {'cancel_reason': None})

    @classmethod
    @Workflow.transition('posted')
    def _post(cls, payments):
        pass

    @classmethod
    def _allocate(cls, payments):
        """Number the receipts of posted payments and allocate them to the
        open bills of their accounts, the oldest first; what is left goes
        to the balance."""
        # Who may post is the button's business; what posting does to the
        # bills, the balance and the numbering is not: a cashier takes a
        # payment for any account without the right to edit bills.
        with without_check_access():
            cls._allocate_posted(payments)

    @classmethod
    def _allocate_posted(cls, payments):
        pool = Pool()
        Allocation = pool.get('meter.payment.allocation')
        Bill = pool.get('meter.bill')
        PrepaidLine = pool.get('meter.prepaid.line')
        ledger = []
        for payment in sorted(payments, key=lambda p: (p.date, p.id)):
            values = {}
            if not payment.receipt_number:
                values['receipt_number'] = payment.get_receipt_number()
            bills = payment._allocation_bills()
            result = pricing.allocate_payment(payment.amount, [
                    pricing.OpenBill(
                        key=b.id, number=b.number, due_date=b.due_date,
                        amount=b.amount - b.paid_amount)
                    for b in bills])
            if result.allocations:
                Allocation.create([{
                            'payment': payment.id,
                            'bill': a.key,
                            'amount': a.amount,
                            } for a in result.allocations])
                Bill.update_paid(Bill.browse(
                        [a.key for a in result.allocations]))
            advance = result.remainder
            values['advance'] = advance
            if advance:
                ledger.append({
                        'account': payment.account.id,
                        'date': payment.date,
                        'type': 'topup',
                        'amount': advance,
                        'payment': payment.id,
                        })
            cls.write([payment], values)
        if ledger:
            PrepaidLine.create(ledger)

    def _allocation_bills(self):
        "Return the bills the payment may be allocated to"
        Bill = Pool().get('meter.bill')
        # The open bills of a prepaid account are the arrears its
        # balance could not pay when they were posted.
        return Bill.search([
                ('account', '=', self.account.id),
                ('state', 'in', OPEN_STATES),
                ])

    def get_receipt_number(self):
        """Return the next receipt number of the campus in the year of the
        payment"""
        pool = Pool()
        CampusSequence = pool.get('meter.campus.receipt_sequence')
        sequence = CampusSequence.get_sequence(self.campus, self.date.year)
        with Transaction().set_context(date=self.date):
            return sequence.get()

    @classmethod
    @ModelView.button
    def cancel(cls, payments):
        pool = Pool()
        Bill = pool.get('meter.bill')
        PrepaidLine = pool.get('meter.prepaid.line')
        Date = pool.get('ir.date')
        for payment in payments:
            if not payment.cancel_reason:
                raise PaymentError(gettext(
                        'meter_billing.msg_payment_reason',
                        payment=payment.rec_name))
        payments = [p for p in payments if p.state == 'posted']
        cls._check_balance_cancel(payments)
        cls._cancel(payments)
        Bill.update_paid(
            list({a.bill for p in payments for a in p.allocations}))
        reversals = [{
                'account': p.account.id,
                'date': Date.today(),
                'type': 'adjustment',
                'amount': -p.advance,
                'payment': p.id,
                'description': p.cancel_reason,
                } for p in payments if p.advance]
        if reversals:
            PrepaidLine.create(reversals)
            PrepaidLine.check_low_balance({p.account for p in payments})

    @classmethod
    def _check_balance_cancel(cls, payments):
        """Refuse to cancel the payments whose part on the prepaid balance
        has already been spent: the balance would go below zero."""
        pool = Pool()
        Account = pool.get('meter.account')
        advances = defaultdict(Decimal)
        for payment in payments:
            if payment.advance and payment.account.billing_mode == 'prepaid':
                advances[payment.account] += payment.advance
        balances = Account.get_balances(list(advances))
        for payment in payments:
            account = payment.account
            if account in advances and balances[account.id] < advances[
                    account]:
                raise PaymentError(gettext(
                        'meter_billing.msg_payment_cancel_spent',
                        payment=payment.rec_name,
                        advance=payment.advance,
                        account=account.rec_name,
                        balance=balances[account.id]))

    @classmethod
    @Workflow.transition('cancelled')
    def _cancel(cls, payments):
        pass


class PaymentAllocation(ModelSQL, ModelView):
    "The part of a payment given to a bill"
    __name__ = 'meter.payment.allocation'
    payment = fields.Many2One(
        'meter.payment', "Payment", required=True, ondelete='RESTRICT',
        readonly=True)
    bill = fields.Many2One(
        'meter.bill', "Bill", required=True, ondelete='RESTRICT',
        readonly=True)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True, readonly=True)
    payment_state = fields.Function(
        fields.Selection('get_payment_states', "Payment State"),
        'on_change_with_payment_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.payment, Index.Range())),
                Index(t, (t.bill, Index.Range())),
                })

    @classmethod
    def get_payment_states(cls):
        Payment = Pool().get('meter.payment')
        return Payment.fields_get(['state'])['state']['selection']

    @fields.depends('payment', '_parent_payment.state')
    def on_change_with_payment_state(self, name=None):
        return self.payment.state if self.payment else None


class ReceiptReport(Report):
    """The receipt (收据) of a payment; every print after the first is
    marked as a copy (复印件)."""
    __name__ = 'meter.payment.receipt'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Printing counts the prints, so it writes: not read-only.
        cls.__rpc__['execute'] = RPC(readonly=False)

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Payment = pool.get('meter.payment')
        payments = Payment.browse(ids)
        for payment in payments:
            if payment.state != 'posted':
                raise PaymentStateError(gettext(
                        'meter_billing.msg_payment_receipt_posted',
                        payment=payment.rec_name))
        # Counted before rendering: every print after the first is a copy
        for payment in payments:
            Payment.write([payment], {
                    'receipt_print_count': (
                        payment.receipt_print_count or 0) + 1,
                    })
        return super().execute(ids, data)

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['methods'] = centre_selection('meter.payment', 'method')
        context['amount_in_words'] = amount_in_words
        return context
