import datetime as dt
import unittest
from decimal import Decimal

from trytond.modules.meter_base.exceptions import ReadingValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

D = Decimal
T = dt.datetime

# (meter, taken at, value) of the sample: each meter exists twice, one
# filled through Reading.create, the other through Reading.create_bulk.
SAMPLE = [
    # Plain use, then a rollover of a 4-digit register: 9950 → 30.
    ('roll', T(2026, 1, 10, 9), D('9900')),
    ('roll', T(2026, 2, 10, 9), D('9950.5')),
    ('roll', T(2026, 3, 10, 9), D('30.25')),
    ('roll', T(2026, 4, 10, 9), D('80')),
    # A lower value (not a rollover) stays draft; the next chains on the
    # last confirmed one, then the same day twice.
    ('lower', T(2026, 1, 10, 9), D('5000')),
    ('lower', T(2026, 2, 10, 9), D('4000')),
    ('lower', T(2026, 3, 10, 9), D('5100.5')),
    ('lower', T(2026, 3, 10, 15), D('5101')),
    ('lower', T(2026, 4, 10, 9), D('5200')),
    # No use over a month, then a regular use and a far higher one.
    ('usage', T(2026, 1, 1, 8), D('100')),
    ('usage', T(2026, 2, 1, 8), D('100')),
    ('usage', T(2026, 3, 1, 8), D('130')),
    ('usage', T(2026, 4, 1, 8), D('161')),
    ('usage', T(2026, 5, 1, 8), D('191')),
    ('usage', T(2026, 6, 1, 8), D('223')),
    ('usage', T(2026, 7, 1, 8), D('900')),
    ('usage', T(2026, 8, 1, 8), D('930')),
    # The day is the centre's (Asia/Shanghai, UTC+8): 23:30 and 00:30 the
    # next day there, though one UTC day; then 07:30 and 08:30 there,
    # though two UTC days.
    ('days', T(2026, 3, 10, 15, 30), D('100')),
    ('days', T(2026, 3, 10, 16, 30), D('110')),
    ('days', T(2026, 3, 11, 23, 30), D('120')),
    ('days', T(2026, 3, 12, 0, 30), D('130')),
    # A far higher use than the stored history's, first of the batch.
    ('history', T(2026, 1, 1, 8), D('900')),
    ('history', T(2026, 2, 1, 8), D('930')),
    # The day of a stored reading left for review (lower than the last).
    ('review', T(2026, 2, 10, 15), D('130')),
    # Before a stored reading left for review, which then follows it.
    ('later', T(2026, 2, 10, 9), D('110')),
    # Before the stored reading and in the future.
    ('dates', T(2025, 12, 1, 8), D('50')),
    ('dates', T(2026, 1, 15, 8), D('70')),
    ('dates', T(2099, 1, 1, 8), D('90')),
    ]
METERS = {
    'roll': dict(digits=4, multiplier=D('2')),
    'lower': dict(digits=6, multiplier=D('1.5')),
    'usage': dict(digits=5, multiplier=D('1'),
        install_date=dt.date(2025, 12, 1)),
    'dates': dict(digits=5, multiplier=D('10')),
    'days': dict(digits=5, multiplier=D('1')),
    'history': dict(digits=5, multiplier=D('1')),
    'review': dict(digits=5, multiplier=D('1')),
    'later': dict(digits=5, multiplier=D('1')),
    }
# Readings stored before the batch, confirmed.
STORED = [
    ('roll', T(2025, 12, 10, 9), D('9800')),
    ('dates', T(2025, 12, 20, 8), D('60')),
    ('history', T(2025, 8, 1, 8), D('100')),
    ('history', T(2025, 9, 1, 8), D('130')),
    ('history', T(2025, 10, 1, 8), D('161')),
    ('history', T(2025, 11, 1, 8), D('191')),
    ('history', T(2025, 12, 1, 8), D('223')),
    ('review', T(2026, 1, 10, 9), D('100')),
    ('review', T(2026, 2, 10, 9), D('90')),
    ('later', T(2026, 1, 10, 9), D('100')),
    ('later', T(2026, 3, 10, 9), D('95')),
    ]
FIELDS = ['taken_at', 'value', 'previous_value', 'previous_taken_at',
    'consumption', 'rollover', 'anomalies', 'anomaly_count', 'state',
    'source']


