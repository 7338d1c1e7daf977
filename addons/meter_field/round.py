"""Reading rounds (抄表任务) and their log (抄表日志).

A round is one member of staff's reading work for a period: the meters to
read in route order, each read, still to read or skipped with a reason.
A reading of a line's meter taken in the round's period, by anyone and
from any source, links itself to the line (Reading.create / write in
reading.py): the round is what was actually read, not what was ticked.
Closing a round freezes it: what was left is the unread list of the
objective review (客观考核).
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Min
from sql.conditionals import Case

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.modules.meter_base import consumption as rules
from trytond.modules.meter_base.configuration import to_local, to_utc
from trytond.modules.meter_base.meter import KINDS
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import RoundError
from .export import table_workbook
from .sync import IdempotentMixin

STATES = [
    ('planned', "Planned"),
    ('in_progress', "In Progress"),
    ('done', "Done"),
    ('closed', "Closed"),
    ]
LINE_STATES = [
    ('to_read', "To Read"),
    ('read', "Read"),
    ('skipped', "Skipped"),
    ]
SKIP_REASONS = [
    ('no_access', "No Access"),
    ('nobody_home', "Nobody Home"),
    ('broken', "Meter Broken"),
    ('blocked', "Meter Blocked"),
    ('unreadable', "Register Unreadable"),
    ('other', "Other"),
    ]
# The rounds whose lines still follow the readings: a closed one is the
# record of what was done
OPEN_STATES = {'planned', 'in_progress', 'done'}
MAX_SKIP_NOTE = 200


def month_start(date):
    return date.replace(day=1)


def month_end(date):
    following = (date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def period_bounds(start_date, end_date, zone):
    """Return the naive UTC moments (as stored) from the start of
    start_date to the end of end_date on the centre's clock"""
    return (to_utc(dt.datetime.combine(start_date, dt.time()), zone),
        to_utc(dt.datetime.combine(
                end_date + dt.timedelta(days=1), dt.time()), zone))


