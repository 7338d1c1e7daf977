"""The rights of a post on bills: the east campus's meter reader does not
post bills; moved to the west campus's auditor post, they post the west
campus's bills, not the east's, at once and logged."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


class PostRightsBillingTestCase(unittest.TestCase):
    "Test the rights of posts on bills"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_billing')

    def setup_bills(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Tariff = pool.get('meter.tariff')
        Period = pool.get('meter.billing.period')
        Run = pool.get('meter.billing.run')
        east, west = Campus.create([
                {'name': "东校区", 'code': 'E'},
                {'name': "西校区", 'code': 'W'}])
        for campus in [east, west]:
            account, = Account.create([{
                        'number': campus.code + '0001',
                        'name': campus.name + "住户",
                        'campus': campus.id}])
            meter, = Meter.create([{
                        'number': 'W-' + campus.code, 'kind': 'water',
                        'account': account.id, 'campus': campus.id,
                        'initial_value': Decimal(0), 'decimals': 0}])
            Reading.create([{
                        'meter': meter.id, 'value': Decimal(10),
                        'taken_at': dt.datetime(2026, 3, 31, 9)}])
        Tariff.create([{
                    'name': "居民用水", 'category': 'resident', 'kind': 'water',
                    'versions': [('create', [{
                                    'start_date': dt.date(2026, 1, 1),
                                    'components': [('create', [{
                                                    'code': 'water',
                                                    'name': "水费",
                                                    'unit_price':
                                                    Decimal('3.00'),
                                                    }])],
                                    }])],
                    }])
        period = Period(name='2026-03', start_date=dt.date(2026, 3, 1),
            end_date=dt.date(2026, 3, 31))
        period.save()
        run = Run(period=period)
        run.save()
        Run.process([run])
        bills = {b.campus.code: b for b in run.bills}
        self.assertEqual(
            {c: b.state for c, b in bills.items()},
            {'E': 'draft', 'W': 'draft'})
        return east, west, bills

    def setup_posts(self, east, west):
        pool = Pool()
        Department = pool.get('meter.department')
        Post = pool.get('meter.post')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        department, = Department.create([{'name': "水电保障中心", 'code': 'C'}])
        reader, auditor = Post.create([{
                    'name': "东校区抄表员", 'department': department.id,
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_field_staff')])],
                    'campuses': [('add', [east.id])],
                    }, {
                    'name': "西校区审核员", 'department': department.id,
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_finance')])],
                    'campuses': [('add', [west.id])],
                    }])
        staff, = User.create([{
                    'login': 'staff', 'name': "Staff",
                    'posts': [('add', [reader.id])]}])
        return reader, auditor, staff

    @with_transaction()
    def test_post_decides_bills(self):
        "The reader posts no bill; moved to auditor, the west's only"
        pool = Pool()
        Bill = pool.get('meter.bill')
        Meter = pool.get('meter.meter')
        Post = pool.get('meter.post')
        PostLog = pool.get('meter.post.log')
        east, west, bills = self.setup_bills()
        reader, auditor, staff = self.setup_posts(east, west)
        transaction = Transaction()

        with transaction.set_user(staff.id), \
                transaction.set_context(_check_access=True):
            self.assertEqual(
                [m.number for m in Meter.search([])], ['W-E'])
            # The reader sees the bills of the east campus, but the post
            # button is refused
            with self.assertRaises(AccessButtonError):
                Bill.post([Bill(bills['E'].id)])
            self.assertEqual(
                [b.campus.code for b in Bill.search([])], ['E'])
        self.assertEqual(Bill(bills['E'].id).state, 'draft')

        # Moved, in the same database and transaction
        Post.write([reader], {'holders': [('remove', [staff.id])]},
            [auditor], {'holders': [('add', [staff.id])]})

        with transaction.set_user(staff.id), \
                transaction.set_context(_check_access=True):
            self.assertEqual(
                [m.number for m in Meter.search([])], ['W-W'])
            self.assertEqual(
                [b.campus.code for b in Bill.search([])], ['W'])
            Bill.post([Bill(bills['W'].id)])
            with self.assertRaises(AccessError):
                Bill.post([Bill(bills['E'].id)])
        self.assertEqual(Bill(bills['W'].id).state, 'posted')
        self.assertEqual(Bill(bills['E'].id).state, 'draft')

        self.assertEqual(
            [(l.action, l.post.name) for l in PostLog.search(
                    [('user', '=', staff.id)], order=[('id', 'ASC')])],
            [('holder_added', "东校区抄表员"),
                ('holder_removed', "东校区抄表员"),
                ('holder_added', "西校区审核员")])
