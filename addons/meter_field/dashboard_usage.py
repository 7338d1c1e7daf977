"""The dashboard's use kept stored (管理驾驶舱的用量汇总).

The board's two panels of use sum a year of confirmed readings: the top
consumers (by account and kind) and the trend (by campus and month).  On
five years of a large university that is 720,000 readings an opening, so
the sums are kept here, for the window of the board looked at today (the
twelve months up to this one on the centre's clock, ``since`` its first
day):

- every change to the confirmed readings computes again, from the
  readings, the sums it touches: the accounts and campuses of the meters
  whose readings changed, the months from the earliest one changed (a
  reading corrected changes the use of the later ones of its meter);
- a meter moved to another account, campus or kind does the same for the
  old and the new ones;
- the daily cron computes everything again: when the month turns the
  window moves, and a day's computation heals whatever a path of the
  future might forget.

A board looked at on another day, or before the first computation, reads
the readings (the panels' queries in dashboard.py)."""
import datetime as dt
import weakref
from contextlib import contextmanager

from sql import Literal, Null, Union
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond import backend
from trytond.model import Index, ModelSQL, fields
from trytond.modules.meter_base.meter import KINDS
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

# Above so many accounts a change computes every sum again: one pass over
# the window's readings costs less than thousands of lookups by meter
FULL_REFRESH = 5000
# The sums of a batch of readings grouped in memory rather than on disk
WORK_MEM = '64MB'
# Readings of a batch from which its sums hash their joins: the statistics
# of years of readings do not know the rows just inserted (analyzing that
# table costs more than the batch), so the planner expects a few hundred
# and looks up their meters one by one
LARGE_BATCH = 1000
# Room left in the pages of the accounts' sums: an import updates them
# all, in place when there is (no new index entries)
FILL_FACTOR = 50
# {transaction: depth} of the calls that tell the changes of their
# readings themselves (not the context: a task queued inside would carry it
# to the worker)
_deferring = weakref.WeakKeyDictionary()


@contextmanager
def deferring():
    """Leave the changes of the readings made inside to the caller, who
    tells them once, when it is done (creation, import, write: the
    recomputations inside them are covered)"""
    transaction = Transaction()
    _deferring[transaction] = _deferring.get(transaction, 0) + 1
    try:
        yield
    finally:
        _deferring[transaction] -= 1


def deferred():
    "Whether a caller of this transaction tells the changes itself"
    return _deferring.get(Transaction(), 0) > 0


def _in(column, ids):
    "The condition column in ids, NULL among them included"
    ids = list(ids)
    present = [i for i in ids if i is not None]
    condition = Literal(False)
    for sub_ids in grouped_slice(present, backend.MAX_QUERY_PARAMS):
        condition |= fields.SQL_OPERATORS['in'](column, list(sub_ids))
    if len(present) < len(ids):
        condition |= (column == Null)
    return condition


class Configuration(metaclass=PoolMeta):
    __name__ = 'meter.configuration'
    dashboard_since = fields.Date("Dashboard Use Since", readonly=True,
        help="The first day of the twelve months whose use the dashboard "
        "keeps stored; computed by the daily cron.")


def stored_since():
    "The first day of the window the sums are of, None before any"
    Configuration = Pool().get('meter.configuration')
    return Configuration(1).dashboard_since


class AccountUsage(ModelSQL):
    "The confirmed use of an account and kind since the board's window began"
    __name__ = 'meter.dashboard.account_usage'
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='CASCADE')
    kind = fields.Selection(KINDS, "Kind", required=True)
    since = fields.Date("Since", required=True)
    usage = fields.Numeric("Use", digits=(16, 3))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.account, Index.Equality())))

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        if backend.name == 'postgresql':
            cursor = Transaction().connection.cursor()
            cursor.execute('ALTER TABLE "%s" SET (fillfactor = %d)' % (
                    cls._table, FILL_FACTOR))

    @classmethod
    def refresh(cls, since, low, accounts=None):
        """Compute the sums of accounts (all when None) from the readings
        taken from low (the UTC start of since)"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        table = cls.__table__()
        meter = Meter.__table__()
        reading = Reading.__table__()
        cursor = Transaction().connection.cursor()
        where = ((reading.state == 'confirmed') & (reading.taken_at >= low)
            & (meter.account != Null))
        if accounts is None:
            cursor.execute(*table.delete())
        else:
            accounts = [a for a in accounts if a is not None]
            if not accounts:
                return
            cursor.execute(*table.delete(where=_in(table.account, accounts)))
            where &= _in(meter.account, accounts)
        cursor.execute(*table.insert(
                [table.account, table.kind, table.since, table.usage,
                    table.create_uid, table.create_date],
                reading.join(meter, condition=reading.meter == meter.id
                    ).select(meter.account, meter.kind,
                    cls.since.sql_cast(Literal(since)),
                    Sum(Coalesce(reading.consumption, 0)),
                    Literal(Transaction().user), CurrentTimestamp(),
                    where=where,
                    group_by=[meter.account, meter.kind])))

    @classmethod
    def add(cls, since, low, after):
        """Add to the sums the confirmed readings of ids above after taken
        from low"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        meter = Meter.__table__()
        reading = Reading.__table__()
        new = ((reading.id > after) & (reading.state == 'confirmed')
            & (reading.taken_at >= low))
        # A row for the accounts and kinds without one, then one pass of
        # the batch's use added
        other = cls.__table__()
        cursor.execute(*table.insert(
                [table.account, table.kind, table.since, table.usage,
                    table.create_uid, table.create_date],
                meter.select(meter.account, meter.kind,
                    cls.since.sql_cast(Literal(since)), Literal(0),
                    Literal(Transaction().user), CurrentTimestamp(),
                    where=(meter.account != Null)
                    & meter.id.in_(reading.select(reading.meter, where=new))
                    & ~Exists(other.select(Literal(1),
                            where=(other.account == meter.account)
                            & (other.kind == meter.kind))),
                    group_by=[meter.account, meter.kind])))
        reading = Reading.__table__()
        meter = Meter.__table__()
        delta = reading.join(meter, condition=reading.meter == meter.id
            ).select(meter.account.as_('account'),
                meter.kind.as_('kind'),
                Sum(Coalesce(reading.consumption, 0)).as_('usage'),
                where=(reading.id > after) & (reading.state == 'confirmed')
                & (reading.taken_at >= low),
                group_by=[meter.account, meter.kind])
        cursor.execute(*table.update([table.usage],
                [table.usage + delta.usage], from_=[delta],
                where=(table.account == delta.account)
                & (table.kind == delta.kind)))


