"""蓝牙抄表: the frames of a reading over Bluetooth (plain Python) and its
pages through the Tryton WSGI application, as the staff's Tryton user.

The replies are real frames made by meter_devices' encoders; the server
must decode them, refuse a reply of another address, a bad checksum or
garbage in Chinese without storing anything, and make one reading of a
key sent twice, as every submission of the phones' queue (sync.py)."""
import datetime as dt
import json
import unittest
import uuid
from decimal import Decimal

from trytond.modules.meter_devices.protocols import cjt188, dlt645
from trytond.modules.meter_field import bluetooth_frames as frames
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .test_sync import phone_time
from .tools import FieldTestCase, PASSWORD

WATER = '00000012345678'
ELECTRICITY = '000000654321'
CLOCK = dt.datetime(2026, 12, 6, 10, 30)


def water_reply(flow, address=WATER, **kwargs):
    return cjt188.encode_reply(address, flow=Decimal(flow), clock=CLOCK,
        preamble=True, **kwargs)


class BluetoothFramesTestCase(unittest.TestCase):
    "The frames of a reading over Bluetooth, without a database"

    def test_request_cjt188(self):
        "The request of a water meter is the collectors' 901F read"
        self.assertEqual(
            frames.request_frame('cjt188_2004', '12345678', 'water'),
            cjt188.read_request(WATER, 0x10, preamble=True))
        self.assertEqual(
            frames.request_frame('cjt188_2018', WATER, 'hot_water'),
            cjt188.read_request(WATER, 0x11, di_order='2018',
                preamble=True))

    def test_request_dlt645(self):
        "An electricity meter is asked its total active energy"
        request = frames.request_frame(
            'dlt645_2007', ELECTRICITY, 'electricity')
        frame = dlt645.decode(request)
        self.assertEqual((frame.address, frame.di, frame.is_reply),
            (ELECTRICITY, 0x00010000, False))

    def test_request_refused(self):
        "No protocol or an address that can not be sent"
        for protocol, address, code in [
                (None, WATER, 'protocol'),
                ('modbus', WATER, 'protocol'),
                ('cjt188_2004', '', 'address'),
                ('cjt188_2004', '12345678901234567', 'address'),
                ('cjt188_2004', '12G4', 'address'),
                ]:
            with self.subTest(protocol=protocol, address=address):
                with self.assertRaises(frames.ReplyError) as context:
                    frames.request_frame(protocol, address, 'water')
                self.assertEqual(context.exception.code, code)

    def test_decode(self):
        "The value and unit of the reply, its frame kept"
        reply = water_reply('123.45')
        result = frames.read_reply('cjt188_2004', '12345678', 'water', reply)
        self.assertEqual((result.value, result.unit, result.address),
            (Decimal('123.45'), 'm3', WATER))
        self.assertEqual(result.raw, reply[2:])

    def test_decode_after_echo_and_noise(self):
        "Noise and the bridge's echo of the request before the reply"
        request = frames.request_frame('cjt188_2004', WATER, 'water')
        reply = water_reply('7.5')
        result = frames.read_reply('cjt188_2004', WATER, 'water',
            b'\x00\xff' + request + reply)
        self.assertEqual(result.value, Decimal('7.5'))

    def test_decode_dlt645(self):
        "A DL/T 645-2007 reply through an optical head"
        reply = dlt645.encode_reply(
            ELECTRICITY, 0x00010000, Decimal('1234.56'), preamble=True)
        result = frames.read_reply(
            'dlt645_2007', ELECTRICITY, 'electricity', reply)
        self.assertEqual((result.value, result.unit),
            (Decimal('1234.56'), 'kWh'))

    def test_other_address(self):
        "A whole, valid reply of another meter is refused"
        with self.assertRaises(frames.ReplyError) as context:
            frames.read_reply('cjt188_2004', WATER, 'water',
                water_reply('1', address='00000012345679'))
        self.assertEqual(context.exception.code, 'other_meter')
        self.assertEqual(context.exception.details,
            {'address': '00000012345679', 'expected': WATER})

    def test_bad_checksum(self):
        reply = bytearray(water_reply('123.45'))
        reply[-2] ^= 0x01
        with self.assertRaises(frames.ReplyError) as context:
            frames.read_reply('cjt188_2004', WATER, 'water', bytes(reply))
        self.assertEqual(context.exception.code, 'checksum')

    def test_garbage(self):
        "Noise, a frame cut short or a changed length are not frames"
        reply = water_reply('123.45')
        for data in [b'\x01\x02\x03\x04', b'hello meter, are you there',
                bytes(range(0x60, 0x90)), reply[:20],
                reply[:12] + b'\x00' + reply[13:]]:
            with self.subTest(data=data):
                with self.assertRaises(frames.ReplyError) as context:
                    frames.read_reply('cjt188_2004', WATER, 'water', data)
                self.assertEqual(context.exception.code, 'garbage')

    def test_no_answer(self):
        "Nothing, or only the echo of the request"
        request = frames.request_frame('cjt188_2004', WATER, 'water')
        for data in [b'', request]:
            with self.subTest(data=data):
                with self.assertRaises(frames.ReplyError) as context:
                    frames.read_reply('cjt188_2004', WATER, 'water', data)
                self.assertEqual(context.exception.code, 'empty')

    def test_meter_error(self):
        with self.assertRaises(frames.ReplyError) as context:
            frames.read_reply('cjt188_2004', WATER, 'water',
                cjt188.encode_error(WATER, status=0x0010))
        self.assertEqual(context.exception.code, 'meter_error')
        self.assertEqual(context.exception.details, {'error': 0x10})

    def test_parse_hex(self):
        self.assertEqual(frames.parse_hex('68 10\nAA'), b'\x68\x10\xaa')
        for text in ['6G', '681', 'x' * 10, '00' * (frames.MAX_REPLY + 1)]:
            with self.subTest(text=text[:10]):
                with self.assertRaises(frames.ReplyError):
                    frames.parse_hex(text)