class Round(Workflow, ModelSQL, ModelView):
    """A reading round (抄表任务): the meters one member of staff reads in a
    period, in route order.

    Planned, it is started by its staff (or by its first reading or
    skip); it is done when no meter is left to read and closed, with who,
    when and the round's notes (日志记录), by its staff or the office.
    """
    __name__ = 'meter.field.round'
    _states = {
        'readonly': Eval('state') == 'closed',
        }
    name = fields.Char("Name", states=_states)
    staff = fields.Many2One(
        'res.user', "Staff", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'planned',
            })
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'planned',
            })
    start_date = fields.Date(
        "Start Date", required=True,
        states={
            'readonly': Eval('state') != 'planned',
            })
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states={
            'readonly': Eval('state') != 'planned',
            })
    route = fields.Many2One(
        'meter.field.route', "Route", readonly=True, ondelete='SET NULL')
    lines = fields.One2Many(
        'meter.field.round.line', 'round', "Meters",
        states=_states)
    notes = fields.Text("Notes", states=_states,
        help="The log of the round: what staff met on the way.")
    state = fields.Selection(
        STATES, "State", readonly=True, required=True, sort=False)
    started_at = fields.DateTime("Started At", readonly=True)
    closed_at = fields.DateTime("Closed At", readonly=True)
    closed_by = fields.Many2One('res.user', "Closed By", readonly=True)
    line_count = fields.Function(fields.Integer("Meters"), 'get_counts')
    read_count = fields.Function(fields.Integer("Read"), 'get_counts')
    skipped_count = fields.Function(fields.Integer("Skipped"), 'get_counts')
    to_read_count = fields.Function(fields.Integer("To Read"), 'get_counts')
    progress = fields.Function(fields.Char("Progress"), 'get_counts')
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('staff', 'ASC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.staff, Index.Equality()),
                    (t.start_date, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['planned', 'in_progress'])),
                })
        cls._transitions |= {
            ('planned', 'in_progress'),
            ('in_progress', 'done'),
            ('done', 'in_progress'),
            ('in_progress', 'closed'),
            ('done', 'closed'),
            ('closed', 'in_progress'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'planned',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': ~Eval('state').in_(['in_progress', 'done']),
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'closed',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'add_meters': {
                    'invisible': Eval('state') == 'closed',
                    'icon': 'tryton-add',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        "A round with meters left to read stands out in the lists"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'closed',
                    If(Eval('to_read_count', 0) > 0, 'warning', 'muted'),
                    ''),
                ['state', 'to_read_count']),
            ]

    @classmethod
    def default_state(cls):
        return 'planned'

    @classmethod
    def default_start_date(cls):
        return month_start(Pool().get('ir.date').today())

    @classmethod
    def default_end_date(cls):
        return month_end(Pool().get('ir.date').today())

    @classmethod
    def default_campus(cls):
        campuses = Pool().get('res.user').get_meter_campuses()
        return campuses[0] if len(campuses) == 1 else None

    def get_rec_name(self, name):
        text = '%s %s' % (
            self.staff.rec_name, self.start_date.strftime('%Y-%m'))
        return '%s %s' % (text, self.name) if self.name else text

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('name',) + tuple(clause[1:]),
            ('staff.rec_name',) + tuple(clause[1:]),
            ]

    @classmethod
    def get_counts(cls, rounds, names):
        pool = Pool()
        Line = pool.get('meter.field.round.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        counts = {r.id: defaultdict(int) for r in rounds}
        for sub_rounds in grouped_slice(rounds):
            cursor.execute(*line.select(
                    line.round, line.state, Count(line.id),
                    where=line.round.in_([r.id for r in sub_rounds]),
                    group_by=[line.round, line.state]))
            for round_id, state, count in cursor:
                counts[round_id][state] = count
        result = {n: {} for n in names}
        for round_ in rounds:
            count = counts[round_.id]
            total = sum(count.values())
            values = {
                'line_count': total,
                'read_count': count['read'],
                'skipped_count': count['skipped'],
                'to_read_count': count['to_read'],
                'progress': '%s/%s' % (count['read'], total),
                }
            for name in names:
                result[name][round_.id] = values[name]
        return result

    @property
    def period_bounds(self):
        "The naive UTC moments of the start and the end of the period"
        Configuration = Pool().get('meter.configuration')
        return period_bounds(
            self.start_date, self.end_date, Configuration.tzinfo())

    @classmethod
    def copy(cls, rounds, default=None):
        default = default.copy() if default is not None else {}
        for name in ['started_at', 'closed_at', 'closed_by', 'notes']:
            default.setdefault(name, None)
        default.setdefault('lines.reading', None)
        default.setdefault('lines.state', 'to_read')
        for name in ['skip_reason', 'skip_note', 'skipped_at', 'skipped_by']:
            default.setdefault('lines.' + name, None)
        return super().copy(rounds, default=default)

    @classmethod
    def create(cls, vlist):
        rounds = super().create(vlist)
        cls.link_readings(rounds)
        return rounds

    @classmethod
    def write(cls, *args):
        super().write(*args)
        actions = iter(args)
        relinked = []
        for rounds, values in zip(actions, actions):
            if values.keys() & {'lines', 'start_date', 'end_date'}:
                relinked.extend(rounds)
        if relinked:
            cls.link_readings(cls.browse(relinked))

    @classmethod
    def delete(cls, rounds):
        for round_ in rounds:
            if round_.state != 'planned':
                raise RoundError(gettext(
                        'meter_field.msg_round_delete_started',
                        round=round_.rec_name))
        super().delete(rounds)

    @classmethod
    def link_readings(cls, rounds):
        """Link to the lines of the open rounds the last reading of their
        meter in the period, as the readings came before the lines"""
        Line = Pool().get('meter.field.round.line')
        lines = [l for r in rounds if r.state in OPEN_STATES for l in r.lines]
        Line.link(lines)

    @classmethod
    def fill(cls, rounds, meters):
        """Add to each round the meters it does not have yet, after its last
        line in the order given"""
        Line = Pool().get('meter.field.round.line')
        to_create = []
        for round_ in rounds:
            if round_.state == 'closed':
                raise RoundError(gettext(
                        'meter_field.msg_round_closed',
                        round=round_.rec_name))
            present = {l.meter.id for l in round_.lines}
            sequence = max((l.sequence or 0 for l in round_.lines), default=0)
            for meter in meters:
                if meter.id in present:
                    continue
                if meter.campus != round_.campus:
                    raise RoundError(gettext(
                            'meter_field.msg_round_meter_campus',
                            meter=meter.rec_name, round=round_.rec_name))
                present.add(meter.id)
                sequence += 1
                to_create.append({
                        'round': round_.id,
                        'meter': meter.id,
                        'sequence': sequence,
                        })
        lines = Line.create(to_create)
        Line.link(lines)
        return lines

    @classmethod
    def meter_domain(cls, campus, location=None, kind=None,
            reading_method=None):
        """The domain of the active meters of campus to read, under
        location (a building or any place, its children included), of
        kind and reading method when given"""
        domain = [
            ('campus', '=', campus.id),
            ('state', '=', 'active'),
            ]
        if location:
            domain.append(('location', 'child_of', [location.id], 'parent'))
        if kind:
            domain.append(('kind', '=', kind))
        if reading_method:
            domain.append(('reading_method', '=', reading_method))
        return domain

    @classmethod
    def route_order(cls):
        "The order of the meters along a route: by place, then by number"
        return [('location.name', 'ASC'), ('location', 'ASC'),
            ('number', 'ASC')]

    @classmethod
    def update_progress(cls, rounds):
        """A round in progress with no meter left to read is done; a done
        round with a meter to read again is in progress"""
        rounds = cls.browse(rounds)
        # Counted afresh: the lines were just written
        counts = cls.get_counts(rounds, ['line_count', 'to_read_count'])
        done, again = [], []
        for round_ in rounds:
            total = counts['line_count'][round_.id]
            to_read = counts['to_read_count'][round_.id]
            if round_.state == 'in_progress' and total and not to_read:
                done.append(round_)
            elif round_.state == 'done' and to_read:
                again.append(round_)
        if done:
            cls.done(done)
        if again:
            cls.resume(again)

    @classmethod
    @ModelView.button
    @Workflow.transition('in_progress')
    def start(cls, rounds):
        now = dt.datetime.now().replace(microsecond=0)
        cls.write([r for r in rounds if not r.started_at],
            {'started_at': now})

    @classmethod
    @Workflow.transition('in_progress')
    def resume(cls, rounds):
        "Back in progress: a meter to read again, or reopened"
        pass

    @classmethod
    @Workflow.transition('done')
    def done(cls, rounds):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, rounds):
        cls.write(rounds, {
                'closed_at': dt.datetime.now().replace(microsecond=0),
                'closed_by': Transaction().user,
                })

    @classmethod
    @ModelView.button
    def reopen(cls, rounds):
        """Reopen closed rounds: their lines follow the readings again,
        those taken since the closing included"""
        rounds = [r for r in rounds if r.state == 'closed']
        cls.resume(rounds)
        cls.write(rounds, {'closed_at': None, 'closed_by': None})
        rounds = cls.browse(rounds)
        cls.link_readings(rounds)
        cls.update_progress(rounds)

    @classmethod
    def of_staff(cls, user, round_id):
        """Return the round of id that user reads, within their record
        rules, or None: another's round is not found"""
        rounds = cls.search([
                ('id', '=', round_id),
                ('staff', '=', user.id),
                ], limit=1)
        return rounds[0] if rounds else None

    @classmethod
    def staff_rounds(cls, user, closed_limit=10):
        """Return the rounds of user still to work, the latest period first,
        and the last closed ones"""
        open_ = cls.search([
                ('staff', '=', user.id),
                ('state', '!=', 'closed'),
                ], order=[('start_date', 'DESC'), ('id', 'ASC')])
        closed = cls.search([
                ('staff', '=', user.id),
                ('state', '=', 'closed'),
                ], order=[('closed_at', 'DESC'), ('id', 'DESC')],
            limit=closed_limit)
        return open_, closed

    def line_of(self, line_id):
        "Return the line of id of the round, or None"
        for line in self.lines:
            if line.id == line_id:
                return line
        return None

    @classmethod
    def keep_notes(cls, round_, notes):
        "Keep the notes (日志记录) typed for the round"
        if round_.state == 'closed':
            raise RoundError(gettext(
                    'meter_field.msg_round_closed', round=round_.rec_name))
        cls.write([round_], {'notes': (notes or '').strip() or None})

    @classmethod
    def close_with_notes(cls, round_, notes):
        """Close the round as its staff does on the phone, keeping the
        notes typed with it"""
        if round_.state not in {'in_progress', 'done', 'planned'}:
            raise RoundError(gettext(
                    'meter_field.msg_round_closed', round=round_.rec_name))
        notes = (notes or '').strip()
        if notes != (round_.notes or ''):
            cls.write([round_], {'notes': notes or None})
        if round_.state == 'planned':
            cls.start([round_])
        cls.close([round_])

    @classmethod
    @ModelView.button_action('meter_field.wizard_round_fill')
    def add_meters(cls, rounds):
        pass

    def field_data(self):
        """The round as a phone carries it to work without signal: its
        meters in route order with their state, the limits the anomaly
        check of a reading needs (meter_base's consumption rules) and the
        request frame of the meters read over Bluetooth with the bridges
        to look for, as a JSON-able dict"""
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        Bluetooth = pool.get('meter.field.bluetooth.configuration')
        Reading = pool.get('meter.reading')
        config = Configuration(1)
        meters = [l.meter for l in self.lines]
        limits = reading_limits(meters, config)
        requests = Reading.bluetooth_requests(meters)
        return {
            'id': self.id,
            'name': self.rec_name,
            'state': self.state,
            'start_date': self.start_date.isoformat(),
            'end_date': self.end_date.isoformat(),
            'progress': self.progress,
            'rules': {
                'high_usage_factor': str(config.high_usage_factor),
                'zero_usage_days': config.zero_usage_days,
                'rollover_high': str(rules.ROLLOVER_HIGH),
                'rollover_low': str(rules.ROLLOVER_LOW),
                },
            'bluetooth': Bluetooth(1).phone_settings(),
            'lines': [{
                    'id': l.id,
                    'sequence': l.sequence,
                    'state': l.state,
                    'skip_reason': l.skip_reason,
                    'meter': {
                        'id': l.meter.id,
                        'number': l.meter.number,
                        'barcode': l.meter.barcode,
                        'kind': l.meter.kind,
                        'location': (l.meter.location.rec_name
                            if l.meter.location else None),
                        'place': l.meter.place,
                        'digits': l.meter.digits,
                        'decimals': l.meter.decimals,
                        'multiplier': str(l.meter.multiplier),
                        # The request frame read over Bluetooth, or None
                        'bluetooth': requests[l.meter.id],
                        },
                    'limits': limits[l.meter.id],
                    } for l in self.lines],
            }


