"""Submissions sent later by a phone's queue (sync/<kind>): the
idempotency key makes one record of any number of sends, two sends of
one key at the same moment included (on PostgreSQL); the time is the
phone's; a reading that meets another of the same meter and day is kept
for review."""
import datetime as dt
import io
import threading
import unittest
import uuid
from decimal import Decimal

from trytond import backend
from trytond.modules.meter_field.exceptions import SyncError
from trytond.modules.meter_field.sync import (
    once, parse_key, parse_taken_at)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .test_round import make_round, set_up_campus
from .tools import CSRF, FieldTestCase, image


def key():
    return str(uuid.uuid4())


def phone_time(minutes_ago=30):
    "A time on the phone's clock (Asia/Shanghai) as the phone writes it"
    zone = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime.now(zone).replace(microsecond=0) - dt.timedelta(
        minutes=minutes_ago)
    return moment, moment.isoformat()


def same_day_times():
    """Two past times an hour apart on one day of the phone's clock, as
    the phone writes them: in the first hours after its midnight, an hour
    apart from now would fall on two days"""
    now, _ = phone_time(0)
    second = now - dt.timedelta(minutes=1)
    if (second - dt.timedelta(hours=1)).date() != second.date():
        # Both on the day before
        second = second.replace(hour=23, minute=0, second=0) - dt.timedelta(
            days=1)
    first = second - dt.timedelta(hours=1)
    return first.isoformat(), second.isoformat()


class ParseTestCase(unittest.TestCase):
    "The key and the time a phone sends"

    def test_key(self):
        self.assertEqual(parse_key(' 0b5e2a1c-7f3e-4c2d-9a1b-8c7d6e5f4a3b '),
            '0b5e2a1c-7f3e-4c2d-9a1b-8c7d6e5f4a3b')
        for bad in ['', None, 'short', 'x' * 65, 'a b c d e f g h i j k',
                "1'; DROP TABLE x;--aaaaaa"]:
            with self.assertRaises(SyncError, msg=bad):
                parse_key(bad)

    def test_taken_at(self):
        now = dt.datetime(2026, 12, 6, 8, 0)
        self.assertEqual(parse_taken_at('2026-12-06T15:30:12+08:00', now),
            dt.datetime(2026, 12, 6, 7, 30, 12))
        self.assertEqual(parse_taken_at('2026-12-06T07:30:12.345Z', now),
            dt.datetime(2026, 12, 6, 7, 30, 12))
        for bad in ['', None, '2026-12-06T15:30:12', 'yesterday',
                '2026-12-06T16:30:00+08:00',  # ahead of the server
                '2026-09-01T10:00:00+08:00',  # kept too long
                '２０２６-12-06T15:30:12+08:00']:
            with self.assertRaises(SyncError, msg=bad):
                parse_taken_at(bad, now)


