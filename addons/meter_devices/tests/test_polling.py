# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import time
import unittest
from decimal import Decimal

from trytond.modules.meter_devices.bus import polling
from trytond.modules.meter_devices.bus.polling import (
    MeterRequest, Poller, PollingError, PollResult, open_port, poll)
from trytond.modules.meter_devices.protocols import cjt188, dlt645
from trytond.modules.meter_devices.bus.simulator import (
    CJT188Meter, DLT645Meter, Simulator)

TIMEOUT = 0.2
# Linux refuses to set the parity of a pseudo-terminal twice.
PTY = {'parity': 'N', 'timeout': TIMEOUT}


def bus():
    return [
        DLT645Meter('000000001234', values={
                0x00010000: Decimal('12345.67'),
                0x0001FF00: (Decimal('12345.67'), Decimal('1000'),
                    Decimal('5000'), Decimal('4000'), Decimal('2345.67')),
                0x02010100: Decimal('220.1'),
                0x02020100: Decimal('-5.123'),
                }),
        DLT645Meter('000000005678', version='1997',
            values={0x9010: Decimal('2222.22'), 0xB611: Decimal('230')}),
        DLT645Meter('000000009999', mode='silent',
            values={0x00010000: Decimal('1')}),
        DLT645Meter('000000008888', mode='bad_checksum',
            values={0x00010000: Decimal('1')}),
        DLT645Meter('000000007777', mode='error', error_code=0x04),
        DLT645Meter('000000006666', mode='garbage',
            values={0x00010000: Decimal('1')}),
        CJT188Meter('12345678901234', flow=Decimal('123.45')),
        CJT188Meter('00000000002018', flow=Decimal('42'), di_order='2018',
            status=0x04),
        CJT188Meter('20000000000001', meter_type=0x20, flow=Decimal('88.5'),
            unit='kWh'),
        ]


class PtyPollingTestCase(unittest.TestCase):
    "Poll the simulator through a pseudo-terminal and pyserial."

    def setUp(self):
        self.simulator = Simulator(bus())
        self.path = self.simulator.start_pty()
        self.addCleanup(self.simulator.stop)

    def poll(self, meters, **kwargs):
        kwargs = {**PTY, 'retries': 1, **kwargs}
        return list(poll(self.path, meters, **kwargs))

    def test_mixed_bus(self):
        "Every meter gets a result, failures do not stop polling"
        meters = [
            MeterRequest('000000001234', key=1),
            MeterRequest('000000009999', key=2),
            MeterRequest('000000001234', di=0x0001FF00),
            MeterRequest('000000008888'),
            MeterRequest('000000005678', 'dlt645_1997'),
            MeterRequest('000000007777'),
            {'address': '12345678901234', 'protocol': 'cjt188_2004'},
            {'address': '00000000002018', 'protocol': 'cjt188_2018'},
            MeterRequest('20000000000001', 'cjt188_2004', meter_type=0x20),
            MeterRequest('000000005678', 'dlt645_1997', di=0xB611),
            MeterRequest('000000001234', di=0x02020100),
            ]
        progress = []
        start = time.monotonic()
        results = self.poll(meters,
            progress=lambda done, total, result: progress.append(
                (done, total, result.address)))
        elapsed = time.monotonic() - start

        self.assertEqual(
            [r.ok for r in results],
            [True, False, True, False, True, False, True, True, True, True,
                True])
        self.assertEqual([p[0] for p in progress], list(range(1, 12)))
        self.assertEqual({p[1] for p in progress}, {11})
        self.assertLess(elapsed, 3)

        energy = results[0]
        self.assertIsInstance(energy, PollResult)
        self.assertEqual(tuple(energy), (
                '000000001234', True, Decimal('12345.67'), 'kWh', '',
                '68341200000000689108333334339A7856341816'))
        self.assertEqual(energy.request.key, 1)
        self.assertEqual(energy.attempts, 1)

        silent = results[1]
        address, ok, value, unit, error, raw = silent
        self.assertEqual((address, ok, value, raw), (
                '000000009999', False, None, ''))
        self.assertEqual(silent.code, 'timeout')
        self.assertTrue(error)
        self.assertEqual(silent.attempts, 2)

        block = results[2]
        self.assertEqual(block.value, Decimal('12345.67'))
        self.assertEqual(len(block.values), 5)

        bad = results[3]
        self.assertEqual(bad.code, 'checksum')
        self.assertEqual(bad.attempts, 2)
        self.assertTrue(bad.raw.startswith('68888800'))

        self.assertEqual((results[4].value, results[4].unit),
            (Decimal('2222.22'), 'kWh'))

        error = results[5]
        self.assertEqual(error.code, 'meter_error')
        self.assertIn("wrong password", error.error)
        self.assertEqual(error.attempts, 1)
        self.assertEqual(error.frame.error_code, 0x04)

        water = results[6]
        self.assertEqual((water.value, water.unit), (Decimal('123.45'), 'm3'))
        water_2018 = results[7]
        self.assertEqual(water_2018.value, Decimal('42'))
        self.assertEqual(water_2018.frame.di_order, '2018')
        self.assertTrue(water_2018.frame.battery_low)
        heat = results[8]
        self.assertEqual((heat.value, heat.unit), (Decimal('88.5'), 'kWh'))
        self.assertEqual((results[9].value, results[9].unit),
            (Decimal('230'), 'V'))
        self.assertEqual((results[10].value, results[10].unit),
            (Decimal('-5.123'), 'A'))

        requests = [f.address for p, f in self.simulator.requests]
        self.assertEqual(requests.count('000000009999'), 2)
        self.assertEqual(requests.count('000000008888'), 2)
        self.assertEqual(requests.count('000000007777'), 1)

    def test_garbage(self):
        result, good = self.poll([
                MeterRequest('000000006666'), MeterRequest('000000001234')])
        self.assertFalse(result.ok)
        self.assertIn(result.code, {'garbled', 'start', 'checksum'})
        self.assertTrue(result.raw)
        self.assertTrue(good.ok)

    def test_bad_address(self):
        "A mistyped address fails its meter; the round goes on"
        bad, good = self.poll([
                MeterRequest('0000000012345'), MeterRequest('000000001234')])
        self.assertFalse(bad.ok)
        self.assertEqual(bad.code, 'request')
        self.assertTrue(good.ok)
        self.assertIsNotNone(good.value)

    def test_missing_di(self):
        "A DI the meter does not have is an error reply, not a timeout"
        result, = self.poll([MeterRequest('000000001234', di=0x02800002)])
        self.assertEqual(result.code, 'meter_error')
        self.assertIn("no requested data", result.error)

    def test_no_retry(self):
        start = time.monotonic()
        result, = self.poll([MeterRequest('000000009999')], retries=0)
        self.assertEqual(result.attempts, 1)
        self.assertLess(time.monotonic() - start, 1.5)

    def test_retry_recovers(self):
        "A meter failing once is read on the next try"
        meter = self.simulator.meter('000000001234')
        meter.mode = 'bad_checksum'
        answer = self.simulator.answer

        def answer_once_bad(protocol, frame):
            result = answer(protocol, frame)
            meter.mode = 'ok'
            return result
        self.simulator.answer = answer_once_bad
        result, = self.poll([MeterRequest('000000001234')], retries=2)
        self.assertTrue(result.ok)
        self.assertEqual(result.attempts, 2)

    def test_slow_meter(self):
        self.simulator.meter('000000001234').delay = 0.05
        result, = self.poll([MeterRequest('000000001234')])
        self.assertTrue(result.ok)

    def test_poller_on_open_port(self):
        port = open_port(self.path, **PTY)
        self.addCleanup(port.close)
        poller = Poller(port, timeout=TIMEOUT, retries=0, preamble=False)
        result = poller.query(MeterRequest('000000001234', di=0x02010100))
        self.assertEqual((result.value, result.unit), (Decimal('220.1'), 'V'))
        result = poller.query(
            {'address': '000000005678', 'protocol': 'dlt645_1997'})
        self.assertEqual(result.value, Decimal('2222.22'))

    def test_read_address(self):
        simulator = Simulator([DLT645Meter('000000004321')])
        path = simulator.start_pty()
        self.addCleanup(simulator.stop)
        port = open_port(path, **PTY)
        self.addCleanup(port.close)
        poller = Poller(port, timeout=TIMEOUT, retries=0)
        self.assertEqual(poller.read_address(), '000000004321')
        self.assertIsNone(poller.read_address('cjt188_2004'))


