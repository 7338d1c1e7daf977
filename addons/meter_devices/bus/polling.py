# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Collector polling core: read a list of meters on one serial bus.

The Tryton collector model opens the bus of a collector (a device path, a
``socket://host:port`` RS-485 to Ethernet converter or an ``rfc2217://``
port server), then asks every meter in turn and stores the results::

    for result in poll(url, meters, timeout=1, retries=2):
        if result.ok:
            ...result.value, result.unit...
        else:
            ...result.code, result.error...

A meter that does not answer in time or answers garbage gives a failure
result after its retries and polling goes on with the next meter; only an
unusable port raises PollingError.
"""
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Optional

import serial

try:
    from termios import error as TermiosError
except ImportError:
    TermiosError = OSError

from ..protocols import START, EncodeError, FrameError, cjt188, dlt645

__all__ = ['PollingError', 'MeterRequest', 'PollResult', 'Poller',
    'open_port', 'poll', 'PROTOCOLS', 'ERRORS']

PROTOCOLS = [
    ('dlt645_2007', "DL/T 645-2007"),
    ('dlt645_1997', "DL/T 645-1997"),
    ('cjt188_2004', "CJ/T 188-2004"),
    ('cjt188_2018', "CJ/T 188-2018"),
    ]
DEFAULT_DI = {
    'dlt645_2007': 0x00010000,
    'dlt645_1997': 0x9010,
    'cjt188_2004': cjt188.METER_DATA,
    'cjt188_2018': cjt188.METER_DATA,
    }
PARITIES = {
    'none': serial.PARITY_NONE, 'even': serial.PARITY_EVEN,
    'odd': serial.PARITY_ODD, 'mark': serial.PARITY_MARK,
    'space': serial.PARITY_SPACE,
    }
# Longest frame: preamble, header, 255 data bytes, checksum and end.
MAX_FRAME = 4 + 11 + 255 + 2
BITS_PER_BYTE = 11

ERRORS = {
    'timeout': "No answer before the timeout.",
    'garbled': "The answer is not a valid frame.",
    'truncated': "The answer is truncated.",
    'start': "The answer does not start with 68.",
    'end': "The answer does not end with 16.",
    'length': "The answer length is wrong.",
    'checksum': "The answer checksum is wrong.",
    'bcd': "The answer holds invalid BCD digits.",
    'format': "The answer data does not match its identifier.",
    'meter_error': "The meter replied with an error.",
    'address': "The answer comes from another meter.",
    'di': "The answer is for another data identifier.",
    'no_value': "The answer holds no value.",
    'protocol': "Unknown protocol.",
    'port': "The port cannot be used.",
    'request': "The meter's address or data identifier cannot be sent.",
    }


class PollingError(Exception):
    "The bus cannot be used at all; code is 'port' or 'protocol'."

    def __init__(self, message, code='port'):
        super().__init__(message)
        self.code = code


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class MeterRequest:
    """What to read from one meter.

    protocol is a key of PROTOCOLS; di defaults to the total forward active
    energy (DL/T 645) or the meter data ``901F`` (CJ/T 188); meter_type is
    the CJ/T 188 meter type.  key is returned untouched in the result (for
    example the id of the Tryton record).
    """
    address: str
    protocol: str = 'dlt645_2007'
    di: Optional[int] = None
    meter_type: int = 0x10
    key: Any = None

    def __post_init__(self):
        if self.protocol not in DEFAULT_DI:
            raise PollingError(
                "Unknown protocol %s." % self.protocol, 'protocol')
        if self.di is None:
            object.__setattr__(self, 'di', DEFAULT_DI[self.protocol])

    @property
    def family(self):
        return self.protocol.split('_')[0]

    @property
    def edition(self):
        return self.protocol.split('_')[1]


class _PollResult(NamedTuple):
    address: str
    ok: bool
    value: Optional[Decimal]
    unit: str
    error: str
    raw: str


class PollResult(_PollResult):
    """The outcome of reading one meter.

    The tuple is (address, ok, value, unit, error, raw): value is a Decimal
    or None, error an English message ('' when ok) and raw the hexadecimal
    text of the last frame received ('' when none).  The attributes code
    (a key of ERRORS, '' when ok), values (every value of block data),
    frame (the decoded frame), attempts and request add details.
    """
    code = ''
    values = ()
    frame = None
    attempts = 0
    request = None

    def __new__(cls, address, ok, value=None, unit='', error='', raw='',
            code='', values=(), frame=None, attempts=0, request=None):
        result = super().__new__(cls, address, ok, value, unit, error, raw)
        result.code = code
        result.values = values
        result.frame = frame
        result.attempts = attempts
        result.request = request
        return result


def open_port(url, baudrate=2400, parity='E', bytesize=8, stopbits=1,
        timeout=1.0):
    """Open the bus of a pyserial url, raise PollingError when impossible.

    DL/T 645 and CJ/T 188 buses usually run at 2400 bauds, 8 data bits,
    even parity, 1 stop bit.  parity is a pyserial letter or its name.
    Pseudo-terminals (the simulator) must be opened without parity: Linux
    refuses to set it again on a pty already configured.
    """
    parity = PARITIES.get(str(parity).lower(), parity)
    try:
        return serial.serial_for_url(url, baudrate=baudrate, parity=parity,
            bytesize=bytesize, stopbits=stopbits, timeout=timeout)
    except (serial.SerialException, ValueError, OSError,
            TermiosError) as exception:
        raise PollingError("Cannot open %s: %s" % (url, exception), 'port')


def poll(url, meters, baudrate=2400, parity='E', bytesize=8, stopbits=1,
        timeout=1.0, retries=2, progress=None, preamble=True,
        retry_delay=0.0):
    """Open url, yield a PollResult per meter and close the port.

    See Poller for the arguments.
    """
    port = open_port(url, baudrate, parity, bytesize, stopbits, timeout)
    try:
        poller = Poller(port, timeout=timeout, retries=retries,
            preamble=preamble, retry_delay=retry_delay)
        yield from poller.poll(meters, progress=progress)
    finally:
        port.close()


class Poller:
    """Read meters one after the other on an open pyserial port.

    timeout is the time allowed to a meter to start and go on answering;
    each meter is asked again retries times after a failure, waiting
    retry_delay before; preamble sends the ``FE`` wake-up bytes.
    """

    def __init__(self, port, timeout=1.0, retries=2, preamble=True,
            retry_delay=0.0):
        self.port = port
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.preamble = preamble
        self.retry_delay = retry_delay
        if port.timeout != timeout:
            port.timeout = timeout

    def poll(self, meters, progress=None):
        """Yield a PollResult per meter, in order.

        meters are MeterRequest instances or dictionaries of their fields;
        progress(done, total, result) is called after each meter.
        """
        meters = [m if isinstance(m, MeterRequest) else MeterRequest(**m)
            for m in meters]
        for index, meter in enumerate(meters, 1):
            result = self.query(meter)
            if progress:
                progress(index, len(meters), result)
            yield result

    def query(self, meter):
        "Return the PollResult of one meter after at most retries + 1 tries."
        if not isinstance(meter, MeterRequest):
            meter = MeterRequest(**meter)
        result = None
        for attempt in range(1, self.retries + 2):
            if attempt > 1 and self.retry_delay:
                time.sleep(self.retry_delay)
            result = self._attempt(meter, attempt)
            if result.ok or result.code == 'meter_error':
                break
        return result

    def read_address(self, protocol='dlt645_2007'):
        """Return the address of the only meter of the bus or None.

        It uses the wildcard address, so only one meter of the protocol
        may be connected.
        """
        request = MeterRequest(
            dlt645.WILDCARD if protocol.startswith('dlt645')
            else cjt188.WILDCARD, protocol, meter_type=cjt188.WILDCARD_TYPE)
        if request.family == 'dlt645':
            data = dlt645.read_address_request(
                request.edition, preamble=self.preamble)
        else:
            data = cjt188.read_address_request(
                di_order=request.edition, preamble=self.preamble)
        for _ in range(self.retries + 1):
            try:
                frame = self._exchange(request, data)
            except (_Timeout, FrameError):
                continue
            if frame.is_error:
                continue
            return getattr(frame, 'reported_address', None) or frame.address

    def _attempt(self, meter, attempt):
        details = {'attempts': attempt, 'request': meter}
        try:
            request = self._request(meter)
        except EncodeError as error:
            # A badly typed address fails its meter, not the round
            return self._failure(meter, 'request', str(error), **details)
        try:
            frame = self._exchange(meter, request)
        except _Timeout as timeout:
            raw = timeout.args[0] if timeout.args else b''
            code = 'garbled' if raw else 'timeout'
            return self._failure(meter, code, raw=raw, **details)
        except FrameError as error:
            return self._failure(meter, error.code, str(error),
                raw=getattr(error, 'raw', b''), **details)
        return self._result(meter, frame, **details)

    def _request(self, meter):
        if meter.family == 'dlt645':
            return dlt645.read_request(
                meter.address, meter.di, meter.edition,
                preamble=self.preamble)
        return cjt188.read_request(
            meter.address, meter.meter_type, meter.di,
            di_order=meter.edition, preamble=self.preamble)

    def _result(self, meter, frame, **details):
        raw = frame.raw
        if frame.is_error:
            return self._failure(meter, 'meter_error',
                "%s %s" % (ERRORS['meter_error'], frame.error_message),
                raw=raw, frame=frame, **details)
        if not _same_address(meter.address, frame.address):
            return self._failure(meter, 'address', raw=raw, frame=frame,
                **details)
        if frame.di != meter.di:
            return self._failure(meter, 'di', raw=raw, frame=frame,
                **details)
        if frame.value is None:
            return self._failure(meter, 'no_value', raw=raw, frame=frame,
                **details)
        values = getattr(frame, 'values', ()) or (frame.value,)
        return PollResult(meter.address, True, frame.value, frame.unit, '',
            raw.hex().upper(), values=values, frame=frame, **details)

    def _failure(self, meter, code, message=None, raw=b'', **details):
        return PollResult(meter.address, False, None, '',
            message or ERRORS[code], bytes(raw).hex().upper(), code=code,
            **details)

    def _exchange(self, meter, request):
        "Send request and return the decoded answer of the meter."
        try:
            self.port.reset_input_buffer()
            self.port.write(request)
            self.port.flush()
            return self._receive(meter)
        except (serial.SerialException, OSError) as exception:
            raise PollingError(
                "Port error: %s" % exception, 'port') from exception

    def _receive(self, meter):
        """Read the answer of meter and return its decoded frame.

        Noise and ``FE`` bytes before a ``68`` are skipped, the rest of the
        frame is read as announced by its length byte.  A frame sent to a
        meter (the echo of some RS-485 converters) is skipped.
        """
        module = dlt645 if meter.family == 'dlt645' else cjt188
        header = module.HEADER_SIZE
        reader = _Reader(self.port, self._deadline())
        while True:
            reader.skip_to(START)
            reader.fill(header)
            if module is dlt645 and reader.buffer[7] != START:
                reader.discard(1)
                continue
            size = header + reader.buffer[header - 1] + 2
            reader.fill(size)
            data = reader.take(size)
            try:
                frame = module.decode(data)
            except FrameError as error:
                error.raw = data
                raise
            if frame.is_reply:
                return frame

    def _deadline(self):
        baudrate = getattr(self.port, 'baudrate', None) or 2400
        transfer = MAX_FRAME * BITS_PER_BYTE / baudrate
        return time.monotonic() + self.timeout + transfer


class _Reader:
    "Buffered reads from a port with an overall deadline."

    def __init__(self, port, deadline):
        self.port = port
        self.deadline = deadline
        self.buffer = bytearray()
        self.received = bytearray()

    def _read(self, size):
        if time.monotonic() > self.deadline:
            raise _Timeout(bytes(self.received))
        data = self.port.read(size)
        if not data:
            raise _Timeout(bytes(self.received))
        self.buffer += data
        self.received += data

    def skip_to(self, byte):
        while True:
            index = self.buffer.find(byte)
            if index >= 0:
                del self.buffer[:index]
                return
            self.buffer.clear()
            self._read(max(1, self.port.in_waiting))

    def fill(self, size):
        while len(self.buffer) < size:
            self._read(size - len(self.buffer))

    def discard(self, size):
        del self.buffer[:size]

    def take(self, size):
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _same_address(requested, answered):
    "Compare addresses, AA bytes of the request match anything."
    requested = requested.upper().rjust(len(answered), '0')
    if len(requested) != len(answered):
        return False
    return all(
        requested[i:i + 2] in ('AA', answered[i:i + 2])
        for i in range(0, len(answered), 2))