class BluetoothPagesTestCase(FieldTestCase):
    "Test the pages of the readings over Bluetooth"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east = Campus(name="东校区", code='E')
        east.save()
        west = Campus(name="西校区", code='W')
        west.save()
        for campus, number, kind, protocol, address in [
                (east, 'S-1', 'water', 'cjt188_2004', '12345678'),
                (east, 'S-2', 'water', 'cjt188_2004', WATER[:-1] + '9'),
                (east, 'S-3', 'water', None, None),
                (east, 'D-1', 'electricity', 'dlt645_2007', ELECTRICITY),
                (west, 'S-W', 'water', 'cjt188_2004', '87654321'),
                ]:
            account = Account(number='A' + number, name="住户" + number,
                category='resident', campus=campus)
            account.save()
            Meter(number=number, kind=kind, account=account, campus=campus,
                digits=6, decimals=0, multiplier=Decimal(1),
                initial_value=Decimal(0), comm_address=address,
                protocol=protocol, reading_method='manual').save()
        User.create([{
                    'login': 'field1', 'name': "外线一号",
                    'password': PASSWORD,
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_field_staff')])],
                    'meter_campuses': [('add', [east.id])],
                    }])

    def readings(self, number):
        "The readings of the meter with their frames, read as root"
        with Transaction().start(DB_NAME, 0):
            Reading = Pool().get('meter.reading')
            return [(r.value, r.source, r.taken_at, r.reader.login,
                    r.bluetooth_frame, r.bluetooth_address,
                    r.idempotency_key)
                for r in Reading.search(
                    [('meter.number', '=', number)], order=[('id', 'ASC')])]

    def post(self, client, token, code, reply, key=None, taken_at=None,
            **extra):
        """Send the reply as the phone's queue does (sync/bluetooth), with
        a new key and the phone's time half an hour ago unless given"""
        key = str(uuid.uuid4()) if key is None else key
        taken_at = phone_time()[1] if taken_at is None else taken_at
        response = client.post(self.url('sync/bluetooth'),
            data=dict(extra, meter=code, reply=reply.hex()
                if isinstance(reply, bytes) else reply,
                idempotency_key=key, taken_at=taken_at),
            headers={'X-CSRF-Token': token})
        return response.status_code, json.loads(response.text)

    def test_card_and_page(self):
        "The card links to the page, which holds the meter's request"
        client = self.logged_in()
        card = client.get(self.url('m/S-1'))
        self.assertIn(self.href('m/S-1/bluetooth'), card.text)
        self.assertIn('蓝牙抄表', card.text)
        # A meter without a protocol has no link
        self.assertNotIn('/bluetooth', client.get(self.url('m/S-3')).text)
        page = client.get(self.url('m/S-1/bluetooth'))
        self.assertEqual(page.status_code, 200, page.text)
        self.assertIn('6e400001-b5a3-f393-e0a9-e50e24dcca9e', page.text)
        request = cjt188.read_request(WATER, preamble=True).hex().upper()
        self.assertIn(request, page.text)
        # The replies go to the phone's one queue, shown on the page
        self.assertIn('id="offline-queue"', page.text)
        self.assertNotIn('data-post', page.text)

    def test_offline_page(self):
        """The offline page holds the reader, which the round's data kept
        on the phone fills; the worker keeps its script"""
        client = self.logged_in()
        page = client.get(self.url('offline'))
        self.assertEqual(page.status_code, 200)
        self.assertIn('id="bluetooth-template"', page.text)
        self.assertIn('连接蓝牙并读表', page.text)
        self.assertIn(self.href('static/bluetooth.js'), page.text)
        worker = client.get(self.url('sw.js')).text
        self.assertIn("'static/bluetooth.js'", worker)
        self.assertEqual(client.get(
                self.url('static/bluetooth.js')).status_code, 200)

    def test_page_without_protocol(self):
        "A meter that can not be read says why, and offers the photo"
        client = self.logged_in()
        page = client.get(self.url('m/S-3/bluetooth'))
        self.assertEqual(page.status_code, 200)
        self.assertIn('没有可通过蓝牙读取的通信规约', page.text)
        self.assertIn('改用拍照抄表', page.text)
        self.assertNotIn('id="bt-read"', page.text)
        token = self.token(client, 'm/S-3')
        status, data = self.post(client, token, 'S-3', water_reply('1'))
        self.assertEqual(status, 400)
        self.assertIn('通信规约', data['error'])
        self.assertEqual(self.readings('S-3'), [])

    def test_reading(self):
        "A reply becomes a reading of source bluetooth with its frame"
        client = self.logged_in()
        token = self.token(client, 'm/S-1')
        reply = water_reply('123.45')
        moment, text = phone_time(40)
        key = str(uuid.uuid4())
        status, data = self.post(client, token, 'S-1', reply, key=key,
            taken_at=text, latitude='31.2', longitude='121.4', accuracy='9')
        self.assertEqual(status, 200, data)
        self.assertEqual((data['kind'], data['value_text'], data['replayed'],
                data['meter'], data['key']),
            ('bluetooth', '123.45', False, 'S-1', key))
        self.assertTrue(data['url'].endswith('/field/r/%d' % data['id']))
        (value, source, taken_at, reader, frame, address, stored_key), = (
            self.readings('S-1'))
        self.assertEqual((value, source, reader, address, stored_key),
            (Decimal('123.45'), 'bluetooth', 'field1', WATER, key))
        # The phone's time, stored in UTC
        self.assertEqual(taken_at, moment.astimezone(dt.timezone.utc)
            .replace(tzinfo=None))
        self.assertEqual(frame, reply[2:].hex().upper())
        # The reading's page shows it
        page = client.get(data['url'])
        self.assertIn('123.45', page.text)

    def test_same_key_once(self):
        "A key sent again gives back the first reading, never a second"
        client = self.logged_in()
        token = self.token(client, 'm/D-1')
        reply = dlt645.encode_reply(
            ELECTRICITY, 0x00010000, Decimal('250.5'))
        key = str(uuid.uuid4())
        status, first = self.post(client, token, 'D-1', reply, key=key)
        self.assertEqual(status, 200, first)
        self.assertFalse(first['replayed'])
        other = dlt645.encode_reply(
            ELECTRICITY, 0x00010000, Decimal('260'))
        status, again = self.post(client, token, 'D-1', other,
            key=key, taken_at=phone_time(5)[1])
        self.assertEqual(status, 200, again)
        self.assertTrue(again['replayed'])
        self.assertEqual((again['id'], again['value_text']),
            (first['id'], '250.5'))
        self.assertEqual(len(self.readings('D-1')), 1)
        # The key of a reading sent with a photo is the same key space
        status, taken = self.post(client, token, 'D-1', other)
        self.assertEqual(status, 200, taken)
        self.assertFalse(taken['replayed'])
        self.assertEqual(len(self.readings('D-1')), 2)

    def test_refused(self):
        "Each bad reply is refused in Chinese and stores nothing"
        client = self.logged_in()
        token = self.token(client, 'm/S-2')
        bad_checksum = bytearray(water_reply('5', address=WATER[:-1] + '9'))
        bad_checksum[-2] ^= 0xFF
        for reply, message in [
                (water_reply('5'), '回复来自另一块表（地址 %s）' % WATER),
                (bytes(bad_checksum), '校验和错误'),
                (b'\x13\x37 garbage \x00\x01', '不是完整的数据帧'),
                (b'', '表计未应答'),
                ('zz', '不是完整的数据帧'),
                (cjt188.encode_error(WATER[:-1] + '9', status=0x20),
                    '表计回复错误（状态 0x20）'),
                ]:
            with self.subTest(message=message):
                status, data = self.post(client, token, 'S-2', reply)
                self.assertEqual(status, 400, data)
                self.assertIn(message, data['error'])
        self.assertEqual(self.readings('S-2'), [])

    def test_refused_key_and_time(self):
        """The key and the phone's time are checked as every submission's
        (sync.py): a real key, a time with its offset, not in the future
        nor months ago"""
        client = self.logged_in()
        token = self.token(client, 'm/S-2')
        reply = water_reply('5', address=WATER[:-1] + '9')
        _, text = phone_time()
        ahead = (dt.datetime.now(dt.timezone.utc)
            + dt.timedelta(hours=2)).isoformat()
        long_ago = (dt.datetime.now(dt.timezone.utc)
            - dt.timedelta(days=90)).isoformat()
        for key, taken_at, message in [
                ('', text, '有效的提交编号'),
                ('dup-key-1', text, '有效的提交编号'),
                ('key-with space-0001', text, '有效的提交编号'),
                (str(uuid.uuid4()), text[:19], '时区偏移'),
                (str(uuid.uuid4()), 'yesterday', '时区偏移'),
                (str(uuid.uuid4()), '', '时区偏移'),
                (str(uuid.uuid4()), ahead, '手机时钟'),
                (str(uuid.uuid4()), long_ago, '手机时钟'),
                ]:
            with self.subTest(key=key, taken_at=taken_at):
                status, data = self.post(client, token, 'S-2', reply,
                    key=key, taken_at=taken_at)
                self.assertEqual(status, 400, data)
                self.assertIn(message, data['error'])
        self.assertEqual(self.readings('S-2'), [])

    def test_unit_converted(self):
        "A meter counting litres gives a reading in cubic metres"
        client = self.logged_in()
        token = self.token(client, 'm/S-2')
        status, data = self.post(client, token, 'S-2',
            water_reply('12345.67', address=WATER[:-1] + '9', unit='L'))
        self.assertEqual(status, 200, data)
        self.assertEqual(data['value_text'], '12.345')

    def test_other_campus(self):
        "A meter of another campus is not found"
        client = self.logged_in()
        token = self.token(client, 'm/S-1')
        self.assertEqual(
            client.get(self.url('m/S-W/bluetooth')).status_code, 404)
        status, data = self.post(client, token, 'S-W',
            water_reply('1', address='87654321'))
        self.assertEqual(status, 404)
        self.assertTrue(data['error'])
        self.assertEqual(self.readings('S-W'), [])

    def test_csrf(self):
        "The post needs the session's token"
        client = self.logged_in()
        response = client.post(self.url('sync/bluetooth'), data={
                'meter': 'S-1', 'reply': water_reply('1').hex(),
                'idempotency_key': str(uuid.uuid4()),
                'taken_at': phone_time()[1]})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.readings('S-1'), [])

    def test_round_data(self):
        """The round kept on the phone holds the request frame of each
        meter read over Bluetooth, and the bridges to look for"""
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Round = pool.get('meter.field.round')
            Meter = pool.get('meter.meter')
            User = pool.get('res.user')
            user, = User.search([('login', '=', 'field1')])
            found = {m.number: m for m in Meter.search([])}
            round_, = Round.create([{'staff': user.id,
                        'campus': found['S-1'].campus.id,
                        'start_date': dt.date.today().replace(day=1),
                        'end_date': dt.date.today(), 'name': "蓝牙"}])
            Round.fill([round_], [found[n] for n in ['S-1', 'S-3', 'D-1']])
            data = Round(round_.id).field_data()
            transaction.rollback()
        json.dumps(data)
        self.assertEqual(
            [(l['meter']['number'], l['meter']['bluetooth'])
                for l in data['lines']],
            [('S-1', cjt188.read_request(WATER, preamble=True).hex().upper()),
                ('S-3', None),
                ('D-1', frames.request_frame('dlt645_2007', ELECTRICITY,
                        'electricity').hex().upper())])
        self.assertEqual(data['bluetooth']['bridges'][-1]['service'],
            '6e400001-b5a3-f393-e0a9-e50e24dcca9e')
        self.assertEqual(data['bluetooth']['timeout'], 5)

    def test_migrate_frames(self):
        """The frames and the key of a reading kept in their own table
        before (meter.reading.bluetooth) move onto the reading: its key
        sent again gives it back"""
        from trytond.modules.meter_field.bluetooth import FRAMES_TABLE
        reply = water_reply('42')
        old_key = str(uuid.uuid4())
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Reading = pool.get('meter.reading')
            Meter = pool.get('meter.meter')
            meter, = Meter.search([('number', '=', 'S-1')])
            reading, other = Reading.create([{'meter': meter.id,
                        'value': Decimal(42), 'source': 'bluetooth',
                        'taken_at': dt.datetime.now() - dt.timedelta(
                            hours=h)} for h in [3, 2]])
            cursor = transaction.connection.cursor()
            cursor.execute('CREATE TABLE "%s" (id INTEGER, reading INTEGER, '
                '"key" VARCHAR, protocol VARCHAR, address VARCHAR, '
                'request VARCHAR, frame VARCHAR, received TEXT)'
                % FRAMES_TABLE)
            cursor.execute('INSERT INTO "%s" VALUES (1, %s, \'%s\', '
                '\'cjt188_2004\', \'%s\', \'6810\', \'%s\', \'%s\')' % (
                    FRAMES_TABLE, reading.id, old_key, WATER,
                    reply[2:].hex().upper(), reply.hex().upper()))
            Reading._migrate_frames()
            cursor.execute('DROP TABLE "%s"' % FRAMES_TABLE)
            # What create() put in the transaction's cache is gone
            transaction.cache.clear()
            reading, other = Reading.browse([reading.id, other.id])
            self.assertEqual((reading.bluetooth_address,
                    reading.bluetooth_request, reading.bluetooth_frame,
                    reading.bluetooth_received, reading.idempotency_key),
                (WATER, '6810', reply[2:].hex().upper(),
                    reply.hex().upper(), old_key))
            self.assertEqual(Reading.of_key(old_key), reading)
            self.assertEqual((other.bluetooth_frame, other.idempotency_key),
                (None, None))
            transaction.rollback()

    def test_configuration(self):
        "The bridge's UUIDs are checked; a 16-bit one is widened"
        from trytond.model.exceptions import ValidationError
        Configuration = Pool(DB_NAME).get(
            'meter.field.bluetooth.configuration')
        with Transaction().start(DB_NAME, 0,
                _lock_tables=[Configuration._table]) as transaction:
            configuration = Configuration(1)
            self.assertEqual(len(configuration.bridges()), 1)
            configuration.service_uuid = 'FFE0'
            configuration.write_uuid = 'ffe1'
            configuration.notify_uuid = 'ffe1'
            configuration.save()
            bridges = Configuration(1).bridges()
            self.assertEqual(bridges[0]['service'],
                '0000ffe0-0000-1000-8000-00805f9b34fb')
            self.assertEqual(bridges[1]['service'],
                '6e400001-b5a3-f393-e0a9-e50e24dcca9e')
            configuration.notify_uuid = 'not-a-uuid'
            with self.assertRaises(ValidationError) as context:
                configuration.save()
            self.assertIn('not-a-uuid', context.exception.message)
            transaction.rollback()
