# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import logging

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import units
from .bus import polling

logger = logging.getLogger(__name__)

PARITIES = [
    ('none', "None"),
    ('even', "Even"),
    ('odd', "Odd"),
    ('mark', "Mark"),
    ('space', "Space"),
    ]
POLL_CODES = [
    ('', ""),
    ('timeout', "Timeout"),
    ('garbled', "Garbled Answer"),
    ('truncated', "Truncated Answer"),
    ('start', "Bad Start"),
    ('end', "Bad End"),
    ('length', "Bad Length"),
    ('checksum', "Bad Checksum"),
    ('bcd', "Bad BCD Digits"),
    ('format', "Bad Data Format"),
    ('meter_error', "Meter Error"),
    ('address', "Other Meter"),
    ('di', "Other Data Identifier"),
    ('no_value', "No Value"),
    ('protocol', "Unknown Protocol"),
    ('port', "Port Error"),
    ('unit', "Unknown Unit"),
    ('request', "Bad Request"),
    ]


class Collector(DeactivableMixin, ModelSQL, ModelView):
    """A collector (采集器): a bus of meters behind a serial port.

    The port is a pyserial URL: a device path (``/dev/ttyUSB0``), an RS-485
    to Ethernet converter (``socket://host:port``) or a port server
    (``rfc2217://host:port``).  DL/T 645 buses run at 2400 bauds, 8 data
    bits, even parity and 1 stop bit by default.
    """
    __name__ = 'meter.collector'
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True)
    campus = fields.Many2One(
        'meter.campus', "Campus", ondelete='RESTRICT')
    port = fields.Char(
        "Port", required=True,
        help="A device path, socket://host:port or rfc2217://host:port.")
    baudrate = fields.Integer(
        "Baud Rate", required=True, domain=[('baudrate', '>', 0)])
    bytesize = fields.Integer(
        "Data Bits", required=True,
        domain=[('bytesize', '>=', 5), ('bytesize', '<=', 8)])
    parity = fields.Selection(PARITIES, "Parity", required=True)
    stopbits = fields.Integer(
        "Stop Bits", required=True,
        domain=[('stopbits', 'in', [1, 2])])
    timeout = fields.Float(
        "Timeout", digits=(16, 2), required=True,
        domain=[('timeout', '>', 0)],
        help="Seconds allowed to a meter to answer.")
    retries = fields.Integer(
        "Retries", required=True, domain=[('retries', '>=', 0)],
        help="How many more times a meter is asked after a failure.")
    retry_delay = fields.Float(
        "Retry Delay", digits=(16, 2), required=True,
        domain=[('retry_delay', '>=', 0)],
        help="Seconds to wait before asking again.")
    preamble = fields.Boolean(
        "Wake-up Preamble",
        help="Send FE bytes before each request to wake the meters up.")
    meters = fields.One2Many(
        'meter.meter', 'collector', "Meters",
        add_remove=[('collector', '=', None)],
        domain=[('protocol', '!=', None), ('comm_address', '!=', None)])
    polls = fields.One2Many(
        'meter.collector.poll', 'collector', "Polls", readonly=True,
        order=[('started_at', 'DESC'), ('id', 'DESC')])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('code_unique', Unique(t, t.code),
                'meter_devices.msg_collector_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))
        cls._buttons.update({
                'poll': {
                    'invisible': ~Eval('active', True),
                    'depends': ['active'],
                    },
                })

    @classmethod
    def default_baudrate(cls):
        return 2400

    @classmethod
    def default_bytesize(cls):
        return 8

    @classmethod
    def default_parity(cls):
        return 'even'

    @classmethod
    def default_stopbits(cls):
        return 1

    @classmethod
    def default_timeout(cls):
        return 1.0

    @classmethod
    def default_retries(cls):
        return 2

    @classmethod
    def default_retry_delay(cls):
        return 0.0

    @classmethod
    def default_preamble(cls):
        return True

    @classmethod
    def copy(cls, collectors, default=None):
        # A meter hangs on one bus: the copy starts without meters
        default = default.copy() if default is not None else {}
        default.setdefault('meters', None)
        default.setdefault('polls', None)
        return super().copy(collectors, default=default)

    def get_rec_name(self, name):
        return f'[{self.code}] {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('code',) + tuple(clause[1:]),
            ('name',) + tuple(clause[1:]),
            ]

    @classmethod
    @ModelView.button
    def poll(cls, collectors):
        cls.poll_collectors(collectors)

    @classmethod
    def poll_all(cls):
        """Poll every active collector (ir.cron).

        Each collector is polled and committed in its own transaction: a
        collector that fails does not undo the rounds of the others.  Its
        failure is recorded as a failed round.
        """
        pool = Pool()
        Poll = pool.get('meter.collector.poll')
        transaction = Transaction()
        collectors = cls.search([])
        for collector_id in map(int, collectors):
            try:
                with transaction.new_transaction() as new:
                    collector = cls(collector_id)
                    collector.poll_meters()
                    new.commit()
            except Exception as exception:
                logger.exception("poll of collector %s failed", collector_id)
                with transaction.new_transaction() as new:
                    Poll.save([Poll(collector=collector_id,
                                started_at=dt.datetime.now(),
                                ended_at=dt.datetime.now(), state='failed',
                                error=str(exception) or repr(exception))])
                    new.commit()

    @classmethod
    def poll_collectors(cls, collectors, progress=None):
        """Poll collectors one after the other and return their poll rounds.

        progress(done, total, result) is called after each meter.
        """
        return [c.poll_meters(progress=progress) for c in collectors]

    def poll_requests(self):
        "Return the MeterRequest of each meter to read"
        return [
            polling.MeterRequest(
                meter.comm_address.strip(), meter.protocol, key=meter.id)
            for meter in self.meters
            if meter.state == 'active' and meter.protocol
            and meter.comm_address]

    def poll_meters(self, progress=None):
        """Read the meters of the collector and store the round.

        A meter that does not answer or answers garbage is recorded as a
        failure and polling goes on; the values read become readings of
        source 'collector', checked as any other reading.
        """
        pool = Pool()
        Poll = pool.get('meter.collector.poll')
        Result = pool.get('meter.collector.poll.result')
        Reading = pool.get('meter.reading')
        requests = self.poll_requests()
        round_ = Poll(collector=self, started_at=dt.datetime.now(),
            total=len(requests))
        round_.save()
        results = []
        try:
            for result in polling.poll(self.port, requests,
                    baudrate=self.baudrate, parity=self.parity,
                    bytesize=self.bytesize, stopbits=self.stopbits,
                    timeout=self.timeout, retries=self.retries,
                    retry_delay=self.retry_delay, preamble=self.preamble,
                    progress=progress):
                results.append(result)
        except polling.PollingError as exception:
            round_.state = 'failed'
            round_.error = gettext(
                'meter_devices.msg_poll_%s' % exception.code) + (
                '\n%s' % exception)
        else:
            round_.state = 'done'
        taken_at = dt.datetime.now()
        meters = {m.id: m for m in self.meters}
        lines, readings = [], []
        for result in results:
            line = Result(
                poll=round_, meter=result.request.key,
                address=result.address, protocol=result.request.protocol,
                ok=result.ok, value=result.value, unit=result.unit,
                code=result.code, raw=result.raw,
                attempts=result.attempts)
            if result.ok:
                meter = meters[result.request.key]
                try:
                    value = units.convert(
                        result.value, result.unit, meter.reading_unit)
                except units.UnitError:
                    line.ok = False
                    line.code = 'unit'
                    line.message = gettext('meter_devices.msg_poll_unit',
                        unit=result.unit or '?', target=meter.reading_unit)
                else:
                    readings.append((line, {
                                'meter': meter.id,
                                'taken_at': taken_at,
                                'value': value,
                                'source': 'collector',
                                'submitter': self.code,
                                }))
            else:
                line.message = gettext(
                    'meter_devices.msg_poll_%s' % result.code)
                line.detail = result.error
            lines.append(line)
        created = Reading.create([values for _, values in readings])
        for (line, _), reading in zip(readings, created):
            line.reading = reading
        Result.save(lines)
        round_.ended_at = dt.datetime.now()
        round_.succeeded = sum(1 for l in lines if l.ok)
        round_.failed = len(lines) - round_.succeeded
        round_.save()
        return round_


