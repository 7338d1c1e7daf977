# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Meter simulator answering DL/T 645 and CJ/T 188 requests.

The simulator plays a whole RS-485 bus: it reads the requests of a
collector, finds the configured meter of the requested address and answers
like it would.  Each meter can also misbehave (``mode``) so that the
collector code is exercised with the failures met in the field: a silent
meter, a reply with a wrong checksum, an error reply or line noise.

It serves a pseudo-terminal (the collector opens the printed slave path),
a serial port given as a pyserial URL or a TCP port (``socket://``
collectors).  Tests run it in a thread::

    simulator = Simulator([DLT645Meter('000000001234', values={...})])
    path = simulator.start_pty()
    ...
    simulator.stop()

and ``python -m trytond.modules.meter_devices.bus.simulator`` runs a demo bus.
"""
import argparse
import datetime as dt
import json
import logging
import os
import select
import socket
import sys
import threading
import time
import tty
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Dict, Optional

from ..protocols import START, FrameError, cjt188, dlt645

__all__ = ['SimulatedMeter', 'DLT645Meter', 'CJT188Meter', 'Simulator',
    'FrameSplitter', 'meter_from_dict', 'demo_meters', 'MODES', 'main']

logger = logging.getLogger(__name__)

MODES = ('ok', 'silent', 'bad_checksum', 'error', 'garbage')
STALE_BUFFER = 0.2
SELECT_TIMEOUT = 0.05


@dataclass
class SimulatedMeter:
    """A meter of the simulated bus.

    mode is one of MODES: 'ok' answers normally, 'silent' never answers,
    'bad_checksum' corrupts the checksum byte of the answer, 'error' sends
    an error reply with error_code and 'garbage' sends the answer scrambled
    (or the garbage bytes when given).  delay postpones the answer.
    """
    address: str
    mode: str = 'ok'
    error_code: int = 0x02
    delay: float = 0.0
    garbage: Optional[bytes] = None

    def matches(self, address):
        "Test address (which may hold AA wildcard bytes) against the meter."
        own = self.address.upper().rjust(len(address), '0')
        if len(own) != len(address):
            return False
        return all(
            theirs in ('AA', mine)
            for theirs, mine in zip(_pairs(address), _pairs(own)))

    def spoil(self, reply):
        "Apply the mode to a normal reply."
        if self.mode == 'silent' or reply is None:
            return None
        if self.mode == 'bad_checksum':
            reply = bytearray(reply)
            reply[-2] ^= 0xFF
            return bytes(reply)
        if self.mode == 'garbage':
            if self.garbage is not None:
                return bytes(self.garbage)
            return reply[:1] + bytes(b ^ 0x5A for b in reply[1:])
        return reply


def _pairs(address):
    return [address[i:i + 2] for i in range(0, len(address), 2)]


@dataclass
class DLT645Meter(SimulatedMeter):
    """An electricity meter answering DL/T 645 reads.

    values maps a DI to a number, or to a sequence of numbers for blocks;
    a read of another DI gets the 'no requested data' error reply.
    """
    values: Dict[int, object] = field(default_factory=dict)
    version: str = '2007'
    preamble: bool = True

    protocol = 'dlt645'

    def answer(self, frame):
        "Return the normal reply to the decoded request frame or None."
        if frame.version != self.version:
            return None
        if frame.function == dlt645.READ_ADDRESS:
            return dlt645.encode_address_reply(
                self.address, self.version, preamble=self.preamble)
        if frame.function != dlt645.READ[self.version]:
            return self.error_reply(0x01)
        if frame.di in dlt645.ADDRESS_DIS:
            return dlt645.encode_reply(
                self.address, frame.di, self.address, self.version,
                preamble=self.preamble)
        if frame.di not in self.values:
            return self.error_reply(0x02)
        return dlt645.encode_reply(
            self.address, frame.di, self.values[frame.di], self.version,
            preamble=self.preamble)

    def error_reply(self, error_code=None):
        if error_code is None:
            error_code = self.error_code
        return dlt645.encode_error(
            self.address, error_code, self.version, preamble=self.preamble)


@dataclass
class CJT188Meter(SimulatedMeter):
    """A water, heat or gas meter answering CJ/T 188 reads of 901F.

    clock None answers the current time; di_order None answers in the DI
    byte order of the request, a meter of an edition ('2004': 90 1F,
    '2018': 1F 90) reads the DI of a request in the other order as an
    unknown one and answers with an error.  heat holds the extra keywords
    of cjt188.encode_reply for heat meters.
    """
    meter_type: int = 0x10
    flow: Decimal = Decimal(0)
    settlement_flow: Optional[Decimal] = None
    unit: str = 'm3'
    status: int = 0
    clock: Optional[dt.datetime] = None
    di_order: Optional[str] = None
    heat: Dict[str, object] = field(default_factory=dict)
    preamble: bool = True

    protocol = 'cjt188'

    def matches_type(self, meter_type):
        return meter_type in (cjt188.WILDCARD_TYPE, self.meter_type)

    def answer(self, frame):
        "Return the normal reply to the decoded request frame or None."
        order = self.di_order or frame.di_order
        if order != frame.di_order:
            return self.error_reply(frame.serial)
        if frame.function == cjt188.READ_ADDRESS:
            return cjt188.encode_address_reply(
                self.address, self.meter_type, frame.serial, order,
                preamble=self.preamble)
        if (frame.function != cjt188.READ
                or frame.di != cjt188.METER_DATA):
            return self.error_reply(frame.serial)
        return cjt188.encode_reply(
            self.address, self.meter_type, self.flow, self.settlement_flow,
            self.unit, self.clock or dt.datetime.now().replace(microsecond=0),
            self.status, frame.serial, order, preamble=self.preamble,
            **self.heat)

    def error_reply(self, serial=0):
        return cjt188.encode_error(
            self.address, self.meter_type, self.error_code, serial or 0,
            preamble=self.preamble)


class FrameSplitter:
    """Cut a byte stream into frames of either protocol.

    Bytes before a ``68`` (preambles, noise) are skipped.  A candidate frame
    is tried with the envelope of both protocols: DL/T 645 has a second
    ``68`` at offset 7 and its length at offset 9, CJ/T 188 its length at
    offset 10; the checksum decides.
    """

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data):
        "Add data and return the list of (protocol, frame) completed."
        self.buffer += data
        frames = []
        while True:
            start = self.buffer.find(START)
            if start < 0:
                self.buffer.clear()
                break
            del self.buffer[:start]
            result = self._split()
            if result is None:
                break
            if result is False:
                del self.buffer[:1]
                continue
            frames.append(result)
        return frames

    def drop(self):
        "Skip the current start byte, when the rest never arrives."
        del self.buffer[:1]
        return self.feed(b'')

    def _split(self):
        waiting = False
        for protocol, module, header, length_at in (
                ('dlt645', dlt645, dlt645.HEADER_SIZE, 9),
                ('cjt188', cjt188, cjt188.HEADER_SIZE, 10)):
            if len(self.buffer) < header:
                waiting = True
                continue
            if protocol == 'dlt645' and self.buffer[7] != START:
                continue
            size = header + self.buffer[length_at] + 2
            if len(self.buffer) < size:
                waiting = True
                continue
            try:
                frame = module.decode(bytes(self.buffer[:size]))
            except FrameError:
                continue
            del self.buffer[:size]
            return protocol, frame
        return None if waiting else False


class Simulator:
    "A bus of simulated meters served on a pty, a serial port or TCP."

    def __init__(self, meters=()):
        self.meters = list(meters)
        self.requests = []
        self._stop = threading.Event()
        self._threads = []
        self._closers = []

    def add(self, meter):
        self.meters.append(meter)
        return meter

    def meter(self, address):
        "Return the configured meter of address."
        for meter in self.meters:
            if meter.address == address:
                return meter
        raise KeyError(address)

    def find(self, protocol, frame):
        "Return the meter the request frame is for, the first on wildcards."
        for meter in self.meters:
            if meter.protocol != protocol:
                continue
            if (protocol == 'cjt188'
                    and not meter.matches_type(frame.meter_type)):
                continue
            if meter.matches(frame.address):
                return meter

    def answer(self, protocol, frame):
        """Return (meter, bytes) to send for the decoded request frame.

        Replies, broadcast frames and unknown addresses get no answer.
        """
        self.requests.append((protocol, frame))
        if frame.is_reply or frame.address == dlt645.BROADCAST:
            return None, None
        meter = self.find(protocol, frame)
        if meter is None:
            return None, None
        if meter.mode == 'error':
            if protocol == 'cjt188':
                return meter, meter.error_reply(frame.serial)
            return meter, meter.error_reply()
        return meter, meter.spoil(meter.answer(frame))

    def handle(self, data):
        """Return the answers to the complete request frames in data.

        Meant for tests that do not need a port; the answers of every frame
        are concatenated.
        """
        splitter = FrameSplitter()
        answers = []
        for protocol, frame in splitter.feed(data):
            _, reply = self.answer(protocol, frame)
            if reply:
                answers.append(reply)
        return b''.join(answers)

    def serve(self, read, write, stop=None):
        """Answer the requests read until stop is set.

        read(timeout) returns the bytes received (b'' on timeout) and
        write(data) sends; an EOFError or OSError of read ends the loop.
        """
        stop = stop or self._stop
        splitter = FrameSplitter()
        last = time.monotonic()
        while not stop.is_set():
            data = read(SELECT_TIMEOUT)
            now = time.monotonic()
            if data:
                last = now
                frames = splitter.feed(data)
            elif splitter.buffer and now - last > STALE_BUFFER:
                frames = splitter.drop()
            else:
                continue
            for protocol, frame in frames:
                self._reply(protocol, frame, write)

    def _reply(self, protocol, frame, write):
        meter, reply = self.answer(protocol, frame)
        logger.debug("request %s", frame.raw.hex(' '))
        if not reply:
            return
        if meter.delay:
            time.sleep(meter.delay)
        logger.debug("answer %s", reply.hex(' '))
        write(reply)

    def start_pty(self):
        """Serve a new pseudo-terminal in a thread and return its path.

        The collector opens the returned slave path like a serial port, with
        parity 'N' as Linux refuses to set the parity of a pty twice; the
        slave stays open here so that the master never reads end of file
        when the collector closes it.
        """
        master, slave = os.openpty()
        tty.setraw(slave)
        self._closers.extend([lambda: os.close(master),
                lambda: os.close(slave)])
        self._start(*_fd_io(master))
        return os.ttyname(slave)

    def start_serial(self, url, **settings):
        "Serve the serial port of the pyserial url in a thread."
        import serial
        port = serial.serial_for_url(url, timeout=SELECT_TIMEOUT, **settings)
        self._closers.append(port.close)
        self._start(*_serial_io(port))
        return port

    def start_tcp(self, host='127.0.0.1', port=0):
        """Serve TCP connections one at a time in a thread.

        Return the (host, port) listened on; collectors use the url
        ``socket://host:port``.
        """
        server = socket.create_server((host, port))
        server.settimeout(SELECT_TIMEOUT)
        self._closers.append(server.close)
        thread = threading.Thread(
            target=self._accept, args=(server,), daemon=True)
        self._threads.append(thread)
        thread.start()
        return server.getsockname()[:2]

    def _accept(self, server):
        while not self._stop.is_set():
            try:
                connection, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with connection:
                try:
                    self.serve(*_socket_io(connection))
                except (EOFError, OSError):
                    pass

    def _start(self, read, write):
        thread = threading.Thread(
            target=self._run, args=(read, write), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, read, write):
        try:
            self.serve(read, write)
        except (EOFError, OSError):
            logger.debug("simulator port closed")

    def stop(self):
        "Stop the serving threads and close what they opened."
        self._stop.set()
        for thread in self._threads:
            thread.join(1)
        for close in reversed(self._closers):
            try:
                close()
            except OSError:
                pass
        self._threads.clear()
        self._closers.clear()
        self._stop = threading.Event()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _fd_io(fd):
    def read(timeout):
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1024) if ready else b''

    def write(data):
        while data:
            data = data[os.write(fd, data):]
    return read, write


def _serial_io(port):
    def read(timeout):
        return port.read(max(1, port.in_waiting))
    return read, port.write


def _socket_io(connection):
    def read(timeout):
        ready, _, _ = select.select([connection], [], [], timeout)
        if not ready:
            return b''
        data = connection.recv(1024)
        if not data:
            raise EOFError
        return data
    return read, connection.sendall


def _number(value):
    if isinstance(value, (list, tuple)):
        return tuple(Decimal(str(v)) for v in value)
    return Decimal(str(value))


def meter_from_dict(values):
    """Return the meter described by a dictionary (from JSON).

    ``protocol`` is 'dlt645' or 'cjt188'; DL/T 645 ``values`` keys are DIs
    in hexadecimal; the CJ/T 188 ``clock`` is in ISO format.
    """
    values = dict(values)
    protocol = values.pop('protocol', 'dlt645')
    if 'garbage' in values:
        values['garbage'] = bytes.fromhex(values['garbage'])
    if protocol == 'dlt645':
        values['values'] = {
            int(k, 16): _number(v)
            for k, v in values.get('values', {}).items()}
        return DLT645Meter(**values)
    if protocol == 'cjt188':
        for name in ('flow', 'settlement_flow'):
            if values.get(name) is not None:
                values[name] = _number(values[name])
        if values.get('clock'):
            values['clock'] = dt.datetime.fromisoformat(values['clock'])
        if 'heat' in values:
            values['heat'] = {
                k: v if k.endswith('_unit') else _number(v)
                for k, v in values['heat'].items()}
        return CJT188Meter(**values)
    raise ValueError("Unknown protocol %s." % protocol)


def demo_meters():
    "Return a small bus of both protocols and every failure mode."
    return [
        DLT645Meter('000000001234', values={
                0x00010000: Decimal('12345.67'),
                0x0001FF00: tuple(Decimal(v) for v in (
                        '12345.67', '1000.00', '5000.00', '4000.00',
                        '2345.67')),
                0x00010100: Decimal('1000.00'),
                0x0201FF00: (Decimal('220.1'), Decimal('221.2'),
                    Decimal('219.9')),
                0x02010100: Decimal('220.1'),
                0x02020100: Decimal('5.123'),
                0x02800002: Decimal('50.00'),
                }),
        DLT645Meter('000000005678', version='1997', values={
                0x9010: Decimal('2222.22'),
                0x901F: tuple(Decimal(v) for v in (
                        '2222.22', '1111.11', '1111.11', '0', '0')),
                0xB611: Decimal('230'),
                0xB621: Decimal('1.25'),
                }),
        DLT645Meter('000000009999', mode='silent'),
        DLT645Meter('000000008888', mode='bad_checksum',
            values={0x00010000: Decimal('1.00')}),
        CJT188Meter('12345678901234', flow=Decimal('123.45'),
            settlement_flow=Decimal('100.00')),
        CJT188Meter('00000000002018', flow=Decimal('42.00'), unit='m3',
            di_order='2018', status=0x04),
        CJT188Meter('20000000000001', meter_type=0x20, flow=Decimal('88.5'),
            unit='kWh', heat={
                'heat_power': Decimal('3.2'), 'flow_rate': Decimal('0.42'),
                'volume': Decimal('1234.5'),
                'supply_temperature': Decimal('65.3'),
                'return_temperature': Decimal('44.8'),
                'working_hours': Decimal('4321')}),
        ]


def _parser():
    parser = argparse.ArgumentParser(
        description="Simulate DL/T 645 and CJ/T 188 meters on a bus.")
    parser.add_argument('--port',
        help="serve this pyserial URL instead of a new pseudo-terminal")
    parser.add_argument('--tcp', metavar='[HOST:]PORT',
        help="serve TCP connections for socket:// collectors")
    parser.add_argument('--baudrate', type=int, default=2400)
    parser.add_argument('--parity', default='E', choices='NEO')
    parser.add_argument('--config', metavar='FILE',
        help="JSON list of meters (see meter_from_dict)")
    parser.add_argument('--verbose', '-v', action='store_true',
        help="log every request and answer")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(asctime)s %(message)s')
    if args.config:
        with open(args.config) as file:
            meters = [meter_from_dict(m) for m in json.load(file)]
    else:
        meters = demo_meters()
    simulator = Simulator(meters)
    if args.tcp:
        host, _, port = args.tcp.rpartition(':')
        host, port = simulator.start_tcp(host or '127.0.0.1', int(port))
        where = 'socket://%s:%s' % (host, port)
    elif args.port:
        simulator.start_serial(
            args.port, baudrate=args.baudrate, parity=args.parity)
        where = args.port
    else:
        where = simulator.start_pty()
    print("Simulating %d meters on %s" % (len(meters), where), flush=True)
    if not (args.tcp or args.port):
        print("Open the pseudo-terminal with parity N.")
    for meter in meters:
        print("  %s %s %s" % (meter.protocol, meter.address, meter.mode))
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