class SyncRouteTestCase(FieldTestCase):
    "Test the routes the phones' queues send to"

    @classmethod
    def setUpDatabase(cls):
        set_up_campus(configure=False)
        make_round('field1')
        make_round('field1', numbers=('E-201', 'E-102'), name="2号楼")
        Meter = Pool().get('meter.meter')
        east, = Meter.search([('number', '=', 'E-101')])
        Meter.copy([east], {'number': 'E-104'})

    def round_id(self, name="1号楼"):
        with Transaction().start(DB_NAME, 0):
            Round = Pool().get('meter.field.round')
            round_, = Round.search([('staff.login', '=', 'field1'),
                    ('name', '=', name)])
            return round_.id, [l.id for l in round_.lines]

    def readings(self, number):
        with Transaction().start(DB_NAME, 0):
            Reading = Pool().get('meter.reading')
            return [(r.id, r.value, r.taken_at, r.state,
                    tuple(r.anomalies or ()), r.idempotency_key)
                for r in Reading.search([('meter.number', '=', number)],
                    order=[('id', 'ASC')])]

    def send(self, client, token, kind, **data):
        data.setdefault('csrf_token', token)
        return client.post(self.url('sync/' + kind), data=data)

    def reading_form(self, number, value, key_, taken_at, photo=None):
        return {'meter': number, 'value': value, 'idempotency_key': key_,
            'taken_at': taken_at, 'photo': (io.BytesIO(photo or image()),
                'meter.jpg', 'image/jpeg')}

    def test_reading_once(self):
        "A reading sent three times is one reading, at the phone's time"
        client = self.logged_in()
        token = self.token(client)
        moment, text = phone_time(45)
        key_ = key()
        answers = [self.send(client, token, 'reading',
                **self.reading_form('E-101', '150', key_, text))
            for _ in range(3)]
        self.assertEqual([a.status_code for a in answers], [200] * 3)
        self.assertEqual([a.json['replayed'] for a in answers],
            [False, True, True])
        self.assertEqual(len({a.json['id'] for a in answers}), 1)
        self.assertEqual(answers[0].json['value'], '150.000')
        readings = self.readings('E-101')
        self.assertEqual(len(readings), 1)
        _, value, taken_at, _, _, stored_key = readings[0]
        self.assertEqual(value, Decimal(150))
        self.assertEqual(stored_key, key_)
        # Stored in UTC: the phone's time, not the arrival's
        self.assertEqual(taken_at, moment.astimezone(dt.timezone.utc)
            .replace(tzinfo=None))
        # The line of the round is read by it
        round_id, lines = self.round_id()
        data = client.get(self.url('rounds/%d/data' % round_id)).json
        self.assertEqual(data['lines'][0]['state'], 'read')

    def test_card_form_once(self):
        "The card's form sent twice with its page's key is one reading"
        client = self.logged_in()
        card = client.get(self.url('m/E-104'))
        self.assertIn('name="idempotency_key"', card.text)
        token = CSRF.search(card.text).group(1)
        key_ = key()
        locations = []
        for attempt in range(2):
            response = client.post(self.url('m/E-104/reading'), data={
                    'csrf_token': token, 'value': '140',
                    'idempotency_key': key_, 'photo': (
                        io.BytesIO(image()), 'meter.jpg', 'image/jpeg')})
            self.assertEqual(response.status_code, 302, response.text)
            locations.append(response.headers['Location'])
        self.assertEqual(locations[0], locations[1])
        readings = self.readings('E-104')
        self.assertEqual(len(readings), 1)
        self.assertEqual(readings[0][5], key_)

    def test_reading_refused(self):
        "Refusals say why in JSON and store nothing"
        client = self.logged_in()
        token = self.token(client)
        _, text = phone_time()
        cases = [
            (dict(self.reading_form('E-102', '150', 'short', text)), 400,
                '有效'),
            (dict(self.reading_form('E-102', '150', key(),
                        '2026-12-06T10:00:00')), 400, 'ISO 8601'),
            (dict(self.reading_form('E-102', '-3', key(), text)), 400, ''),
            (dict(self.reading_form('E-102', '150', key(), text,
                        photo=b'not a photo')), 400, ''),
            (dict(self.reading_form('W-1', '150', key(), text)), 404, ''),
            ]
        for data, status, words in cases:
            response = self.send(client, token, 'reading', **data)
            self.assertEqual(response.status_code, status, response.text)
            self.assertTrue(response.json['error'])
            self.assertIn(words, response.json['error'])
        self.assertEqual(self.readings('E-102'), [])
        # Without the page's token: refused before anything
        data = self.reading_form('E-102', '150', key(), text)
        response = client.post(self.url('sync/reading'), data=data)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.readings('E-102'), [])
        # The key of another's submission is not theirs to replay
        other = self.logged_in('field2')
        data = self.reading_form('E-103', '150', key(), text)
        self.assertEqual(self.send(client, token, 'reading',
                **data).status_code, 200)
        data = self.reading_form('E-103', '150', data['idempotency_key'],
            text)
        response = self.send(other, self.token(other), 'reading', **data)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(len(self.readings('E-103')), 1)

    def test_conflict_kept_for_review(self):
        """A reading of a meter read the same day meanwhile is kept, both
        are there, the later flagged for review"""
        client = self.logged_in()
        token = self.token(client)
        first, second = same_day_times()
        a = self.send(client, token, 'reading',
            **self.reading_form('E-201', '150', key(), first))
        b = self.send(client, token, 'reading',
            **self.reading_form('E-201', '152', key(), second))
        self.assertEqual((a.status_code, b.status_code), (200, 200))
        self.assertFalse(b.json['replayed'])
        self.assertNotEqual(a.json['id'], b.json['id'])
        readings = self.readings('E-201')
        self.assertEqual(len(readings), 2)
        self.assertIn('same_day', readings[1][4])
        self.assertEqual(readings[1][3], 'draft')
        self.assertTrue(b.json['anomalies'])

    def test_skip_once(self):
        "A skip sent twice is one skip, at the phone's time"
        client = self.logged_in()
        token = self.token(client)
        round_id, lines = self.round_id("2号楼")
        moment, text = phone_time(20)
        key_ = key()
        form = {'round': str(round_id), 'line': str(lines[1]),
            'reason': 'nobody_home', 'note': '敲门无人',
            'idempotency_key': key_, 'taken_at': text}
        first = self.send(client, token, 'skip', **form)
        self.assertEqual(first.status_code, 200, first.text)
        self.assertFalse(first.json['replayed'])
        second = self.send(client, token, 'skip', **dict(form, note='x'))
        self.assertTrue(second.json['replayed'])
        with Transaction().start(DB_NAME, 0):
            line = Pool().get('meter.field.round.line')(lines[1])
            self.assertEqual((line.state, line.skip_note,
                    line.idempotency_key), ('skipped', '敲门无人', key_))
            self.assertEqual(line.skipped_at, moment.astimezone(
                    dt.timezone.utc).replace(tzinfo=None))
        # Another's line, an unknown reason: refused
        response = self.send(client, token, 'skip', **dict(form,
                idempotency_key=key(), line='999999'))
        self.assertEqual(response.status_code, 404)
        response = self.send(client, token, 'skip', **dict(form,
                idempotency_key=key(), line=str(lines[0]), reason='x'))
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.json['error'])

    def test_fault_once(self):
        """A fault sent twice is one work order, with its photos, reported
        at the phone's time: its reply deadline counts from then"""
        client = self.logged_in()
        token = self.token(client)
        moment, text = phone_time(95)
        key_ = key()
        for attempt in range(2):
            response = client.post(self.url('sync/fault'), data={
                    'csrf_token': token, 'where': 'meter', 'meter': 'E-102',
                    'description': '表前阀门漏水', 'idempotency_key': key_,
                    'taken_at': text, 'photo': [
                        (io.BytesIO(image()), 'a.jpg', 'image/jpeg'),
                        (io.BytesIO(image(color=(0, 90, 200))), 'b.jpg',
                            'image/jpeg')]})
            self.assertEqual(response.status_code, 200, response.text)
            self.assertEqual(response.json['replayed'], bool(attempt))
        with Transaction().start(DB_NAME, 0):
            WorkOrder = Pool().get('meter.work_order')
            orders = WorkOrder.search([('idempotency_key', '=', key_)])
            self.assertEqual(len(orders), 1)
            self.assertEqual(len(orders[0].photos), 2)
            self.assertEqual(orders[0].meter.number, 'E-102')
            submitted_at = moment.astimezone(dt.timezone.utc).replace(
                tzinfo=None)
            self.assertEqual(orders[0].submitted_at, submitted_at)
            Calendar = Pool().get('meter.calendar')
            self.assertEqual(orders[0].deadline, Calendar.deadline(
                    submitted_at, orders[0].campus))
        # A time the phone's clock got wrong is refused, nothing stored
        for wrong in [text[:19], (moment + dt.timedelta(hours=3)).isoformat(),
                (moment - dt.timedelta(days=70)).isoformat()]:
            response = client.post(self.url('sync/fault'), data={
                    'csrf_token': token, 'where': 'meter', 'meter': 'E-102',
                    'description': '表前阀门漏水',
                    'idempotency_key': key(), 'taken_at': wrong})
            self.assertEqual(response.status_code, 400, wrong)
            self.assertIn('时', response.json['error'])
        with Transaction().start(DB_NAME, 0):
            WorkOrder = Pool().get('meter.work_order')
            self.assertEqual(WorkOrder.search(
                    [('meter.number', '=', 'E-102')], count=True), 1)
        response = client.post(self.url('sync/fault'), data={
                'csrf_token': token, 'where': 'meter', 'meter': 'E-102',
                'description': '', 'idempotency_key': key(),
                'taken_at': text})
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.json['error'])


