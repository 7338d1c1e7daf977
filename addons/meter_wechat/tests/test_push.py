"""Template messages pushed to the residents bound to the accounts
concerned: outage notices, payment results and low prepaid balances,
sent through wechatpy to the local fake of WeChat's API."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    _DBTestCase as DBTestCase, with_transaction)
from trytond.transaction import Transaction

from .fakes import FakeWeChatApi


APPID = 'wx0123456789abcdef'
SECRET = 'app-secret-0123456789'
TEMPLATES = {
    'template_notice': 'TPL-notice',
    'template_payment': 'TPL-payment',
    'template_balance': 'TPL-balance',
    }


def run_queue():
    "Run the tasks the transaction queued, as the worker would"
    Queue = Pool().get('ir.queue')
    tasks = Transaction().tasks
    while tasks:
        Queue(tasks.pop(0)).run()


class PushTestCase(DBTestCase):
    "Test the template messages pushed to residents"
    module = 'meter_wechat'
    # The messages speak the residents' language, with its translations
    language = 'zh_CN'

    @classmethod
    def setUpClass(cls):
        cls.api = FakeWeChatApi(appid=APPID, secret=SECRET)
        cls.api.start()
        cls.api.templates = set(TEMPLATES.values())
        try:
            super().setUpClass()
        except Exception:
            cls.api.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.api.stop()

    def setUp(self):
        super().setUp()
        self.api.sent.clear()
        self.api.subscribers.clear()

    def setup_residents(self):
        """Two campuses; in the east one a building with a room; a
        resident bound to an account in the room, one in the campus, one
        in the west campus, one waiting for approval and one blocked."""
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Account = pool.get('meter.account')
        User = pool.get('meter.wechat.user')
        Binding = pool.get('meter.wechat.binding')
        Configuration.write([Configuration(1)], dict(
                appid=APPID, secret=SECRET, api_base_url=self.api.url,
                **TEMPLATES))
        east = Campus(name="东校区", code='E')
        west = Campus(name="西校区", code='W')
        Campus.save([east, west])
        building = Location(name="3号楼", campus=east, kind='building')
        building.save()
        room = Location(
            name="201", campus=east, parent=building, kind='room')
        room.save()
        accounts = {}
        for number, campus, location, mode in [
                ('E-ROOM', east, room, 'postpaid'),
                ('E-OTHER', east, None, 'prepaid'),
                ('W-ONE', west, None, 'postpaid'),
                ]:
            accounts[number] = Account(number=number, name=number,
                category='resident', campus=campus, location=location,
                billing_mode=mode)
        Account.save(list(accounts.values()))
        for openid, number, state, blocked in [
                ('o-room', 'E-ROOM', 'approved', False),
                ('o-east', 'E-OTHER', 'approved', False),
                ('o-west', 'W-ONE', 'approved', False),
                ('o-pending', 'E-ROOM', 'pending', False),
                ('o-blocked', 'E-ROOM', 'approved', True),
                ]:
            user = User(openid=openid, phone='13800000000',
                blocked=blocked)
            user.save()
            Binding(user=user, account=accounts[number], state=state,
                requested_at=dt.datetime.now()).save()
            self.api.subscribe(openid)
        return east, west, building, accounts

    def sent(self, template):
        return {m['touser']: m for m in self.api.sent
            if m['template_id'] == TEMPLATES[template]}

    @with_transaction()
    def test_notice_pushed_to_the_places_concerned(self):
        "A notice reaches the residents bound to an account of its place"
        pool = Pool()
        Notice = pool.get('meter.notice')
        east, west, building, _ = self.setup_residents()
        # Stored in UTC: 08:00 to 14:00 on the centre's clock (UTC+8)
        start = dt.datetime(2026, 12, 1, 0)
        for values, expected in [
                ({'location': building.id, 'kind': 'water_outage'},
                    {'o-room'}),
                ({'kind': 'power_outage'}, {'o-room', 'o-east'}),
                ({'campus': None}, {'o-room', 'o-east', 'o-west'}),
                ]:
            self.api.sent.clear()
            notice, = Notice.create([dict({
                            'title': "计划停水", 'campus': east.id,
                            'body': "管网检修，请提前储水。",
                            'start': start,
                            'end': start + dt.timedelta(hours=6),
                            }, **values)])
            Notice.publish([notice])
            run_queue()
            sent = self.sent('template_notice')
            self.assertEqual(set(sent), expected, values)
        room = Notice.create([{
                    'title': "3号楼停水", 'kind': 'water_outage',
                    'campus': east.id, 'location': building.id,
                    'body': "水箱清洗", 'start': start,
                    'end': start + dt.timedelta(hours=6)}])
        self.api.sent.clear()
        Notice.publish(room)
        run_queue()
        data = self.sent('template_notice')['o-room']['data']
        self.assertEqual(data['first']['value'], "3号楼停水")
        self.assertEqual(data['keyword1']['value'], "停水")
        self.assertEqual(data['keyword2']['value'], "东校区 3号楼")
        self.assertEqual(data['keyword3']['value'],
            "2026-12-01 08:00 至 2026-12-01 14:00")

        # A draft notice cancelled before publication tells nobody
        self.api.sent.clear()
        draft, = Notice.create([{'title': "草稿", 'body': "未发布"}])
        Notice.cancel([draft])
        run_queue()
        self.assertEqual(self.api.sent, [])

    @with_transaction()
    def test_payment_results_pushed(self):
        "The residents of the account learn a payment posted or refused"
        pool = Pool()
        Payment = pool.get('meter.payment')
        east, west, _, accounts = self.setup_residents()
        cash = Payment(account=accounts['E-ROOM'], campus=west,
            date=dt.date(2026, 11, 20), method='cash',
            amount=Decimal('88.50'))
        cash.save()
        Payment.post([cash])
        run_queue()
        sent = self.sent('template_payment')
        self.assertEqual(set(sent), {'o-room'})
        data = sent['o-room']['data']
        self.assertEqual(data['first']['value'], "您的缴费已入账")
        self.assertEqual(data['keyword1']['value'], 'E-ROOM')
        self.assertEqual(data['keyword2']['value'], '¥88.50')
        self.assertEqual(data['keyword3']['value'], "现金")
        self.assertTrue(cash.receipt_number)
        self.assertIn(cash.receipt_number, data['remark']['value'])

        # A bank transfer is told when finance decides, not when sent
        self.api.sent.clear()
        transfers = Payment.create([{
                    'account': accounts['W-ONE'].id, 'campus': west.id,
                    'date': dt.date(2026, 11, 21), 'method': 'transfer',
                    'amount': amount, 'transfer_reference': reference,
                    } for amount, reference in [
                    (Decimal('50'), 'T-0001'), (Decimal('60'), 'T-0002')]])
        Payment.post(transfers)
        run_queue()
        self.assertEqual(self.api.sent, [])
        good, bad = transfers
        Payment.approve([good])
        Payment.write([bad], {'cancel_reason': "未收到转账"})
        Payment.refuse([bad])
        run_queue()
        results = [m['data'] for m in self.api.sent
            if m['template_id'] == TEMPLATES['template_payment']]
        self.assertEqual(
            [(d['first']['value'], d['keyword2']['value'])
                for d in results],
            [("您的缴费已入账", '¥50.00'),
                ("您的转账缴费未通过审核", '¥60.00')])
        self.assertEqual(results[1]['remark']['value'], "原因：未收到转账")

    @with_transaction()
    def test_low_balance_pushed(self):
        "The residents of a prepaid account below the threshold are told"
        pool = Pool()
        PrepaidLine = pool.get('meter.prepaid.line')
        Configuration = pool.get('meter.billing.configuration')
        _, _, _, accounts = self.setup_residents()
        Configuration.write([Configuration(1)], {
                'low_balance_threshold': Decimal('20')})
        account = accounts['E-OTHER']
        PrepaidLine.create([{'account': account.id, 'type': 'adjustment',
                    'amount': Decimal('30')}])
        run_queue()
        self.assertEqual(self.sent('template_balance'), {})

        PrepaidLine.create([{'account': account.id, 'type': 'adjustment',
                    'amount': Decimal('-12.35')}])
        run_queue()
        sent = self.sent('template_balance')
        self.assertEqual(set(sent), {'o-east'})
        data = sent['o-east']['data']
        self.assertEqual(data['keyword1']['value'], 'E-OTHER')
        self.assertEqual(data['keyword2']['value'], '¥17.65')
        self.assertEqual(data['keyword3']['value'], '¥20.00')

    @with_transaction()
    def test_nothing_sent_without_template(self):
        "Without a template id set, publishing tells nobody and works"
        pool = Pool()
        Notice = pool.get('meter.notice')
        Configuration = pool.get('meter.wechat.configuration')
        east, _, _, _ = self.setup_residents()
        Configuration.write([Configuration(1)], {'template_notice': None})
        notice, = Notice.create([{'title': "停电", 'campus': east.id,
                    'body': "检修"}])
        Notice.publish([notice])
        run_queue()
        self.assertEqual(notice.state, 'published')
        self.assertEqual(self.api.sent, [])


del DBTestCase