def reading_limits(meters, config):
    """Return per meter id what the anomaly check of a new reading compares
    with: the last confirmed value and its time, and the highest use per
    day before a reading is flagged high (None without enough history)"""
    Reading = Pool().get('meter.reading')
    result = {}
    for meter in meters:
        readings = Reading.search([
                ('meter', '=', meter.id),
                ('state', '=', 'confirmed'),
                ], order=[('taken_at', 'DESC'), ('id', 'DESC')],
            limit=config.median_window + 1)
        rates = [r.consumption / rules.days_between(
                    r.previous_taken_at, r.taken_at)
            for r in reversed(readings)
            if r.consumption is not None and r.previous_taken_at
            and rules.days_between(r.previous_taken_at, r.taken_at)
            <= rules.MEDIAN_MAX_DAYS]
        reference = rules.recent_median(rates, config.median_window)
        last = readings[0] if readings else None
        result[meter.id] = {
            'last_value': str(last.value if last else meter.initial_value),
            'last_taken_at': (last.taken_at.isoformat()
                if last else None),
            'max_daily_use': (str((reference * config.high_usage_factor)
                    .quantize(Decimal('0.001'))) if reference else None),
            }
    return result


class RoundLine(IdempotentMixin, sequence_ordered(), ModelSQL, ModelView):
    """A meter of a round (抄表日志): to read, read (with the reading that
    read it) or skipped with a reason; a skip sent from a phone keeps its
    idempotency key"""
    __name__ = 'meter.field.round.line'
    round = fields.Many2One(
        'meter.field.round', "Round", required=True, ondelete='CASCADE')
    meter = fields.Many2One(
        'meter.meter', "Meter", required=True, ondelete='RESTRICT',
        domain=[
            ('campus', '=', Eval('campus', -1)),
            ],
        states={
            'readonly': Eval('state') != 'to_read',
            })
    campus = fields.Function(
        fields.Many2One('meter.campus', "Campus"), 'on_change_with_campus')
    location = fields.Function(
        fields.Many2One('meter.location', "Building"),
        'get_meter_field', searcher='search_meter_field')
    kind = fields.Function(
        fields.Selection(KINDS, "Kind"),
        'get_meter_field', searcher='search_meter_field')
    staff = fields.Function(
        fields.Many2One('res.user', "Staff"),
        'get_round_field', searcher='search_round_field')
    start_date = fields.Function(
        fields.Date("Start Date"),
        'get_round_field', searcher='search_round_field')
    end_date = fields.Function(
        fields.Date("End Date"),
        'get_round_field', searcher='search_round_field')
    round_state = fields.Function(
        fields.Selection(STATES, "Round State"),
        'get_round_field', searcher='search_round_field')
    state = fields.Selection(
        LINE_STATES, "State", readonly=True, required=True, sort=False)
    reading = fields.Many2One(
        'meter.reading', "Reading", readonly=True, ondelete='SET NULL')
    reader = fields.Function(
        fields.Many2One('res.user', "Reader"), 'get_reading_field',
        searcher='search_reading_field')
    taken_at = fields.Function(
        fields.DateTime("Taken At"), 'get_reading_field',
        searcher='search_reading_field')
    value = fields.Function(
        fields.Numeric("Value", digits=(16, 3)), 'get_reading_field')
    source = fields.Function(
        fields.Selection('get_sources', "Source"), 'get_reading_field',
        searcher='search_reading_field')
    evidence = fields.Function(
        fields.Selection('get_evidences', "Evidence"), 'get_reading_field',
        searcher='search_reading_field')
    photo = fields.Function(
        fields.Binary("Photo"), 'get_reading_field')
    skip_reason = fields.Selection(
        [(None, "")] + SKIP_REASONS, "Skip Reason", readonly=True)
    skip_note = fields.Char("Skip Note", readonly=True)
    skipped_at = fields.DateTime("Skipped At", readonly=True)
    skipped_by = fields.Many2One('res.user', "Skipped By", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('round')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.meter, Index.Equality())),
                Index(t, (t.reading, Index.Equality())),
                })
        cls._order = [('round', 'DESC'), ('sequence', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'reset': {
                    'invisible': ((Eval('state') != 'skipped')
                        | (Eval('round_state') == 'closed')),
                    'icon': 'tryton-undo',
                    'depends': ['state', 'round_state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'skipped', 'warning',
                    If(Eval('evidence') == 'failed', 'danger', '')),
                ['state', 'evidence']),
            ]

    @classmethod
    def default_state(cls):
        return 'to_read'

    @fields.depends('round', '_parent_round.campus')
    def on_change_with_campus(self, name=None):
        return self.round.campus if self.round else None

    @classmethod
    def get_sources(cls):
        Reading = Pool().get('meter.reading')
        return [(None, "")] + Reading.fields_get(['source'])['source'][
            'selection']

    @classmethod
    def get_evidences(cls):
        Reading = Pool().get('meter.reading')
        return [(None, "")] + Reading.fields_get(['evidence'])['evidence'][
            'selection']

    def get_meter_field(self, name):
        value = getattr(self.meter, name)
        return value.id if isinstance(value, ModelSQL) else value

    @classmethod
    def search_meter_field(cls, name, clause):
        nested = clause[0][len(name):]
        if name == 'location' and clause[1] == 'child_of':
            return [('meter.location',) + tuple(clause[1:])]
        return [('meter.' + name + nested,) + tuple(clause[1:])]

    def get_round_field(self, name):
        value = getattr(self.round, 'state' if name == 'round_state' else name)
        return value.id if isinstance(value, ModelSQL) else value

    @classmethod
    def search_round_field(cls, name, clause):
        field = 'state' if name == 'round_state' else name
        nested = clause[0][len(name):]
        return [('round.' + field + nested,) + tuple(clause[1:])]

    @classmethod
    def get_reading_field(cls, lines, names):
        result = {n: {} for n in names}
        for line in lines:
            reading = line.reading
            for name in names:
                field = {'photo': 'photo_thumbnail'}.get(name, name)
                value = getattr(reading, field, None) if reading else None
                if isinstance(value, ModelSQL):
                    value = value.id
                result[name][line.id] = value
        return result

    @classmethod
    def search_reading_field(cls, name, clause):
        nested = clause[0][len(name):]
        return [('reading.' + name + nested,) + tuple(clause[1:])]

    def get_rec_name(self, name):
        return '%s · %s' % (self.round.rec_name, self.meter.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('meter.rec_name',) + tuple(clause[1:])]

    @classmethod
    def link(cls, lines):
        """Link each line of an open round to the last reading (not
        rejected) of its meter taken in the round's period, whoever took
        it: the line is then read; without one, a read line is to read
        again.  A closed round is left as it was closed."""
        pool = Pool()
        Reading = pool.get('meter.reading')
        Round = pool.get('meter.field.round')
        lines = [l for l in lines if l.round.state in OPEN_STATES]
        if not lines:
            return
        by_round = defaultdict(list)
        for line in lines:
            by_round[line.round].append(line)
        to_write, started = [], set()
        with without_check_access():
            for round_, round_lines in by_round.items():
                start, end = round_.period_bounds
                readings = Reading.search([
                        ('meter', 'in', [l.meter.id for l in round_lines]),
                        ('taken_at', '>=', start),
                        ('taken_at', '<', end),
                        ('state', '!=', 'rejected'),
                        ], order=[('taken_at', 'ASC'), ('id', 'ASC')])
                last = {r.meter.id: r for r in readings}
                for line in round_lines:
                    reading = last.get(line.meter.id)
                    if reading and line.reading != reading:
                        to_write.extend(([line], {
                                    'reading': reading.id, 'state': 'read'}))
                        if round_.state == 'planned':
                            started.add(round_)
                    elif not reading and line.state == 'read':
                        to_write.extend(([line], {
                                    'reading': None, 'state': 'to_read'}))
            if to_write:
                cls.write(*to_write)
            # The first reading starts a planned round
            Round.start(list(started))
            Round.update_progress(list(by_round))

    @classmethod
    def link_readings(cls, readings, moments=()):
        """Link the readings to the lines of the open rounds of their meter
        whose period holds them; moments are other (meter, taken_at) whose
        lines to look at again (where a reading was before a change)"""
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        zone = Configuration.tzinfo()
        moments = [(r.meter, r.taken_at) for r in readings] + list(moments)
        if not moments:
            return
        meters = {m.id for m, _ in moments}
        days = {to_local(t, zone).date() for _, t in moments}
        with without_check_access():
            lines = cls.search([
                    ('meter', 'in', list(meters)),
                    ('round.state', 'in', list(OPEN_STATES)),
                    ('round.start_date', '<=', max(days)),
                    ('round.end_date', '>=', min(days)),
                    ])
            cls.link(lines)

    @classmethod
    def skip(cls, lines, reason, note=None, skipped_at=None, key=None):
        """Skip the lines for reason (one of SKIP_REASONS); other needs a
        note.  A read line, or one of a closed round, is not skipped.
        skipped_at is the phone's time of a skip sent later (naive UTC),
        key its idempotency key."""
        pool = Pool()
        Round = pool.get('meter.field.round')
        note = (note or '').strip()
        if reason not in dict(SKIP_REASONS):
            raise RoundError(gettext('meter_field.msg_round_skip_reason'))
        if reason == 'other' and not note:
            raise RoundError(gettext('meter_field.msg_round_skip_note'))
        if len(note) > MAX_SKIP_NOTE:
            raise RoundError(gettext('meter_field.msg_round_skip_note_long',
                    max=MAX_SKIP_NOTE))
        for line in lines:
            if line.round.state == 'closed':
                raise RoundError(gettext('meter_field.msg_round_closed',
                        round=line.round.rec_name))
            if line.state == 'read':
                raise RoundError(gettext('meter_field.msg_round_line_read',
                        meter=line.meter.rec_name))
        cls.write(lines, {
                'state': 'skipped',
                'skip_reason': reason,
                'skip_note': note or None,
                'skipped_at': (skipped_at
                    or dt.datetime.now().replace(microsecond=0)),
                'skipped_by': Transaction().user,
                'idempotency_key': key,
                })
        rounds = list({l.round for l in lines})
        Round.start([r for r in rounds if r.state == 'planned'])
        Round.update_progress(rounds)

    @classmethod
    @ModelView.button
    def reset(cls, lines):
        "Put skipped lines back to read"
        Round = Pool().get('meter.field.round')
        for line in lines:
            if line.round.state == 'closed':
                raise RoundError(gettext('meter_field.msg_round_closed',
                        round=line.round.rec_name))
        cls.write([l for l in lines if l.state == 'skipped'], {
                'state': 'to_read',
                'skip_reason': None,
                'skip_note': None,
                'skipped_at': None,
                'skipped_by': None,
                })
        Round.update_progress(list({l.round for l in lines}))


class Route(ModelSQL, ModelView):
    """A saved route (抄表路线): a member of staff's meters in the order
    they walk them, from which each period's rounds are made"""
    __name__ = 'meter.field.route'
    name = fields.Char("Name", required=True)
    staff = fields.Many2One('res.user', "Staff", required=True,
        ondelete='RESTRICT')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT')
    meters = fields.One2Many('meter.field.route.meter', 'route', "Meters")
    active = fields.Boolean("Active")

    @classmethod
    def default_active(cls):
        return True

    @classmethod
    def default_campus(cls):
        campuses = Pool().get('res.user').get_meter_campuses()
        return campuses[0] if len(campuses) == 1 else None

    @classmethod
    def generate_rounds(cls, routes, start_date, end_date):
        """Make the round of each route for the period, unless the route
        has one for it; return the rounds made"""
        pool = Pool()
        Round = pool.get('meter.field.round')
        existing = {r.route.id for r in Round.search([
                    ('route', 'in', [r.id for r in routes]),
                    ('start_date', '=', start_date),
                    ])}
        rounds = Round.create([{
                    'name': route.name,
                    'staff': route.staff.id,
                    'campus': route.campus.id,
                    'start_date': start_date,
                    'end_date': end_date,
                    'route': route.id,
                    'lines': [('create', [{
                                    'meter': m.meter.id,
                                    'sequence': i,
                                    } for i, m in enumerate(
                                    (m for m in route.meters
                                        if m.meter.state == 'active'), 1)])],
                    } for route in routes
                if route.active and route.id not in existing])
        return rounds

    @classmethod
    def generate_month(cls):
        "Run by the cron: the rounds of this month of every active route"
        Date = Pool().get('ir.date')
        today = Date.today()
        return cls.generate_rounds(cls.search([('active', '=', True)]),
            month_start(today), month_end(today))


class RouteMeter(sequence_ordered(), ModelSQL, ModelView):
    "A meter of a saved route, in walking order"
    __name__ = 'meter.field.route.meter'
    route = fields.Many2One(
        'meter.field.route', "Route", required=True, ondelete='CASCADE')
    meter = fields.Many2One(
        'meter.meter', "Meter", required=True, ondelete='CASCADE',
        domain=[('campus', '=', Eval('_parent_route.campus', -1))])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('route')


class FillStart(ModelView):
    "Add meters to rounds: which"
    __name__ = 'meter.field.round.fill.start'
    campus = fields.Many2One('meter.campus', "Campus", readonly=True)
    location = fields.Many2One(
        'meter.location', "Building",
        domain=[('campus', '=', Eval('campus', -1))],
        help="The meters of this place and of the places under it.")
    kind = fields.Selection([(None, "")] + KINDS, "Kind")
    reading_method = fields.Selection(
        'get_reading_methods', "Reading Method")
    count = fields.Integer("Meters", readonly=True)

    @classmethod
    def get_reading_methods(cls):
        Meter = Pool().get('meter.meter')
        return [(None, "")] + Meter.fields_get(['reading_method'])[
            'reading_method']['selection']

    @fields.depends('campus', 'location', 'kind', 'reading_method')
    def on_change_with_count(self):
        Meter = Pool().get('meter.meter')
        if not self.campus:
            return 0
        return Meter.search(self.meter_domain(), count=True)

    @fields.depends('campus', 'location', 'kind', 'reading_method')
    def meter_domain(self):
        Round = Pool().get('meter.field.round')
        return Round.meter_domain(self.campus, self.location, self.kind,
            self.reading_method)


class Fill(Wizard):
    """Add to a round the active meters of its campus by building, kind or
    reading method, ordered by place and number"""
    __name__ = 'meter.field.round.fill'
    start = StateView('meter.field.round.fill.start',
        'meter_field.round_fill_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Add", 'fill', 'tryton-ok', default=True),
            ])
    fill = StateTransition()

    def default_start(self, fields):
        return {'campus': self.record.campus.id if self.record else None}

    def transition_fill(self):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Round = pool.get('meter.field.round')
        self.start.campus = self.record.campus
        meters = Meter.search(self.start.meter_domain(),
            order=Round.route_order())
        if not meters:
            raise RoundError(gettext('meter_field.msg_round_fill_none'))
        Round.fill(self.records, meters)
        return 'end'