@unittest.skipUnless(backend.name == 'postgresql',
    "two transactions at once need PostgreSQL")
class ConcurrentSyncTestCase(FieldTestCase):
    "Two submissions of one key at the same moment on PostgreSQL"

    @classmethod
    def setUpDatabase(cls):
        set_up_campus(configure=False)
        make_round('field1')

    def test_same_key_at_once(self):
        """Both find no reading of the key; the second waits for the
        first's insert, fails on the unique key and answers with it"""
        key_ = key()
        _, text = phone_time(10)
        taken_at = parse_taken_at(text)
        first_created = threading.Event()
        second_started = threading.Event()
        results, errors = {}, []

        def submit(name):
            try:
                with Transaction().start(DB_NAME, 0) as transaction:
                    pool = Pool()
                    Reading = pool.get('meter.reading')
                    Meter = pool.get('meter.meter')
                    meter, = Meter.search([('number', '=', 'E-101')])
                    self.assertIsNone(Reading.of_key(key_))
                    if name == 'second':
                        first_created.wait(30)
                        second_started.set()

                    def create():
                        return Reading.submit_taken(meter, '160', image(),
                            'test', taken_at, key_)
                    reading, replayed = once(Reading, key_, create)
                    if name == 'first':
                        first_created.set()
                        # Committed while the second waits on the key
                        second_started.wait(30)
                        threading.Event().wait(0.5)
                    results[name] = (reading.id, replayed)
                    transaction.commit()
            except Exception as exception:  # reported by the test
                errors.append(exception)

        threads = [threading.Thread(target=submit, args=(n,))
            for n in ['first', 'second']]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(results['first'][1], False)
        self.assertEqual(results['second'], (results['first'][0], True))
        with Transaction().start(DB_NAME, 0):
            Reading = Pool().get('meter.reading')
            self.assertEqual(Reading.search(
                    [('idempotency_key', '=', key_)], count=True), 1)
