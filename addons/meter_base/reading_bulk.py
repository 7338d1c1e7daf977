"""Create many meter readings at once, set-based, on PostgreSQL and SQLite.

``Reading.create`` checks each new reading with a few queries: fine for a
person, far too slow for a handheld export or an energy platform file of
100,000 rows.  ``create_readings`` gives the same result as creating the
rows one after the other with ``Reading.create`` in chronological order:

1. the rows go into a temporary staging table (``COPY`` on PostgreSQL,
   ``executemany`` on SQLite);
2. rows already stored (same meter, date and value) or repeated in the
   batch are marked as duplicates and skipped;
3. the previous value of each row is found with a window function (``LAG``
   over the meter ordered by date) on the meter's confirmed readings,
   seeded by the last confirmed reading before the batch, and the batch
   rows themselves; consumption and rollover follow ``consumption.py``
   (``ROLLOVER_HIGH``/``ROLLOVER_LOW``, digits and multiplier) in SQL;
4. the anomalies are flagged set-based; only the "high use" check, which
   needs the median of the meter's recent use, is computed in Python with
   ``consumption.recent_median`` on the rows concerned;
5. a row with an anomaly stays draft, so the rows after it on the same
   meter do not chain on it: they are computed again in the next pass.
   Each pass settles, for every meter, the rows up to its first anomaly;
   without anomaly one pass settles everything;
6. the rows are inserted into ``meter_reading``, confirmed when they show
   no anomaly and the configuration confirms automatically.
"""
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

from . import consumption as rules

__all__ = ['create_readings', 'BulkResult']

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


class BulkResult:
    "What create_readings did: counts and the keys of duplicate rows"

    def __init__(self):
        self.created = 0
        self.confirmed = 0
        self.duplicates = []

    def __repr__(self):
        return '<BulkResult created=%s confirmed=%s duplicates=%s>' % (
            self.created, self.confirmed, len(self.duplicates))


def create_readings(rows, source, submitter=None, reader=None, now=None):
    """Create readings from rows of (key, meter id, taken at, value).

    key identifies the row for the caller (a line number): the keys of the
    rows skipped as duplicates are returned in the result.  The rows of one
    call are handled together: call it by chunks of a few tens of
    thousands rows to keep the memory flat.
    """
    return _Bulk(source, submitter, reader, now).run(rows)