class CollectorPoll(ModelSQL, ModelView):
    "A round of polling of a collector, with the result of each meter"
    __name__ = 'meter.collector.poll'
    collector = fields.Many2One(
        'meter.collector', "Collector", required=True, ondelete='CASCADE',
        readonly=True)
    started_at = fields.DateTime("Started At", readonly=True)
    ended_at = fields.DateTime("Ended At", readonly=True)
    state = fields.Selection([
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", readonly=True, required=True)
    total = fields.Integer("Meters", readonly=True)
    succeeded = fields.Integer("Succeeded", readonly=True)
    failed = fields.Integer("Failed", readonly=True)
    error = fields.Text("Error", readonly=True)
    results = fields.One2Many(
        'meter.collector.poll.result', 'poll', "Results", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('started_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'running'

    @classmethod
    def default_total(cls):
        return 0

    @classmethod
    def default_succeeded(cls):
        return 0

    @classmethod
    def default_failed(cls):
        return 0

    def get_rec_name(self, name):
        return '%s @ %s' % (self.collector.rec_name,
            self.started_at.strftime('%Y-%m-%d %H:%M')
            if self.started_at else '')


class CollectorPollResult(ModelSQL, ModelView):
    "The answer of one meter in a polling round"
    __name__ = 'meter.collector.poll.result'
    poll = fields.Many2One(
        'meter.collector.poll', "Poll", required=True, ondelete='CASCADE',
        readonly=True)
    meter = fields.Many2One(
        'meter.meter', "Meter", ondelete='CASCADE', readonly=True)
    address = fields.Char("Address", readonly=True)
    protocol = fields.Selection(
        polling.PROTOCOLS, "Protocol", readonly=True)
    ok = fields.Boolean("OK", readonly=True)
    value = fields.Numeric("Value", digits=(16, 3), readonly=True)
    unit = fields.Char("Unit", readonly=True)
    code = fields.Selection(POLL_CODES, "Code", readonly=True)
    message = fields.Char("Message", readonly=True)
    detail = fields.Char("Detail", readonly=True)
    raw = fields.Char("Raw Frame", readonly=True)
    attempts = fields.Integer("Attempts", readonly=True)
    reading = fields.Many2One(
        'meter.reading', "Reading", ondelete='SET NULL', readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('poll', 'DESC'), ('id', 'ASC')]
