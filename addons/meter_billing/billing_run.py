# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, NamedTuple, Optional, Tuple

from sql import Literal
from sql.aggregate import Count

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import bulk_write
from .bill import NewBill, NewBillLine, NewBillMeter, NewBillUsage
from .exceptions import BillingError
from .rules import pricing
from .tariff import CATEGORIES

# Usage is priced with the decimals of the stored consumption
USAGE_DIGITS = 3
_USAGE_EXP = Decimal(1).scaleb(-USAGE_DIGITS)
# Free quota and yearly tiers look back at most this far for the last bill
_HISTORY_DAYS = 400
# The bills of the period before a run end within these days of its start
_RECENT_DAYS = 31


@dataclass(slots=True)
class MeterUsage:
    """A meter's confirmed readings in a period: the first previous value,
    the last value and the sum of their consumption"""
    meter: int
    kind: str
    multiplier: Optional[Decimal]
    previous_value: Optional[Decimal]
    value: Optional[Decimal]
    usage: Decimal


class Previous(NamedTuple):
    "What the last bill of an account leaves to the next for a kind"
    tier_usage: Decimal
    tier_year: Optional[dt.date]
    carried: Decimal


NO_PREVIOUS = Previous(Decimal(0), None, Decimal(0))


class AccountToBill(NamedTuple):
    "An account a run bills, with the usage of its meters"
    id: int
    campus: int
    category: str
    billing_mode: str
    replaces: Optional[int]
    meters: List[MeterUsage]


class Missing(NamedTuple):
    "An account a run does not bill, with the reason"
    account: int
    reason: str


class Gathered(NamedTuple):
    "What a billing run reads before pricing"
    accounts: List[AccountToBill]
    missing: List[Missing]
    previous: Dict[Tuple[int, str], Previous]
    tariffs: Dict[Tuple[str, str], object]


class Period(Workflow, ModelSQL, ModelView):
    "A billing period (账期), normally a calendar month"
    __name__ = 'meter.billing.period'
    name = fields.Char("Name", required=True)
    start_date = fields.Date(
        "Start Date", required=True,
        states={'readonly': Eval('state') != 'open'})
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states={'readonly': Eval('state') != 'open'})
    due_date = fields.Date(
        "Due Date",
        help="When the bills of the period fall due; "
        "by default the end date plus the payment term.")
    state = fields.Selection([
            ('open', "Open"),
            ('closed', "Closed"),
            ], "State", readonly=True, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('name_unique', Unique(t, t.name),
                'meter_billing.msg_period_name_unique'),
            ]
        cls._order.insert(0, ('start_date', 'DESC'))
        cls._transitions |= {('open', 'closed'), ('closed', 'open')}
        cls._buttons.update({
                'close': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'closed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'open'

    @fields.depends('start_date', 'end_date', 'name')
    def on_change_start_date(self):
        if self.start_date:
            next_month = (self.start_date.replace(day=28)
                + dt.timedelta(days=4)).replace(day=1)
            if not self.end_date:
                self.end_date = next_month - dt.timedelta(days=1)
            if not self.name:
                self.name = self.start_date.strftime('%Y-%m')

    @classmethod
    def validate_fields(cls, periods, field_names):
        super().validate_fields(periods, field_names)
        if field_names & {'start_date', 'end_date'}:
            for period in periods:
                overlapping = cls.search([
                        ('id', '!=', period.id),
                        ('start_date', '<=', period.end_date),
                        ('end_date', '>=', period.start_date),
                        ], limit=1)
                if overlapping:
                    raise BillingError(gettext(
                            'meter_billing.msg_period_overlap',
                            first=period.rec_name,
                            second=overlapping[0].rec_name))

    def get_due_date(self):
        pool = Pool()
        Configuration = pool.get('meter.billing.configuration')
        if self.due_date:
            return self.due_date
        return self.end_date + dt.timedelta(
            days=Configuration(1).payment_term_days)

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, periods):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, periods):
        pass