class _Bulk:

    def __init__(self, source, submitter, reader, now):
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        transaction = Transaction()
        self.database = transaction.database
        self.cursor = transaction.connection.cursor()
        self.postgresql = self.database.name == 'postgresql' or (
            self.database.__class__.__module__.endswith('postgresql.database'))
        self.source = source
        self.submitter = submitter
        self.reader = reader if reader is not None else transaction.user
        self.user = transaction.user
        self.now = now or dt.datetime.now()
        self.config = Configuration(1)

    # SQL helpers --------------------------------------------------------

    def execute(self, query, params=()):
        if not self.postgresql:
            query = query.replace('%s', '?')
        self.cursor.execute(query, params)

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

    def json(self, column):
        if self.postgresql:
            return 'CAST(%s AS JSONB)' % column
        return column

    # Steps --------------------------------------------------------------

    def run(self, rows):
        result = BulkResult()
        keys = self.stage(rows)
        if not keys:
            self.drop()
            return result
        self.deduplicate(keys, result)
        self.prepare_meters()
        self.flag_same_day()
        history = self.existing_history()
        while self.pending():
            self.chain()
            self.compute()
            self.flag_high(history)
            self.settle()
        result.created, result.confirmed = self.insert()
        self.recompute_later()
        self.drop()
        return result

    def drop(self):
        for table in [STAGING, METERS]:
            self.execute('DROP TABLE IF EXISTS %s' % table)

    def stage(self, rows):
        self.drop()
        temporary = 'TEMPORARY'
        self.execute(
            'CREATE %s TABLE %s ('
            'row_no INTEGER PRIMARY KEY, '
            'meter INTEGER NOT NULL, '
            'taken_at TIMESTAMP NOT NULL, '
            'value NUMERIC NOT NULL, '
            'day_start TIMESTAMP, '
            'day_end TIMESTAMP, '
            'dup BOOLEAN DEFAULT FALSE, '
            'final BOOLEAN DEFAULT FALSE, '
            'blocked BOOLEAN DEFAULT FALSE, '
            'same_day BOOLEAN DEFAULT FALSE, '
            'chain_value NUMERIC, '
            'chain_at TIMESTAMP, '
            'prev_value NUMERIC, '
            'prev_taken_at TIMESTAMP, '
            'last_at TIMESTAMP, '
            'consumption NUMERIC, '
            'rollover BOOLEAN, '
            'flags INTEGER DEFAULT 0, '
            'anomalies VARCHAR, '
            'anomaly_count INTEGER DEFAULT 0, '
            'state VARCHAR)' % (temporary, STAGING))
        keys = []

        def staged():
            one_day = dt.timedelta(days=1)
            for key, meter, taken_at, value in rows:
                keys.append(key)
                day = dt.datetime.combine(taken_at.date(), dt.time())
                yield (len(keys), meter, taken_at, Decimal(value), day,
                    day + one_day)

        columns = '(row_no, meter, taken_at, value, day_start, day_end)'
        if self.postgresql:
            with self.cursor.copy(
                    'COPY %s %s FROM STDIN' % (STAGING, columns)) as copy:
                for row in staged():
                    copy.write_row(row)
        else:
            self.cursor.executemany(
                'INSERT INTO %s %s VALUES (?, ?, ?, ?, ?, ?)'
                % (STAGING, columns), staged())
        self.execute('CREATE INDEX %s_meter ON %s (meter, taken_at)'
            % (STAGING, STAGING))
        if self.postgresql:
            self.execute('ANALYZE %s' % STAGING)
        return keys

    def deduplicate(self, keys, result):
        "Skip rows already stored or repeated in the batch"
        value, other = self.num('s.value'), self.num('o.value')
        self.execute(
            'UPDATE %(s)s AS s SET dup = TRUE '
            'WHERE EXISTS (SELECT 1 FROM meter_reading AS o '
                'WHERE o.meter = s.meter AND o.taken_at = s.taken_at '
                'AND %(other)s = %(value)s) '
            'OR EXISTS (SELECT 1 FROM %(s)s AS o '
                'WHERE o.meter = s.meter AND o.taken_at = s.taken_at '
                'AND %(other)s = %(value)s AND o.row_no < s.row_no)' % {
                's': STAGING, 'value': value, 'other': other})
        self.execute('SELECT row_no FROM %s WHERE dup ORDER BY row_no'
            % STAGING)
        result.duplicates = [keys[r - 1] for r, in self.cursor]

    def prepare_meters(self):
        "The meters of the batch with their register and last readings"
        self.execute(
            'CREATE TEMPORARY TABLE %s ('
            'meter INTEGER PRIMARY KEY, min_at TIMESTAMP, max_at TIMESTAMP, '
            'seed_at TIMESTAMP, last_at TIMESTAMP, digits INTEGER, '
            'size NUMERIC, multiplier NUMERIC, initial_value NUMERIC, '
            'install_at TIMESTAMP)' % METERS)
        self.execute(
            'INSERT INTO %(m)s (meter, min_at, max_at) '
            'SELECT meter, MIN(taken_at), MAX(taken_at) FROM %(s)s '
            'WHERE NOT dup GROUP BY meter' % {'m': METERS, 's': STAGING})
        self.execute(
            'UPDATE %(m)s SET digits = mm.digits, '
                'multiplier = mm.multiplier, '
                'initial_value = mm.initial_value, '
                'install_at = %(install)s '
            'FROM meter_meter AS mm WHERE mm.id = %(m)s.meter' % {
                'm': METERS, 'install': self.as_timestamp('mm.install_date')})
        self.execute(
            'UPDATE %(m)s SET '
            'seed_at = (SELECT MAX(r.taken_at) FROM meter_reading AS r '
                'WHERE r.meter = %(m)s.meter AND r.state = \'confirmed\' '
                'AND r.taken_at <= %(m)s.min_at), '
            'last_at = (SELECT MAX(r.taken_at) FROM meter_reading AS r '
                'WHERE r.meter = %(m)s.meter AND r.state = \'confirmed\')'
            % {'m': METERS})
        self.execute('SELECT DISTINCT digits FROM %s' % METERS)
        for digits, in list(self.cursor):
            self.execute('UPDATE %s SET size = %%s WHERE digits = %%s'
                % METERS, (rules.register_size(digits), digits))

    def flag_same_day(self):
        "Another reading of the meter that day, stored or earlier in batch"
        self.execute(
            'UPDATE %(s)s AS s SET same_day = TRUE '
            'WHERE NOT s.dup AND (EXISTS (SELECT 1 FROM meter_reading AS r '
                'WHERE r.meter = s.meter AND r.state != \'rejected\' '
                'AND r.source != \'change\' '
                'AND r.taken_at >= s.day_start AND r.taken_at < s.day_end) '
            'OR EXISTS (SELECT 1 FROM %(s)s AS o '
                'WHERE o.meter = s.meter AND NOT o.dup '
                'AND o.taken_at >= s.day_start AND o.taken_at < s.day_end '
                'AND (o.taken_at < s.taken_at '
                    'OR (o.taken_at = s.taken_at AND o.row_no < s.row_no))))'
            % {'s': STAGING})

    def pending(self):
        self.execute('SELECT COUNT(*) FROM %s WHERE NOT dup AND NOT final'
            % STAGING)
        count, = self.cursor.fetchone()
        return count

    def chain(self):
        """Find the previous confirmed value of the pending rows.

        The chain holds the stored confirmed readings from the seed (the
        last one at or before the batch) and the batch rows that are or
        will be confirmed; ties are broken as the ORM does: stored
        readings first, then by creation order.
        """
        if self.config.auto_confirm:
            batch = 'NOT dup AND (NOT final OR state = \'confirmed\')'
        else:
            # Nothing of the batch will be confirmed: only stored
            # readings are previous values.
            batch = 'NOT dup AND NOT final'
        self.execute(
            'UPDATE %(s)s SET chain_value = NULL, chain_at = NULL '
            'WHERE NOT dup AND NOT final' % {'s': STAGING})
        self.execute(
            'WITH u AS ('
                'SELECT r.meter AS meter, r.taken_at AS taken_at, '
                    '0 AS kind, r.id AS n, r.value AS value '
                'FROM meter_reading AS r '
                'JOIN %(m)s AS m ON r.meter = m.meter '
                'WHERE r.state = \'confirmed\' '
                'AND r.taken_at >= COALESCE(m.seed_at, m.min_at) '
                'AND r.taken_at <= m.max_at '
                'UNION ALL '
                'SELECT meter, taken_at, 1, row_no, value FROM %(s)s '
                'WHERE %(batch)s), '
            'w AS ('
                'SELECT kind, n, '
                'LAG(kind) OVER win AS pk, '
                'LAG(value) OVER win AS pv, '
                'LAG(taken_at) OVER win AS pt '
                'FROM u WINDOW win AS ('
                    'PARTITION BY meter ORDER BY taken_at, kind, n)) '
            'UPDATE %(s)s SET chain_value = w.pv, chain_at = w.pt '
            'FROM w WHERE w.kind = 1 AND w.n = %(s)s.row_no '
            'AND NOT %(s)s.dup AND NOT %(s)s.final' % {
                's': STAGING, 'm': METERS, 'batch': batch})
        if not self.config.auto_confirm:
            # Rows of the batch are not previous values of each other.
            self.execute(
                'UPDATE %(s)s SET '
                'chain_at = (SELECT MAX(r.taken_at) FROM meter_reading AS r '
                    'WHERE r.meter = %(s)s.meter '
                    'AND r.state = \'confirmed\' '
                    'AND r.taken_at <= %(s)s.taken_at) '
                'WHERE NOT dup AND NOT final' % {'s': STAGING})
            self.execute(
                'UPDATE %(s)s SET '
                'chain_value = (SELECT r.value FROM meter_reading AS r '
                    'WHERE r.meter = %(s)s.meter '
                    'AND r.state = \'confirmed\' '
                    'AND r.taken_at = %(s)s.chain_at '
                    'ORDER BY r.id DESC LIMIT 1) '
                'WHERE NOT dup AND NOT final AND chain_at IS NOT NULL'
                % {'s': STAGING})

    def compute(self):
        "Previous value, consumption, rollover and the set-based anomalies"
        params = {'s': STAGING, 'm': METERS}
        self.execute(
            'UPDATE %(s)s SET '
            'prev_value = CASE WHEN %(s)s.chain_at IS NULL '
                'THEN m.initial_value ELSE %(s)s.chain_value END, '
            'prev_taken_at = CASE WHEN %(s)s.chain_at IS NULL '
                'THEN m.install_at ELSE %(s)s.chain_at END, '
            'last_at = CASE '
                'WHEN m.last_at IS NULL AND %(s)s.chain_at IS NULL '
                    'THEN m.install_at '
                'WHEN m.last_at IS NULL THEN %(s)s.chain_at '
                'WHEN %(s)s.chain_at IS NULL OR m.last_at >= %(s)s.chain_at '
                    'THEN m.last_at '
                'ELSE %(s)s.chain_at END '
            'FROM %(m)s AS m WHERE m.meter = %(s)s.meter '
            'AND NOT %(s)s.dup AND NOT %(s)s.final' % params)
        value, previous = self.num('%(s)s.value' % params), self.num(
            '%(s)s.prev_value' % params)
        size, multiplier = self.num('m.size'), self.num('m.multiplier')
        rollover = (
            '(%(value)s < %(previous)s '
            'AND %(previous)s >= %(size)s * %%s '
            'AND %(value)s < %(size)s * %%s '
            'AND %(previous)s < %(size)s)' % {
                'value': value, 'previous': previous, 'size': size})
        high, low = rules.ROLLOVER_HIGH, rules.ROLLOVER_LOW
        self.execute(
            'UPDATE %(s)s SET '
            'rollover = %(rollover)s, '
            'consumption = CASE '
                'WHEN %(value)s >= %(previous)s '
                    'THEN ROUND((%(value)s - %(previous)s) * %(mult)s, 7) '
                'WHEN %(rollover)s '
                    'THEN ROUND((%(value)s + %(size)s - %(previous)s) '
                        '* %(mult)s, 7) '
                'END '
            'FROM %(m)s AS m WHERE m.meter = %(s)s.meter '
            'AND NOT %(s)s.dup AND NOT %(s)s.final' % {
                **params, 'rollover': rollover, 'value': value,
                'previous': previous, 'size': size, 'mult': multiplier},
            (high, low, high, low))
        zero_days = Decimal(self.config.zero_usage_days or 0)
        if zero_days <= Decimal('0.1'):
            long_enough = 'TRUE'
        else:
            long_enough = '%s >= %s' % (
                self.seconds('%(s)s.last_at' % params,
                    '%(s)s.taken_at' % params),
                int(zero_days * 86400))
        self.execute(
            'UPDATE %(s)s SET flags = '
            '(CASE WHEN %(value)s < %(previous)s AND NOT %(rollover)s '
                'THEN %(lower)s ELSE 0 END) '
            '+ (CASE WHEN last_at IS NOT NULL AND taken_at > last_at '
                'AND %(consumption)s = 0 AND %(long)s '
                'THEN %(zero)s ELSE 0 END) '
            '+ (CASE WHEN taken_at > %%s THEN %(future)s ELSE 0 END) '
            '+ (CASE WHEN last_at IS NOT NULL AND taken_at < last_at '
                'THEN %(backdated)s ELSE 0 END) '
            '+ (CASE WHEN same_day THEN %(same_day)s ELSE 0 END) '
            'FROM %(m)s AS m WHERE m.meter = %(s)s.meter '
            'AND NOT %(s)s.dup AND NOT %(s)s.final' % {
                **params, 'value': value, 'previous': previous,
                'rollover': rollover,
                'consumption': self.num('%(s)s.consumption' % params),
                'long': long_enough,
                'lower': FLAGS[rules.LOWER], 'zero': FLAGS[rules.ZERO],
                'future': FLAGS[rules.FUTURE],
                'backdated': FLAGS[rules.BACKDATED],
                'same_day': FLAGS[rules.SAME_DAY]},
            (high, low, self.now))

    def existing_history(self):
        """Return the stored confirmed use of the batch meters by meter:
        lists of (taken at, id, consumption, previous taken at)."""
        window = self.config.median_window or 0
        history = defaultdict(list)
        if window <= 0:
            return history
        self.execute(
            'SELECT meter, taken_at, id, consumption, previous_taken_at '
            'FROM (SELECT r.meter AS meter, r.taken_at AS taken_at, '
                'r.id AS id, r.consumption AS consumption, '
                'r.previous_taken_at AS previous_taken_at, '
                'ROW_NUMBER() OVER (PARTITION BY r.meter '
                    'ORDER BY r.taken_at DESC, r.id DESC) AS rank, '
                'm.min_at AS min_at '
                'FROM meter_reading AS r '
                'JOIN %(m)s AS m ON r.meter = m.meter '
                'WHERE r.state = \'confirmed\' '
                'AND r.consumption IS NOT NULL '
                'AND r.previous_taken_at IS NOT NULL '
                'AND r.taken_at < m.max_at) AS h '
            'WHERE rank <= %%s OR taken_at >= min_at '
            'ORDER BY meter, taken_at, id' % {'m': METERS}, (window,))
        for meter, taken_at, id_, consumption, previous in self.cursor:
            history[meter].append((
                    _datetime(taken_at), 0, id_, _decimal(consumption),
                    _datetime(previous)))
        return history

    def flag_high(self, history):
        """Flag use far above the meter's recent median, in Python.

        The median of the recent use per day needs at least three earlier
        confirmed readings: only the meters with enough of them are read.
        """
        window = self.config.median_window or 0
        if window <= 0:
            return
        chain = 'NOT dup AND (NOT final OR state = \'confirmed\')'
        if not self.config.auto_confirm:
            chain = 'FALSE'
        self.execute(
            'SELECT meter, taken_at, row_no, consumption, prev_taken_at, '
            'last_at, final FROM %(s)s '
            'WHERE NOT dup AND (NOT final OR (%(chain)s)) '
            'ORDER BY meter, taken_at, row_no' % {
                's': STAGING, 'chain': chain})
        rows = defaultdict(list)
        for row in self.cursor:
            rows[row[0]].append(row)
        high = []
        factor = self.config.high_usage_factor
        for meter, meter_rows in rows.items():
            earlier = history.get(meter, [])
            if len(earlier) + len(meter_rows) < 4:
                continue
            entries = [(h[0], h[1], h[2], h[3], h[4]) for h in earlier]
            for (_, taken_at, row_no, consumption, previous, _, final
                    ) in meter_rows:
                entries.append((_datetime(taken_at), 1, row_no,
                        _decimal(consumption), _datetime(previous), final))
            entries.sort(key=lambda e: e[:3])
            for (_, taken_at, row_no, consumption, previous, last_at, final
                    ) in meter_rows:
                taken_at = _datetime(taken_at)
                last_at = _datetime(last_at)
                consumption = _decimal(consumption)
                if (final or consumption is None or last_at is None
                        or taken_at <= last_at):
                    continue
                rates = [e[3] / rules.days_between(e[4], e[0])
                    for e in entries
                    if e[0] < taken_at and e[3] is not None
                    and e[4] is not None
                    and not (e[1] == 1 and e[2] == row_no)]
                reference = rules.recent_median(rates, window)
                days = rules.days_between(last_at, taken_at)
                if reference and days and consumption / days > (
                        reference * factor):
                    high.append((row_no,))
        if high:
            query = ('UPDATE %s SET flags = flags + %s WHERE row_no = %%s'
                % (STAGING, FLAGS[rules.HIGH]))
            if not self.postgresql:
                query = query.replace('%s', '?')
            self.cursor.executemany(query, high)

    def settle(self):
        """Settle the pending rows up to the first anomaly of each meter.

        A row after an anomaly was computed as if the anomalous row would
        be confirmed; it is computed again in the next pass.
        """
        params = {'s': STAGING}
        if self.config.auto_confirm:
            self.execute(
                'UPDATE %(s)s SET blocked = EXISTS (SELECT 1 FROM %(s)s AS a '
                    'WHERE a.meter = %(s)s.meter AND NOT a.dup '
                    'AND NOT a.final AND a.flags <> 0 '
                    'AND (a.taken_at < %(s)s.taken_at '
                        'OR (a.taken_at = %(s)s.taken_at '
                            'AND a.row_no < %(s)s.row_no))) '
                'WHERE NOT dup AND NOT final' % params)
            state = 'CASE WHEN flags = 0 THEN \'confirmed\' ELSE \'draft\' END'
        else:
            state = '\'draft\''
        self.execute(
            'UPDATE %(s)s SET final = TRUE, state = %(state)s '
            'WHERE NOT dup AND NOT final AND NOT blocked' % {
                **params, 'state': state})

    def insert(self):
        self.execute('SELECT DISTINCT flags FROM %s WHERE NOT dup' % STAGING)
        for flags, in list(self.cursor):
            codes = sorted(c for c, f in FLAGS.items() if flags & f)
            self.execute(
                'UPDATE %s SET anomalies = %%s, anomaly_count = %%s '
                'WHERE NOT dup AND flags = %%s' % STAGING,
                (json.dumps(codes, separators=(',', ':')), len(codes),
                    flags))
        self.execute(
            'INSERT INTO meter_reading (meter, taken_at, value, source, '
                'submitter, reader, previous_value, previous_taken_at, '
                'consumption, rollover, anomalies, anomaly_count, state, '
                'create_uid, create_date) '
            'SELECT meter, taken_at, value, %%s, %%s, %%s, prev_value, '
                'prev_taken_at, consumption, rollover, %(anomalies)s, '
                'anomaly_count, state, %%s, %%s '
            'FROM %(s)s WHERE NOT dup ORDER BY taken_at, row_no' % {
                's': STAGING, 'anomalies': self.json('anomalies')},
            (self.source, self.submitter, self.reader, self.user,
                dt.datetime.now()))
        self.execute(
            'SELECT COUNT(*), '
            'SUM(CASE WHEN state = \'confirmed\' THEN 1 ELSE 0 END) '
            'FROM %s WHERE NOT dup' % STAGING)
        created, confirmed = self.cursor.fetchone()
        return created, confirmed or 0

    def recompute_later(self):
        """Recompute the stored readings after a new confirmed one.

        As with the ORM, a confirmed reading changes the previous value of
        the later readings of its meter: rare with imports, so the ORM
        does it.
        """
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        self.execute(
            'SELECT s.meter, MIN(s.taken_at) FROM %(s)s AS s '
            'WHERE NOT s.dup AND s.state = \'confirmed\' '
            'AND EXISTS (SELECT 1 FROM meter_reading AS r '
                'WHERE r.meter = s.meter AND r.taken_at > s.taken_at '
                'AND r.state != \'rejected\' '
                'AND (r.source != %%s OR r.create_date < %%s)) '
            'GROUP BY s.meter' % {'s': STAGING},
            (self.source, self.now - dt.timedelta(days=36500)))
        for meter, start in list(self.cursor):
            Reading.recompute(Meter(meter), _datetime(start))


def _datetime(value):
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _decimal(value):
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))