class MonthUse:
    "The confirmed use of a campus in a month, by kind"
    __slots__ = ()
    campus = fields.Many2One('meter.campus', "Campus")
    month = fields.Date("Month")
    electricity = fields.Numeric("Electricity (kWh)", digits=(16, 3))
    water = fields.Numeric("Water (m³)", digits=(16, 3))
    hot_water = fields.Numeric("Hot Water (m³)", digits=(16, 3))
    readings = fields.Integer("Readings")


class MonthUsage(MonthUse, ModelSQL):
    "The confirmed use of a campus in a month of the board's window"
    __name__ = 'meter.dashboard.month_usage'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.month, Index.Range())))

    @classmethod
    def months(cls, ranges, Month, after=None):
        """The query of the confirmed use by campus and month of ranges
        [(first day, UTC start, UTC end)]: one range of the index on
        taken_at a month (see meter_field's reading); of the readings of
        ids above after only when given"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        meter = Meter.__table__()
        months = []
        for start, low, high in ranges:
            reading = Reading.__table__()
            where = ((reading.state == 'confirmed')
                & (reading.taken_at >= low) & (reading.taken_at < high))
            if after is not None:
                where &= reading.id > after
            months.append(reading.select(reading.id.as_('id'),
                    reading.meter.as_('meter'),
                    Month.sql_cast(Literal(start)).as_('month'),
                    Coalesce(reading.consumption, 0).as_('usage'),
                    where=where))
        rows = Union(*months, all_=True)
        return rows.join(meter, condition=rows.meter == meter.id), rows, meter

    @classmethod
    def _sums(cls, query, rows, meter, where=None):
        return query.select(meter.campus.as_('campus'),
            rows.month.as_('month'),
            *(Coalesce(Sum(Case((meter.kind == kind, rows.usage),
                            else_=Null)), 0).as_(kind)
                for kind, _ in KINDS),
            Count(rows.id).as_('readings'),
            where=where,
            group_by=[meter.campus, rows.month])

    @classmethod
    def add(cls, ranges, after):
        """Add to the sums of the months of ranges the confirmed readings
        of ids above after"""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        names = [k for k, _ in KINDS] + ['readings']
        # The batch's sums are a few rows (campuses by months): each is
        # added to its row, and the rows missing are inserted
        cursor.execute(*cls._sums(*cls.months(ranges, cls.month, after)))
        missing = []
        for campus, month, *values in cursor.fetchall():
            cursor.execute(*table.update(
                    [getattr(table, n) for n in names],
                    [getattr(table, n) + v for n, v in zip(names, values)],
                    where=(table.month == month) & (table.campus == campus)))
            if not cursor.rowcount:
                missing.append([campus, month, *values,
                        Transaction().user, CurrentTimestamp()])
        if missing:
            cursor.execute(*table.insert(
                    [table.campus, table.month]
                    + [getattr(table, n) for n in names]
                    + [table.create_uid, table.create_date],
                    missing))

    @classmethod
    def refresh(cls, ranges, campuses=None):
        """Compute the sums of campuses (all when None) in the months of
        ranges"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        if not ranges:
            return
        first = ranges[0][0]
        where = table.month >= first
        if campuses is not None:
            where &= _in(table.campus, campuses)
        cursor.execute(*table.delete(where=where))
        query, rows, meter = cls.months(ranges, cls.month)
        where = None
        if campuses is not None:
            where = _in(meter.campus, campuses)
        sums = cls._sums(query, rows, meter, where)
        names = [k for k, _ in KINDS] + ['readings']
        cursor.execute(*table.insert(
                [table.campus, table.month]
                + [getattr(table, n) for n in names]
                + [table.create_uid, table.create_date],
                sums.select(sums.campus, sums.month,
                    *(getattr(sums, n) for n in names),
                    Literal(Transaction().user), CurrentTimestamp())))


