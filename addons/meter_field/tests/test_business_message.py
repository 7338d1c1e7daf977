"""Business messages to staff (业务消息): who is told of new binding
requests, work orders, readings to review and transfers to review, by
the bell of sao and by WeChat, once per batch."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    _DBTestCase as DBTestCase, with_transaction)
from trytond.transaction import Transaction

from .tools import FakeWeChatMixin


def run_queue():
    "Run the tasks the transaction queued, as the worker would"
    Queue = Pool().get('ir.queue')
    tasks = Transaction().tasks
    while tasks:
        Queue(tasks.pop(0)).run()


class BusinessMessageTestCase(FakeWeChatMixin, DBTestCase):
    "Test the business messages to staff"
    module = 'meter_field'
    language = 'zh_CN'

    def setup_staff(self):
        """East and west campuses with an account and a meter each; posts
        of the desk (east, west), finance and review with their switches;
        their holders, one bound to WeChat"""
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Department = pool.get('meter.department')
        Post = pool.get('meter.post')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Configuration = pool.get('meter.wechat.configuration')
        MeterConfiguration = pool.get('meter.configuration')
        config = MeterConfiguration(1)
        if 'ocr' in MeterConfiguration._fields:
            config.ocr = False
        config.save()
        Configuration.write([Configuration(1)], {
                'appid': self.WECHAT_APPID, 'secret': self.WECHAT_SECRET,
                'api_base_url': self.api.url, 'template_staff': 'TPL-staff',
                })
        self.api.templates = {'TPL-staff'}
        self.api.sent.clear()

        def group(name):
            return ModelData.get_id('meter_base', name)
        self.east = east = Campus(name="东校区", code='E')
        self.west = west = Campus(name="西校区", code='W')
        Campus.save([east, west])
        self.accounts = {}
        for campus in [east, west]:
            account = Account(number=campus.code + '001', name=campus.code,
                category='resident', campus=campus)
            account.save()
            self.accounts[campus.code] = account
            Meter(number=campus.code + '-M', kind='electricity',
                campus=campus, account=account, digits=6, decimals=0,
                multiplier=Decimal(1), initial_value=Decimal(100),
                reading_method='manual').save()
        centre = Department(name="中心", code='C')
        centre.save()
        posts = {}
        for name, groups, campuses, switches in [
                ('desk-east', ['group_service_desk'], [east],
                    ['binding', 'work_order']),
                ('desk-west', ['group_service_desk'], [west],
                    ['binding', 'work_order']),
                ('desk-silent', ['group_service_desk'], [east], []),
                ('finance', ['group_finance'], [east, west], ['transfer']),
                ('review', ['group_meter_admin'], [], ['reading_review']),
                ('no-group', [], [east],
                    ['binding', 'work_order', 'reading_review',
                        'transfer']),
                ]:
            post = Post(name=name, department=centre,
                groups=[group(g) for g in groups], campuses=campuses,
                **{'message_%s' % s: True for s in switches})
            post.save()
            posts[name] = post
        self.users = {}
        for login, post in [
                ('desk_e', 'desk-east'), ('desk_w', 'desk-west'),
                ('silent', 'desk-silent'), ('finance', 'finance'),
                ('reviewer', 'review'), ('nogroup', 'no-group'),
                ]:
            user, = User.create([{
                        'login': login, 'name': login,
                        'posts': [('add', [posts[post].id])],
                        }])
            self.users[login] = user
        # A desk user of the west with the group of their own (no post):
        # not told, as no post of theirs switched it on
        self.users['direct'], = User.create([{
                    'login': 'direct', 'name': 'direct',
                    'groups': [('add', [group('group_service_desk')])],
                    'meter_campuses': [('add', [west.id])],
                    }])
        User.write([self.users['desk_e']], {'field_openid': 'o-desk-e'})
        self.api.subscribe('o-desk-e')

    def notifications(self, login, kind=None):
        Notification = Pool().get('res.notification')
        domain = [('user', '=', self.users[login].id)]
        if kind:
            domain.append(('business_kind', '=', kind))
        return Notification.search(domain)

    def bind(self, campus, count=1):
        pool = Pool()
        WeChatUser = pool.get('meter.wechat.user')
        Binding = pool.get('meter.wechat.binding')
        vlist = []
        for i in range(count):
            user = WeChatUser(openid='o-%s-%s-%s' % (
                    campus, i, dt.datetime.now().timestamp()),
                phone='13800000000')
            user.save()
            vlist.append({'user': user.id,
                    'account': self.accounts[campus].id})
        return Binding.create(vlist)

    @with_transaction()
    def test_all_groups_include_posts(self):
        "The users holding a group through a post are found by it"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        self.setup_staff()
        desk = ModelData.get_id('meter_base', 'group_service_desk')
        found = {u.login for u in User.search([('all_groups', '=', desk)])}
        self.assertTrue(
            {'desk_e', 'desk_w', 'silent', 'direct'} <= found, found)
        self.assertNotIn('finance', found)
        self.assertIn(desk, [g.id for g in self.users['desk_e'].all_groups])
        self.assertEqual(list(self.users['desk_e'].groups), [])

    @with_transaction()
    def test_binding_batch(self):
        "A batch of binding requests: one notification per recipient"
        pool = Pool()
        Notification = pool.get('res.notification')
        self.setup_staff()
        self.bind('E', count=3)
        notification, = self.notifications('desk_e', 'binding')
        self.assertEqual(notification.business_count, 3)
        self.assertTrue(notification.unread)
        self.assertIn('3', notification.label)
        self.assertEqual(
            notification.action.id,
            pool.get('ir.action.act_window')(
                pool.get('ir.model.data').get_id(
                    'meter_wechat', 'act_binding')).action.id)
        self.assertEqual(notification._action_value['res_model'],
            'meter.wechat.binding')
        # The west, the silent post, the user without the group or without
        # a post are not told
        for login in ['desk_w', 'silent', 'nogroup', 'direct', 'finance']:
            self.assertEqual(self.notifications(login), [], login)

        # While unread, the next batch adds to it
        self.bind('E', count=2)
        notification, = self.notifications('desk_e', 'binding')
        self.assertEqual(notification.business_count, 5)
        self.assertIn('5', notification.label)

        # Once read, a new one
        Notification.write([notification], {'unread': False})
        self.bind('E')
        self.assertEqual(len(self.notifications('desk_e', 'binding')), 2)
        self.bind('W')
        notification, = self.notifications('desk_w', 'binding')
        self.assertEqual(notification.business_count, 1)

    @with_transaction()
    def test_wechat(self):
        "Staff bound to WeChat get a template message with a new one only"
        pool = Pool()
        Notification = pool.get('res.notification')
        self.setup_staff()
        self.bind('E', count=2)
        run_queue()
        sent = [m for m in self.api.sent if m['template_id'] == 'TPL-staff']
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]['touser'], 'o-desk-e')
        self.assertEqual(sent[0]['data']['keyword2']['value'], '2')
        self.assertIn('2', sent[0]['data']['first']['value'])

        self.api.sent.clear()
        self.bind('E')
        run_queue()
        self.assertEqual(self.api.sent, [])

        Notification.write(self.notifications('desk_e'), {'unread': False})
        self.bind('E')
        run_queue()
        self.assertEqual(len(self.api.sent), 1)

    @with_transaction()
    def test_work_order(self):
        "Resident work orders are told, field reports are not"
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        self.setup_staff()
        WorkOrder.create([{
                    'kind': 'repair', 'subject': "漏水",
                    'account': self.accounts['W'].id,
                    }, {
                    'kind': 'request', 'subject': "过户",
                    'request_type': WorkOrder.fields_get(
                        ['request_type'])['request_type'][
                        'selection'][1][0],
                    'account': self.accounts['W'].id,
                    }])
        notification, = self.notifications('desk_w', 'work_order')
        self.assertEqual(notification.business_count, 2)
        self.assertEqual(self.notifications('desk_e'), [])
        WorkOrder.create([{
                    'kind': 'fault', 'subject': "表坏",
                    'campus': self.east.id,
                    }])
        self.assertEqual(self.notifications('desk_e'), [])

    @with_transaction()
    def test_reading_review(self):
        "Readings left for review are told once per batch; confirmed not"
        pool = Pool()
        Reading = pool.get('meter.reading')
        Meter = pool.get('meter.meter')
        self.setup_staff()
        meters = Meter.search([])
        now = dt.datetime.now().replace(microsecond=0)
        # Lower than the initial value: an anomaly, left for review
        Reading.create([{
                    'meter': m.id, 'value': Decimal(50), 'source': 'import',
                    'taken_at': now - dt.timedelta(hours=1),
                    } for m in meters])
        notification, = self.notifications('reviewer', 'reading_review')
        self.assertEqual(notification.business_count, len(meters))
        self.assertEqual(self.notifications('desk_e'), [])

    @with_transaction()
    def test_reading_review_import(self):
        """The readings an import leaves for review are told too, counted
        by the campuses of their meters; those it confirms are not"""
        pool = Pool()
        Reading = pool.get('meter.reading')
        Meter = pool.get('meter.meter')
        self.setup_staff()
        meters = Meter.search([])
        now = dt.datetime.now().replace(microsecond=0)
        # Lower than the initial value for all but the first: for review
        result = Reading.create_bulk([
                (i, m.id, now - dt.timedelta(hours=1),
                    Decimal(50) if i else m.initial_value + 5)
                for i, m in enumerate(meters)], 'import')
        self.assertEqual((result.created, result.confirmed),
            (len(meters), 1))
        notification, = self.notifications('reviewer', 'reading_review')
        self.assertEqual(notification.business_count, len(meters) - 1)
        self.assertEqual(self.notifications('desk_e'), [])

    @with_transaction()
    def test_transfer(self):
        "A transfer sent to review tells finance of its campus"
        pool = Pool()
        Payment = pool.get('meter.payment')
        self.setup_staff()
        payment = Payment(account=self.accounts['W'], campus=self.west,
            method='transfer', amount=Decimal('12.50'),
            transfer_reference='TR-1')
        payment.save()
        self.assertEqual(self.notifications('finance'), [])
        Payment.post([payment])
        self.assertEqual(payment.state, 'waiting')
        notification, = self.notifications('finance', 'transfer')
        self.assertEqual(notification.business_count, 1)
        self.assertEqual(self.notifications('nogroup'), [])
