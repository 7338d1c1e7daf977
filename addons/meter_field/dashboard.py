"""The management centre's dashboard (管理驾驶舱): reporting models built on
set-based queries (table_query), shown as lists and charts on a board.

Each model has a campus, so that the campus record rules hold: a manager
of the east campus sees the east's figures only.  Dashboard.figures()
runs every query of the board at once (benchmarks time it)."""
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import DateTrunc

from trytond.model import Model, ModelSQL, ModelView, fields
from trytond.modules.meter_base.configuration import to_utc
from trytond.modules.meter_base.meter import KINDS, READING_METHODS
from trytond.modules.meter_billing.payment import METHODS
from trytond.modules.meter_service.sla import WorkingCalendar
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from . import dashboard_usage
from .meter import month_bounds

AGES = [
    ('not_due', "Not Due"),
    ('0_30', "0-30 Days"),
    ('31_60', "31-60 Days"),
    ('61_90', "61-90 Days"),
    ('over_90', "Over 90 Days"),
    ]
WAITING = [
    ('anomaly', "Readings with Anomalies"),
    ('evidence', "Evidence Failures"),
    ('binding', "Bindings Waiting over a Working Day"),
    ('transfer', "Bank Transfers to Review"),
    ]
CATEGORIES = [
    ('resident', "Resident"),
    ('unit', "Unit"),
    ('dormitory', "Dormitory"),
    ]
# The months of the trends by default
TREND_MONTHS = 12
# The consumers the dashboard lists
TOP_CONSUMERS = 20


def report_date():
    """The day the dashboard is looked at: the context's date or today on
    the centre's clock"""
    date = Transaction().context.get('date')
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return date or Pool().get('ir.date').today()


def add_months(date, months):
    month = date.year * 12 + date.month - 1 + months
    return dt.date(month // 12, month % 12 + 1, 1)


def month_starts(date, count):
    "The first days of the count months up to the month of date"
    first = dt.date(date.year, date.month, 1)
    return [add_months(first, -i) for i in reversed(range(count))]


def month_ranges(starts, zone):
    """The (first day, UTC start, UTC end) of each month of starts on the
    centre's clock"""
    ends = starts[1:] + [add_months(starts[-1], 1)]
    return [(start,
            to_utc(dt.datetime.combine(start, dt.time()), zone),
            to_utc(dt.datetime.combine(end, dt.time()), zone))
        for start, end in zip(starts, ends)]


def selection_text(records, name):
    """{id: the translated text of the selection field name} of records,
    for the charts, whose axes show a selection's value"""
    if not records:
        return {}
    Model = records[0].__class__
    selection = Model.fields_get([name])[name]['selection']
    if isinstance(selection, str):
        selection = getattr(Model, selection)()
    selection = dict(selection)
    return {r.id: selection.get(getattr(r, name), '') for r in records}


def _header(id_):
    return [id_.as_('id'),
        Literal(0).as_('create_uid'),
        Literal(Null).as_('create_date'),
        Literal(Null).as_('write_uid'),
        Literal(Null).as_('write_date')]


class Coverage(ModelSQL, ModelView):
    """The reading coverage of the current month: the active meters read
    and not read, by campus, building, reading method and kind"""
    __name__ = 'meter.dashboard.coverage'
    campus = fields.Many2One('meter.campus', "Campus")
    location = fields.Many2One('meter.location', "Building")
    reading_method = fields.Selection(READING_METHODS, "Reading Method")
    kind = fields.Selection(KINDS, "Kind")
    meters = fields.Integer("Meters")
    read_meters = fields.Integer("Read")
    unread = fields.Integer("Unread")
    coverage = fields.Function(
        fields.Numeric("Coverage (%)", digits=(5, 1)), 'get_coverage')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('unread', 'DESC'), ('campus', 'ASC'), ('id', 'ASC')]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('unread', 0) > 0, 'warning', '')),
            ]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Configuration = pool.get('meter.configuration')
        meter = Meter.__table__()
        reading = Reading.__table__()
        start, end = month_bounds(report_date(), Configuration.tzinfo())
        read = reading.select(reading.meter.as_('meter'),
            where=(reading.taken_at >= start) & (reading.taken_at < end)
            & (reading.state != 'rejected'),
            group_by=[reading.meter])
        return meter.join(read, 'LEFT', condition=read.meter == meter.id
            ).select(*_header(Min(meter.id)),
                meter.campus.as_('campus'),
                meter.location.as_('location'),
                meter.reading_method.as_('reading_method'),
                meter.kind.as_('kind'),
                Count(meter.id).as_('meters'),
                Count(read.meter).as_('read_meters'),
                (Count(meter.id) - Count(read.meter)).as_('unread'),
                where=meter.state == 'active',
                group_by=[meter.campus, meter.location,
                    meter.reading_method, meter.kind])

    def get_coverage(self, name):
        if not self.meters:
            return None
        return (Decimal(self.read_meters or 0) * 100 / self.meters
            ).quantize(Decimal('0.1'))


