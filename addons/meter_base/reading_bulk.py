"""Create many meter readings at once, set-based, on PostgreSQL and SQLite.

``Reading.create`` checks each new reading with a few queries: fine for a
person, far too slow for a handheld export or an energy platform file of
100,000 rows.  ``Reading.create_bulk`` (registered here as an extension
of ``meter.reading``, so that other modules extend it through the pool)
gives the same result as creating the rows one after the other with
``Reading.create`` in chronological order:

1. the rows go into a temporary staging table (``COPY`` on PostgreSQL,
   ``executemany`` on SQLite) as they come: they may be a generator
   reading a file, the memory used does not grow with their number;
2. rows already stored (same meter, date and value) or repeated in the
   batch are marked as duplicates and skipped;
3. the previous value of each row is found with a window function (``LAG``
   over the meter ordered by date) on the meter's confirmed readings,
   seeded by the last confirmed reading before the batch, and the batch
   rows themselves; consumption and rollover follow ``consumption.py``
   (``ROLLOVER_HIGH``/``ROLLOVER_LOW``, digits and multiplier) in SQL;
4. the anomalies are flagged set-based; the "high use" check needs the
   median of the meter's recent use: the candidates are found set-based
   (a use above the factor times the lowest recent one) and only their
   median is computed in Python with ``consumption.recent_median``;
5. a row with an anomaly stays draft, so the rows after it on the same
   meter do not chain on it: they are computed again in the next pass.
   Each pass settles, for every meter, the rows up to its first anomaly;
   without anomaly one pass settles everything;
6. the rows are inserted into ``meter_reading``, confirmed when they show
   no anomaly and the configuration confirms automatically.
"""
import datetime as dt
import json
import logging
import time
from collections import defaultdict
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import consumption as rules
from .exceptions import ReadingValidationError

__all__ = ['Reading', 'BulkResult']
logger = logging.getLogger(__name__)

STAGING = 'meter_reading_bulk'
METERS = 'meter_reading_bulk_meter'
# Anomaly codes as bits of an integer so that SQL can add them up.
FLAGS = {
    rules.LOWER: 1,
    rules.ZERO: 2,
    rules.HIGH: 4,
    rules.FUTURE: 8,
    rules.BACKDATED: 16,
    rules.SAME_DAY: 32,
    }


# PostgreSQL settings of the transaction while a batch runs: its sorts and
# hashes of hundreds of thousands of rows then stay in memory, and the
# compilation of its queries (JIT), estimated big, costs more than it saves.
SETTINGS = {'work_mem': '64MB', 'jit': 'off'}

# Values with more integer digits than this fit in no register (meters
# have at most 12 digits): refused before they reach the database.
MAX_VALUE_DIGITS = 18

# The columns of meter_reading the bulk creation fills.
SET_COLUMNS = {'meter', 'taken_at', 'value', 'source', 'submitter',
    'reader', 'previous_value', 'previous_taken_at', 'consumption',
    'rollover', 'anomalies', 'anomaly_count', 'state', 'create_uid',
    'create_date', 'write_uid', 'write_date'}


class BulkResult:
    """What Reading.create_bulk did: counts, the keys of duplicate rows and
    what tells the new readings apart

    duplicates lists the keys of the duplicate rows unless create_bulk was
    asked not to keep them; duplicate_count counts them anyway.  The
    readings created share create_uid (user) and create_date (created_at)
    and their ids are above after, the highest the transaction saw before
    them (others' readings committed later are not seen: repeatable read
    on PostgreSQL, one writer on SQLite): domain selects them (in SQL: the
    same columns, the range of ids first, read from the primary key
    rather than years of readings).
    """

    def __init__(self):
        self.created = 0
        self.confirmed = 0
        self.duplicates = []
        self.duplicate_count = 0
        self.user = None
        self.created_at = None
        self.after = 0
        # [(meter id, from)]: the stored readings computed again, those of
        # the meters after a reading the batch inserted before them
        self.recomputed = []

    @property
    def domain(self):
        "The domain of the readings created, [] matching none when none"
        if not self.created:
            return [('id', '=', None)]
        return [
            ('id', '>', self.after),
            ('create_uid', '=', self.user),
            ('create_date', '=', self.created_at),
            ]

    def __repr__(self):
        return '<BulkResult created=%s confirmed=%s duplicates=%s>' % (
            self.created, self.confirmed, len(self.duplicates))


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'

    @classmethod
    def create_bulk(cls, rows, source, submitter=None, reader=None,
            now=None, numbered=False, duplicate_keys=True):
        """Create readings from rows of (key, meter id, taken at, value)
        set-based and return a BulkResult.

        This is the path of every import (handhelds, energy platforms): call
        it through the pool, ``pool.get('meter.reading').create_bulk``.

        key identifies the row for the caller (a line number): the keys of
        the rows skipped as duplicates are returned in the result.  rows
        may be any iterable, a generator reading a file included: the rows
        are streamed into the staging table and handled together in SQL.
        While they are read, the connection is busy with the copy:
        producing them must not query the database.

        numbered says the keys are distinct positive integers given in
        increasing order (line numbers): they are used as they are instead
        of being kept in memory.  Without duplicate_keys only the number of
        duplicates is returned, so that the memory used by a file of
        duplicates does not grow with it either.

        The rows skip create(), validate() and on_change: a module that
        extends meter.reading and must see bulk readings too overrides
        this method, calls super() and then works on the readings of
        ``result.domain`` set-based (one query for the batch, never one
        per reading: a batch holds up to hundreds of thousands of rows).
        A new stored field is filled from its ``default_*`` (taken from
        ``default_get``) unless the override writes it; whether a reading
        may be confirmed at once follows ``auto_confirmable``, which such
        a module extends rather than this method.
        """
        return _Bulk(cls, source, submitter, reader, now).run(
            rows, numbered=numbered, duplicate_keys=duplicate_keys)


