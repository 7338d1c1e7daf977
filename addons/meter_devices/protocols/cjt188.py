# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""CJ/T 188 water, heat and gas meter frames.

A frame is laid out as::

    FE..FE 68 T A0 A1 A2 A3 A4 A5 A6 C L DATA.. CS 16

* ``FE`` bytes are an optional wake-up preamble.
* ``T`` is the meter type: ``10`` cold water, ``11`` domestic hot water,
  ``12`` drinking water, ``13`` reclaimed water, ``20`` heat (heating),
  ``21`` heat (cooling), ``30`` gas, ``40`` electricity; ``AA`` is a
  wildcard.
* ``A0..A6`` is the meter address, seven BCD bytes sent least significant
  byte first (the two last ones are usually the manufacturer code);
  ``AA`` bytes are wildcards.
* ``C`` is the control code: bit 7 is set in replies, bit 6 in error
  replies; ``0x01`` reads data, ``0x03`` reads the address, ``0x04``
  writes data.
* ``L`` is the number of data bytes, which are sent as they are: unlike
  DL/T 645 there is no ``0x33`` offset.
* ``CS`` is the sum modulo 256 of every byte from ``68`` to the last data
  byte.

The data starts with the two bytes data identifier (DI) and a serial byte
(SER) that the meter echoes.  Both byte orders of the DI occur in the field:
meters following CJ/T 188-2004 send the high byte first (``90 1F`` for
``0x901F``, as in the published read ``68 10 .. 01 03 90 1F 01 CS 16``)
while CJ/T 188-2018 ones send the low byte first (``1F 90``, as in
``68 10 .. 01 03 1F 90 00 CS 16``).  Decoding recognises the order from
the known high bytes of the DIs and normalises it.

The reply to a ``901F`` read of water and gas meters holds::

    current flow (4 BCD, 2 decimals) + unit, settlement day flow + unit,
    clock (7 BCD: ss mm hh DD MM YY YY, low byte first), status (2 bytes)

