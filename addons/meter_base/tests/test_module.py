import datetime as dt
from decimal import Decimal

from trytond.modules.meter_base import consumption as rules
from trytond.modules.meter_base import numerals
from trytond.modules.meter_base.exceptions import ReadingValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ConsumptionRulesTestCase(ModuleTestCase.__mro__[-2]):
    "Consumption and anomaly rules, without database"

    def test_consumption_plain(self):
        self.assertEqual(
            rules.consumption(Decimal('100'), Decimal('130.5'), 6, 2),
            (Decimal('61.0'), False))

    def test_consumption_rollover(self):
        # A 5-digit register wraps after 99999: 99990 → 15 is 25 units.
        self.assertEqual(
            rules.consumption(Decimal('99990'), Decimal('15'), 5),
            (Decimal('25'), True))

    def test_consumption_lower_not_rollover(self):
        # 5000 → 4000 on a 5-digit register is not near the wrap point.
        self.assertEqual(
            rules.consumption(Decimal('5000'), Decimal('4000'), 5),
            (None, False))
        # Previous near the top but value far from 0: not plausible either.
        self.assertEqual(
            rules.consumption(Decimal('99990'), Decimal('50000'), 5),
            (None, False))

    def test_anomalies(self):
        now = dt.datetime(2026, 5, 1)
        base = dict(now=now, previous_value=Decimal(100),
            previous_taken_at=dt.datetime(2026, 3, 1), history=[],
            same_day=False, digits=6)
        self.assertEqual(rules.anomalies(value=Decimal(90),
                taken_at=dt.datetime(2026, 4, 1), consumption_value=None,
                **base), ['lower'])
        self.assertEqual(rules.anomalies(value=Decimal(100),
                taken_at=dt.datetime(2026, 4, 1), consumption_value=0,
                **base), ['zero'])
        self.assertEqual(rules.anomalies(value=Decimal(110),
                taken_at=dt.datetime(2026, 6, 1), consumption_value=10,
                **base), ['future'])
        self.assertEqual(rules.anomalies(value=Decimal(110),
                taken_at=dt.datetime(2026, 2, 1), consumption_value=10,
                **base), ['backdated'])
        history = [(Decimal(30), Decimal(30))] * 4
        base['history'] = history
        # 31 days at 1 unit a day is normal, 400 units is 12× the median.
        self.assertEqual(rules.anomalies(value=Decimal(131),
                taken_at=dt.datetime(2026, 4, 1), consumption_value=31,
                **base), [])
        self.assertEqual(rules.anomalies(value=Decimal(500),
                taken_at=dt.datetime(2026, 4, 1), consumption_value=400,
                same_day=True, **{k: v for k, v in base.items()
                    if k != 'same_day'}), ['high', 'same_day'])


class NumbersTestCase(ModuleTestCase.__mro__[-2]):
    "Numbers read strictly, without database"

    def test_integer(self):
        self.assertEqual(numerals.parse_integer('0012'), 12)
        for text in ['１２', '١٢٣', '1_000', ' 12', '12 ', '+1', '-1', '',
                '²', '1' * 101, None, 12]:
            with self.subTest(text=text):
                self.assertFalse(numerals.is_integer(text))
                with self.assertRaises(ValueError):
                    numerals.parse_integer(text)

    def test_decimal(self):
        self.assertEqual(numerals.parse_decimal('-1.50'), Decimal('-1.50'))
        self.assertEqual(numerals.parse_decimal('.5'), Decimal('0.5'))
        self.assertEqual(numerals.parse_decimal('1.5E+3', exponent=True),
            Decimal('1.5E+3'))
        for text in ['1.5E+3', '１２', '١٢٣', '1_000', 'Infinity', 'NaN',
                'inf', '1.', '', '.', ' 1', '1e', None]:
            if text == '1.':
                self.assertEqual(numerals.parse_decimal(text), Decimal(1))
                continue
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    numerals.parse_decimal(text)
        self.assertTrue(numerals.has_other_digits('2026-0１-01'))
        self.assertFalse(numerals.has_other_digits('2026-01-01'))


