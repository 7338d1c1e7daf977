"""Departments and posts: a user's rights and campuses are those of their
posts, a change to a post reaches every holder at once, and each change is
logged."""
import unittest
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.meter_base.exceptions import PostDelegationError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


class DepartmentTestCase(unittest.TestCase):
    "Test departments and posts"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_base')

    def setup_posts(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        Department = pool.get('meter.department')
        Post = pool.get('meter.post')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')

        def group(name):
            return ModelData.get_id('meter_base', name)
        east, west = Campus.create([
                {'name': "东校区", 'code': 'E'},
                {'name': "西校区", 'code': 'W'}])
        meters = Meter.create([{
                    'number': number, 'campus': campus.id, 'digits': 5,
                    'decimals': 0, 'initial_value': Decimal(0)}
                for number, campus in [('E-1', east), ('E-2', east),
                    ('W-1', west)]])
        east_dept, finance_dept = Department.create([
                {'name': "东校区分中心", 'code': 'E'},
                {'name': "财务", 'code': 'FIN'}])
        reader_post, auditor_post = Post.create([{
                    'name': "东校区抄表员", 'department': east_dept.id,
                    'groups': [('add', [group('group_field_staff')])],
                    'campuses': [('add', [east.id])],
                    }, {
                    'name': "西校区审核员", 'department': finance_dept.id,
                    'groups': [('add', [group('group_finance')])],
                    'campuses': [('add', [west.id])],
                    }])
        staff, manager = User.create([{
                    'login': 'staff', 'name': "Staff",
                    'posts': [('add', [reader_post.id])],
                    }, {
                    'login': 'manager', 'name': "Manager",
                    'groups': [('add', [group('group_meter_admin')])],
                    }])
        return {
            'east': east, 'west': west, 'meters': meters,
            'reader': reader_post, 'auditor': auditor_post,
            'staff': staff, 'manager': manager,
            }

    def as_user(self, user):
        transaction = Transaction()
        return transaction.set_user(user.id), transaction.set_context(
            _check_access=True)

    def meters_seen(self, user):
        Meter = Pool().get('meter.meter')
        set_user, context = self.as_user(user)
        with set_user, context:
            return sorted(m.number for m in Meter.search([]))

    @with_transaction()
    def test_rights_of_the_post(self):
        "The only post of a user gives them its groups and its campuses"
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        data = self.setup_posts()
        staff = data['staff']
        east_meter, _, west_meter = data['meters']

        self.assertEqual(self.meters_seen(staff), ['E-1', 'E-2'])
        set_user, context = self.as_user(staff)
        with set_user, context:
            self.assertIn(
                ModelData.get_id('meter_base', 'group_field_staff'),
                User.get_groups())
            self.assertEqual(
                User.get_meter_campuses(), [data['east'].id])
            self.assertEqual(
                Meter.read([east_meter.id], ['number'])[0]['number'], 'E-1')
            with self.assertRaises(AccessError):
                Meter.read([west_meter.id], ['number'])
            reading, = Reading.create([{
                        'meter': east_meter.id, 'value': Decimal(12)}])
            self.assertEqual(reading.meter.number, 'E-1')
            with self.assertRaises(AccessError):
                Reading.create([{
                            'meter': west_meter.id, 'value': Decimal(12)}])
        self.assertEqual(User(staff.id).department.name, "东校区分中心")
        self.assertEqual(User(staff.id).campuses, (data['east'],))

    @with_transaction()
    def test_move_to_another_post(self):
        "Moving a user to another post changes their rights at once, logged"
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Post = pool.get('meter.post')
        User = pool.get('res.user')
        PostLog = pool.get('meter.post.log')
        ModelData = pool.get('ir.model.data')
        data = self.setup_posts()
        staff, manager = data['staff'], data['manager']
        admin = User(Transaction().user)
        _, _, west_meter = data['meters']
        self.assertEqual(self.meters_seen(staff), ['E-1', 'E-2'])

        set_user, context = self.as_user(manager)
        with set_user, context:
            Post.write([Post(data['reader'].id)], {
                    'holders': [('remove', [staff.id])],
                    }, [Post(data['auditor'].id)], {
                    'holders': [('add', [staff.id])],
                    })

        self.assertEqual(self.meters_seen(staff), ['W-1'])
        set_user, context = self.as_user(staff)
        with set_user, context:
            groups = User.get_groups()
            self.assertIn(
                ModelData.get_id('meter_base', 'group_finance'), groups)
            self.assertNotIn(
                ModelData.get_id('meter_base', 'group_field_staff'), groups)
            # Finance reads readings but does not take them
            with self.assertRaises(AccessError):
                Reading.create([{
                            'meter': west_meter.id, 'value': Decimal(12)}])
            self.assertEqual(Meter.search([], count=True), 1)

        logs = PostLog.search([('user', '=', staff.id)], order=[('id', 'ASC')])
        self.assertEqual(
            [(l.action, l.post.name, l.author) for l in logs], [
                ('holder_added', "东校区抄表员", admin),
                ('holder_removed', "东校区抄表员", manager),
                ('holder_added', "西校区审核员", manager),
                ])

    @with_transaction()
    def test_post_change_reaches_every_holder(self):
        "A group or a campus added to a post reaches all its holders"
        pool = Pool()
        Post = pool.get('meter.post')
        User = pool.get('res.user')
        PostLog = pool.get('meter.post.log')
        ModelData = pool.get('ir.model.data')
        data = self.setup_posts()
        staff, manager = data['staff'], data['manager']
        other, = User.create([{
                    'login': 'other', 'name': "Other",
                    'posts': [('add', [data['reader'].id])],
                    }])
        desk = ModelData.get_id('meter_base', 'group_service_desk')
        for user in [staff, other]:
            self.assertEqual(self.meters_seen(user), ['E-1', 'E-2'])

        set_user, context = self.as_user(manager)
        with set_user, context:
            Post.write([Post(data['reader'].id)], {
                    'groups': [('add', [desk])],
                    'campuses': [('add', [data['west'].id])],
                    })
        for user in [staff, other]:
            with self.subTest(user=user.login):
                self.assertEqual(
                    self.meters_seen(user), ['E-1', 'E-2', 'W-1'])
                with Transaction().set_user(user.id):
                    self.assertIn(desk, User.get_groups())

        # A deactivated post gives nothing
        Post.write([Post(data['reader'].id)], {'active': False})
        for user in [staff, other]:
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.meters_seen(user)
                with Transaction().set_user(user.id):
                    self.assertNotIn(desk, User.get_groups())
                    self.assertEqual(User.get_meter_campuses(), [])

        logs = PostLog.search([('post', '=', data['reader'].id)])
        actions = [(l.action, l.author.login) for l in logs]
        self.assertIn(('group_added', 'manager'), actions)
        self.assertIn(('campus_added', 'manager'), actions)
        self.assertIn(('deactivated', 'admin'), actions)

    @with_transaction()
    def test_direct_groups_and_campuses_kept(self):
        "Groups and campuses set on the user count beside their posts'"
        pool = Pool()
        User = pool.get('res.user')
        data = self.setup_posts()
        staff = data['staff']
        User.write([staff], {'meter_campuses': [('add', [data['west'].id])]})
        self.assertEqual(self.meters_seen(staff), ['E-1', 'E-2', 'W-1'])
        # The administrators see every campus without one
        self.assertEqual(
            self.meters_seen(data['manager']), ['E-1', 'E-2', 'W-1'])

    @with_transaction()
    def test_delegation(self):
        "A manager gives the suite's groups, not Administration"
        pool = Pool()
        Post = pool.get('meter.post')
        ModelData = pool.get('ir.model.data')
        data = self.setup_posts()
        manager = data['manager']
        set_user, context = self.as_user(manager)
        with set_user, context:
            with self.assertRaises(PostDelegationError):
                Post.write([Post(data['reader'].id)], {
                        'groups': [('add', [
                                    ModelData.get_id('res', 'group_admin')])],
                        })
        # Nor may they hold a post an administrator gave more
        Post.write([data['auditor']], {
                'groups': [('add', [ModelData.get_id('res', 'group_admin')])],
                })
        set_user, context = self.as_user(manager)
        with set_user, context:
            with self.assertRaises(PostDelegationError):
                Post.write([Post(data['auditor'].id)], {
                        'holders': [('add', [manager.id])],
                        })

    @with_transaction()
    def test_preferences(self):
        "The user sees their department and posts but does not set them"
        pool = Pool()
        User = pool.get('res.user')
        data = self.setup_posts()
        staff = data['staff']
        self.assertIn('posts', User._preferences_fields)
        self.assertIn('department', User._preferences_fields)
        with Transaction().set_user(staff.id):
            view = User.get_preferences_fields_view()
            self.assertTrue(view['fields']['posts']['readonly'])
            User.set_preferences({
                    'posts': [('add', [data['auditor'].id])],
                    'signature': "东校区外线",
                    })
        staff = User(staff.id)
        self.assertEqual(staff.posts, (data['reader'],))
        self.assertEqual(staff.signature, "东校区外线")