Heat meters send instead settlement and current heat, heat power, flow
rate, cumulative volume (each 4 BCD + unit), supply and return
temperatures (3 BCD, 2 decimals), working hours (3 BCD), clock and status.
The first status byte holds the valve state in bits 0-1 (``00`` open,
``01`` closed, ``11`` abnormal) and the battery low flag in bit 2.
"""
import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Optional

from . import (
    END, PREAMBLE, START, EncodeError, FrameError, address_from_wire,
    address_to_wire, bcd_to_decimal, bcd_to_int, checksum, decimal_to_bcd,
    int_to_bcd, strip_preamble)

__all__ = ['FrameError', 'EncodeError', 'Frame', 'decode', 'encode',
    'read_request', 'read_address_request', 'encode_reply',
    'encode_error', 'split_frame', 'unit_code', 'is_heat_meter',
    'WILDCARD']

WILDCARD = 'AAAAAAAAAAAAAA'
WILDCARD_TYPE = 0xAA
PREAMBLE_SIZE = 2
ADDRESS_SIZE = 7
HEADER_SIZE = 11
MAX_DATA = 255

REPLY = 0x80
ERROR = 0x40
FUNCTION = 0x3F
READ = 0x01
READ_ADDRESS = 0x03
WRITE = 0x04

METER_DATA = 0x901F
ADDRESS_DI = 0x810A
# High bytes of the DIs of the standard, used to recognise the DI order.
DI_HIGH_BYTES = {0x81, 0x90, 0x91, 0xA0, 0xA2, 0xD1}
DI_ORDERS = ('2004', '2018')

METER_TYPES = {
    0x10: "cold water",
    0x11: "domestic hot water",
    0x12: "drinking water",
    0x13: "reclaimed water",
    0x20: "heat (heating)",
    0x21: "heat (cooling)",
    0x30: "gas",
    0x40: "electricity",
    }
UNITS = {
    0x01: 'J', 0x02: 'Wh', 0x05: 'kWh', 0x08: 'MWh', 0x0A: 'MWh*100',
    0x0B: 'kJ', 0x0E: 'MJ', 0x11: 'GJ', 0x13: 'GJ*100', 0x14: 'W',
    0x17: 'kW', 0x1A: 'MW', 0x29: 'L', 0x2C: 'm3', 0x32: 'L/h',
    0x35: 'm3/h',
    }
UNIT_CODES = {v: k for k, v in UNITS.items()}

VALVE_OPEN = 'open'
VALVE_CLOSED = 'closed'
VALVE_ABNORMAL = 'abnormal'
VALVE_STATES = {0: VALVE_OPEN, 1: VALVE_CLOSED, 2: None, 3: VALVE_ABNORMAL}
BATTERY_LOW = 0x04

WATER_LAYOUT = (
    ('flow', 4, 2, True),
    ('settlement_flow', 4, 2, True),
    )
HEAT_LAYOUT = (
    ('settlement_flow', 4, 2, True),
    ('flow', 4, 2, True),
    ('heat_power', 4, 2, True),
    ('flow_rate', 4, 4, True),
    ('volume', 4, 2, True),
    ('supply_temperature', 3, 2, False),
    ('return_temperature', 3, 2, False),
    ('working_hours', 3, 0, False),
    )
CLOCK_SIZE = 7
STATUS_SIZE = 2


def is_heat_meter(meter_type):
    "Heat meters use the types 0x20 to 0x29."
    return 0x20 <= meter_type <= 0x29


def _layout(meter_type):
    return HEAT_LAYOUT if is_heat_meter(meter_type) else WATER_LAYOUT


def unit_code(unit):
    "Return the CJ/T 188 code of a unit label such as 'm3'."
    try:
        return UNIT_CODES[unit]
    except KeyError:
        raise EncodeError("Unknown unit %s." % unit, 'unit')


@dataclass(frozen=True)
class Frame:
    """A decoded CJ/T 188 frame.

    ``data`` holds the raw data bytes.  ``flow`` is the current cumulative
    quantity (volume of water and gas meters, heat of heat meters) in
    ``flow_unit`` and ``settlement_flow`` the one stored on the settlement
    day.  Heat meters also fill ``heat_power``, ``flow_rate``, ``volume``,
    the temperatures in degrees Celsius and ``working_hours``.
    """
    meter_type: int
    address: str
    control: int
    data: bytes
    di: Optional[int] = None
    di_order: Optional[str] = None
    serial: Optional[int] = None
    flow: Optional[Decimal] = None
    flow_unit: str = ''
    settlement_flow: Optional[Decimal] = None
    settlement_flow_unit: str = ''
    heat_power: Optional[Decimal] = None
    heat_power_unit: str = ''
    flow_rate: Optional[Decimal] = None
    flow_rate_unit: str = ''
    volume: Optional[Decimal] = None
    volume_unit: str = ''
    supply_temperature: Optional[Decimal] = None
    return_temperature: Optional[Decimal] = None
    working_hours: Optional[Decimal] = None
    clock: Optional[dt.datetime] = None
    status: Optional[int] = None
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
    def error_code(self):
        "The status of an error reply, which tells why the meter failed."
        if self.is_error:
            return self.status

    @property
    def error_message(self):
        if self.is_error:
            return "meter error, status 0x%04X" % (self.status or 0)

    @property
    def valve_state(self):
        "'open', 'closed', 'abnormal' or None from status bits 0-1."
        if self.status is not None:
            return VALVE_STATES[self.status & 0x03]

    @property
    def battery_low(self):
        "True when status bit 2 reports a low battery."
        if self.status is not None:
            return bool(self.status & BATTERY_LOW)

    @property
    def value(self):
        "Alias of flow, the value a reading stores."
        return self.flow

    @property
    def unit(self):
        return self.flow_unit


def split_frame(data):
    """Check the envelope of a frame and return (type, address, control,
    data).

    The preamble is skipped.
    """
    data = strip_preamble(data)
    if len(data) < HEADER_SIZE + 2:
        raise FrameError("Frame is too short.", 'truncated')
    if data[0] != START:
        raise FrameError("Frame does not start with 68.", 'start')
    size = HEADER_SIZE + data[10] + 2
    if len(data) != size:
        raise FrameError(
            "Frame has %d bytes but its length byte announces %d."
            % (len(data), size), 'length')
    if data[-1] != END:
        raise FrameError("Frame does not end with 16.", 'end')
    if checksum(data[:-2]) != data[-2]:
        raise FrameError("Frame checksum is wrong.", 'checksum')
    return (data[1], address_from_wire(data[2:9]), data[9],
        bytes(data[HEADER_SIZE:-2]))


def decode_di(data):
    """Return (di, order) of the two DI bytes in either order.

    The order is '2004' (high byte first) when the first byte is a known
    DI high byte and the second is not, '2018' (low byte first) otherwise.
    """
    first, second = data[0], data[1]
    if first in DI_HIGH_BYTES and second not in DI_HIGH_BYTES:
        return (first << 8) | second, '2004'
    return (second << 8) | first, '2018'


def encode_di(di, di_order='2004'):
    """Return the two DI bytes in the order of the standard edition: high
    byte first for CJ/T 188-2004, low byte first for CJ/T 188-2018."""
    if not 0 <= di <= 0xFFFF:
        raise EncodeError("DI %X does not fit in 2 bytes." % di, 'di')
    if di_order not in DI_ORDERS:
        raise EncodeError("Unknown DI order %s." % di_order, 'di_order')
    return di.to_bytes(2, 'big' if di_order == '2004' else 'little')


def decode(data):
    "Return the Frame of data, raise FrameError when it is not valid."
    raw = bytes(data)
    meter_type, address, control, payload = split_frame(raw)
    frame = Frame(meter_type, address, control, payload, raw=raw)
    if frame.is_error:
        return _decode_error(frame, payload)
    if frame.function not in (READ, READ_ADDRESS, WRITE):
        return frame
    if len(payload) < 3:
        raise FrameError("Data is too short for its identifier.", 'format')
    di, order = decode_di(payload)
    frame = replace(frame, di=di, di_order=order, serial=payload[2])
    if frame.is_reply and frame.function == READ and di == METER_DATA:
        frame = _decode_meter_data(frame, payload[3:])
    return frame


def _decode_error(frame, payload):
    "Error replies hold SER and the status, some meters prefix the DI."
    if len(payload) >= 5:
        di, order = decode_di(payload)
        frame = replace(frame, di=di, di_order=order)
        payload = payload[2:]
    if len(payload) < 3:
        raise FrameError("Error reply is too short.", 'format')
    return replace(frame, serial=payload[0],
        status=int.from_bytes(payload[1:3], 'little'))


def _decode_meter_data(frame, data):
    layout = _layout(frame.meter_type)
    size = sum(s + (1 if u else 0) for _, s, _, u in layout)
    if len(data) < size + CLOCK_SIZE + STATUS_SIZE:
        raise FrameError("Meter data is too short.", 'format')
    values = {}
    index = 0
    for name, length, decimals, has_unit in layout:
        values[name] = bcd_to_decimal(data[index:index + length], decimals)
        index += length
        if has_unit:
            values[name + '_unit'] = UNITS.get(data[index], '')
            index += 1
    values['clock'] = decode_clock(data[index:index + CLOCK_SIZE])
    index += CLOCK_SIZE
    values['status'] = int.from_bytes(data[index:index + 2], 'little')
    return replace(frame, **values)


def decode_clock(data):
    "Return the datetime of the 7 clock bytes or None when it is invalid."
    try:
        second, minute, hour, day, month = (bcd_to_int([b]) for b in data[:5])
        year = bcd_to_int(data[5:7])
        return dt.datetime(year, month, day, hour, minute, second)
    except (FrameError, ValueError):
        return None


def encode_clock(clock):
    "Return the 7 clock bytes of a datetime, zeros for None."
    if clock is None:
        return bytes(CLOCK_SIZE)
    return b''.join(int_to_bcd(v, 1) for v in (
            clock.second, clock.minute, clock.hour, clock.day,
            clock.month)) + int_to_bcd(clock.year, 2)


def encode(meter_type, address, control, data=b'', preamble=False):
    "Return the frame of control and data; preamble adds two FE bytes."
    if len(data) > MAX_DATA:
        raise EncodeError("Data is longer than 255 bytes.", 'length')
    if not 0 <= meter_type <= 0xFF:
        raise EncodeError("Meter type %s is not a byte." % meter_type, 'type')
    frame = bytearray([START, meter_type])
    frame += address_to_wire(address, ADDRESS_SIZE)
    frame += bytes([control, len(data)])
    frame += data
    frame += bytes([checksum(frame), END])
    if preamble:
        frame[:0] = bytes([PREAMBLE] * PREAMBLE_SIZE)
    return bytes(frame)


def read_request(address, meter_type=0x10, di=METER_DATA, serial=0,
        di_order='2004', preamble=False):
    "Return the frame reading di from the meter of meter_type at address."
    data = encode_di(di, di_order) + bytes([serial & 0xFF])
    return encode(meter_type, address, READ, data, preamble=preamble)


def read_address_request(meter_type=WILDCARD_TYPE, serial=0,
        di_order='2004', preamble=False):
    "Return the frame asking the only meter of a bus for its address."
    data = encode_di(ADDRESS_DI, di_order) + bytes([serial & 0xFF])
    return encode(meter_type, WILDCARD, READ_ADDRESS, data,
        preamble=preamble)


def encode_address_reply(address, meter_type=0x10, serial=0,
        di_order='2004', preamble=False):
    "Return the reply to read_address_request."
    data = encode_di(ADDRESS_DI, di_order) + bytes([serial & 0xFF])
    return encode(meter_type, address, REPLY | READ_ADDRESS, data,
        preamble=preamble)


def encode_reply(address, meter_type=0x10, flow=0, settlement_flow=None,
        unit='m3', clock=None, status=0, serial=0, di_order='2004',
        preamble=False, **heat):
    """Return the reply of a meter to a 901F read.

    settlement_flow defaults to flow.  Heat meters take the keywords
    heat_power, flow_rate, volume, supply_temperature, return_temperature,
    working_hours and the units heat_power_unit ('kW'), flow_rate_unit
    ('m3/h') and volume_unit ('m3').
    """
    if settlement_flow is None:
        settlement_flow = flow
    values = dict(heat, flow=flow, settlement_flow=settlement_flow)
    units = {
        'flow_unit': unit, 'settlement_flow_unit': unit,
        'heat_power_unit': heat.get('heat_power_unit', 'kW'),
        'flow_rate_unit': heat.get('flow_rate_unit', 'm3/h'),
        'volume_unit': heat.get('volume_unit', 'm3'),
        }
    data = bytearray(encode_di(METER_DATA, di_order))
    data.append(serial & 0xFF)
    for name, length, decimals, has_unit in _layout(meter_type):
        data += decimal_to_bcd(values.get(name) or 0, length, decimals)
        if has_unit:
            data.append(unit_code(units[name + '_unit']))
    data += encode_clock(clock)
    data += (status & 0xFFFF).to_bytes(2, 'little')
    return encode(meter_type, address, REPLY | READ, bytes(data),
        preamble=preamble)


def encode_error(address, meter_type=0x10, status=0, serial=0,
        function=READ, preamble=False):
    "Return the error reply (control C1) with SER and the status."
    data = bytes([serial & 0xFF]) + (status & 0xFFFF).to_bytes(2, 'little')
    return encode(meter_type, address, REPLY | ERROR | function, data,
        preamble=preamble)
