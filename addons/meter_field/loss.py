"""Loss detection (跑冒滴漏): a building's main meter against the sum of its
sub-meters per billing period"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Column

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.meter_base.configuration import to_utc
from trytond.modules.meter_base.meter import KINDS
from trytond.modules.meter_billing import bulk_write
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import LossError

# The columns of a loss that compute() writes
COLUMNS = ('period', 'meter', 'campus', 'location', 'kind', 'start_date',
    'end_date', 'main_usage', 'sub_usage', 'sub_count', 'difference', 'share',
    'threshold', 'flagged', 'complete')
# The share of its main meter's use a building may lose by default (%)
DEFAULT_THRESHOLD = Decimal(5)
USAGE = Decimal('0.001')
SHARE = Decimal('0.01')


def interpolate(readings, moment):
    """Return the cumulative use of a meter at moment and whether it was
    bracketed by readings.

    readings are (taken_at, cumulative use) pairs in time order: the use
    at moment is prorated by time between the readings around it, so that
    meters read on different days compare over the same dates.  Before
    the first or after the last reading it is the nearest reading's, and
    not bracketed.
    """
    previous = None
    for taken_at, cumulative in readings:
        if taken_at == moment:
            return cumulative, True
        if taken_at > moment:
            if previous is None:
                return cumulative, False
            before, used = previous
            share = Decimal((moment - before).total_seconds()) / Decimal(
                (taken_at - before).total_seconds())
            return used + (cumulative - used) * share, True
        previous = taken_at, cumulative
    if previous is None:
        return None, False
    return previous[1], False


def period_use(readings, start, end):
    """Return the use of a meter from start to end (prorated) and whether
    readings bracketed both ends"""
    begin, begin_ok = interpolate(readings, start)
    finish, finish_ok = interpolate(readings, end)
    if begin is None:
        return Decimal(0), False
    return finish - begin, begin_ok and finish_ok


def differs(old, new):
    "Whether the value old read from the database differs from new"
    if isinstance(new, Decimal) and old is not None:
        old = Decimal(str(old))
    elif isinstance(new, bool):
        old = bool(old)
    elif isinstance(new, dt.date) and isinstance(old, str):
        old = dt.date.fromisoformat(old)
    return old != new


def cumulate(rows):
    """Return {meter: [(taken_at, cumulative use)]} of (meter, taken_at,
    consumption) rows ordered by meter and time"""
    result = defaultdict(list)
    totals = defaultdict(Decimal)
    for meter, taken_at, consumption in rows:
        if isinstance(taken_at, str):
            taken_at = dt.datetime.fromisoformat(taken_at)
        totals[meter] += Decimal(str(consumption or 0))
        result[meter].append((taken_at, totals[meter]))
    return result


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'
    parent_meter = fields.Many2One(
        'meter.meter', "Main Meter", ondelete='SET NULL',
        domain=[
            ('id', '!=', Eval('id', -1)),
            ('kind', '=', Eval('kind')),
            ('campus', '=', Eval('campus', -1)),
            ],
        help="The meter this one is a sub-meter of (a building's main "
        "meter): their difference is the building's loss.")
    sub_meters = fields.One2Many(
        'meter.meter', 'parent_meter', "Sub-Meters", readonly=True)

    @classmethod
    def validate(cls, meters):
        super().validate(meters)
        for meter in meters:
            meter.check_parent_meter()

    def check_parent_meter(self):
        "A main meter of the same kind and campus, never itself below"
        parent, seen = self.parent_meter, {self.id}
        if parent and (parent.kind != self.kind
                or parent.campus != self.campus):
            raise LossError(gettext('meter_field.msg_parent_meter_kind',
                    meter=self.rec_name, parent=parent.rec_name))
        while parent:
            if parent.id in seen:
                raise LossError(gettext(
                        'meter_field.msg_parent_meter_cycle',
                        meter=self.rec_name))
            seen.add(parent.id)
            parent = parent.parent_meter


class Location(metaclass=PoolMeta):
    __name__ = 'meter.location'
    loss_threshold = fields.Numeric(
        "Loss Threshold (%)", digits=(5, 2),
        domain=['OR', ('loss_threshold', '=', None),
            [('loss_threshold', '>=', 0), ('loss_threshold', '<=', 100)]],
        help="A main meter of the building whose loss (the main meter's "
        "use less its sub-meters') exceeds this share of its use is "
        "flagged; empty for 5 %.")


class Loss(ModelSQL, ModelView):
    """The loss of a main meter over a billing period: its use against
    the sum of its sub-meters', each prorated by days to the period's
    dates"""
    __name__ = 'meter.loss'
    period = fields.Many2One(
        'meter.billing.period', "Period", required=True, readonly=True,
        ondelete='CASCADE')
    meter = fields.Many2One(
        'meter.meter', "Main Meter", required=True, readonly=True,
        ondelete='CASCADE')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, readonly=True,
        ondelete='CASCADE')
    location = fields.Many2One(
        'meter.location', "Building", readonly=True, ondelete='SET NULL')
    kind = fields.Selection(KINDS, "Kind", readonly=True)
    start_date = fields.Date("Start Date", readonly=True)
    end_date = fields.Date("End Date", readonly=True)
    main_usage = fields.Numeric("Main Meter Use", digits=(16, 3),
        readonly=True)
    sub_usage = fields.Numeric("Sub-Meters' Use", digits=(16, 3),
        readonly=True)
    sub_count = fields.Integer("Sub-Meters", readonly=True)
    difference = fields.Numeric("Loss", digits=(16, 3), readonly=True)
    share = fields.Numeric("Loss Share (%)", digits=(16, 2), readonly=True)
    threshold = fields.Numeric("Threshold (%)", digits=(5, 2), readonly=True)
    flagged = fields.Boolean("Above Threshold", readonly=True)
    complete = fields.Boolean("Complete", readonly=True,
        help="Readings before and after both ends of the period exist for "
        "every meter; otherwise the nearest reading stood in.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('share', 'DESC'),
            ('id', 'ASC')]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('flagged', False), 'danger',
                    If(~Eval('complete', True), 'muted', ''))),
            ]

    @classmethod
    def compute(cls, periods):
        """Compute the losses of periods again, for every main meter
        (a meter with sub-meters), set-based: one query of the meters, one
        of their confirmed readings, the rows that changed written in bulk"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Location = pool.get('meter.location')
        Configuration = pool.get('meter.configuration')
        cursor = Transaction().connection.cursor()
        meter = Meter.__table__()
        main = Meter.__table__()
        location = Location.__table__()
        reading = Reading.__table__()
        if not periods:
            return
        zone = Configuration.tzinfo()

        cursor.execute(*meter.join(main,
                condition=meter.parent_meter == main.id
                ).join(location, 'LEFT',
                condition=main.location == location.id
                ).select(main.id, main.campus, main.location, main.kind,
                location.loss_threshold, meter.id,
                where=(main.state != 'draft') & (meter.state != 'draft'),
                order_by=[main.id, meter.id]))
        mains, subs = {}, defaultdict(list)
        for main_id, campus, location_id, kind, threshold, sub in cursor:
            mains[main_id] = (campus, location_id, kind, threshold)
            subs[main_id].append(sub)
        if not mains:
            cls._store(periods, [])
            return
        ids = list(mains) + [s for v in subs.values() for s in v]
        first = min(p.start_date for p in periods)
        last = max(p.end_date for p in periods)
        # Readings around the periods: a year before and after is more
        # than any reading interval
        low = to_utc(dt.datetime.combine(
                first - dt.timedelta(days=366), dt.time()), zone)
        high = to_utc(dt.datetime.combine(
                last + dt.timedelta(days=367), dt.time()), zone)
        cursor.execute(*reading.select(
                reading.meter, reading.taken_at, reading.consumption,
                where=reading.meter.in_(ids)
                & (reading.state == 'confirmed')
                & (reading.taken_at >= low) & (reading.taken_at < high),
                order_by=[reading.meter, reading.taken_at, reading.id]))
        history = cumulate(cursor)

        values = []
        for period in periods:
            start = to_utc(dt.datetime.combine(period.start_date, dt.time()),
                zone)
            end = to_utc(dt.datetime.combine(
                    period.end_date + dt.timedelta(days=1), dt.time()), zone)
            for main_id, (campus, location_id, kind, threshold) in (
                    mains.items()):
                used, complete = period_use(history[main_id], start, end)
                sub_used = Decimal(0)
                for sub in subs[main_id]:
                    use, ok = period_use(history[sub], start, end)
                    sub_used += use
                    complete &= ok
                difference = used - sub_used
                share = (difference / used * 100).quantize(SHARE) if used \
                    else Decimal(0)
                if threshold is None:
                    threshold = DEFAULT_THRESHOLD
                threshold = Decimal(str(threshold))
                values.append(dict(zip(COLUMNS, [period.id, main_id, campus,
                        location_id, kind, period.start_date,
                        period.end_date, used.quantize(USAGE),
                        sub_used.quantize(USAGE), len(subs[main_id]),
                        difference.quantize(USAGE), share, threshold,
                        share > threshold, complete])))
        cls._store(periods, values)

    @classmethod
    def _store(cls, periods, values):
        """Make the losses of periods those of values: a row that did not
        change is left as it is, so that computing again changes nothing"""
        # Every campus's losses, whoever computes them, read as rows: the
        # cron compares them all
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                *[Column(table, c) for c in COLUMNS],
                where=table.period.in_([p.id for p in periods])))
        existing = {(row[1], row[2]): row for row in cursor}
        to_create, to_write = [], []
        for value in values:
            row = existing.pop((value['period'], value['meter']), None)
            if row is None:
                to_create.append(value)
            elif any(differs(old, value[c])
                    for c, old in zip(COLUMNS, row[1:])):
                to_write.append((row[0], value))
        if existing:
            cursor.execute(*table.delete(where=table.id.in_(
                        [r[0] for r in existing.values()])))
        bulk_write.insert(cls, COLUMNS,
            [[v[c] for c in COLUMNS] for v in to_create])
        bulk_write.update(cls, COLUMNS,
            [[i] + [v[c] for c in COLUMNS] for i, v in to_write])

    @classmethod
    def compute_closed(cls):
        """Run by the cron: the losses of the last closed billing period,
        computed again (what has not changed stays as it was)"""
        Period = Pool().get('meter.billing.period')
        periods = Period.search([('state', '=', 'closed')],
            order=[('end_date', 'DESC'), ('id', 'DESC')], limit=1)
        cls.compute(periods)
        return periods

    @classmethod
    def flagged_count(cls, domain=None):
        "The number of losses above their threshold, within the rules"
        return cls.search_count([('flagged', '=', True)] + (domain or []))


class ComputeStart(ModelView):
    "Compute the losses"
    __name__ = 'meter.loss.compute.start'
    periods = fields.Many2Many(
        'meter.billing.period', None, None, "Periods", required=True)

    @classmethod
    def default_periods(cls):
        Period = Pool().get('meter.billing.period')
        periods = Period.search([
                ('start_date', '<=', dt.date.today()),
                ], order=[('start_date', 'DESC')], limit=3)
        return [p.id for p in periods]


class Compute(Wizard):
    "Compute the losses of billing periods"
    __name__ = 'meter.loss.compute'
    start = StateView('meter.loss.compute.start',
        'meter_field.loss_compute_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Compute", 'compute', 'tryton-ok', default=True),
            ])
    compute = StateTransition()

    def transition_compute(self):
        Loss = Pool().get('meter.loss')
        if not self.start.periods:
            raise LossError(gettext('meter_field.msg_loss_no_period'))
        Loss.compute(list(self.start.periods))
        return 'end'

