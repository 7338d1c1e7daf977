# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Reconciliation of a gateway's statement of a day with the online
payments posted: every transaction is matched to its payment by the
order number, and what differs is listed for finance."""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If

from .exceptions import PaymentGatewayError
from .rules import unionpay

STATUSES = [
    ('matched', "Matched"),
    ('not_posted', "Not Posted"),
    ('not_in_statement', "Not in Statement"),
    ('amount', "Amount Differs"),
    ('refunded', "Refunded at Gateway"),
    ]


class Reconciliation(Workflow, ModelSQL, ModelView):
    "The reconciliation of a gateway's statement of a day"
    __name__ = 'meter.payment.reconciliation'
    _states = {'readonly': Eval('state') != 'draft'}
    gateway = fields.Many2One(
        'meter.payment.gateway', "Gateway", required=True,
        ondelete='RESTRICT', states=_states)
    date = fields.Date("Date", required=True, states=_states)
    statement = fields.Binary(
        "Statement", filename='statement_name', states=_states,
        file_id='statement_id', store_prefix='meter_reconciliation',
        help="The gateway's statement of the day, downloaded from the "
        "gateway or uploaded.")
    statement_id = fields.Char("Statement ID", readonly=True)
    statement_name = fields.Char("Statement Name", states=_states)
    no_statement = fields.Boolean(
        "No Statement", readonly=True,
        help="The gateway has no statement of the day: it saw no "
        "transaction.")
    note = fields.Function(fields.Char(
            "Note", states={'invisible': ~Eval('no_statement', False)}),
        'get_note')
    lines = fields.One2Many(
        'meter.payment.reconciliation.line', 'reconciliation', "Lines",
        readonly=True)
    differences = fields.Function(
        fields.Integer("Differences"), 'get_differences')
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ], "State", required=True, readonly=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'done'), ('done', 'draft')}
        cls._buttons.update({
                'download': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reconcile': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'done',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_date(cls):
        Date = Pool().get('ir.date')
        return Date.today()

    def get_rec_name(self, name):
        return '%s %s' % (self.gateway.rec_name, self.date)

    @classmethod
    def default_no_statement(cls):
        return False

    def get_note(self, name):
        if self.no_statement:
            return gettext('meter_billing.msg_reconciliation_no_statement',
                gateway=self.gateway.rec_name, date=self.date)

    def get_differences(self, name):
        return sum(1 for l in self.lines if l.status != 'matched')

    @classmethod
    @ModelView.button
    def download(cls, reconciliations):
        """Download the statement of the day from the gateway; a day the
        gateway has none of is a day without transaction"""
        for reconciliation in reconciliations:
            try:
                name, data = reconciliation.gateway.client().statement(
                    reconciliation.date)
            except unionpay.GatewayError as exception:
                raise PaymentGatewayError(gettext(
                        'meter_billing.msg_reconciliation_download',
                        gateway=reconciliation.gateway.rec_name,
                        error=str(exception)))
            cls.write([reconciliation], {
                    'statement': data,
                    'statement_name': name,
                    'no_statement': data is None,
                    })

    @classmethod
    def write(cls, *args):
        # A statement uploaded replaces the gateway's "none"
        actions = iter(args)
        args = []
        for records, values in zip(actions, actions):
            if values.get('statement') and 'no_statement' not in values:
                values = dict(values, no_statement=False)
            args.extend((records, values))
        super().write(*args)

    @classmethod
    def _statement_lines(cls, reconciliation):
        "The StatementLines of the statement of the reconciliation"
        if not reconciliation.statement:
            if reconciliation.no_statement:
                return []
            raise PaymentGatewayError(gettext(
                    'meter_billing.msg_reconciliation_statement',
                    reconciliation=reconciliation.rec_name))
        try:
            return reconciliation.gateway.parse_statement(
                bytes(reconciliation.statement))
        except unionpay.GatewayError as exception:
            if exception.line:
                raise PaymentGatewayError(gettext(
                        'meter_billing.msg_reconciliation_bad_line',
                        reconciliation=reconciliation.rec_name,
                        line=exception.line, error=str(exception)))
            raise PaymentGatewayError(gettext(
                    'meter_billing.msg_reconciliation_bad_statement',
                    reconciliation=reconciliation.rec_name,
                    error=str(exception)))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def reconcile(cls, reconciliations):
        """Match the statement with the online payments posted on the day
        through the gateway; list every transaction and payment"""
        pool = Pool()
        Line = pool.get('meter.payment.reconciliation.line')
        Payment = pool.get('meter.payment')
        Line.delete([l for r in reconciliations for l in r.lines])
        to_create = []
        for reconciliation in reconciliations:
            transactions = cls._statement_lines(reconciliation)
            payments = Payment.search([
                    ('method', '=', 'online'),
                    ('state', '=', 'posted'),
                    ('online_order.gateway', '=', reconciliation.gateway.id),
                    ('date', '=', reconciliation.date),
                    ])
            by_number = defaultdict(list)
            for payment in payments:
                by_number[payment.online_order.number].append(payment)
            # A transaction of the statement may have been posted on
            # another day (a late notification): look for it anywhere
            others = Payment.search([
                    ('method', '=', 'online'),
                    ('state', '=', 'posted'),
                    ('online_order.gateway', '=', reconciliation.gateway.id),
                    ('online_order.number', 'in',
                        [l.order_id for l in transactions
                            if l.order_id not in by_number]),
                    ])
            for payment in others:
                by_number[payment.online_order.number].append(payment)
            seen = set()
            for line in transactions:
                found = by_number.get(line.order_id)
                payment = found[0] if found else None
                if line.kind == 'refund':
                    # The centre refunds nothing online: money given back
                    # at the gateway is for finance to look at
                    status = 'refunded'
                else:
                    seen.add(line.order_id)
                    if payment is None:
                        status = 'not_posted'
                    elif payment.amount != line.amount:
                        status = 'amount'
                    else:
                        status = 'matched'
                to_create.append({
                        'reconciliation': reconciliation.id,
                        'order_number': line.order_id,
                        'reference': line.reference,
                        'statement_amount': line.amount,
                        'payment': payment.id if payment else None,
                        'payment_amount': payment.amount if payment else None,
                        'status': status,
                        })
            for payment in payments:
                number = payment.online_order.number
                if number not in seen:
                    to_create.append({
                            'reconciliation': reconciliation.id,
                            'order_number': number,
                            'reference': payment.online_order.reference,
                            'payment': payment.id,
                            'payment_amount': payment.amount,
                            'status': 'not_in_statement',
                            })
        Line.create(to_create)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, reconciliations):
        pass


class ReconciliationLine(ModelSQL, ModelView):
    "A transaction of a statement or a payment, and how they match"
    __name__ = 'meter.payment.reconciliation.line'
    reconciliation = fields.Many2One(
        'meter.payment.reconciliation', "Reconciliation", required=True,
        ondelete='CASCADE', readonly=True)
    order_number = fields.Char("Order Number", readonly=True)
    reference = fields.Char("Gateway Reference", readonly=True)
    statement_amount = fields.Numeric(
        "Statement Amount", digits=(16, 2), readonly=True)
    payment = fields.Many2One(
        'meter.payment', "Payment", readonly=True, ondelete='RESTRICT')
    payment_amount = fields.Numeric(
        "Payment Amount", digits=(16, 2), readonly=True)
    status = fields.Selection(STATUSES, "Status", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('status', 'DESC'), ('id', 'ASC')]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('status') != 'matched', 'danger', '')),
            ]