class Waiting(ModelSQL, ModelView):
    """What waits for the office by campus: readings with anomalies or
    failed evidence to review, bindings waiting beyond one working day,
    bank transfers to check"""
    __name__ = 'meter.dashboard.waiting'
    campus = fields.Many2One('meter.campus', "Campus")
    item = fields.Selection(WAITING, "Waiting")
    item_name = fields.Function(fields.Char("Waiting"), 'get_names')
    count = fields.Integer("Count")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('campus', 'ASC'), ('item', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_names(cls, records, names):
        return {n: selection_text(records, n[:-len('_name')]) for n in names}

    @classmethod
    def binding_cutoff(cls):
        """The moment (UTC) before which a binding still pending has waited
        beyond one working day: the start of the last working day before
        today on the common calendar"""
        pool = Pool()
        Calendar = pool.get('meter.calendar')
        Configuration = pool.get('meter.configuration')
        # The calendar is the office's, whoever looks at the dashboard
        with without_check_access():
            calendar = Calendar.for_campus(None)
        working = (calendar.working_calendar() if calendar
            else WorkingCalendar())
        day = report_date() - dt.timedelta(days=1)
        for _ in range(366):
            if working.is_working_day(day):
                break
            day -= dt.timedelta(days=1)
        return to_utc(dt.datetime.combine(day, dt.time()),
            Configuration.tzinfo())

    @classmethod
    def table_query(cls):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Binding = pool.get('meter.wechat.binding')
        Account = pool.get('meter.account')
        Payment = pool.get('meter.payment')
        meter = Meter.__table__()
        reading = Reading.__table__()
        binding = Binding.__table__()
        account = Account.__table__()
        payment = Payment.__table__()
        # The texts typed: PostgreSQL could not type a bare parameter
        def item(code):
            return (Cast(Literal(code), 'VARCHAR').as_('item'),
                Cast(Literal([c for c, _ in WAITING].index(code) + 1),
                    'INTEGER').as_('item_index'))
        draft = reading.join(meter, condition=reading.meter == meter.id)
        anomaly = draft.select(meter.campus.as_('campus'), *item('anomaly'),
            where=(reading.state == 'draft') & (reading.anomaly_count > 0))
        evidence = draft.select(meter.campus.as_('campus'),
            *item('evidence'),
            where=(reading.state == 'draft')
            & (reading.evidence == 'failed'))
        late = binding.join(account, condition=binding.account == account.id
            ).select(account.campus.as_('campus'), *item('binding'),
                where=(binding.state == 'pending')
                & (binding.requested_at < cls.binding_cutoff()))
        transfer = payment.select(payment.campus.as_('campus'),
            *item('transfer'), where=payment.state == 'waiting')
        union = Union(anomaly, evidence, late, transfer, all_=True)
        return union.select(*_header(union.campus * 10 + union.item_index),
            union.campus.as_('campus'),
            union.item.as_('item'),
            Count(union.item_index).as_('count'),
            group_by=[union.campus, union.item, union.item_index])


class WorkOrders(ModelSQL, ModelView):
    "The work orders by campus, state and kind, with the SLA breaches"
    __name__ = 'meter.dashboard.work_order'
    campus = fields.Many2One('meter.campus', "Campus")
    state = fields.Selection('get_states', "State")
    state_name = fields.Function(fields.Char("State"), 'get_names')
    kind = fields.Selection('get_kinds', "Kind")
    orders = fields.Integer("Work Orders")
    overdue = fields.Integer("SLA Breached",
        help="Open or processing without a reply after the deadline, or "
        "replied after it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('overdue', 'DESC'), ('orders', 'DESC'),
            ('id', 'ASC')]

    @classmethod
    def get_names(cls, records, names):
        return {n: selection_text(records, n[:-len('_name')]) for n in names}

    @classmethod
    def get_states(cls):
        WorkOrder = Pool().get('meter.work_order')
        return WorkOrder.fields_get(['state'])['state']['selection']

    @classmethod
    def get_kinds(cls):
        WorkOrder = Pool().get('meter.work_order')
        return WorkOrder.fields_get(['kind'])['kind']['selection']

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('overdue', 0) > 0, 'danger', '')),
            ]

    @classmethod
    def table_query(cls):
        WorkOrder = Pool().get('meter.work_order')
        order = WorkOrder.__table__()
        now = dt.datetime.now()
        # Late reply, or no reply yet past the deadline while open
        breached = (order.deadline != Null) & (
            ((order.replied_at != Null) & (order.replied_at > order.deadline))
            | ((order.replied_at == Null) & (order.deadline < now)
                & order.state.in_(['open', 'processing'])))
        return order.select(*_header(Min(order.id)),
            order.campus.as_('campus'),
            order.state.as_('state'),
            order.kind.as_('kind'),
            Count(order.id).as_('orders'),
            # No parameter in the CASE's result: PostgreSQL could not type
            Count(Case((breached, order.id), else_=Null)).as_('overdue'),
            group_by=[order.campus, order.state, order.kind])


