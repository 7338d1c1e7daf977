"""The months before the suite went live come from the billing system's
history, in the residents' 12 months and in the staff's 用能查询."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction


class UsageHistoryTestCase(unittest.TestCase):
    "Test the usage months filled from the history"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_field')

    def set_up(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        History = pool.get('meter.billing.history')
        campus = Campus(name="East", code='E')
        campus.save()
        single = Account(number='H1', name="One meter", campus=campus)
        double = Account(number='H2', name="Two meters", campus=campus)
        Account.save([single, double])
        meter, water, power = Meter.create([{
                    'number': number, 'kind': kind, 'account': account.id,
                    'campus': campus.id, 'initial_value': Decimal(100),
                    } for number, kind, account in [
                    ('E-H1', 'electricity', single),
                    ('W-H2', 'water', double),
                    ('E-H2', 'electricity', double)]])
        # Live from 2026-03: readings of March and April
        readings = Reading.create([{
                    'meter': meter.id, 'value': Decimal(value),
                    'taken_at': taken_at,
                    } for value, taken_at in [
                    (150, dt.datetime(2026, 3, 31, 2)),
                    (180, dt.datetime(2026, 4, 30, 2))]])
        self.assertEqual({r.state for r in readings}, {'confirmed'})
        History.create([{
                    'account': account.id, 'meter': m and m.id,
                    'meter_number': m and m.number, 'month': month,
                    'usage': Decimal(usage), 'amount': Decimal(usage) / 2,
                    } for account, m, month, usage in [
                    # Without a meter: the account's only meter
                    (single, None, '2026-01', 40),
                    (single, meter, '2026-02', 45),
                    # A month with readings keeps the readings
                    (single, meter, '2026-03', 999),
                    # Older than 12 months: not shown
                    (single, meter, '2025-04', 7),
                    # Of an account with two meters, without a meter:
                    # nobody knows whose, left out
                    (double, None, '2026-02', 33),
                    (double, water, '2026-02', 12),
                    ]])
        return meter, water, power

    @with_transaction()
    def test_monthly_usage(self):
        "Months without readings show the history, marked as such"
        meter, water, power = self.set_up()
        months = meter.monthly_usage_history(dt.date(2026, 4, 15))
        self.assertEqual(len(months), 12)
        self.assertEqual(months[0][0], '2025-05')
        shown = {m: (v, h) for m, v, h in months}
        self.assertEqual(shown['2026-01'], (Decimal(40), True))
        self.assertEqual(shown['2026-02'], (Decimal(45), True))
        self.assertEqual(shown['2026-03'], (Decimal(50), False))
        self.assertEqual(shown['2026-04'], (Decimal(30), False))
        self.assertEqual(shown['2025-12'], (Decimal(0), False))
        self.assertEqual(dict(meter.monthly_usage(dt.date(2026, 4, 15))),
            {m: v for m, (v, _) in shown.items()})
        self.assertEqual(
            dict((m, (v, h)) for m, v, h in water.monthly_usage_history(
                    dt.date(2026, 4, 15)))['2026-02'],
            (Decimal(12), True))
        self.assertFalse(any(h for _, _, h in power.monthly_usage_history(
                    dt.date(2026, 4, 15))))

    @with_transaction()
    def test_usage_by_kind(self):
        "The staff's usage of several meters adds the history by kind"
        Meter = Pool().get('meter.meter')
        meter, water, power = self.set_up()
        usage = Meter.usage_by_kind_history(
            [meter, water, power], dt.date(2026, 4, 15))
        electricity = {m: (v, h) for m, v, h in usage['electricity']}
        self.assertEqual(electricity['2026-02'], (Decimal(45), True))
        self.assertEqual(electricity['2026-03'], (Decimal(50), False))
        self.assertEqual(
            {m: (v, h) for m, v, h in usage['water']}['2026-02'],
            (Decimal(12), True))
        self.assertEqual(
            Meter.usage_by_kind([meter], dt.date(2026, 4, 15)),
            {'electricity': [(m, v) for m, v, _ in meter.monthly_usage_history(
                            dt.date(2026, 4, 15))]})