class ReadingBulkTestCase(unittest.TestCase):
    "Bulk creation of readings gives the same as the ORM"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_base')

    def _meters(self, suffix):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        campus = Campus(name="Campus %s" % suffix, code=suffix)
        campus.save()
        meters = {}
        for name, values in METERS.items():
            meters[name] = Meter(number='%s-%s' % (name, suffix),
                campus=campus, decimals=3, initial_value=D(0), **values)
        Meter.save(list(meters.values()))
        for name, taken_at, value in STORED:
            Reading.create([{
                        'meter': meters[name].id, 'taken_at': taken_at,
                        'value': value, 'source': 'import'}])
        return meters

    def _readings(self, meters):
        pool = Pool()
        Reading = pool.get('meter.reading')
        result = {}
        for name, meter in meters.items():
            readings = Reading.search([('meter', '=', meter.id)],
                order=[('taken_at', 'ASC'), ('id', 'ASC')])
            result[name] = [
                tuple(getattr(r, f) for f in FIELDS) for r in readings]
        return result

    def _compare(self):
        pool = Pool()
        Reading = pool.get('meter.reading')
        orm, bulk = self._meters('ORM'), self._meters('BULK')
        for name, taken_at, value in sorted(SAMPLE, key=lambda r: r[1]):
            Reading.create([{
                        'meter': orm[name].id, 'taken_at': taken_at,
                        'value': value, 'source': 'import'}])
        rows = [(i, bulk[name].id, taken_at, value)
            for i, (name, taken_at, value) in enumerate(SAMPLE)]
        result = Reading.create_bulk(rows, 'import')
        self.assertEqual(result.created, len(SAMPLE))
        self.assertEqual(result.duplicates, [])
        expected, got = self._readings(orm), self._readings(bulk)
        for name in METERS:
            with self.subTest(meter=name):
                self.assertEqual(got[name], expected[name])
        return got, bulk

    @with_transaction()
    def test_same_as_orm(self):
        "Consumption, state and anomalies agree with Reading.create"
        Reading = Pool().get('meter.reading')
        got, bulk = self._compare()
        roll = {r[0]: r for r in got['roll']}
        rolled = roll[T(2026, 3, 10, 9)]
        # 9950.5 → 30.25 on 4 digits: 79.75 units × 2.
        self.assertEqual(rolled[4], D('159.5'))
        self.assertTrue(rolled[5])
        self.assertEqual(rolled[8], 'confirmed')
        lower = {r[0]: r for r in got['lower']}
        self.assertEqual(lower[T(2026, 2, 10, 9)][6], ('lower',))
        self.assertIsNone(lower[T(2026, 2, 10, 9)][4])
        self.assertEqual(lower[T(2026, 2, 10, 9)][8], 'draft')
        # Chained on 5000, not on the draft 4000.
        self.assertEqual(lower[T(2026, 3, 10, 9)][2], D('5000'))
        self.assertEqual(lower[T(2026, 3, 10, 15)][6], ('same_day',))
        days = {r[0]: r[6] for r in got['days']}
        self.assertEqual(days[T(2026, 3, 10, 16, 30)], ())
        self.assertEqual(days[T(2026, 3, 12, 0, 30)], ('same_day',))
        usage = {r[0]: r for r in got['usage']}
        self.assertEqual(usage[T(2026, 2, 1, 8)][6], ('zero',))
        self.assertEqual(usage[T(2026, 7, 1, 8)][6], ('high',))
        history = {r[0]: r for r in got['history']}
        self.assertEqual(history[T(2026, 1, 1, 8)][6], ('high',))
        self.assertEqual(history[T(2026, 1, 1, 8)][8], 'draft')
        review = {r[0]: r for r in got['review']}
        self.assertEqual(review[T(2026, 2, 10, 9)][8], 'draft')
        self.assertEqual(review[T(2026, 2, 10, 15)][6], ('same_day',))
        later = {r[0]: r for r in got['later']}
        self.assertEqual(later[T(2026, 2, 10, 9)][8], 'confirmed')
        # The reading to review now follows the new one
        self.assertEqual(later[T(2026, 3, 10, 9)][2], D('110'))
        dates = {r[0]: r for r in got['dates']}
        self.assertEqual(dates[T(2025, 12, 1, 8)][6], ('backdated',))
        self.assertEqual(dates[T(2099, 1, 1, 8)][6], ('future',))

        # The same rows again are all duplicates.
        rows = [(i, bulk[name].id, taken_at, value)
            for i, (name, taken_at, value) in enumerate(SAMPLE)]
        again = Reading.create_bulk(rows, 'import')
        self.assertEqual(again.created, 0)
        self.assertEqual(again.duplicates, list(range(len(SAMPLE))))
        self.assertEqual(self._readings(bulk), got)

    @with_transaction()
    def test_same_as_orm_without_auto_confirm(self):
        "Without automatic confirmation every row stays draft"
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        config.auto_confirm = False
        config.save()
        got, _ = self._compare()
        self.assertEqual(
            {r[8] for rows in got.values() for r in rows}, {'draft'})

    @with_transaction()
    def test_value_fits_register(self):
        "The bulk path refuses what Reading's validation refuses"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meters = self._meters('BIG')
        meter = meters['roll']
        count = Reading.search([], count=True)
        for value, message in [
                (D('10000'), 'does not fit in the 4 integer digits'),
                (D('99999999999999999999999'), 'does not fit'),
                (D('1E+100000'), 'does not fit'),
                (D('Infinity'), 'is not a number'),
                (D('NaN'), 'is not a number'),
                ]:
            with self.subTest(value=value):
                with self.assertRaises(ReadingValidationError) as context:
                    Reading.create_bulk([
                            (1, meter.id, T(2026, 1, 1, 10), D('9850')),
                            (2, meter.id, T(2026, 1, 2, 10), value),
                            (3, meter.id, T(2026, 1, 3, 10), D('9860')),
                            ], 'handheld')
                self.assertIn(message, context.exception.message)
                self.assertIn(meter.rec_name, context.exception.message)
        self.assertEqual(Reading.search([], count=True), count)
        result = Reading.create_bulk(
            [(1, meter.id, T(2026, 1, 1, 10), D('9999.999'))], 'handheld')
        self.assertEqual(result.created, 1)

    @with_transaction()
    def test_duplicates_in_batch(self):
        "A row repeated in the batch is created once"
        Reading = Pool().get('meter.reading')
        meters = self._meters('DUP')
        meter = meters['roll']
        taken_at = T(2026, 1, 1, 10)
        result = Reading.create_bulk([
                ('a', meter.id, taken_at, D('9850')),
                ('b', meter.id, taken_at, D('9850.000')),
                ('c', meter.id, taken_at, D('9851')),
                ], 'handheld', submitter="HT-1")
        self.assertEqual(result.created, 2)
        self.assertEqual(result.duplicates, ['b'])
        self.assertEqual(result.confirmed, 1)

    @with_transaction()
    def test_domain_selects_batch(self):
        "The result's domain selects the readings of the batch and no other"
        Reading = Pool().get('meter.reading')
        meter = self._meters('DOM')['roll']
        Reading.create([{'meter': meter.id, 'taken_at': T(2025, 12, 1, 9),
                    'value': D('9700'), 'source': 'import'}])
        first = Reading.create_bulk(
            [(1, meter.id, T(2026, 1, 1, 9), D('9750'))], 'handheld')
        second = Reading.create_bulk([
                (1, meter.id, T(2026, 2, 1, 9), D('9800')),
                (2, meter.id, T(2026, 3, 1, 9), D('9850')),
                ], 'handheld')
        self.assertEqual(
            [r.value for r in Reading.search(first.domain)], [D('9750')])
        self.assertEqual(
            sorted(r.value for r in Reading.search(second.domain)),
            [D('9800'), D('9850')])
        # The ids of a batch are above the highest one before it
        self.assertTrue(all(r.id <= second.after
                for r in Reading.search(first.domain)))
        self.assertGreater(second.after, first.after)
        nothing = Reading.create_bulk(
            [(1, meter.id, T(2026, 3, 1, 9), D('9850'))], 'handheld')
        self.assertEqual(nothing.created, 0)
        self.assertEqual(Reading.search(nothing.domain), [])

    @with_transaction()
    def test_meter_indexes(self):
        "One index of a meter's readings by date, none of the meter alone"
        Reading = Pool().get('meter.reading')
        # Every reading imported writes at a random place of each of them
        columns = [[str(e) for e, _ in i.expressions]
            for i in Reading._sql_indexes]
        self.assertEqual(
            [c for c in columns if c[0] == '"meter"'],
            [['"meter"', '"taken_at"', '"id"']])

    @with_transaction()
    def test_extension_through_pool(self):
        "A module extending meter.reading sees the bulk readings"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meter = self._meters('EXT')['roll']
        seen = []
        create_bulk = Reading.create_bulk.__func__

        def extended(cls, rows, source, **kwargs):
            # What an extending module does: super(), then the batch.
            result = create_bulk(cls, rows, source, **kwargs)
            seen.extend(r.value for r in cls.search(result.domain))
            return result

        Reading.create_bulk = classmethod(extended)
        try:
            pool.get('meter.reading').create_bulk(
                [(1, meter.id, T(2026, 1, 1, 9), D('9750'))], 'handheld')
        finally:
            del Reading.create_bulk
        self.assertEqual(seen, [D('9750')])