class Consumption(dashboard_usage.MonthUse, ModelSQL, ModelView):
    """The consumption by month (on the centre's clock) and kind: the
    confirmed readings' use, by campus"""
    __name__ = 'meter.dashboard.consumption'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('campus', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        MonthUsage = Pool().get('meter.dashboard.month_usage')
        date = report_date()
        if dashboard_usage.stored(date):
            usage = MonthUsage.__table__()
            return usage.select(*_header(usage.id),
                usage.campus.as_('campus'),
                usage.month.as_('month'),
                *(getattr(usage, kind).as_(kind) for kind, _ in KINDS),
                usage.readings.as_('readings'))
        # One range of the confirmed readings per month, its first day a
        # constant: each month a scan of the index on taken_at (see
        # meter_field's reading), rather than the month of each of the
        # year's readings computed from the twelve ranges
        _, _, ranges = dashboard_usage.window(date)
        query, rows, meter = MonthUsage.months(ranges, cls.month)
        return query.select(*_header(Min(rows.id)),
            meter.campus.as_('campus'),
            rows.month.as_('month'),
            *(Coalesce(Sum(Case((meter.kind == kind, rows.usage),
                            else_=Null)), 0).as_(kind)
                for kind, _ in KINDS),
            Count(rows.id).as_('readings'),
            group_by=[meter.campus, rows.month])


class TopConsumer(ModelSQL, ModelView):
    "The accounts that used most over the last twelve months, by kind"
    __name__ = 'meter.dashboard.top_consumer'
    account = fields.Many2One('meter.account', "Account")
    campus = fields.Many2One('meter.campus', "Campus")
    category = fields.Selection(CATEGORIES, "Category")
    kind = fields.Selection(KINDS, "Kind")
    usage = fields.Numeric("Use", digits=(16, 3))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('usage', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Account = pool.get('meter.account')
        AccountUsage = pool.get('meter.dashboard.account_usage')
        account = Account.__table__()
        date = report_date()
        columns = [account.id.as_('account'),
            account.campus.as_('campus'),
            account.category.as_('category')]
        if dashboard_usage.stored(date):
            usage = AccountUsage.__table__()
            return usage.join(account,
                condition=usage.account == account.id
                ).select(*_header(usage.id), *columns,
                    usage.kind.as_('kind'),
                    usage.usage.as_('usage'))
        meter = Meter.__table__()
        reading = Reading.__table__()
        _, low, _ = dashboard_usage.window(date)
        # Joined before summed: a manager's campuses limit the meters
        # first, each read back from the index of its confirmed history
        # (a sum by meter before the join sums every campus's)
        return reading.join(meter, condition=reading.meter == meter.id
            ).join(account, condition=meter.account == account.id
            ).select(*_header(Min(reading.id)), *columns,
                meter.kind.as_('kind'),
                Sum(Coalesce(reading.consumption, 0)).as_('usage'),
                where=(reading.state == 'confirmed')
                & (reading.taken_at >= low),
                group_by=[account.id, account.campus, account.category,
                    meter.kind])


class Collection(ModelSQL, ModelView):
    "The payments taken (posted) by campus, month and method"
    __name__ = 'meter.dashboard.collection'
    campus = fields.Many2One('meter.campus', "Campus")
    month = fields.Date("Month")
    payments = fields.Integer("Payments")
    cash = fields.Numeric("Cash", digits=(16, 2))
    cheque = fields.Numeric("Cheque", digits=(16, 2))
    transfer = fields.Numeric("Bank Transfer", digits=(16, 2))
    amount = fields.Numeric("Total", digits=(16, 2))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('campus', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Payment = Pool().get('meter.payment')
        payment = Payment.__table__()
        low = month_starts(report_date(), TREND_MONTHS)[0]
        rows = payment.select(payment.id.as_('id'),
            payment.campus.as_('campus'),
            DateTrunc('month', payment.date).as_('month'),
            payment.method.as_('method'),
            payment.amount.as_('amount'),
            where=(payment.state == 'posted') & (payment.date >= low))
        return rows.select(*_header(Min(rows.id)),
            rows.campus.as_('campus'),
            cls.month.sql_cast(rows.month).as_('month'),
            Count(rows.id).as_('payments'),
            *(Coalesce(Sum(Case((rows.method == method, rows.amount),
                            else_=Null)), 0).as_(method)
                for method, _ in METHODS),
            Sum(rows.amount).as_('amount'),
            group_by=[rows.campus, rows.month])


class Arrears(ModelSQL, ModelView):
    """The bills left to pay by campus, category and age past their due
    date"""
    __name__ = 'meter.dashboard.arrears'
    campus = fields.Many2One('meter.campus', "Campus")
    category = fields.Selection(CATEGORIES, "Category")
    age = fields.Selection(AGES, "Age", sort=False)
    age_name = fields.Function(fields.Char("Age"), 'get_names')
    bills = fields.Integer("Bills")
    amount = fields.Numeric("Amount Due", digits=(16, 2))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('campus', 'ASC'), ('category', 'ASC'), ('age', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def get_names(cls, records, names):
        return {n: selection_text(records, n[:-len('_name')]) for n in names}

    @classmethod
    def table_query(cls):
        Bill = Pool().get('meter.bill')
        bill = Bill.__table__()
        today = report_date()
        due = Coalesce(bill.due_date, bill.end_date)
        bounds = [(today, 'not_due', 0), (today - dt.timedelta(days=30),
                '0_30', 1), (today - dt.timedelta(days=60), '31_60', 2),
            (today - dt.timedelta(days=90), '61_90', 3)]
        # The results typed: PostgreSQL could not type bare parameters
        age = Case(*((due >= d, Cast(Literal(code), 'VARCHAR'))
                for d, code, _ in bounds),
            else_=Cast(Literal('over_90'), 'VARCHAR'))
        index = Case(*((due >= d, Cast(Literal(i), 'INTEGER'))
                for d, _, i in bounds),
            else_=Cast(Literal(4), 'INTEGER'))
        rows = bill.select(bill.id.as_('id'),
            bill.campus.as_('campus'),
            bill.category.as_('category'),
            age.as_('age'),
            index.as_('age_index'),
            (Coalesce(bill.amount, 0) - Coalesce(bill.paid_amount, 0)
                ).as_('amount'),
            where=bill.state.in_(['posted', 'partially_paid']))
        return rows.select(*_header(Min(rows.id) * 10 + rows.age_index),
            rows.campus.as_('campus'),
            rows.category.as_('category'),
            rows.age.as_('age'),
            Count(rows.id).as_('bills'),
            Sum(rows.amount).as_('amount'),
            group_by=[rows.campus, rows.category, rows.age, rows.age_index])


class Dashboard(Model):
    """The management centre's figures: one call runs every query of the
    board, within the caller's record rules"""
    __name__ = 'meter.dashboard'

    @classmethod
    def figures(cls, campus=None, date=None):
        """Return {name: [row dict]} of the board's figures for campus (id
        or record; all the caller may see when None) on date (today)"""
        pool = Pool()
        Loss = pool.get('meter.loss')
        campus_id = getattr(campus, 'id', campus)
        domain = [('campus', '=', campus_id)] if campus_id else []
        context = {'date': date} if date else {}
        result = {}
        with Transaction().set_context(**context):
            for name, model, fields_, limit in [
                    ('coverage', 'meter.dashboard.coverage',
                        ['campus', 'location', 'reading_method', 'kind',
                            'meters', 'read_meters', 'unread'], None),
                    ('waiting', 'meter.dashboard.waiting',
                        ['campus', 'item', 'count'], None),
                    ('work_orders', 'meter.dashboard.work_order',
                        ['campus', 'state', 'kind', 'orders', 'overdue'],
                        None),
                    ('consumption', 'meter.dashboard.consumption',
                        ['campus', 'month', 'electricity', 'water',
                            'hot_water'], None),
                    ('top_consumers', 'meter.dashboard.top_consumer',
                        ['account', 'campus', 'kind', 'usage'],
                        TOP_CONSUMERS),
                    ('collections', 'meter.dashboard.collection',
                        ['campus', 'month', 'payments', 'cash', 'cheque',
                            'transfer', 'amount'],
                        None),
                    ('arrears', 'meter.dashboard.arrears',
                        ['campus', 'category', 'age', 'bills', 'amount'],
                        None),
                    ]:
                result[name] = cls._rows(
                    pool.get(model), domain, limit, fields_)
            result['losses'] = Loss.search_read(
                domain + [('flagged', '=', True)],
                fields_names=['period', 'meter', 'location', 'difference',
                    'share', 'threshold'])
        return result

    @classmethod
    def refresh_usage(cls):
        """Run by the cron: compute the use of the window of today's board
        from the readings (see dashboard_usage)"""
        dashboard_usage.refresh_all()

    @staticmethod
    def _rows(Panel, domain, limit, names):
        """Return the rows of Panel as search_read does, with one query:
        the search loads the stored fields of the rows it finds, and a
        read would run the panel's aggregate a second time"""
        rows = []
        for record in Panel.search(domain, limit=limit):
            row = {'id': record.id}
            for name in names:
                value = getattr(record, name)
                row[name] = value.id if isinstance(value, Model) else value
            rows.append(row)
        return rows
