# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""DL/T 645-2007 and DL/T 645-1997 electricity meter frames.

A frame is laid out as::

    FE..FE 68 A0 A1 A2 A3 A4 A5 68 C L DATA.. CS 16

* ``FE`` bytes are an optional wake-up preamble (usually four).
* ``A0..A5`` is the meter address, six BCD bytes sent least significant
  byte first: meter ``000000001234`` is sent ``34 12 00 00 00 00``.  ``AA``
  bytes are wildcards and ``999999999999`` is the broadcast address.
* ``C`` is the control code: bit 7 is set in replies, bit 6 in error
  replies, bit 5 when more frames follow; bits 0-4 are the function.  The
  2007 functions are ``0x11`` read, ``0x12`` read follow-up, ``0x13`` read
  address, ``0x14`` write...; the 1997 ones are ``0x01`` read, ``0x02`` read
  follow-up, ``0x04`` write..., so the version shows in the control code.
* ``L`` is the number of data bytes.
* every ``DATA`` byte is sent with ``0x33`` added (modulo 256) so that a run
  of zeros does not look like an idle line; it is removed on decoding.
* ``CS`` is the sum modulo 256 of every byte from the first ``68`` to the
  last data byte.

The data of a read starts with the data identifier (DI), sent least
significant byte first: four bytes in 2007 (``0x00010000`` is sent
``00 00 01 00``), two bytes in 1997 (``0x9010`` is sent ``10 90``).  The
value follows as BCD, low byte first, with a fixed number of bytes and of
decimals per DI.
"""
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple, Optional, Tuple

from . import (
    END, PREAMBLE, START, EncodeError, FrameError, address_from_wire,
    address_to_wire, bcd_to_decimal, checksum, decimal_to_bcd,
    strip_preamble)

__all__ = ['FrameError', 'EncodeError', 'Frame', 'Format', 'decode',
    'encode', 'read_request', 'read_address_request', 'encode_reply',
    'encode_address_reply', 'encode_error', 'data_format', 'error_text',
    'split_frame', 'BROADCAST', 'WILDCARD']

OFFSET = 0x33
BROADCAST = '999999999999'
WILDCARD = 'AAAAAAAAAAAA'
PREAMBLE_SIZE = 4
ADDRESS_SIZE = 6
HEADER_SIZE = 10
MAX_DATA = 255

REPLY = 0x80
ERROR = 0x40
FOLLOW_UP = 0x20
FUNCTION = 0x1F

READ = {'2007': 0x11, '1997': 0x01}
READ_FOLLOW_UP = {'2007': 0x12, '1997': 0x02}
WRITE = {'2007': 0x14, '1997': 0x04}
READ_ADDRESS = 0x13
DI_SIZE = {'2007': 4, '1997': 2}
# The DI that holds the meter address in a normal read.
ADDRESS_DIS = {0x04000401, 0x04000402, 0xC032}

ERRORS = {
    '2007': {
        0x01: "other error",
        0x02: "no requested data",
        0x04: "unauthorised or wrong password",
        0x08: "baud rate cannot be changed",
        0x10: "too many year time zones",
        0x20: "too many daily time periods",
        0x40: "too many tariffs",
        },
    '1997': {
        0x01: "illegal data",
        0x02: "wrong data identifier",
        0x04: "wrong password",
        0x10: "too many year time zones",
        0x20: "too many daily time periods",
        0x40: "too many tariffs",
        },
    }


class Format(NamedTuple):
    """How the value of a DI is written.

    ``size`` bytes of BCD with ``decimals`` fraction digits, ``count`` of
    them for blocks (``0`` when the block holds as many values as the meter
    has tariffs), the most significant bit being the sign when ``signed``.
    """
    size: int
    decimals: int
    unit: str
    signed: bool = False
    count: int = 1


def _energy_formats():
    "2007 energy: DI 00 KK TT SS, kind, tariff (FF block), settlement."
    units = {
        0x00: ('kWh', True), 0x01: ('kWh', False), 0x02: ('kWh', False),
        0x03: ('kvarh', True), 0x04: ('kvarh', True),
        0x05: ('kvarh', False), 0x06: ('kvarh', False),
        0x07: ('kvarh', False), 0x08: ('kvarh', False),
        0x09: ('kVAh', False), 0x0A: ('kVAh', False),
        }
    for kind, (unit, signed) in units.items():
        for settlement in range(0x0D):
            for tariff in range(0x40):
                yield ((kind << 16) | (tariff << 8) | settlement,
                    Format(4, 2, unit, signed))
            yield ((kind << 16) | 0xFF00 | settlement,
                Format(4, 2, unit, signed, 0))


def _instant_formats():
    "2007 instantaneous values: DI 02 KK PP 00, kind, phase (FF block)."
    kinds = {
        0x01: (range(1, 4), Format(2, 1, 'V')),
        0x02: (range(1, 4), Format(3, 3, 'A', True)),
        0x03: (range(0, 4), Format(3, 4, 'kW', True)),
        0x04: (range(0, 4), Format(3, 4, 'kvar', True)),
        0x05: (range(0, 4), Format(3, 4, 'kVA', True)),
        0x06: (range(0, 4), Format(2, 3, '', True)),
        0x07: (range(1, 4), Format(2, 1, '°')),
        }
    for kind, (phases, format_) in kinds.items():
        for phase in phases:
            yield 0x02000000 | (kind << 16) | (phase << 8), format_
        yield (0x02000000 | (kind << 16) | 0xFF00,
            format_._replace(count=len(phases)))
    yield 0x02800001, Format(3, 3, 'A', True)
    yield 0x02800002, Format(2, 2, 'Hz')
    yield 0x02800007, Format(2, 1, '°C', True)
    yield 0x02800008, Format(2, 2, 'V')


def _formats_1997():
    "1997 DI: 9M KT energy (month, kind, tariff), B6 KP instantaneous."
    for month in (0x0, 0x4, 0x8):
        for group, kinds, unit in (
                (0x90, range(1, 3), 'kWh'), (0x91, range(1, 7), 'kvarh')):
            for kind in kinds:
                di = ((group | month) << 8) | (kind << 4)
                for tariff in range(5):
                    yield di | tariff, Format(4, 2, unit)
                yield di | 0xF, Format(4, 2, unit, count=0)
    kinds = {
        0xB61: (range(1, 4), Format(2, 0, 'V')),
        0xB62: (range(1, 4), Format(2, 2, 'A')),
        0xB63: (range(0, 4), Format(3, 4, 'kW')),
        0xB64: (range(0, 4), Format(2, 2, 'kvar')),
        0xB65: (range(0, 4), Format(2, 3, '')),
        }
    for kind, (phases, format_) in kinds.items():
        for phase in phases:
            yield (kind << 4) | phase, format_
        yield (kind << 4) | 0xF, format_._replace(count=len(phases))


FORMATS = {
    '2007': dict(list(_energy_formats()) + list(_instant_formats())),
    '1997': dict(_formats_1997()),
    }


def data_format(di, version='2007'):
    "Return the Format of di or None when the DI is not known."
    return FORMATS[version].get(di)


def error_text(error_code, version='2007'):
    "Return the English text of the bits set in an error reply byte."
    texts = [t for b, t in sorted(ERRORS[version].items()) if error_code & b]
    return ', '.join(texts) or "unknown error 0x%02X" % error_code


@dataclass(frozen=True)
class Frame:
    """A decoded DL/T 645 frame.

    ``data`` holds the data bytes with the ``0x33`` offset removed.  For the
    reply to a read of a known DI, ``values`` holds every value of the data
    and ``value`` the first one (the total of an energy block).
    """
    address: str
    control: int
    data: bytes
    version: str
    di: Optional[int] = None
    values: Tuple[Decimal, ...] = ()
    unit: str = ''
    reported_address: Optional[str] = None
    raw: bytes = b''

    @property
    def function(self):
        return self.control & FUNCTION

    @property
    def is_reply(self):
        return bool(self.control & REPLY)

    @property
    def is_error(self):
        return self.is_reply and bool(self.control & ERROR)

    @property
    def has_follow_up(self):
        return bool(self.control & FOLLOW_UP)

    @property
    def error_code(self):
        if self.is_error:
            return self.data[0]

    @property
    def error_message(self):
        if self.is_error:
            return error_text(self.error_code, self.version)

    @property
    def value(self):
        return self.values[0] if self.values else None


def _version(control):
    return '2007' if control & FUNCTION >= 0x11 else '1997'


def split_frame(data):
    """Check the envelope of a frame and return (address, control, data).

    The preamble is skipped; the data is returned without the offset.
    """
    data = strip_preamble(data)
    if len(data) < HEADER_SIZE + 2:
        raise FrameError("Frame is too short.", 'truncated')
    if data[0] != START or data[7] != START:
        raise FrameError("Frame does not start with 68.", 'start')
    size = HEADER_SIZE + data[9] + 2
    if len(data) != size:
        raise FrameError(
            "Frame has %d bytes but its length byte announces %d."
            % (len(data), size), 'length')
    if data[-1] != END:
        raise FrameError("Frame does not end with 16.", 'end')
    if checksum(data[:-2]) != data[-2]:
        raise FrameError("Frame checksum is wrong.", 'checksum')
    payload = bytes((b - OFFSET) & 0xFF for b in data[HEADER_SIZE:-2])
    return address_from_wire(data[1:7]), data[8], payload


def decode(data):
    "Return the Frame of data, raise FrameError when it is not valid."
    raw = bytes(data)
    address, control, payload = split_frame(raw)
    version = _version(control)
    frame = Frame(address, control, payload, version, raw=raw)
    if control & REPLY and control & ERROR:
        if not payload:
            raise FrameError("Error reply has no error byte.", 'format')
        return frame
    function = control & FUNCTION
    if function == READ_ADDRESS:
        if frame.is_reply:
            return replace(frame, reported_address=_address(payload))
        return frame
    if function not in (
            READ[version], READ_FOLLOW_UP[version], WRITE[version]):
        return frame
    size = DI_SIZE[version]
    if len(payload) < size:
        raise FrameError("Data is too short for its identifier.", 'format')
    di = int.from_bytes(payload[:size], 'little')
    frame = replace(frame, di=di)
    if frame.is_reply and function != WRITE[version]:
        frame = _decode_value(frame, payload[size:])
    return frame


def _address(data):
    if len(data) < ADDRESS_SIZE:
        raise FrameError("Address data is too short.", 'format')
    return address_from_wire(data[:ADDRESS_SIZE])


def _decode_value(frame, data):
    if frame.di in ADDRESS_DIS:
        return replace(frame, reported_address=_address(data))
    format_ = data_format(frame.di, frame.version)
    if format_ is None:
        return frame
    count = format_.count or min(len(data) // format_.size, 0x40)
    if not count or len(data) < count * format_.size:
        raise FrameError(
            "Data of DI %X is too short." % frame.di, 'format')
    values = tuple(
        bcd_to_decimal(
            data[i * format_.size:(i + 1) * format_.size],
            format_.decimals, format_.signed)
        for i in range(count))
    return replace(frame, values=values, unit=format_.unit)


def encode(address, control, data=b'', preamble=False):
    """Return the frame of control and data (given without the offset).

    preamble adds the four ``FE`` wake-up bytes.
    """
    if len(data) > MAX_DATA:
        raise EncodeError("Data is longer than 255 bytes.", 'length')
    frame = bytearray([START])
    frame += address_to_wire(address, ADDRESS_SIZE)
    frame += bytes([START, control, len(data)])
    frame += bytes((b + OFFSET) & 0xFF for b in data)
    frame += bytes([checksum(frame), END])
    if preamble:
        frame[:0] = bytes([PREAMBLE] * PREAMBLE_SIZE)
    return bytes(frame)


def _di_bytes(di, version):
    size = DI_SIZE[version]
    if not 0 <= di < 1 << (8 * size):
        raise EncodeError(
            "DI %X does not fit in %d bytes." % (di, size), 'di')
    return di.to_bytes(size, 'little')


def read_request(address, di, version='2007', preamble=False):
    """Return the frame that reads di from the meter at address.

    ``AAAAAAAAAAAA`` reads whichever meter is alone on the bus.
    """
    return encode(
        address, READ[version], _di_bytes(di, version), preamble=preamble)


def read_address_request(version='2007', preamble=False):
    """Return the frame asking the only meter of a bus for its address.

    2007 meters have the dedicated function ``0x13``; 1997 meters answer a
    wildcard read of DI ``C032`` (meter number).
    """
    if version == '2007':
        return encode(WILDCARD, READ_ADDRESS, preamble=preamble)
    return read_request(WILDCARD, 0xC032, '1997', preamble=preamble)


def encode_value(di, value, version='2007'):
    "Return the data bytes of value (a sequence for blocks) for di."
    if di in ADDRESS_DIS:
        return address_to_wire(value, ADDRESS_SIZE)
    format_ = data_format(di, version)
    if format_ is None:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise EncodeError("Unknown DI %X." % di, 'di')
    if isinstance(value, (list, tuple)):
        values = value
    else:
        values = (value,)
    if format_.count and len(values) != format_.count:
        raise EncodeError(
            "DI %X holds %d values." % (di, format_.count), 'count')
    return b''.join(
        decimal_to_bcd(v, format_.size, format_.decimals, format_.signed)
        for v in values)


def encode_reply(address, di, value, version='2007', follow_up=False,
        extra=b'', preamble=False):
    """Return the normal reply of the meter at address to a read of di.

    value is a number, a sequence of numbers for blocks, an address string
    for the address DIs or raw bytes for unknown DIs; extra is appended to
    the data as some meters do.
    """
    control = REPLY | READ[version] | (FOLLOW_UP if follow_up else 0)
    data = _di_bytes(di, version) + encode_value(di, value, version) + extra
    return encode(address, control, data, preamble=preamble)


def encode_address_reply(address, version='2007', preamble=False):
    "Return the reply to read_address_request."
    if version == '2007':
        return encode(
            address, REPLY | READ_ADDRESS,
            address_to_wire(address, ADDRESS_SIZE), preamble=preamble)
    return encode_reply(address, 0xC032, address, '1997', preamble=preamble)


def encode_error(address, error_code=0x02, version='2007', function=None,
        preamble=False):
    "Return the error reply (control D1 or C1) carrying error_code."
    if function is None:
        function = READ[version]
    control = REPLY | ERROR | function
    return encode(address, control, bytes([error_code]), preamble=preamble)
