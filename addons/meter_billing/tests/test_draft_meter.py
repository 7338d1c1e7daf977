"""A meter recorded on site is not billed until the office confirms it,
even with confirmed readings."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction


class DraftMeterBillingTestCase(unittest.TestCase):
    "Test that billing runs leave draft meters out"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_billing')

    @with_transaction()
    def test_billing_run_leaves_draft_meter_out(self):
        "The run bills the confirmed meters only"
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Tariff = pool.get('meter.tariff')
        Period = pool.get('meter.billing.period')
        Run = pool.get('meter.billing.run')
        campus = Campus(name="East", code='E')
        campus.save()
        both = Account(number='100001', name="Both", campus=campus)
        both.save()
        only_draft = Account(number='100002', name="Draft", campus=campus)
        only_draft.save()
        active, draft, other_draft = Meter.create([{
                    'number': number, 'kind': 'water', 'account': account.id,
                    'campus': campus.id, 'state': state,
                    'initial_value': Decimal(100),
                    } for number, account, state in [
                    ('W-1', both, 'active'), ('W-2', both, 'draft'),
                    ('W-3', only_draft, 'draft')]])
        Tariff.create([{
                    'name': "Water", 'category': 'resident', 'kind': 'water',
                    'versions': [('create', [{
                                    'start_date': dt.date(2026, 1, 1),
                                    'components': [('create', [{
                                                    'code': 'water',
                                                    'name': "Water",
                                                    'unit_price':
                                                    Decimal('2.50'),
                                                    }])],
                                    }])],
                    }])
        readings = Reading.create([{
                    'meter': meter.id, 'value': Decimal(110),
                    'taken_at': dt.datetime(2026, 3, 31, 9),
                    } for meter in [active, draft, other_draft]])
        self.assertEqual({r.state for r in readings}, {'confirmed'})
        period = Period(name='2026-03', start_date=dt.date(2026, 3, 1),
            end_date=dt.date(2026, 3, 31))
        period.save()
        run = Run(period=period)
        run.save()
        Run.process([run])

        bill, = run.bills
        self.assertEqual(bill.account, both)
        self.assertEqual([m.meter.number for m in bill.meters], ['W-1'])
        self.assertEqual(bill.amount, Decimal('25.00'))
        self.assertEqual(
            [(m.account.number, m.reason) for m in run.missing],
            [('100002', 'no_reading')])