class GenerateStart(ModelView):
    "Make the rounds of the routes: which period"
    __name__ = 'meter.field.route.generate.start'
    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date("End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))])

    @classmethod
    def default_start_date(cls):
        return month_start(Pool().get('ir.date').today())

    @classmethod
    def default_end_date(cls):
        return month_end(Pool().get('ir.date').today())


class Generate(Wizard):
    "Make the rounds of the period of the routes chosen"
    __name__ = 'meter.field.route.generate'
    start = StateView('meter.field.route.generate.start',
        'meter_field.route_generate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Make Rounds", 'generate', 'tryton-ok', default=True),
            ])
    generate = StateTransition()

    def transition_generate(self):
        Route = Pool().get('meter.field.route')
        Route.generate_rounds(self.records, self.start.start_date,
            self.start.end_date)
        return 'end'


class UnreadReport(Report):
    """The unread list (未抄表计清单) as an Excel workbook: the lines chosen
    (or the lines of the rounds chosen) not read, by round and route
    order"""
    __name__ = 'meter.field.round.unread'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Line = pool.get('meter.field.round.line')
        ActionReport = pool.get('ir.action.report')
        ids = list(map(int, ids))
        if data.get('action_id') is None:
            action_report, = ActionReport.search([
                    ('report_name', '=', cls.__name__),
                    ('model', '=', data.get('model', Line.__name__)),
                    ], limit=1)
        else:
            action_report = ActionReport(data['action_id'])
        model = action_report.model or data.get('model')
        cls.check_access(action_report, model, ids)
        if model == 'meter.field.round':
            domain = [('round', 'in', ids)]
        else:
            domain = [('id', 'in', ids)]
        lines = Line.search(domain + [('state', '!=', 'read')],
            order=[('round', 'ASC'), ('sequence', 'ASC'), ('id', 'ASC')])
        content = cls.workbook(lines)
        name = gettext('meter_field.msg_unread_filename')
        return ('xlsx', content, False, name)

    @classmethod
    def workbook(cls, lines):
        "Return the bytes of the workbook of the lines"
        Line = Pool().get('meter.field.round.line')
        names = ['staff', 'start_date', 'location', 'meter', 'kind',
            'state', 'skip_reason', 'skip_note', 'skipped_at']
        fields_ = Line.fields_get(names)
        headers = [gettext('meter_field.msg_unread_round')] + [
            fields_[n]['string'] for n in names]
        headers.insert(5, gettext('meter_field.msg_unread_place'))
        zone = Pool().get('meter.configuration').tzinfo()

        def text(line, name):
            value = getattr(line, name)
            if name in {'kind', 'state', 'skip_reason'}:
                return dict(fields_[name]['selection']).get(value) or ''
            if name == 'skipped_at':
                return (to_local(value, zone).strftime('%Y-%m-%d %H:%M')
                    if value else '')
            if name == 'start_date':
                return value.strftime('%Y-%m')
            if isinstance(value, ModelSQL):
                return value.rec_name
            return value or ''
        rows = []
        for line in lines:
            row = [line.round.rec_name] + [text(line, n) for n in names]
            row.insert(5, line.meter.place or '')
            rows.append(row)
        title = gettext('meter_field.msg_unread_title')
        return table_workbook(title, headers, rows)