class Run(Workflow, ModelSQL, ModelView):
    """A billing run: bills a period for the chosen campuses and categories.

    Processing bills every selected account that has confirmed readings in
    the period and no bill for it yet (a cancelled bill does not count, so
    the account is billed again and the new bill replaces it); posted bills
    are never touched, so a run can be processed again safely.  The
    accounts without a confirmed reading, or whose usage has no tariff,
    are listed on the run.
    """
    __name__ = 'meter.billing.run'
    _states = {'readonly': Eval('state') != 'draft'}
    period = fields.Many2One(
        'meter.billing.period', "Period", required=True,
        domain=[('state', '=', 'open')], states=_states)
    campuses = fields.Many2Many(
        'meter.billing.run-meter.campus', 'run', 'campus', "Campuses",
        states=_states, help="Leave empty for all campuses.")
    categories = fields.MultiSelection(
        CATEGORIES, "Categories", states=_states,
        help="Leave empty for all categories.")
    bills = fields.One2Many('meter.bill', 'run', "Bills", readonly=True)
    missing = fields.One2Many(
        'meter.billing.run.missing', 'run', "Accounts Not Billed",
        readonly=True)
    bill_count = fields.Function(
        fields.Integer("Bills"), 'get_counts')
    missing_count = fields.Function(
        fields.Integer("Accounts Not Billed"), 'get_counts')
    state = fields.Selection([
            ('draft', "Draft"),
            ('processed', "Processed"),
            ('posted', "Posted"),
            ], "State", readonly=True, required=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('id', 'DESC'))
        cls._transitions |= {
            ('draft', 'processed'),
            ('processed', 'processed'),
            ('processed', 'posted'),
            ('posted', 'processed'),
            }
        cls._buttons.update({
                'process': {
                    'depends': ['state'],
                    },
                'post': {
                    'invisible': Eval('state') != 'processed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_categories(cls):
        return []

    def get_rec_name(self, name):
        return f'{self.period.rec_name} #{self.id}'

    @classmethod
    def get_counts(cls, runs, names):
        pool = Pool()
        Bill = pool.get('meter.bill')
        Missing = pool.get('meter.billing.run.missing')
        cursor = Transaction().connection.cursor()
        result = {n: dict.fromkeys([r.id for r in runs], 0) for n in names}
        if not runs:
            return result
        for name, Model in [('bill_count', Bill), ('missing_count', Missing)]:
            table = Model.__table__()
            if name not in names:
                continue
            counts = result[name]
            cursor.execute(*table.select(table.run, Count(table.id),
                    where=table.run.in_(list(counts)),
                    group_by=[table.run]))
            counts.update(cursor)
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('processed')
    def process(cls, runs):
        for run in runs:
            run._process()

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, runs):
        pool = Pool()
        Bill = pool.get('meter.bill')
        if not runs:
            return
        bill = Bill.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*bill.select(bill.id,
                where=bill.run.in_([r.id for r in runs])
                & (bill.state == 'draft'),
                order_by=[bill.id.asc]))
        Bill.post_ids([i for i, in cursor])

    def _account_query(self):
        "Return the SQL query of the ids of the accounts to bill"
        pool = Pool()
        Account = pool.get('meter.account')
        account = Account.__table__()
        where = account.active == Literal(True)
        if self.campuses:
            where &= account.campus.in_([c.id for c in self.campuses])
        if self.categories:
            where &= account.category.in_(list(self.categories))
        return account, where

    def _process(self):
        """Bill the accounts of the run in bulk: gather, price, store.

        The accounts, their readings and the state of their previous bills
        are gathered with one query each for all the accounts
        (_gather), the bills are priced in plain Python (_price, with
        rules/pricing.py) and stored with their rows through
        Bill.create_bulk (_store).
        """
        gathered = self._gather()
        bills, no_tariff = self._price(gathered)
        self._store(gathered.missing + no_tariff, bills)

    def _gather(self):
        "Return what pricing the run needs, as Gathered"
        pool = Pool()
        Bill = pool.get('meter.bill')
        Tariff = pool.get('meter.tariff')
        cursor = Transaction().connection.cursor()
        period = self.period
        start, end = period.start_date, period.end_date

        account, where = self._account_query()
        cursor.execute(*account.select(
                account.id, account.campus, account.category,
                account.billing_mode, where=where))
        accounts = {r[0]: r[1:] for r in cursor}

        bill = Bill.__table__()
        cursor.execute(*bill.select(bill.account, bill.state, bill.id,
                where=(bill.period == period.id),
                order_by=[bill.id.asc]))
        billed, replaces = set(), {}
        for account_id, state, bill_id in cursor:
            if state == 'cancelled':
                replaces[account_id] = bill_id
            else:
                billed.add(account_id)

        readings = self._period_readings(account, where, start, end)
        missing = [Missing(account_id, 'no_reading')
            for account_id in sorted(accounts)
            if account_id not in readings and account_id not in billed]
        to_bill = []
        for account_id in sorted(readings):
            if account_id in billed or account_id not in accounts:
                continue
            campus, category, billing_mode = accounts[account_id]
            to_bill.append(AccountToBill(account_id, campus, category,
                    billing_mode, replaces.get(account_id),
                    readings[account_id]))
        return Gathered(
            accounts=to_bill,
            missing=missing,
            previous=self._previous_usage(account, where, start),
            tariffs={(t.category, t.kind): t for t in Tariff.search([])})

    def _price(self, gathered):
        """Price the accounts gathered; return the NewBill values and the
        accounts not billed for want of a tariff (as Missing)."""
        pool = Pool()
        Tariff = pool.get('meter.tariff')
        period = self.period
        start, end = period.start_date, period.end_date
        due_date = period.get_due_date()
        # Accounts of a tariff with the same usage and the same state of
        # their previous bill get the same bill: each is priced once
        pricings, carry_over, priced = {}, {}, {}
        bills, missing = [], []
        for account in gathered.accounts:
            kinds = defaultdict(lambda: Decimal(0))
            for meter in account.meters:
                kinds[meter.kind] += meter.usage
            usages, lines = [], []
            total = Decimal(0)
            for kind in sorted(kinds):
                tariff = gathered.tariffs.get((account.category, kind))
                if tariff is None:
                    break
                if tariff.id not in pricings:
                    pricings[tariff.id] = tariff.get_pricing()
                    carry_over[tariff.id] = tariff.carry_over
                previous = gathered.previous.get(
                    (account.id, kind), NO_PREVIOUS)
                usage = kinds[kind].quantize(_USAGE_EXP)
                carried = previous.carried if carry_over[tariff.id] else 0
                key = (tariff.id, usage, previous.tier_usage,
                    previous.tier_year, carried)
                result = priced.get(key)
                if result is None:
                    try:
                        result = priced[key] = pricing.compute_bill(
                            pricings[tariff.id], start, end, usage,
                            digits=USAGE_DIGITS,
                            tier_usage=previous.tier_usage,
                            tier_year=previous.tier_year,
                            carried_quota=carried)
                    except pricing.PricingError as exception:
                        Tariff.raise_pricing_error(tariff, exception)
                total += result.total
                usages.append(NewBillUsage(kind, tariff.id, result.usage,
                        result.free_quantity, result.billable, result.total,
                        result.carry_out, result.tier_year,
                        result.tier_usage))
                lines.extend(NewBillLine(kind, line) for line in result.lines)
            else:
                bills.append(NewBill(account.id, account.campus,
                        account.category, account.billing_mode, period.id,
                        self.id, start, end, due_date, total,
                        account.replaces,
                        [NewBillMeter(m.meter, m.kind, m.previous_value,
                                m.value, m.multiplier, m.usage)
                            for m in account.meters],
                        usages, lines))
                continue
            missing.append(Missing(account.id, 'no_tariff'))
        return bills, missing

    def _store(self, missing, bills):
        """Replace the accounts not billed of the run by missing and create
        the bills through Bill.create_bulk."""
        pool = Pool()
        Bill = pool.get('meter.bill')
        RunMissing = pool.get('meter.billing.run.missing')
        ModelAccess = pool.get('ir.model.access')
        ModelAccess.check(RunMissing.__name__, 'create')
        cursor = Transaction().connection.cursor()
        table = RunMissing.__table__()
        cursor.execute(*table.delete(where=table.run == self.id))
        bulk_write.insert(RunMissing, ['run', 'account', 'reason'],
            [(self.id, m.account, m.reason) for m in missing])
        Bill.create_bulk(bills)

    @staticmethod
    def _period_readings(account, where, start, end):
        """Return {account id: [MeterUsage]} of the confirmed readings of
        the period of the confirmed meters, in one query for all the
        accounts."""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        meter = Meter.__table__()
        reading = Reading.__table__()
        cursor = Transaction().connection.cursor()
        begin = dt.datetime.combine(start, dt.time())
        finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        cursor.execute(*reading.join(meter,
                condition=reading.meter == meter.id
                ).join(account, condition=meter.account == account.id
                ).select(
                meter.account, meter.id, meter.kind, meter.multiplier,
                reading.previous_value, reading.value, reading.consumption,
                where=where
                # A meter recorded on site is not billed before the
                # office confirms it
                & (meter.state != 'draft')
                & (reading.state == 'confirmed')
                & (reading.taken_at >= begin)
                & (reading.taken_at < finish),
                order_by=[meter.account, meter.id, reading.taken_at,
                    reading.id]))
        result = defaultdict(list)
        current = None
        for (account_id, meter_id, kind, multiplier, previous_value, value,
                consumption) in cursor:
            consumption = Decimal(str(consumption or 0))
            if current is None or current.meter != meter_id:
                current = MeterUsage(meter_id, kind, multiplier,
                    previous_value, value, consumption)
                result[account_id].append(current)
            else:
                current.value = value
                current.usage += consumption
        return result

    @staticmethod
    def _previous_usage(account, where, start):
        """Return {(account id, kind): Previous} of the last bill before
        start of each account.

        The last bill is nearly always the one of the period just before:
        the bills ending in the _RECENT_DAYS before start are read first
        (by the index of their end date, their usages by their bill) and
        only the accounts with a kind of meter none of them billed look
        further back, up to _HISTORY_DAYS, so that a run reads a month of
        bills whatever the years behind it.
        """
        pool = Pool()
        Bill = pool.get('meter.bill')
        BillUsage = pool.get('meter.bill.usage')
        Meter = pool.get('meter.meter')
        bill = Bill.__table__()
        usage = BillUsage.__table__()
        cursor = Transaction().connection.cursor()
        result = {}

        def read(first, last, account_ids=None):
            condition = (where
                & (bill.state != 'cancelled')
                & (bill.end_date < last)
                & (bill.end_date >= first))
            if account_ids is not None:
                condition &= bill.account.in_(account_ids)
            cursor.execute(*bill.join(account,
                    condition=bill.account == account.id).select(
                    bill.id, bill.account, where=condition,
                    order_by=[bill.end_date.asc, bill.id.asc]))
            bills = {b: (i, a) for i, (b, a) in enumerate(cursor)}
            # The usages by the ids of their bills, so that they are found
            # by their index among years of them
            rows = []
            for sub_ids in grouped_slice(
                    list(bills), backend.MAX_QUERY_PARAMS):
                cursor.execute(*usage.select(
                        usage.bill, usage.kind, usage.tier_usage,
                        usage.tier_year, usage.carry_out,
                        where=usage.bill.in_(list(sub_ids))))
                rows.extend(cursor)
            rows.sort(key=lambda r: bills[r[0]][0])
            for bill_id, kind, tier_usage, tier_year, carry_out in rows:
                account_id = bills[bill_id][1]
                if isinstance(tier_year, str):
                    tier_year = dt.date.fromisoformat(tier_year)
                result[account_id, kind] = Previous(
                    _quantity(tier_usage), tier_year, _quantity(carry_out))

        recent = start - dt.timedelta(days=_RECENT_DAYS)
        read(recent, start)
        latest = dict(result)
        # The accounts with a meter of a kind their last bills did not
        # bill look further back for it
        meter = Meter.__table__()
        cursor.execute(*meter.join(account,
                condition=meter.account == account.id).select(
                meter.account, meter.kind, where=where))
        others = sorted({a for a, k in cursor if (a, k) not in latest})
        for sub_ids in grouped_slice(others, backend.MAX_QUERY_PARAMS):
            read(start - dt.timedelta(days=_HISTORY_DAYS), recent,
                list(sub_ids))
        result.update(latest)
        return result


def _quantity(value):
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(_USAGE_EXP)


class RunCampus(ModelSQL):
    "Billing Run - Campus"
    __name__ = 'meter.billing.run-meter.campus'
    run = fields.Many2One(
        'meter.billing.run', "Run", required=True, ondelete='CASCADE')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='CASCADE')


class RunMissing(ModelSQL, ModelView):
    "An account a billing run did not bill, with the reason"
    __name__ = 'meter.billing.run.missing'
    run = fields.Many2One(
        'meter.billing.run', "Run", required=True, ondelete='CASCADE')
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='CASCADE')
    campus = fields.Function(
        fields.Many2One('meter.campus', "Campus"), 'get_campus')
    reason = fields.Selection([
            ('no_reading', "No confirmed reading in the period"),
            ('no_tariff', "No tariff for its category and meter kind"),
            ], "Reason", required=True)

    def get_campus(self, name):
        return self.account.campus.id