class _Bulk:

    def __init__(self, Reading, source, submitter, reader, now):
        pool = Pool()
        self.Reading = Reading
        Configuration = pool.get('meter.configuration')
        transaction = Transaction()
        self.database = transaction.database
        self.cursor = transaction.connection.cursor()
        self.postgresql = backend.name == 'postgresql'
        self.source = source
        self.submitter = submitter
        self.reader = reader if reader is not None else transaction.user
        self.user = transaction.user
        self.now = now or dt.datetime.now()
        self.config = Configuration(1)
        self.defaults = self.reading_defaults()
        # Readings of the batch may be confirmed when the configuration and
        # Reading.auto_confirmable (extended by other modules) allow it.
        template = self.Reading(**{**self.defaults, 'source': source})
        self.auto_confirm = bool(
            self.config.auto_confirm and template.auto_confirmable())

    def reading_defaults(self):
        "Return the default values of the other stored reading fields"
        Reading = self.Reading
        names = [n for n, f in Reading._fields.items()
            if n not in SET_COLUMNS and n != 'id'
            and not isinstance(f, (
                    fields.Function, fields.One2Many, fields.Many2Many))
            and not getattr(f, 'file_id', None)]
        return {n: v
            for n, v in Reading.default_get(
                names, with_rec_name=False).items()
            if n in names and v is not None}

    # SQL helpers --------------------------------------------------------

    def execute(self, query, params=()):
        if not self.postgresql:
            query = query.replace('%s', '?')
        start = time.perf_counter()
        self.cursor.execute(query, params)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%.3fs %s", time.perf_counter() - start,
                query[:70])

    def num(self, column):
        # SQLite keeps the Decimals of Tryton as text blobs: compare and
        # compute on their numeric value.
        if self.postgresql:
            return column
        return 'CAST(%s AS NUMERIC)' % column

    def seconds(self, start, end):
        if self.postgresql:
            return 'EXTRACT(EPOCH FROM (%s - %s))' % (end, start)
        return '((julianday(%s) - julianday(%s)) * 86400)' % (end, start)

    def as_timestamp(self, column):
        if self.postgresql:
            return 'CAST(%s AS TIMESTAMP)' % column
        return "(%s || ' 00:00:00')" % column

    def _local_day(self, column):
        """SQL of the local midnight (naive) starting the day of column
        (naive UTC) on the centre's clock, and the minutes of the zone's
        offset SQLite shifts by (it knows no time zone; the centre's has no
        summer time)"""
        zone = Pool().get('meter.configuration').tzinfo()
        if self.postgresql:
            name = getattr(zone, 'key', None) or str(zone)
            name = name.replace("'", "''")
            return ("DATE_TRUNC('day', timezone('%s', timezone('UTC', %s)))"
                % (name, column)), name
        offset = zone.utcoffset(dt.datetime.now())
        return None, int(offset.total_seconds() // 60)

    def day_start(self, column):
        "SQL of the UTC moment the centre's day of column starts"
        local, zone = self._local_day(column)
        if self.postgresql:
            return "timezone('UTC', timezone('%s', %s))" % (zone, local)
        return "datetime(date(%s, '%+d minutes'), '%+d minutes')" % (
            column, zone, -zone)

    def day_end(self, column):
        "SQL of the UTC moment the centre's day of column ends"
        local, zone = self._local_day(column)
        if self.postgresql:
            return ("timezone('UTC', timezone('%s', %s + INTERVAL '1 day'))"
                % (zone, local))
        return ("datetime(date(%s, '%+d minutes'), '+1 day', '%+d minutes')"
            % (column, zone, -zone))

    def json(self, column):
        if self.postgresql:
            return 'CAST(%s AS JSONB)' % column
        return column

    # Steps --------------------------------------------------------------

    def run(self, rows, numbered=False, duplicate_keys=True):
        result = BulkResult()
        saved = self.set_settings(SETTINGS)
        keys, count = self.stage(rows, numbered)
        self.check_values()
        if not count:
            self.drop()
            self.set_settings(saved)
            return result
        self.deduplicate(keys, result, duplicate_keys)
        self.prepare_meters()
        self.flag_same_day()
        pass_ = 1
        while True:
            self.compute(pass_)
            self.analyze(STAGING)
            self.flag_high(pass_)
            if not self.block(pass_):
                break
            pass_ += 1
        later = self.later_readings()
        result.user = self.user
        result.created_at = self.created_at = dt.datetime.now()
        result.after = self.last_id()
        result.created, result.confirmed = self.insert()
        self.recompute(later)
        result.recomputed = later
        self.drop()
        self.set_settings(saved)
        return result

    def set_settings(self, settings):
        """Set the settings for the rest of the transaction (on PostgreSQL)
        and return their previous values.

        On a failure the rollback of the transaction (or of the savepoint)
        restores them.
        """
        if not self.postgresql or not settings:
            return {}
        saved = {}
        for name, value in settings.items():
            self.execute('SELECT current_setting(%s), set_config(%s, %s, '
                'TRUE)', (name, name, value))
            saved[name], _ = self.cursor.fetchone()
        return saved

    def analyze(self, table):
        "Update the statistics of a staging table changed by an update"
        if self.postgresql:
            self.execute('ANALYZE %s' % table)

    def drop(self):
        for table in [STAGING, METERS]:
            self.execute('DROP TABLE IF EXISTS %s' % table)

    def stage(self, rows, numbered=False):
        """Fill the staging table with rows, return the list of their keys
        (None when numbered) and their number"""
        self.drop()
        # pass is the pass that computes the row: a row after an anomaly
        # of its meter is computed again in the next pass.
        self.execute(
            'CREATE TEMPORARY TABLE %s ('
            'row_no INTEGER PRIMARY KEY, '
            'meter INTEGER NOT NULL, '
            'taken_at TIMESTAMP NOT NULL, '
            'value NUMERIC NOT NULL, '
            'dup BOOLEAN DEFAULT FALSE, '
            'pass INTEGER DEFAULT 1, '
            'same_day BOOLEAN DEFAULT FALSE, '
            'prev_value NUMERIC, '
            'prev_taken_at TIMESTAMP, '
            'last_at TIMESTAMP, '
            'consumption NUMERIC, '
            'rollover BOOLEAN, '
            'flags INTEGER DEFAULT 0)%s' % (STAGING,
                # Room left in the pages for the updates of every row by
                # the steps: they are made in place, without index entry.
                ' WITH (fillfactor = 50)' if self.postgresql else ''))
        keys = None if numbered else []
        count = 0
        self.invalid = None

        def staged():
            nonlocal count
            for key, meter, taken_at, value in rows:
                if not isinstance(value, Decimal):
                    value = Decimal(value)
                if (not value.is_finite()
                        or value.adjusted() >= MAX_VALUE_DIGITS):
                    # No query while the rows are copied: stop here and
                    # let check_values raise.
                    self.invalid = (int(meter), value)
                    return
                count += 1
                if numbered:
                    row_no = int(key)
                else:
                    keys.append(key)
                    row_no = count
                yield row_no, int(meter), taken_at, value

        columns = '(row_no, meter, taken_at, value)'
        if self.postgresql:
            # The text format written by hand: write_row costs more than
            # the rest of the import per row.
            line = '%d\t%d\t%s\t%s\n'
            buffer = []
            with self.cursor.copy(
                    'COPY %s %s FROM STDIN' % (STAGING, columns)) as copy:
                for row in staged():
                    buffer.append(line % row)
                    if len(buffer) >= 2000:
                        copy.write(''.join(buffer))
                        buffer.clear()
                if buffer:
                    copy.write(''.join(buffer))
        else:
            self.cursor.executemany(
                'INSERT INTO %s %s VALUES (?, ?, ?, ?)' % (STAGING, columns),
                ((n, m, t, Decimal(v)) for n, m, t, v in staged()))
        self.execute('CREATE INDEX %s_idx ON %s (meter, taken_at)'
            % (STAGING, STAGING))
        if self.postgresql:
            self.execute('ANALYZE %s' % STAGING)
        return keys, count

    def check_values(self):
        """Refuse the batch when a value does not fit in the register of
        its meter, as Reading.check_value does for each reading: the rows
        skip the validation of the ORM.  The caller rolls back."""
        pool = Pool()
        Meter = pool.get('meter.meter')
        if self.invalid is None:
            size = 'CASE m.digits %s END' % ' '.join(
                'WHEN %s THEN %s' % (d, rules.register_size(d))
                for d in range(1, MAX_VALUE_DIGITS + 1))
            self.execute(
                'SELECT s.meter, s.value FROM %(s)s AS s '
                'JOIN meter_meter AS m ON m.id = s.meter '
                'WHERE %(value)s >= %(size)s '
                'ORDER BY s.row_no LIMIT 1' % {
                    's': STAGING, 'value': self.num('s.value'),
                    'size': size})
            found = self.cursor.fetchone()
            if not found:
                return
            self.invalid = found[0], _decimal(found[1])
        meter_id, value = self.invalid
        self.drop()
        meter = Meter(meter_id)
        if not value.is_finite():
            raise ReadingValidationError(gettext(
                    'meter_base.msg_reading_value_not_finite',
                    value=value, meter=meter.rec_name))
        raise ReadingValidationError(gettext(
                'meter_base.msg_reading_value_digits',
                value=value, meter=meter.rec_name, digits=meter.digits))

    def deduplicate(self, keys, result, duplicate_keys=True):
        "Skip rows already stored or repeated in the batch"
        value, other = self.num('s.value'), self.num('o.value')
        # Two statements, so that each EXISTS is a join of its own, and
        # the stored readings within the dates of the batch: they are
        # found by an index, not by reading the whole history
        self.execute('SELECT MIN(taken_at), MAX(taken_at) FROM %s' % STAGING)
        first, last = self.cursor.fetchone()
        self.execute(
            'UPDATE %(s)s AS s SET dup = TRUE '
            'WHERE EXISTS (SELECT 1 FROM meter_reading AS o '
                'WHERE o.meter = s.meter AND o.taken_at = s.taken_at '
                'AND o.taken_at >= %%s AND o.taken_at <= %%s '
                'AND %(other)s = %(value)s)' % {
                's': STAGING, 'value': value, 'other': other},
            (first, last))
        self.execute(
            'UPDATE %(s)s AS s SET dup = TRUE '
            'WHERE NOT s.dup AND EXISTS (SELECT 1 FROM %(s)s AS o '
                'WHERE o.meter = s.meter AND o.taken_at = s.taken_at '
                'AND %(other)s = %(value)s AND o.row_no < s.row_no)' % {
                's': STAGING, 'value': value, 'other': other})
        if duplicate_keys:
            self.execute('SELECT row_no FROM %s WHERE dup ORDER BY row_no'
                % STAGING)
            result.duplicates = [
                keys[r - 1] if keys is not None else r
                for r, in self.cursor]
            result.duplicate_count = len(result.duplicates)
        else:
            self.execute('SELECT COUNT(*) FROM %s WHERE dup' % STAGING)
            result.duplicate_count, = self.cursor.fetchone()

    def prepare_meters(self):
        """The meters of the batch with their register, the seed (last
        confirmed reading at or before the batch), the last confirmed
        reading, the date of the last one kept (confirmed or to review)
        and, for the high-use check, the lowest and the number of the
        rates of the last ones."""
        size = 'CASE mm.digits %s END' % ' '.join(
            'WHEN %s THEN %s' % (d, rules.register_size(d))
            for d in range(1, 19))
        if self.postgresql and self._reading_table_small():
            # Readings were just added in this transaction: let the planner
            # know how many.
            self.execute('ANALYZE meter_reading')
        window = self.config.median_window or 0
        params = {'m': METERS, 's': STAGING, 'size': size,
            'install': self.as_timestamp('mm.install_date'),
            'window': window,
            # The median's window (at least the last reading)
            'frame': max(window, 1),
            'rate': self.rough_rate(
                'r.consumption', 'r.previous_taken_at', 'r.taken_at')}
        # The seed and the last readings are found by the index of the
        # meter and date, not by reading the whole history of the meters:
        # the last one, which is the seed too unless the batch goes back
        # before it (then only is the seed looked up on its own)
        if self.postgresql:
            # Once a meter, at the end of its history (OFFSET 0 keeps each
            # lateral query on the index; the rows come in its order, so
            # the last one is numbered 1 without a sort).  The median
            # takes the last window of readings with a use: when one of
            # the window's last readings has none, it takes older ones, so
            # no lowest rate then: every use is a candidate.
            last = (
                'l AS (SELECT b.meter AS meter, b.min_at AS min_at, '
                    'f.last_at AS last_at, f.last_id AS last_id, '
                    'f.last_value AS last_value, '
                    'CASE WHEN f.n >= %(frame)s AND f.rates < f.n '
                        'THEN 0 ELSE f.low END AS low, '
                    'CASE WHEN f.n >= %(frame)s AND f.rates < f.n '
                        'THEN %(frame)s ELSE f.rates END AS rates '
                    'FROM b CROSS JOIN LATERAL ('
                        'SELECT MAX(r.taken_at) AS last_at, '
                        'MAX(r.id) FILTER (WHERE r.k = 1) AS last_id, '
                        'MAX(r.value) FILTER (WHERE r.k = 1) AS last_value, '
                        'MIN(r.rate) AS low, COUNT(r.rate) AS rates, '
                        'COUNT(*) AS n '
                        'FROM (SELECT r.taken_at AS taken_at, '
                            'r.id AS id, r.value AS value, '
                            'ROW_NUMBER() OVER (ORDER BY r.taken_at DESC, '
                                'r.id DESC) AS k, '
                            '%(rate)s AS rate '
                            'FROM meter_reading AS r '
                            'WHERE r.meter = b.meter '
                            'AND r.state = \'confirmed\' '
                            'ORDER BY r.taken_at DESC, r.id DESC '
                            'LIMIT %(frame)s OFFSET 0) AS r) AS f), ')
        else:
            # (flag_high and chain_query read the history themselves)
            last = (
                'l AS (SELECT b.meter AS meter, b.min_at AS min_at, '
                    '(SELECT MAX(r.taken_at) FROM meter_reading AS r '
                        'WHERE r.meter = b.meter '
                        'AND r.state = \'confirmed\') AS last_at, '
                    'NULL AS last_id, NULL AS last_value, '
                    'NULL AS low, NULL AS rates '
                    'FROM b), ')
        self.execute((
            'CREATE TEMPORARY TABLE %(m)s AS '
            'WITH b AS (SELECT meter, MIN(taken_at) AS min_at, '
                    'MAX(taken_at) AS max_at '
                    'FROM %(s)s WHERE NOT dup GROUP BY meter), '
            + last +
            # The readings to review, found by their own index
            'd AS (SELECT r.meter AS meter, MAX(r.taken_at) AS draft_at '
                'FROM meter_reading AS r WHERE r.state = \'draft\' '
                'AND r.meter IN (SELECT meter FROM b) '
                'GROUP BY r.meter), '
            'h AS (SELECT l.meter AS meter, '
                    'CASE WHEN l.last_at IS NULL '
                        'OR l.last_at <= l.min_at THEN l.last_at '
                    'ELSE (SELECT MAX(r.taken_at) FROM meter_reading AS r '
                        'WHERE r.meter = l.meter '
                        'AND r.state = \'confirmed\' '
                        'AND r.taken_at <= l.min_at) END AS seed_at, '
                    'l.last_at AS last_at, l.last_id AS last_id, '
                    'l.last_value AS last_value, l.low AS low, '
                    'l.rates AS rates '
                    'FROM l) '
            'SELECT b.meter AS meter, b.min_at AS min_at, '
                'b.max_at AS max_at, h.seed_at AS seed_at, '
                'h.last_at AS last_at, h.last_id AS last_id, '
                'h.last_value AS last_value, h.low AS low, '
                'h.rates AS rates, '
                'CASE WHEN d.draft_at IS NULL OR d.draft_at < h.last_at '
                    'THEN h.last_at ELSE d.draft_at END AS kept_at, '
                'mm.digits AS digits, '
                '%(size)s AS size, mm.multiplier AS multiplier, '
                'mm.initial_value AS initial_value, '
                '%(install)s AS install_at '
            'FROM b JOIN meter_meter AS mm ON mm.id = b.meter '
            'LEFT JOIN h ON h.meter = b.meter '
            'LEFT JOIN d ON d.meter = b.meter') % params)
        self.execute('CREATE UNIQUE INDEX %(m)s_idx ON %(m)s (meter)'
            % {'m': METERS})
        if self.postgresql:
            self.execute('ANALYZE %s' % METERS)

    def flag_same_day(self):
        """Another reading of the meter that day, stored or earlier in batch

        The stored ones are looked for only when the meter's last reading
        kept is not before that day: rarely, for a batch of readings after
        the last ones."""
        self.execute(
            'UPDATE %(s)s AS s SET same_day = TRUE '
            'WHERE NOT s.dup AND ((EXISTS (SELECT 1 FROM %(m)s AS m '
                    'WHERE m.meter = s.meter '
                    'AND m.kept_at >= %(start)s) '
                'AND EXISTS (SELECT 1 FROM meter_reading AS r '
                    'WHERE r.meter = s.meter AND r.state != \'rejected\' '
                    'AND r.source != \'change\' '
                    'AND r.taken_at >= %(start)s AND r.taken_at < %(end)s)) '
            'OR EXISTS (SELECT 1 FROM %(s)s AS o '
                'WHERE o.meter = s.meter AND NOT o.dup '
                'AND o.taken_at >= %(start)s AND o.taken_at < %(end)s '
                'AND (o.taken_at < s.taken_at '
                    'OR (o.taken_at = s.taken_at AND o.row_no < s.row_no))))'
            % {'s': STAGING, 'm': METERS,
                'start': self.day_start('s.taken_at'),
                'end': self.day_end('s.taken_at')})

    def chain_query(self, pass_):
        """Return the query of the previous confirmed value and date of the
        rows of the pass: (n, chain_value, chain_at).

        The chain holds the stored confirmed readings from the seed and the
        batch rows that are or will be confirmed; ties are broken as the
        ORM does: stored readings first, then by creation order.
        """
        params = {'s': STAGING, 'm': METERS, 'pass': int(pass_)}
        if self.auto_confirm:
            if self.postgresql:
                # The stored readings from the seed, by the index of each
                # meter, not the whole history (OFFSET 0 keeps the lateral
                # query on the index), when the batch goes back before the
                # last one.  Otherwise the seed is that last one, which
                # prepare_meters read: it comes before all the meter's
                # rows, so it is the previous of the first one, given
                # after the window rather than sorted in it.
                stored = ('SELECT m.meter AS meter, r.taken_at AS taken_at, '
                        '0 AS kind, r.id AS n, r.value AS value '
                    'FROM %(m)s AS m CROSS JOIN LATERAL ('
                        'SELECT r.taken_at AS taken_at, r.id AS id, '
                        'r.value AS value FROM meter_reading AS r '
                        'WHERE r.meter = m.meter '
                        'AND r.state = \'confirmed\' '
                        'AND r.taken_at >= COALESCE(m.seed_at, m.min_at) '
                        'AND r.taken_at <= m.max_at OFFSET 0) AS r '
                    'WHERE m.last_at > m.min_at ')
                seed = 'w.chain_at IS NULL AND m.last_at <= m.min_at'
                result = ('SELECT w.n AS n, '
                    'CASE WHEN %(seed)s THEN m.last_value '
                        'ELSE w.chain_value END AS chain_value, '
                    'CASE WHEN %(seed)s THEN m.last_at '
                        'ELSE w.chain_at END AS chain_at '
                    'FROM w JOIN %%(m)s AS m ON m.meter = w.meter '
                    % {'seed': seed})
            else:
                stored = ('SELECT r.meter AS meter, r.taken_at AS taken_at, '
                        '0 AS kind, r.id AS n, r.value AS value '
                    'FROM meter_reading AS r '
                    'JOIN %(m)s AS m ON r.meter = m.meter '
                    'WHERE r.state = \'confirmed\' '
                    'AND r.taken_at >= COALESCE(m.seed_at, m.min_at) '
                    'AND r.taken_at <= m.max_at ')
                result = 'SELECT w.n, w.chain_value, w.chain_at FROM w '
            return (
                ('WITH u AS (' + stored +
                    'UNION ALL '
                    'SELECT meter, taken_at, 1, row_no, value FROM %(s)s '
                    'WHERE NOT dup AND (pass = %(pass)s '
                        'OR (pass < %(pass)s AND flags = 0))), '
                'w AS ('
                    'SELECT meter, kind, n, '
                    'LAG(value) OVER win AS chain_value, '
                    'LAG(taken_at) OVER win AS chain_at '
                    'FROM u WINDOW win AS ('
                        'PARTITION BY meter ORDER BY taken_at, kind, n)) '
                # (kind > 0, not kind = 1: the planner then expects most
                # rows, as there are, and hashes the joins on them)
                + result + 'WHERE w.kind > 0') % params)
        # Nothing of the batch will be confirmed: only stored readings are
        # previous values.
        return (
            'SELECT c.n AS n, '
                '(SELECT r.value FROM meter_reading AS r '
                    'WHERE r.meter = c.meter AND r.state = \'confirmed\' '
                    'AND r.taken_at = c.chain_at '
                    'ORDER BY r.id DESC LIMIT 1) AS chain_value, '
                'c.chain_at AS chain_at '
            'FROM (SELECT s.row_no AS n, s.meter AS meter, '
                '(SELECT MAX(r.taken_at) FROM meter_reading AS r '
                    'WHERE r.meter = s.meter AND r.state = \'confirmed\' '
                    'AND r.taken_at <= s.taken_at) AS chain_at '
                'FROM %(s)s AS s '
                'WHERE NOT s.dup AND s.pass = %(pass)s) AS c' % params)

    def compute(self, pass_):
        """Compute in one statement the previous value, consumption,
        rollover and the set-based anomalies of the rows of the pass."""
        value, previous = self.num('p.value'), self.num('p.prev_value')
        size, multiplier = self.num('p.size'), self.num('p.multiplier')
        rollover = (
            '(%(value)s < %(previous)s '
            'AND %(previous)s >= %(size)s * %(high)s '
            'AND %(value)s < %(size)s * %(low)s '
            'AND %(previous)s < %(size)s)' % {
                'value': value, 'previous': previous, 'size': size,
                'high': rules.ROLLOVER_HIGH, 'low': rules.ROLLOVER_LOW})
        zero_days = Decimal(self.config.zero_usage_days or 0)
        if zero_days <= Decimal('0.1'):
            long_enough = 'TRUE'
        else:
            long_enough = '%s >= %s' % (
                self.seconds('c.last_at', 'c.taken_at'),
                int(zero_days * 86400))
        self.execute(
            'WITH w AS (%(chain)s), '
            'p AS (SELECT s.row_no AS row_no, s.value AS value, '
                's.taken_at AS taken_at, s.same_day AS same_day, '
                'm.size AS size, m.multiplier AS multiplier, '
                'CASE WHEN w.chain_at IS NULL THEN m.initial_value '
                    'ELSE w.chain_value END AS prev_value, '
                'CASE WHEN w.chain_at IS NULL THEN m.install_at '
                    'ELSE w.chain_at END AS prev_taken_at, '
                'CASE '
                    'WHEN m.last_at IS NULL AND w.chain_at IS NULL '
                        'THEN m.install_at '
                    'WHEN m.last_at IS NULL THEN w.chain_at '
                    'WHEN w.chain_at IS NULL OR m.last_at >= w.chain_at '
                        'THEN m.last_at '
                    'ELSE w.chain_at END AS last_at '
                'FROM %(s)s AS s '
                'JOIN w ON w.n = s.row_no '
                'JOIN %(m)s AS m ON m.meter = s.meter), '
            'c AS (SELECT p.row_no AS row_no, p.taken_at AS taken_at, '
                'p.same_day AS same_day, p.prev_value AS prev_value, '
                'p.prev_taken_at AS prev_taken_at, p.last_at AS last_at, '
                '%(rollover)s AS rollover, '
                '(%(value)s < %(previous)s AND NOT %(rollover)s) AS is_lower, '
                'CASE '
                    'WHEN %(value)s >= %(previous)s '
                        'THEN ROUND((%(value)s - %(previous)s) '
                            '* %(mult)s, 3) '
                    'WHEN %(rollover)s '
                        'THEN ROUND((%(value)s + %(size)s - %(previous)s) '
                            '* %(mult)s, 3) '
                    'END AS consumption '
                'FROM p) '
            'UPDATE %(s)s SET prev_value = c.prev_value, '
                'prev_taken_at = c.prev_taken_at, last_at = c.last_at, '
                'consumption = c.consumption, rollover = c.rollover, '
                'flags = (CASE WHEN c.is_lower THEN %(f_lower)s ELSE 0 END) '
                '+ (CASE WHEN c.last_at IS NOT NULL '
                    'AND c.taken_at > c.last_at '
                    'AND %(consumption)s = 0 AND %(long)s '
                    'THEN %(f_zero)s ELSE 0 END) '
                '+ (CASE WHEN c.taken_at > %%s THEN %(f_future)s ELSE 0 END) '
                '+ (CASE WHEN c.last_at IS NOT NULL '
                    'AND c.taken_at < c.last_at '
                    'THEN %(f_backdated)s ELSE 0 END) '
                '+ (CASE WHEN c.same_day THEN %(f_same_day)s ELSE 0 END) '
            'FROM c WHERE c.row_no = %(s)s.row_no' % {
                's': STAGING, 'm': METERS, 'chain': self.chain_query(pass_),
                'rollover': rollover, 'value': value, 'previous': previous,
                'size': size, 'mult': multiplier,
                'consumption': self.num('c.consumption'),
                'long': long_enough,
                'f_lower': FLAGS[rules.LOWER], 'f_zero': FLAGS[rules.ZERO],
                'f_future': FLAGS[rules.FUTURE],
                'f_backdated': FLAGS[rules.BACKDATED],
                'f_same_day': FLAGS[rules.SAME_DAY]},
            (self.now,))

    def _reading_table_small(self):
        """Tell whether the batch is large beside the reading table as
        its statistics know it (an empty or young table): then its rows
        change the plans and the table is analyzed again; on years of
        history the statistics hold and analyzing would cost more than
        the batch."""
        self.execute('SELECT reltuples FROM pg_class '
            'WHERE oid = \'meter_reading\'::regclass')
        tuples, = self.cursor.fetchone()
        self.execute('SELECT COUNT(*) FROM %s' % STAGING)
        count, = self.cursor.fetchone()
        return tuples < 10 * count

    def rate(self, consumption, start, end):
        "SQL of the use per day as consumption.days_between counts days"
        days = '(%s / 86400.0)' % self.seconds(start, end)
        return ('(%s / CASE WHEN %s < 0.1 THEN 0.1 ELSE %s END)'
            % (self.num(consumption), days, days))

    def rough_rate(self, consumption, start, end):
        """SQL of rate in floating point on PostgreSQL, where EXTRACT
        computes in NUMERIC (a third of the high-use check's time on a
        large batch): only to find the candidates, whose margin covers
        its rounding; the use is then compared exactly"""
        if not self.postgresql:
            return self.rate(consumption, start, end)
        days = "(DATE_PART('epoch', %s - %s) / 86400.0)" % (end, start)
        return ('(CAST(%s AS FLOAT8) / CASE WHEN %s < 0.1 THEN 0.1 '
            'ELSE %s END)' % (consumption, days, days))

    def flag_high(self, pass_):
        """Flag use far above the meter's recent median.

        The median is computed in Python with consumption.recent_median, but
        only for the candidates found set-based: a use per day above the
        factor times the lowest of the rates the median may take, which are
        among the meter's last stored ones and its earlier rows of the
        batch (a candidate comes after every stored reading of its meter).
        """
        window = self.config.median_window or 0
        if window < 3:
            # recent_median needs three values.
            return
        params = {'s': STAGING, 'm': METERS, 'pass': int(pass_),
            'frame': 2 * window}
        candidate = ('s.pass = %(pass)s AND s.consumption IS NOT NULL '
            'AND s.last_at IS NOT NULL AND s.taken_at > s.last_at' % params)
        if self.auto_confirm:
            chain = ('s.pass = %(pass)s OR (s.pass < %(pass)s '
                'AND s.flags = 0)' % params)
            rate = self.rough_rate(
                's.consumption', 's.prev_taken_at', 's.taken_at')
        else:
            chain = 'FALSE'
            rate = 'CAST(NULL AS NUMERIC)'
        stored = ('r.state = \'confirmed\' '
            'AND r.consumption IS NOT NULL '
            'AND r.previous_taken_at IS NOT NULL')
        # The lowest and the number of the rates of the last stored
        # readings of each meter
        if self.postgresql:
            # Read with the last reading by prepare_meters
            history = ('SELECT meter, low, rates FROM %(m)s '
                'WHERE last_at IS NOT NULL')
        else:
            # Of the last readings with a use, twice the window's
            history = ('SELECT meter, MIN(rate) AS low, '
                    'COUNT(rate) AS rates '
                'FROM (SELECT r.meter AS meter, '
                    '%(stored_rate)s AS rate, '
                    'ROW_NUMBER() OVER (PARTITION BY r.meter '
                        'ORDER BY r.taken_at DESC, r.id DESC) AS rnk '
                    'FROM meter_reading AS r '
                    'JOIN %(m)s AS m ON r.meter = m.meter '
                    'WHERE %(stored)s) AS r '
                'WHERE rnk <= %(frame)s GROUP BY meter')
        # The rates of the meter's rows of the batch before each one (the
        # row's own columns carried, not joined again: candidate > 0, not
        # = 1, so that the planner expects most rows, as on a history)
        self.execute(
            ('WITH h AS (' + history + '), '
            'b AS (SELECT s.meter AS meter, s.taken_at AS taken_at, '
                's.consumption AS consumption, s.last_at AS last_at, '
                'CASE WHEN %(candidate)s THEN 1 ELSE 0 END AS candidate, '
                'MIN(CASE WHEN (%(chain)s) AND s.consumption IS NOT NULL '
                        'AND s.prev_taken_at IS NOT NULL '
                        'THEN %(rate)s END) OVER win AS low, '
                'COUNT(CASE WHEN (%(chain)s) AND s.consumption IS NOT NULL '
                        'AND s.prev_taken_at IS NOT NULL '
                        'THEN 1 END) OVER win AS rates '
                'FROM %(s)s AS s WHERE NOT s.dup '
                'AND ((%(chain)s) OR (%(candidate)s)) '
                'WINDOW win AS (PARTITION BY s.meter '
                    'ORDER BY s.taken_at, s.row_no '
                    'ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) '
            'SELECT b.meter FROM b LEFT JOIN h ON h.meter = b.meter '
            'WHERE b.candidate > 0 AND COALESCE(h.rates, 0) + b.rates >= 3 '
            'AND %(row_rate)s * 1.001 > CASE '
                'WHEN b.low IS NULL OR h.low <= b.low THEN h.low '
                'ELSE b.low END * %%s '
            'GROUP BY b.meter') % {
                **params, 'chain': chain, 'rate': rate,
                'candidate': candidate, 'stored': stored,
                'stored_rate': self.rate('r.consumption',
                    'r.previous_taken_at', 'r.taken_at'),
                'row_rate': self.rough_rate(
                    'b.consumption', 'b.last_at', 'b.taken_at')},
            (self.config.high_usage_factor,))
        meters = [m for m, in self.cursor]
        high = []
        for sub_meters in grouped_slice(meters, backend.MAX_QUERY_PARAMS):
            high.extend(self._high(pass_, list(sub_meters)))
        if high:
            query = ('UPDATE %s SET flags = flags + %s WHERE row_no = %%s'
                % (STAGING, FLAGS[rules.HIGH]))
            if not self.postgresql:
                query = query.replace('%s', '?')
            self.cursor.executemany(query, [(r,) for r in high])

    def _high(self, pass_, meters):
        "Return the rows of the pass of meters with a high use"
        window = self.config.median_window
        factor = self.config.high_usage_factor
        auto_confirm = self.auto_confirm
        in_meters = ', '.join(str(int(m)) for m in meters)
        entries = defaultdict(list)
        self.execute(
            'SELECT meter, taken_at, id, consumption, previous_taken_at '
            'FROM (SELECT r.meter AS meter, r.taken_at AS taken_at, '
                'r.id AS id, r.consumption AS consumption, '
                'r.previous_taken_at AS previous_taken_at, '
                'ROW_NUMBER() OVER (PARTITION BY r.meter '
                    'ORDER BY r.taken_at DESC, r.id DESC) AS rnk, '
                'm.min_at AS min_at '
                'FROM meter_reading AS r '
                'JOIN %(m)s AS m ON r.meter = m.meter '
                'WHERE r.meter IN (%(meters)s) '
                'AND r.state = \'confirmed\' '
                'AND r.consumption IS NOT NULL '
                'AND r.previous_taken_at IS NOT NULL '
                'AND r.taken_at < m.max_at) AS h '
            'WHERE rnk <= %%s OR taken_at >= min_at' % {
                'm': METERS, 'meters': in_meters}, (window,))
        for meter, taken_at, id_, consumption, previous in self.cursor:
            entries[meter].append((_datetime(taken_at), 0, id_,
                    _decimal(consumption), _datetime(previous)))
        self.execute(
            'SELECT meter, taken_at, row_no, consumption, prev_taken_at, '
            'last_at, pass, flags FROM %(s)s '
            'WHERE NOT dup AND meter IN (%(meters)s) '
            'AND pass <= %(pass)s' % {
                's': STAGING, 'meters': in_meters, 'pass': int(pass_)})
        rows = []
        for (meter, taken_at, row_no, consumption, previous, last_at,
                row_pass, flags) in self.cursor:
            taken_at, previous = _datetime(taken_at), _datetime(previous)
            consumption = _decimal(consumption)
            if auto_confirm and (row_pass == pass_ or not flags):
                entries[meter].append(
                    (taken_at, 1, row_no, consumption, previous))
            if row_pass == pass_:
                rows.append((meter, taken_at, row_no, consumption,
                        _datetime(last_at)))
        rates = {}
        for meter, meter_entries in entries.items():
            meter_entries.sort(key=lambda e: e[:3])
            rates[meter] = [
                (e[0], e[3] / rules.days_between(e[4], e[0]))
                for e in meter_entries
                if e[3] is not None and e[4] is not None]
        for meter, taken_at, row_no, consumption, last_at in rows:
            if (consumption is None or last_at is None
                    or taken_at <= last_at):
                continue
            before = [r for t, r in rates.get(meter, []) if t < taken_at]
            reference = rules.recent_median(before, window)
            days = rules.days_between(last_at, taken_at)
            if reference and days and consumption / days > (
                    reference * factor):
                yield row_no

    def block(self, pass_):
        """Send to the next pass the rows after an anomaly of their meter.

        They were computed as if the anomalous row would be confirmed; it
        stays draft.  Return the number of rows sent.
        """
        if not self.auto_confirm:
            return 0
        params = {'s': STAGING, 'pass': int(pass_)}
        self.execute(
            'SELECT COUNT(*) FROM %(s)s '
            'WHERE NOT dup AND pass = %(pass)s AND flags <> 0' % params)
        if not self.cursor.fetchone()[0]:
            return 0
        self.execute(
            'UPDATE %(s)s SET pass = %(pass)s + 1 '
            'WHERE NOT dup AND pass = %(pass)s '
            'AND EXISTS (SELECT 1 FROM %(s)s AS a '
                'WHERE a.meter = %(s)s.meter AND NOT a.dup '
                'AND a.pass = %(pass)s AND a.flags <> 0 '
                'AND (a.taken_at < %(s)s.taken_at '
                    'OR (a.taken_at = %(s)s.taken_at '
                        'AND a.row_no < %(s)s.row_no)))' % params)
        self.execute('SELECT COUNT(*) FROM %(s)s '
            'WHERE NOT dup AND pass = %(pass)s + 1' % params)
        return self.cursor.fetchone()[0]

    def insert(self):
        self.execute('SELECT DISTINCT flags FROM %s WHERE NOT dup' % STAGING)
        anomalies, counts = [], []
        for flags, in list(self.cursor):
            codes = sorted(c for c, f in FLAGS.items() if flags & f)
            anomalies.append("WHEN %s THEN '%s'" % (
                    int(flags), json.dumps(codes, separators=(',', ':'))))
            counts.append('WHEN %s THEN %s' % (int(flags), len(codes)))
        if not anomalies:
            return 0, 0
        if self.auto_confirm:
            state = ('CASE WHEN flags = 0 THEN \'confirmed\' '
                'ELSE \'draft\' END')
        else:
            state = '\'draft\''
        Reading = self.Reading
        defaults = sorted(self.defaults.items())
        self.execute(
            'INSERT INTO meter_reading (meter, taken_at, value, source, '
                'submitter, reader, previous_value, previous_taken_at, '
                'consumption, rollover, anomalies, anomaly_count, state, '
                'create_uid, create_date%(names)s) '
            'SELECT meter, taken_at, value, %%s, %%s, %%s, prev_value, '
                'prev_taken_at, consumption, rollover, '
                '%(anomalies)s, CASE flags %(counts)s END, %(state)s, '
                '%%s, %%s%(values)s '
            'FROM %(s)s WHERE NOT dup ORDER BY taken_at, row_no' % {
                's': STAGING,
                'anomalies': self.json(
                    'CASE flags %s END' % ' '.join(anomalies)),
                'counts': ' '.join(counts),
                'state': state,
                'names': ''.join(', "%s"' % n for n, _ in defaults),
                'values': ', %s' * len(defaults)},
            (self.source, self.submitter, self.reader, self.user,
                self.created_at, *(
                    Reading._fields[n].sql_format(v) for n, v in defaults)))
        self.execute(
            'SELECT COUNT(*), '
            'SUM(CASE WHEN %(state)s = \'confirmed\' THEN 1 ELSE 0 END) '
            'FROM %(s)s WHERE NOT dup' % {'s': STAGING, 'state': state})
        created, confirmed = self.cursor.fetchone()
        return created, confirmed or 0

    def last_id(self):
        "Return the highest id of the readings before the insert"
        self.execute('SELECT MAX(id) FROM meter_reading')
        return self.cursor.fetchone()[0] or 0

    def later_readings(self):
        """Return the meters and dates from which to recompute stored
        readings taken after a new confirmed reading.

        As with the ORM, a confirmed reading changes the previous value of
        the later readings of its meter: rare with imports, so the ORM
        does it.
        """
        self.execute(
            'SELECT s.meter, MIN(s.taken_at) FROM %(s)s AS s '
            'WHERE NOT s.dup AND s.flags = 0 AND %(auto)s '
            # (CASE: the history only for the rows before the last reading
            # kept of their meter, rare)
            'AND CASE WHEN (SELECT m.kept_at FROM %(m)s AS m '
                    'WHERE m.meter = s.meter) > s.taken_at '
                'THEN EXISTS (SELECT 1 FROM meter_reading AS r '
                    'WHERE r.meter = s.meter AND r.taken_at > s.taken_at '
                    'AND r.state != \'rejected\') '
                'ELSE FALSE END '
            'GROUP BY s.meter' % {
                's': STAGING, 'm': METERS,
                'auto': 'TRUE' if self.auto_confirm else 'FALSE'})
        return list(self.cursor)

    def recompute(self, later):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        for meter, start in later:
            Reading.recompute(Meter(meter), _datetime(start))


def _datetime(value):
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _decimal(value):
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))