class StaffReport(ModelSQL, ModelView):
    """The objective review (客观考核) of each member of staff per period:
    the meters assigned, read (by them or by anyone), skipped by reason,
    their readings whose evidence failed and their time on site"""
    __name__ = 'meter.field.staff_report'
    staff = fields.Many2One('res.user', "Staff")
    campus = fields.Many2One('meter.campus', "Campus")
    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")
    assigned = fields.Integer("Assigned")
    read_meters = fields.Integer("Read")
    read_by_staff = fields.Integer("Read by the Staff")
    to_read = fields.Integer("Left")
    skipped = fields.Integer("Skipped")
    skipped_no_access = fields.Integer("No Access")
    skipped_nobody_home = fields.Integer("Nobody Home")
    skipped_broken = fields.Integer("Meter Broken")
    skipped_blocked = fields.Integer("Meter Blocked")
    skipped_unreadable = fields.Integer("Register Unreadable")
    skipped_other = fields.Integer("Other")
    evidence_failed = fields.Integer("Evidence Failed",
        help="The staff's readings of the rounds whose photo check failed "
        "(photo re-used, taken away from the meter, OCR disagreeing).")
    hours_on_site = fields.Function(
        fields.Numeric("Hours on Site", digits=(16, 2),
            help="Per day, from the first to the last reading of the staff "
            "in the period, summed."),
        'get_hours_on_site')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('staff', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Round = pool.get('meter.field.round')
        Line = pool.get('meter.field.round.line')
        Reading = pool.get('meter.reading')
        round_ = Round.__table__()
        line = Line.__table__()
        reading = Reading.__table__()

        def count(condition):
            # No parameter in the CASE: PostgreSQL could not type it
            return Count(Case((condition, line.id), else_=Null))
        skipped = line.state == 'skipped'
        own = (reading.reader == round_.staff) & (line.state == 'read')
        columns = [
            Min(round_.id).as_('id'),
            Literal(0).as_('create_uid'),
            Min(round_.create_date).as_('create_date'),
            Literal(Null).as_('write_uid'),
            Literal(Null).as_('write_date'),
            round_.staff.as_('staff'),
            round_.campus.as_('campus'),
            round_.start_date.as_('start_date'),
            round_.end_date.as_('end_date'),
            Count(line.id).as_('assigned'),
            count(line.state == 'read').as_('read_meters'),
            count(own).as_('read_by_staff'),
            count(line.state == 'to_read').as_('to_read'),
            count(skipped).as_('skipped'),
            ]
        for reason, _ in SKIP_REASONS:
            columns.append(count(skipped & (line.skip_reason == reason)
                    ).as_('skipped_' + reason))
        columns.append(count(own & (reading.evidence == 'failed')
                ).as_('evidence_failed'))
        return round_.join(line, condition=line.round == round_.id
            ).join(reading, 'LEFT', condition=line.reading == reading.id
            ).select(*columns,
                group_by=[round_.staff, round_.campus, round_.start_date,
                    round_.end_date])

    @classmethod
    def get_hours_on_site(cls, reports, name):
        """Per day of the centre's clock, the time from the staff's first
        to their last reading (any meter, any source of theirs), summed
        over the period"""
        pool = Pool()
        Reading = pool.get('meter.reading')
        Configuration = pool.get('meter.configuration')
        zone = Configuration.tzinfo()
        result = {}
        with without_check_access():
            for report in reports:
                start, end = period_bounds(
                    report.start_date, report.end_date, zone)
                readings = Reading.search_read([
                        ('reader', '=', report.staff.id),
                        ('taken_at', '>=', start),
                        ('taken_at', '<', end),
                        ('state', '!=', 'rejected'),
                        ], order=[], fields_names=['taken_at'])
                days = defaultdict(list)
                for values in readings:
                    taken_at = to_local(values['taken_at'], zone)
                    days[taken_at.date()].append(taken_at)
                seconds = sum((max(t) - min(t)).total_seconds()
                    for t in days.values())
                result[report.id] = (Decimal(seconds) / 3600).quantize(
                    Decimal('0.01'))
        return result