class SocketPollingTestCase(unittest.TestCase):
    "socket:// urls reach the simulator through TCP."

    def test_socket(self):
        simulator = Simulator(bus())
        host, port = simulator.start_tcp()
        self.addCleanup(simulator.stop)
        results = list(poll('socket://%s:%s' % (host, port), [
                    MeterRequest('000000001234'),
                    MeterRequest('000000009999'),
                    MeterRequest('12345678901234', 'cjt188_2004'),
                    ], timeout=TIMEOUT, retries=0))
        self.assertEqual([r.ok for r in results], [True, False, True])
        self.assertEqual(results[2].value, Decimal('123.45'))


class FakePort:
    "A port answering with canned bytes, for echo and noise handling."

    baudrate = 9600
    timeout = TIMEOUT

    def __init__(self, answer):
        self.answer = answer
        self.pending = b''

    @property
    def in_waiting(self):
        return len(self.pending)

    def reset_input_buffer(self):
        self.pending = b''

    def write(self, data):
        self.pending += self.answer(data)
        return len(data)

    def flush(self):
        pass

    def read(self, size=1):
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


class FakePortTestCase(unittest.TestCase):

    def test_echo_and_noise(self):
        "The echo of the request and noise are skipped"
        reply = dlt645.encode_reply('1234', 0x00010000, Decimal('1.5'))
        poller = Poller(FakePort(
                lambda request: request + b'\x00\x68\x11' + reply))
        result = poller.query(MeterRequest('1234'))
        self.assertTrue(result.ok)
        self.assertEqual(result.value, Decimal('1.5'))

    def test_other_meter(self):
        reply = cjt188.encode_reply('99', flow=Decimal('1'))
        poller = Poller(FakePort(lambda request: reply), retries=0)
        result = poller.query(MeterRequest('12', 'cjt188_2004'))
        self.assertEqual(result.code, 'address')

    def test_other_di(self):
        reply = dlt645.encode_reply('1', 0x02010100, Decimal('1'))
        poller = Poller(FakePort(lambda request: reply), retries=0)
        result = poller.query(MeterRequest('1'))
        self.assertEqual(result.code, 'di')

    def test_port_error(self):
        with self.assertRaises(PollingError) as context:
            list(poll('/nonexistent/tty', [MeterRequest('1')]))
        self.assertEqual(context.exception.code, 'port')

    def test_unknown_protocol(self):
        with self.assertRaises(PollingError) as context:
            MeterRequest('1', 'modbus')
        self.assertEqual(context.exception.code, 'protocol')

    def test_messages(self):
        self.assertEqual({p for p, _ in polling.PROTOCOLS},
            set(polling.DEFAULT_DI))
        for code, message in polling.ERRORS.items():
            self.assertTrue(message.endswith('.'), code)