class MeterBaseTestCase(ModuleTestCase):
    "Test Meter Base module"
    module = 'meter_base'

    def _meter(self, **values):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        campus = Campus(name="Main", code='MAIN')
        campus.save()
        meter = Meter(number='M1', campus=campus, digits=4, decimals=0,
            initial_value=Decimal(0), **values)
        meter.save()
        return meter

    @with_transaction()
    def test_reading_auto_confirm_and_consumption(self):
        "Readings without anomaly confirm and compute consumption"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meter = self._meter(multiplier=Decimal(10))
        r1, = Reading.create([{'meter': meter.id, 'value': Decimal(5),
                    'taken_at': dt.datetime(2026, 1, 1)}])
        r2, = Reading.create([{'meter': meter.id, 'value': Decimal(12),
                    'taken_at': dt.datetime(2026, 2, 1)}])
        self.assertEqual((r1.state, r1.consumption), ('confirmed', 50))
        self.assertEqual((r2.state, r2.consumption), ('confirmed', 70))

    @with_transaction()
    def test_correction_recomputes_later(self):
        "Correcting an earlier reading recomputes the later consumption"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meter = self._meter()
        r1, r2 = Reading.create([
                {'meter': meter.id, 'value': Decimal(100),
                    'taken_at': dt.datetime(2026, 1, 1)},
                ])[0], None
        r2, = Reading.create([{'meter': meter.id, 'value': Decimal(160),
                    'taken_at': dt.datetime(2026, 2, 1)}])
        Reading.write([r1], {'value': Decimal(120)})
        r2 = Reading(r2.id)
        self.assertEqual((r2.previous_value, r2.consumption), (120, 40))

    @with_transaction()
    def test_rollover_and_lower(self):
        "A plausible rollover confirms; a lower value waits for review"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meter = self._meter()
        Reading.create([{'meter': meter.id, 'value': Decimal(9990),
                    'taken_at': dt.datetime(2026, 1, 1)}])
        roll, = Reading.create([{'meter': meter.id, 'value': Decimal(20),
                    'taken_at': dt.datetime(2026, 2, 1)}])
        self.assertEqual((roll.state, roll.consumption, roll.rollover),
            ('confirmed', 30, True))
        lower, = Reading.create([{'meter': meter.id, 'value': Decimal(10),
                    'taken_at': dt.datetime(2026, 3, 1)}])
        self.assertEqual((lower.state, lower.anomalies, lower.consumption),
            ('draft', ('lower',), None))

    @with_transaction()
    def test_reading_value_fits_register(self):
        "A value the register cannot show is refused, whatever the source"
        pool = Pool()
        Reading = pool.get('meter.reading')
        meter = self._meter()
        reading, = Reading.create([{'meter': meter.id,
                    'value': Decimal('9999.999'),
                    'taken_at': dt.datetime(2026, 1, 1)}])
        self.assertEqual(reading.consumption, Decimal('9999.999'))
        for value, message in [
                (Decimal(10000), 'does not fit in the 4 integer digits'),
                (Decimal('99999999999999999999999'), 'does not fit'),
                (Decimal('1E+100000'), 'does not fit'),
                (Decimal('Infinity'), 'is not a number'),
                (Decimal('NaN'), 'is not a number'),
                ]:
            with self.subTest(value=value):
                with self.assertRaises(ReadingValidationError) as context:
                    Reading.create([{'meter': meter.id, 'value': value,
                                'taken_at': dt.datetime(2026, 2, 1)}])
                self.assertIn(message, context.exception.message)
                self.assertIn('"M1"', context.exception.message)
                with self.assertRaises(ReadingValidationError):
                    Reading.write([reading], {'value': value})


del ModuleTestCase
