# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Finance views computed by SQL from the bills and payments."""
import datetime as dt

from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case
from sql.functions import CurrentTimestamp

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.meter_base.meter import KINDS
from trytond.pool import Pool

from .payment import METHODS
from .tariff import CATEGORIES

AGES = [
    ('not_due', "Not Due"),
    ('1_30', "1-30 Days"),
    ('31_90', "31-90 Days"),
    ('91_180', "91-180 Days"),
    ('over_180', "Over 180 Days"),
    ]


def _standard_columns(id_column):
    return [
        id_column.as_('id'),
        Literal(0).as_('create_uid'),
        CurrentTimestamp().as_('create_date'),
        Literal(Null).as_('write_uid'),
        Literal(Null).as_('write_date'),
        ]


class Takings(ModelSQL, ModelView):
    "Daily takings per campus and method of the posted payments"
    __name__ = 'meter.billing.takings'
    date = fields.Date("Date")
    campus = fields.Many2One('meter.campus', "Campus")
    method = fields.Selection(METHODS, "Method")
    count = fields.Integer("Payments")
    amount = fields.Numeric("Amount", digits=(16, 2))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('campus', 'ASC'), ('method', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Payment = pool.get('meter.payment')
        payment = Payment.__table__()
        amount = cls.amount.sql_cast(Sum(payment.amount))
        return payment.select(
            *_standard_columns(Min(payment.id)),
            payment.date.as_('date'),
            payment.campus.as_('campus'),
            payment.method.as_('method'),
            Count(payment.id).as_('count'),
            amount.as_('amount'),
            where=payment.state == 'posted',
            group_by=[payment.date, payment.campus, payment.method])


class Arrears(ModelSQL, ModelView):
    "Amounts still due on posted bills, by age past their due date"
    __name__ = 'meter.billing.arrears'
    bill = fields.Many2One('meter.bill', "Bill")
    account = fields.Many2One('meter.account', "Account")
    campus = fields.Many2One('meter.campus', "Campus")
    category = fields.Selection(CATEGORIES, "Category")
    due_date = fields.Date("Due Date")
    amount = fields.Numeric("Amount Due", digits=(16, 2))
    age = fields.Selection(AGES, "Age", sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('due_date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Bill = pool.get('meter.bill')
        Date = pool.get('ir.date')
        bill = Bill.__table__()
        today = Date.today()

        def before(days):
            return today - dt.timedelta(days=days)
        age = Case(
            ((bill.due_date == Null) | (bill.due_date >= today), 'not_due'),
            (bill.due_date >= before(30), '1_30'),
            (bill.due_date >= before(90), '31_90'),
            (bill.due_date >= before(180), '91_180'),
            else_='over_180')
        return bill.select(
            *_standard_columns(bill.id),
            bill.id.as_('bill'),
            bill.account.as_('account'),
            bill.campus.as_('campus'),
            bill.category.as_('category'),
            bill.due_date.as_('due_date'),
            cls.amount.sql_cast(bill.amount - bill.paid_amount).as_('amount'),
            age.as_('age'),
            where=bill.state.in_(['posted', 'partially_paid']))


class Revenue(ModelSQL, ModelView):
    "Amount billed per period, account category and meter kind"
    __name__ = 'meter.billing.revenue'
    period = fields.Many2One('meter.billing.period', "Period")
    start_date = fields.Date("Start Date")
    category = fields.Selection(CATEGORIES, "Category")
    kind = fields.Selection(KINDS, "Kind")
    amount = fields.Numeric("Amount", digits=(16, 2))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('start_date', 'DESC'), ('category', 'ASC'), ('kind', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Bill = pool.get('meter.bill')
        Line = pool.get('meter.bill.line')
        bill = Bill.__table__()
        line = Line.__table__()
        return line.join(bill, condition=line.bill == bill.id).select(
            *_standard_columns(Min(line.id)),
            bill.period.as_('period'),
            Min(bill.start_date).as_('start_date'),
            bill.category.as_('category'),
            line.kind.as_('kind'),
            cls.amount.sql_cast(Sum(line.amount)).as_('amount'),
            where=~bill.state.in_(['draft', 'cancelled']),
            group_by=[bill.period, bill.category, line.kind])
