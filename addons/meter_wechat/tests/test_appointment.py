"""Appointments and service requests on the residents' pages: the slots of
the working calendar with their places, the types, the reply deadline."""
import datetime as dt
import re
import unittest
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from trytond.modules.meter_base.configuration import to_local
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from . import test_routes

SLOT = re.compile(r'<input type="radio" class="weui-check" name="slot" '
    r'id="[^"]+" value="([^"]+)"[^>]*?( disabled)?>')
TYPE = re.compile(r'name="(appointment|request)_type" id="[^"]+" '
    r'value="([^"]+)"')
CAPACITY = 2
DAYS = 3
# The centre's clock by default; moments are stored and posted in UTC
ZONE = ZoneInfo('Asia/Shanghai')


def local(moment):
    return to_local(moment, ZONE)


class AppointmentTestCase(test_routes.WeChatRouteTestCase):
    "Test the appointments and service requests of the WeChat pages"

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        Calendar = Pool().get('meter.calendar')
        calendar, = Calendar.search([('campus', '=', None)])
        calendar.slot_capacity = CAPACITY
        calendar.appointment_days = DAYS
        calendar.save()

    def form(self, client, kind='appointment'):
        response = client.get(self.url('requests/new?kind=' + kind))
        self.assertEqual(response.status_code, 200, response.text)
        return response.text

    def slots(self, client):
        "Return the slots the form offers as {value: open}"
        return {value: not disabled
            for value, disabled in SLOT.findall(self.form(client))}

    def book(self, client, slot, appointment_type='meter_reading', **data):
        return client.post(self.url('requests/new'), data={
                'csrf_token': self.csrf(client, 'requests/new'),
                'kind': 'appointment', 'appointment_type': appointment_type,
                'slot': slot, 'account': str(self.account_id('R001')),
                **data})

    def account_id(self, number):
        with Transaction().start(DB_NAME, 0):
            account, = Pool().get('meter.account').search(
                [('number', '=', number)])
            return account.id

    def orders(self, openid):
        "Return the kind, types and slot of the work orders of openid"
        with Transaction().start(DB_NAME, 0):
            return [(o.kind, o.appointment_type, o.request_type,
                    o.appointment_at, o.appointment_end)
                for o in Pool().get('meter.work_order').search(
                    [('wechat_user.openid', '=', openid)],
                    order=[('id', 'ASC')])]

    def test_form_offers_slots(self):
        "The morning and afternoon of the next working days, with places"
        client = self.resident('oSlots', '13855550001', 'R001')
        text = self.form(client)
        self.assertNotIn('name="appointment_at"', text)
        self.assertEqual([t for _, t in TYPE.findall(text)],
            ['meter_reading', 'fault_check', 'move_in', 'move_out'])
        slots = [local(dt.datetime.strptime(v, '%Y-%m-%dT%H:%M'))
            for v, _ in SLOT.findall(text)]
        self.assertEqual(len(slots), 2 * DAYS)
        first = slots[0]
        self.assertGreater(first.date(), local(dt.datetime.now()).date())
        self.assertLess(first.weekday(), 5)
        self.assertEqual(
            [s.time() for s in slots[:2]], [dt.time(8), dt.time(14)])
        self.assertEqual(slots[1].date(), first.date())
        self.assertEqual(slots, sorted(slots))
        self.assertIn('%d月%d日 周%s' % (first.month, first.day,
                '一二三四五六日'[first.weekday()]), text)
        self.assertIn('上午 08:00–12:00', text)
        self.assertIn('下午 14:00–17:30', text)
        # Every slot tells its places left
        self.assertEqual(
            text.count('剩余 ') + text.count('已约满'), 2 * DAYS)
        self.assertIn('剩余 %d 个' % CAPACITY, text)

    def test_book_appointment(self):
        "A booked slot shows its type and time and takes a place"
        openid = 'oBooker'
        client = self.resident(openid, '13855550002', 'R001')
        first = next(iter(self.slots(client)))
        response = self.book(client, first, 'move_in', place="3号楼201")
        self.assertEqual(response.status_code, 302, response.text)
        start = dt.datetime.strptime(first, '%Y-%m-%dT%H:%M')
        (kind, type_, request_type, at, end), = self.orders(openid)
        self.assertEqual((kind, type_, request_type, at), (
                'appointment', 'move_in', None, start))
        self.assertEqual(
            (local(at).time(), local(end)),
            (dt.time(8), local(start).replace(hour=12)))
        page = client.get(unquote(response.headers['Location'])).text
        self.assertIn('入住登记', page)
        self.assertIn('%s 周%s 08:00–12:00' % (
                local(start).strftime('%Y-%m-%d'),
                '一二三四五六日'[local(start).weekday()]), page)
        listing = client.get(self.url('requests')).text
        self.assertIn('入住登记', listing)
        self.assertIn('08:00–12:00', listing)
        self.assertIn('剩余 %d 个' % (CAPACITY - 1), self.form(client))

    def test_full_or_invented_slot(self):
        "A full slot, one not offered or no type: 400 and nothing booked"
        first = self.resident('oFirst', '13855550003', 'R001')
        second = self.resident('oSecond', '13855550004', 'R001')
        late = self.resident('oLate', '13855550005', 'R001')
        last = list(self.slots(first))[-1]
        for client in [first, second]:
            self.assertEqual(self.book(client, last).status_code, 302)
        self.assertIs(self.slots(late)[last], False)
        self.assertIn('已约满', self.form(late))
        response = self.book(late, last)
        self.assertEqual(response.status_code, 400)
        self.assertIn('已约满', response.text)
        start = dt.datetime.strptime(last, '%Y-%m-%dT%H:%M')
        for invented in [
                (start + dt.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M'),
                (start + dt.timedelta(days=14)).strftime('%Y-%m-%dT%H:%M'),
                dt.datetime.now().strftime('%Y-%m-%dT08:00'),
                (dt.date.today() - dt.timedelta(days=1)).strftime(
                    '%Y-%m-%dT14:00'),
                'tomorrow', '']:
            with self.subTest(slot=invented):
                response = self.book(late, invented)
                self.assertEqual(response.status_code, 400)
                self.assertIn('请选择可预约的时段', response.text)
        response = self.book(late, list(self.slots(late))[0], '')
        self.assertEqual(response.status_code, 400)
        self.assertIn('请选择预约类型', response.text)
        response = self.book(late, list(self.slots(late))[0], 'repair')
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.orders('oLate'), [])
        self.assertEqual(len(self.orders('oFirst')), 1)

    def test_request_deadline(self):
        "A service request picks its type and is told its reply deadline"
        openid = 'oAsker'
        client = self.resident(openid, '13855550006', 'R001')
        pool = Pool(DB_NAME)

        def deadline():
            with Transaction().start(DB_NAME, 0):
                return pool.get('meter.calendar').deadline(
                    dt.datetime.now().replace(microsecond=0))
        before = local(deadline())
        text = self.form(client, 'request')
        after = local(deadline())
        self.assertEqual([t for _, t in TYPE.findall(text)],
            ['metering_question', 'capacity_increase', 'safety_assessment'])
        self.assertTrue(any(
                '预计答复时限：%d月%d日 周%s %s前' % (d.month, d.day,
                    '一二三四五六日'[d.weekday()], d.strftime('%H:%M')) in text
                for d in {before, after}), text)
        token = self.csrf(client, 'requests/new?kind=request')
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'request',
                'subject': "想申请增容"})
        self.assertEqual(response.status_code, 400)
        self.assertIn('请选择申请类型', response.text)
        self.assertIn('预计答复时限', response.text)
        self.assertEqual(self.orders(openid), [])
        response = client.post(self.url('requests/new'), data={
                'csrf_token': token, 'kind': 'request',
                'request_type': 'capacity_increase'})
        self.assertEqual(response.status_code, 302, response.text)
        (kind, _, request_type, at, _), = self.orders(openid)
        self.assertEqual((kind, request_type, at),
            ('request', 'capacity_increase', None))
        with Transaction().start(DB_NAME, 0):
            order, = pool.get('meter.work_order').search(
                [('wechat_user.openid', '=', openid)])
            self.assertEqual(order.subject, '增容申请')
            due = local(order.deadline).strftime('%Y-%m-%d %H:%M')
        page = client.get(unquote(response.headers['Location'])).text
        self.assertIn('增容申请', page)
        self.assertIn(due, page)
        listing = client.get(self.url('requests')).text
        self.assertIn('增容申请', listing)
        self.assertIn('答复时限', listing)


def load_tests(loader, tests, pattern):
    "Only the tests of this file: the inherited ones run in test_routes"
    names = [name for name in loader.getTestCaseNames(AppointmentTestCase)
        if name in vars(AppointmentTestCase)]
    return unittest.TestSuite(map(AppointmentTestCase, names))