def today():
    "The day of the window the sums are kept for: today, the centre's"
    return Pool().get('ir.date').today()


def window(date):
    """Return the window of the board looked at on date: (its first day,
    its UTC start, [(first day, UTC start, UTC end)] of its months)"""
    from .dashboard import TREND_MONTHS, month_ranges, month_starts
    Configuration = Pool().get('meter.configuration')
    ranges = month_ranges(
        month_starts(date, TREND_MONTHS), Configuration.tzinfo())
    return ranges[0][0], ranges[0][1], ranges


def stored(date):
    "Whether the sums stored are those of the board looked at on date"
    if Transaction().context.get('dashboard_live'):
        return False
    return stored_since() == window(date)[0]


def refresh_all():
    "Compute every sum of today's window again"
    pool = Pool()
    AccountUsage = pool.get('meter.dashboard.account_usage')
    MonthUsage = pool.get('meter.dashboard.month_usage')
    Configuration = pool.get('meter.configuration')
    since, low, ranges = window(today())
    AccountUsage.refresh(since, low)
    MonthUsage.refresh(ranges)
    config = Configuration(1)
    if config.dashboard_since != since:
        config.dashboard_since = since
        config.save()


def changed(meters, start=None, accounts=(), campuses=()):
    """Compute again the sums the confirmed readings of meters (ids) from
    start (naive UTC, None: all of them) touch; accounts and campuses are
    those the meters had before (a meter moved)."""
    pool = Pool()
    AccountUsage = pool.get('meter.dashboard.account_usage')
    MonthUsage = pool.get('meter.dashboard.month_usage')
    Meter = pool.get('meter.meter')
    meters = {m for m in meters if m is not None}
    if not meters:
        return
    since, low, ranges = window(today())
    if stored_since() != since:
        # Nothing stored for this window: the boards read the readings
        # until the cron computes it
        return
    meter = Meter.__table__()
    cursor = Transaction().connection.cursor()
    accounts, campuses = set(accounts), set(campuses)
    for sub_ids in grouped_slice(list(meters), backend.MAX_QUERY_PARAMS):
        cursor.execute(*meter.select(meter.account, meter.campus,
                where=fields.SQL_OPERATORS['in'](meter.id, list(sub_ids)),
                group_by=[meter.account, meter.campus]))
        for account, campus in cursor:
            accounts.add(account)
            campuses.add(campus)
    accounts.discard(None)
    AccountUsage.refresh(since, low,
        accounts if len(accounts) <= FULL_REFRESH else None)
    if start is not None:
        ranges = [r for r in ranges if r[2] > start]
    MonthUsage.refresh(ranges, campuses)


def created(after, recomputed=()):
    """Add to the sums the readings of ids above after: a batch this
    transaction created in one go (set-based, without the ORM; see
    BulkResult.after), which computed again the readings of recomputed
    [(meter id, from)] (those after a reading it inserted before them)."""
    pool = Pool()
    AccountUsage = pool.get('meter.dashboard.account_usage')
    MonthUsage = pool.get('meter.dashboard.month_usage')
    Reading = pool.get('meter.reading')
    since, low, ranges = window(today())
    if stored_since() != since:
        return
    reading = Reading.__table__()
    cursor = Transaction().connection.cursor()
    # Grouped: PostgreSQL would otherwise look for the bounds along the
    # index on taken_at through the years before the batch
    cursor.execute(*reading.select(
            Min(reading.taken_at), Max(reading.taken_at),
            Count(reading.id),
            where=(reading.id > after) & (reading.state == 'confirmed'),
            group_by=[reading.state]))
    row = cursor.fetchone()
    if row:
        first, last = map(_datetime, row[:2])
        with _batch_settings(row[2] >= LARGE_BATCH):
            AccountUsage.add(since, low, after)
            # The months of the batch only: an import is of a month or two
            MonthUsage.add(
                [r for r in ranges if r[2] > first and r[1] <= last], after)
    if recomputed:
        changed([m for m, _ in recomputed],
            min(_datetime(s) for _, s in recomputed))


@contextmanager
def _batch_settings(large):
    """Give the queries of a batch WORK_MEM on PostgreSQL, and hash joins
    when it is large (see LARGE_BATCH)"""
    if backend.name != 'postgresql':
        yield
        return
    settings = {'work_mem': WORK_MEM}
    if large:
        settings['enable_nestloop'] = 'off'
    cursor = Transaction().connection.cursor()
    saved = {}
    for name, value in settings.items():
        cursor.execute(
            "SELECT current_setting(%s), set_config(%s, %s, TRUE)",
            (name, name, value))
        saved[name], _ = cursor.fetchone()
    yield
    for name, value in saved.items():
        cursor.execute("SELECT set_config(%s, %s, TRUE)", (name, value))


def _datetime(value):
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value
