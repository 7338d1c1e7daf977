"""A meter recorded on site is not shown to the residents until the
office confirms it."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction


class DraftMeterResidentTestCase(unittest.TestCase):
    "Test that the residents' pages leave draft meters out"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_wechat')

    @with_transaction()
    def test_resident_meters_leave_draft_out(self):
        "A resident sees the confirmed meters of their account only"
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        User = pool.get('meter.wechat.user')
        Binding = pool.get('meter.wechat.binding')
        campus = Campus(name="East", code='E')
        campus.save()
        account = Account(number='100001', name="Home", campus=campus,
            category='resident')
        account.save()
        active, draft = Meter.create([{
                    'number': number, 'account': account.id,
                    'campus': campus.id, 'state': state,
                    'initial_value': Decimal(0),
                    } for number, state in [
                    ('E-1', 'active'), ('E-2', 'draft')]])
        user = User(openid='o-home', phone='13800000000')
        user.save()
        Binding(user=user, account=account, state='approved',
            requested_at=dt.datetime.now()).save()

        self.assertEqual(user.meters(), [active])
        self.assertEqual(user.meter(active.id), active)
        self.assertIsNone(user.meter(draft.id))

        Meter.confirm([draft])
        self.assertEqual(user.meters(), [active, draft])
        self.assertEqual(user.meter(draft.id), draft)
