import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import List, NamedTuple, Optional

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import consumption as rules
from .configuration import to_local, to_utc
from .exceptions import (
    ReadingLowerError, ReadingStateError, ReadingValidationError)

SOURCES = [
    ('self', "Self Reading"),
    ('field', "Field Staff"),
    ('handheld', "Handheld"),
    ('collector', "Collector"),
    ('platform', "Energy Platform"),
    ('bluetooth', "Bluetooth"),
    ('import', "Import"),
    ('change', "Meter Change"),
    ]
ANOMALIES = [
    (rules.LOWER, "Lower than the previous reading"),
    (rules.ZERO, "No use over the period"),
    (rules.HIGH, "Use far above the recent median"),
    (rules.FUTURE, "Taken in the future"),
    (rules.BACKDATED, "Taken before the previous reading"),
    (rules.SAME_DAY, "Second reading on the same day"),
    ]


class Preview(NamedTuple):
    """What a reading would get, shown before it is submitted: its anomaly
    codes, its consumption and whether the register went round past its
    last value (a rollover) to give it"""
    anomalies: List[str]
    consumption: Optional[Decimal]
    rollover: bool


class Reading(Workflow, ModelSQL, ModelView):
    """A meter reading, whatever its source.

    It is created in draft with its evidence and checked at once: its
    consumption against the previous confirmed reading and its anomalies.
    A reading without anomaly is confirmed automatically when the
    configuration says so; any other waits for a reviewer.  Billing only
    reads confirmed readings.
    """
    __name__ = 'meter.reading'
    _states = {
        'readonly': Eval('state') != 'draft',
        }
    meter = fields.Many2One(
        'meter.meter', "Meter", required=True, ondelete='RESTRICT',
        states=_states)
    campus = fields.Function(
        fields.Many2One('meter.campus', "Campus"),
        'get_meter_values', searcher='search_campus')
    account = fields.Function(
        fields.Many2One('meter.account', "Account"),
        'get_meter_values', searcher='search_account')
    taken_at = fields.DateTime("Taken At", required=True, states=_states)
    value = fields.Numeric(
        "Value", digits=(16, 3), required=True,
        domain=[('value', '>=', 0)],
        states={
            'readonly': Eval('state') == 'rejected',
            },
        help="The register value read on the meter.")
    source = fields.Selection(
        SOURCES, "Source", required=True, states=_states)
    reader = fields.Many2One(
        'res.user', "Reader", states=_states,
        help="The user who read the meter or submitted the reading.")
    submitter = fields.Char(
        "Submitter", states=_states,
        help="Who submitted it from outside (resident, device, file).")
    photo = fields.Binary(
        "Photo", file_id='photo_id', store_prefix='meter_reading',
        states=_states)
    photo_id = fields.Char("Photo ID", readonly=True)
    previous_value = fields.Numeric(
        "Previous Value", digits=(16, 3), readonly=True)
    previous_taken_at = fields.DateTime("Previous Taken At", readonly=True)
    consumption = fields.Numeric(
        "Consumption", digits=(16, 3), readonly=True,
        help="(Value - previous confirmed value) × multiplier; empty when "
        "the value is lower than the previous one without a rollover.")
    rollover = fields.Boolean("Rollover", readonly=True)
    anomalies = fields.MultiSelection(ANOMALIES, "Anomalies", readonly=True)
    anomaly_count = fields.Integer("Anomaly Count", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('confirmed', "Confirmed"),
            ('rejected', "Rejected"),
            ], "State", readonly=True, required=True, sort=False)
    reject_reason = fields.Text("Reject Reason", readonly=True)
    reviewed_by = fields.Many2One('res.user', "Reviewed By", readonly=True)
    reviewed_at = fields.DateTime("Reviewed At", readonly=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('taken_at', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                # The readings of a meter by date (its form, the previous
                # reading), and its confirmed history as an import reads
                # it (the last reading, the recent use) from the index
                # alone rather than from rows spread over years of table.
                # One index for both: each reading imported is a write at
                # a random place of every index that starts by the meter.
                Index(t,
                    (t.meter, Index.Range()),
                    (t.taken_at, Index.Range()),
                    (t.id, Index.Range()),
                    include=[t.state, t.value, t.consumption,
                        t.previous_taken_at]),
                # The lists by date, the readings of a billing period and
                # of an import's dates, on years of history
                Index(t,
                    (t.taken_at, Index.Range()),
                    (t.id, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'draft'),
                })
        cls._transitions |= {
            ('draft', 'confirmed'),
            ('draft', 'rejected'),
            ('rejected', 'draft'),
            ('confirmed', 'draft'),
            }
        cls._buttons.update({
                'confirm': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') == 'draft',
                    'icon': If(Eval('state') == 'rejected',
                        'tryton-undo', 'tryton-back'),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __setup_indexes__(cls):
        super().__setup_indexes__()
        # The index Tryton adds for the meter's readings is the beginning
        # of the meter and date's one (Tryton tells only indexes of one
        # table object apart)
        cls._sql_indexes = {i for i in cls._sql_indexes
            if [str(e) for e, _ in i.expressions] != ['"meter"']}

    @classmethod
    def view_attributes(cls):
        "A reading with anomalies stands out in the lists"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('anomaly_count', 0) > 0, 'warning', ''),
                ['anomaly_count']),
            ]

    @classmethod
    def default_taken_at(cls):
        return dt.datetime.now()

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_source(cls):
        return 'field'

    @classmethod
    def default_reader(cls):
        return Transaction().user

    @classmethod
    def default_anomalies(cls):
        return []

    @classmethod
    def default_anomaly_count(cls):
        return 0

    @fields.depends('meter', '_parent_meter.campus')
    def on_change_with_campus(self, name=None):
        return self.meter.campus if self.meter else None

    @fields.depends('meter', '_parent_meter.account')
    def on_change_with_account(self, name=None):
        return self.meter.account if self.meter else None

    @classmethod
    def get_meter_values(cls, readings, names):
        """Return the campus and account of the readings' meters: one
        query for a page of readings, not a meter read per reading"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        reading = cls.__table__()
        meter = Meter.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {r.id: None for r in readings} for n in names}
        for sub_ids in grouped_slice(
                [r.id for r in readings], backend.MAX_QUERY_PARAMS):
            cursor.execute(*reading.join(meter,
                    condition=reading.meter == meter.id).select(
                    reading.id, meter.campus, meter.account,
                    where=reading.id.in_(list(sub_ids))))
            for reading_id, campus, account in cursor:
                if 'campus' in names:
                    result['campus'][reading_id] = campus
                if 'account' in names:
                    result['account'][reading_id] = account
        return result

    @classmethod
    def search_campus(cls, name, clause):
        return [('meter.campus',) + tuple(clause[1:])]

    @classmethod
    def search_account(cls, name, clause):
        return [('meter.account',) + tuple(clause[1:])]

    @classmethod
    def get_rec_name(cls, readings, name):
        """The meter and the time of the readings: their meters' names
        are read at once for a page of readings"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        reading = cls.__table__()
        cursor = Transaction().connection.cursor()
        rows = []
        for sub_ids in grouped_slice(
                [r.id for r in readings if r.id is not None and r.id >= 0],
                backend.MAX_QUERY_PARAMS):
            cursor.execute(*reading.select(
                    reading.id, reading.meter, reading.taken_at,
                    where=reading.id.in_(list(sub_ids))))
            rows.extend(cursor)
        meters = {m['id']: m['rec_name'] for m in Meter.read(
                list({m for _, m, _ in rows}), ['rec_name'])}
        result = {}
        for reading_id, meter, taken_at in rows:
            if isinstance(taken_at, str):
                taken_at = dt.datetime.fromisoformat(taken_at)
            result[reading_id] = (
                f'{meters[meter]} @ {taken_at:%Y-%m-%d %H:%M}')
        # A reading not saved yet is named from its own values
        for reading in readings:
            if reading.id not in result:
                result[reading.id] = (f'{reading.meter.rec_name} @ '
                    f'{reading.taken_at:%Y-%m-%d %H:%M}')
        return result

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('meter.rec_name',) + tuple(clause[1:])]

    @classmethod
    def create(cls, vlist):
        readings = super().create(vlist)
        cls.check_readings(readings)
        return readings

    @classmethod
    def write(cls, *args):
        # A changed value, date, meter or state changes the consumption of
        # every later reading of the meter: recompute from the earliest.
        actions = iter(args)
        to_recompute = []
        for readings, values in zip(actions, actions):
            if values.keys() & {'value', 'taken_at', 'meter', 'state'}:
                to_recompute.extend(readings)
        old = {r.id: (r.meter, r.taken_at) for r in to_recompute}
        super().write(*args)
        if to_recompute:
            starts = defaultdict(list)
            for reading in cls.browse(to_recompute):
                meter, taken_at = old[reading.id]
                starts[meter].append(taken_at)
                starts[reading.meter].append(reading.taken_at)
            for meter, dates in starts.items():
                cls.recompute(meter, min(dates))

    @classmethod
    def delete(cls, readings):
        for reading in readings:
            if reading.state == 'confirmed':
                raise ReadingStateError(gettext(
                        'meter_base.msg_reading_delete_confirmed',
                        reading=reading.rec_name))
        super().delete(readings)

    @classmethod
    def copy(cls, readings, default=None):
        default = default.copy() if default is not None else {}
        for name in ['state', 'reviewed_by', 'reviewed_at', 'reject_reason']:
            default.setdefault(name, None)
        return super().copy(readings, default=default)

    @classmethod
    def _validate(cls, readings, field_names=None):
        # Before the digits test of the field, which fails on an infinite
        # value and speaks of 16 digits: the register is the rule.
        if field_names is None or field_names & {'value', 'meter'}:
            for reading in readings:
                reading.check_value()
        super()._validate(readings, field_names)

    def check_value(self):
        """Refuse a value the register of the meter cannot show: at least
        10^digits (a typing or parsing error, never a reading) or not a
        finite number.  Every source of readings gets this rule; the
        bulk creation of reading_bulk applies it too."""
        value, meter = self.value, self.meter
        if value is None or not meter:
            return
        if not value.is_finite():
            raise ReadingValidationError(gettext(
                    'meter_base.msg_reading_value_not_finite',
                    value=value, meter=meter.rec_name))
        if value >= rules.register_size(meter.digits):
            raise ReadingValidationError(gettext(
                    'meter_base.msg_reading_value_digits',
                    value=value, meter=meter.rec_name, digits=meter.digits))

    @classmethod
    def check_readings(cls, readings):
        """Compute consumption and anomalies of new readings, then confirm
        those without anomaly when the configuration says so."""
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        now = dt.datetime.now()
        to_save = []
        for reading in readings:
            reading.compute_consumption()
            reading.anomalies = reading.find_anomalies(config, now)
            reading.anomaly_count = len(reading.anomalies)
            to_save.append(reading)
        cls.save(to_save)
        if config.auto_confirm:
            to_confirm = [r for r in readings
                if not r.anomalies and r.state == 'draft'
                and r.auto_confirmable()]
            # The system confirms, not the submitter: no button access
            # is needed for it.
            with without_check_access():
                cls.confirm(to_confirm)

    @classmethod
    def preview(cls, meter, value, source, taken_at=None):
        """Return the Preview (anomaly codes, consumption and rollover) a
        reading of value would get, without storing it: what the submitter
        is warned of before submitting.  taken_at defaults to now."""
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        now = dt.datetime.now()
        reading = cls(meter=meter, value=value, source=source,
            taken_at=taken_at or now.replace(microsecond=0))
        reading.compute_consumption()
        return Preview(reading.find_anomalies(Configuration(1), now),
            reading.consumption, bool(reading.rollover))

    def auto_confirmable(self):
        "Tell if the reading may be confirmed without a reviewer"
        return True

    def previous_confirmed(self):
        "Return the last confirmed reading of the meter taken before this"
        domain = [
            ('meter', '=', self.meter.id),
            ('state', '=', 'confirmed'),
            ('taken_at', '<=', self.taken_at),
            ]
        if self.id is not None and self.id >= 0:
            domain.append(('id', '!=', self.id))
        readings = self.search(
            domain, order=[('taken_at', 'DESC'), ('id', 'DESC')], limit=1)
        return readings[0] if readings else None

    def compute_consumption(self, previous=None):
        "Set consumption from the previous confirmed reading or the meter"
        if previous is None:
            previous = self.previous_confirmed()
        if previous:
            self.previous_value = previous.value
            self.previous_taken_at = previous.taken_at
        else:
            self.previous_value = self.meter.initial_value
            self.previous_taken_at = (
                dt.datetime.combine(self.meter.install_date, dt.time())
                if self.meter.install_date else None)
        self.consumption, self.rollover = rules.consumption(
            self.previous_value, self.value, self.meter.digits,
            self.meter.multiplier)

    def find_anomalies(self, config, now):
        "Return the anomaly codes of the reading"
        last = self.search([
                ('meter', '=', self.meter.id),
                ('state', '=', 'confirmed'),
                ('id', '!=', self.id),
                ], order=[('taken_at', 'DESC'), ('id', 'DESC')], limit=1)
        last_taken_at = last[0].taken_at if last else self.previous_taken_at
        # The day on the centre's clock (taken_at is UTC)
        zone = Pool().get('meter.configuration').tzinfo()
        midnight = dt.datetime.combine(
            to_local(self.taken_at, zone).date(), dt.time())
        same_day = self.search([
                ('meter', '=', self.meter.id),
                ('state', '!=', 'rejected'),
                ('id', '!=', self.id),
                ('source', '!=', 'change'),
                ('taken_at', '>=', to_utc(midnight, zone)),
                ('taken_at', '<', to_utc(
                        midnight + dt.timedelta(days=1), zone)),
                ], count=True)
        history = self.search([
                ('meter', '=', self.meter.id),
                ('state', '=', 'confirmed'),
                ('taken_at', '<', self.taken_at),
                ('previous_taken_at', '!=', None),
                ('consumption', '!=', None),
                ], order=[('taken_at', 'DESC'), ('id', 'DESC')],
            limit=config.median_window)
        history = [(r.consumption,
                rules.days_between(r.previous_taken_at, r.taken_at))
            for r in reversed(history)]
        return rules.anomalies(
            value=self.value, taken_at=self.taken_at, now=now,
            previous_value=self.previous_value,
            previous_taken_at=(
                last_taken_at if self.source != 'change'
                else self.previous_taken_at),
            consumption_value=self.consumption,
            history=history, same_day=bool(same_day),
            digits=self.meter.digits,
            high_factor=config.high_usage_factor,
            median_window=config.median_window,
            zero_days=config.zero_usage_days)

    @classmethod
    def recompute(cls, meter, start):
        """Recompute the consumption of the meter's readings from start.

        Used when a reading is corrected, confirmed or reopened: every
        later reading's previous value may have changed.
        """
        readings = cls.search([
                ('meter', '=', meter.id),
                ('taken_at', '>=', start),
                ('state', '!=', 'rejected'),
                ], order=[('taken_at', 'ASC'), ('id', 'ASC')])
        if not readings:
            return
        previous = readings[0].previous_confirmed()
        to_save = []
        for reading in readings:
            before = (reading.previous_value, reading.consumption,
                reading.rollover, reading.previous_taken_at)
            reading.compute_consumption(previous=previous or False)
            after = (reading.previous_value, reading.consumption,
                reading.rollover, reading.previous_taken_at)
            if before != after:
                to_save.append(reading)
            if reading.state == 'confirmed':
                previous = reading
        if to_save:
            # Save through ModelSQL to skip our write's recompute trigger.
            super(Reading, cls).write(*sum(([[r], {
                                'previous_value': r.previous_value,
                                'previous_taken_at': r.previous_taken_at,
                                'consumption': r.consumption,
                                'rollover': r.rollover,
                                }] for r in to_save), []))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, readings):
        cls.write(readings, {
                'reviewed_by': None,
                'reviewed_at': None,
                'reject_reason': None,
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, readings):
        for reading in readings:
            reading.compute_consumption()
            if reading.consumption is None:
                raise ReadingLowerError(gettext(
                        'meter_base.msg_reading_lower',
                        reading=reading.rec_name,
                        value=reading.value,
                        previous=reading.previous_value))
        user = Transaction().user
        now = dt.datetime.now()
        for reading in readings:
            if reading.anomalies:
                reading.reviewed_by = user
                reading.reviewed_at = now
        cls.save(readings)

    @classmethod
    @ModelView.button_action('meter_base.wizard_reading_reject')
    def reject(cls, readings):
        pass

    @classmethod
    @Workflow.transition('rejected')
    def do_reject(cls, readings, reason):
        cls.write(readings, {
                'reject_reason': reason,
                'reviewed_by': Transaction().user,
                'reviewed_at': dt.datetime.now(),
                })


class RejectStart(ModelView):
    "Reject readings: the reason"
    __name__ = 'meter.reading.reject.start'
    reason = fields.Text("Reason", required=True)


class Reject(Wizard):
    "Reject readings with a reason"
    __name__ = 'meter.reading.reject'
    start = StateView('meter.reading.reject.start',
        'meter_base.reading_reject_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reject", 'reject', 'tryton-ok', default=True),
            ])
    reject = StateTransition()

    def transition_reject(self):
        self.model.do_reject(
            [r for r in self.records if r.state == 'draft'],
            self.start.reason)
        return 'end'
