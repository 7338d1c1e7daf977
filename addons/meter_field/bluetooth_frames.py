"""The frames of a reading over Bluetooth (蓝牙抄表), in plain Python.

The phone is only a pipe: it writes the request frame that the server
built to the meter's Bluetooth serial bridge and sends back the bytes the
bridge notified, untouched.  Both frames are made and checked here with
the codecs of ``meter_devices.protocols`` (CJ/T 188 for water meters,
DL/T 645 for electricity meters behind an optical head), so there is no
second codec in the page's JavaScript::

    frame = request_frame('cjt188_2004', '00000000001234', 'water')
    reply = read_reply('cjt188_2004', '00000000001234', 'water', data)
    reply.value, reply.unit, reply.raw

A checksum proves that the bytes were not garbled, not where they come
from: the reading is checked and reviewed as any other.  Nothing of the
ORM here.
"""
from decimal import Decimal
from typing import NamedTuple

from trytond.modules.meter_devices.protocols import (
    START, EncodeError, FrameError, cjt188, dlt645)

__all__ = ['ReplyError', 'Reply', 'PROTOCOLS', 'request_frame',
    'read_reply', 'parse_hex', 'MAX_REPLY']

# The requests, as the collectors ask (meter_devices.bus.polling)
PROTOCOLS = {
    'cjt188_2004': ('cjt188', '2004', cjt188.METER_DATA),
    'cjt188_2018': ('cjt188', '2018', cjt188.METER_DATA),
    'dlt645_2007': ('dlt645', '2007', 0x00010000),
    'dlt645_1997': ('dlt645', '1997', 0x9010),
    }
# The CJ/T 188 meter type asked of each kind of meter
METER_TYPES = {
    'water': 0x10,
    'hot_water': 0x11,
    }
# What a phone may send back: a few frames at most
MAX_REPLY = 1024
# Error codes of the codecs that say the bytes are not a frame at all
_GARBAGE = {'truncated', 'start', 'end', 'length', 'bcd', 'format'}


class ReplyError(ValueError):
    """The reply of a meter can not give a reading.

    ``code`` is one of ``protocol`` (the meter has no protocol read over
    Bluetooth), ``address`` (its address can not be sent), ``empty`` (no
    byte: the meter did not answer), ``garbage`` (no whole frame in the
    bytes: noise, or a frame cut short), ``checksum`` (a whole frame whose
    checksum is wrong), ``other_meter`` (a frame from another
    address), ``meter_error`` (the meter answered with an error), ``di``
    (an answer to another question) and ``no_value``; the details are in
    English for the log.
    """

    def __init__(self, code, message='', **details):
        super().__init__(message or code)
        self.code = code
        self.details = details


class Reply(NamedTuple):
    "A reading decoded from a meter's reply"
    value: Decimal
    unit: str
    address: str
    raw: bytes
    frame: object


def _codec(protocol):
    try:
        family, edition, di = PROTOCOLS[protocol]
    except KeyError:
        raise ReplyError('protocol', "Protocol %r is not read over "
            "Bluetooth." % protocol)
    return (cjt188 if family == 'cjt188' else dlt645), edition, di


def wire_address(protocol, address):
    """Return the printed address as the meter answers it: the digits
    padded with zeros to the protocol's address size"""
    module, _, _ = _codec(protocol)
    address = (address or '').strip().upper()
    if not address:
        raise ReplyError('address', "The meter has no address.")
    try:
        module.address_to_wire(address, module.ADDRESS_SIZE)
    except EncodeError as error:
        raise ReplyError('address', str(error))
    return address.rjust(2 * module.ADDRESS_SIZE, '0')


def request_frame(protocol, address, kind='water'):
    """Return the bytes reading the meter's register at address, with the
    FE wake-up preamble battery meters need"""
    module, edition, di = _codec(protocol)
    address = wire_address(protocol, address)
    if module is cjt188:
        return cjt188.read_request(address, METER_TYPES.get(kind, 0x10), di,
            di_order=edition, preamble=True)
    return dlt645.read_request(address, di, edition, preamble=True)


def parse_hex(text):
    """Return the bytes of a hexadecimal text (spaces allowed), raise
    ReplyError 'garbage' when it is not one"""
    text = ''.join((text or '').split())
    if len(text) > 2 * MAX_REPLY:
        raise ReplyError('garbage', "The reply is longer than %d bytes."
            % MAX_REPLY)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ReplyError('garbage', "The reply is not hexadecimal.")


def _frames(module, data):
    """Yield (frame, raw) of each frame of data, in order, and raise the
    first FrameError met when none could be read.  Noise and the FE
    preamble before a 68 are skipped, as the collectors do; a serial
    bridge may also echo the request."""
    header = module.HEADER_SIZE
    error = None
    index = data.find(START)
    while index >= 0:
        chunk = data[index:]
        if len(chunk) < header + 2:
            error = error or FrameError("Frame is too short.", 'truncated')
            break
        size = header + chunk[header - 1] + 2
        if module is dlt645 and chunk[7] != START:
            error = error or FrameError(
                "Frame does not start with 68.", 'start')
            index = data.find(START, index + 1)
            continue
        try:
            frame = module.decode(chunk[:size])
        except FrameError as exception:
            error = error or exception
            index = data.find(START, index + 1)
            continue
        yield frame, chunk[:size]
        index = data.find(START, index + size)
    if error:
        raise error


def read_reply(protocol, address, kind, data):
    """Return the Reply of the meter at address found in data, the bytes
    the phone received, or raise ReplyError.

    The first reply frame counts; frames sent to a meter (an echo of the
    request) are skipped.  The reply must come from the meter's own
    address: the phone may have reached another meter."""
    module, edition, di = _codec(protocol)
    expected = wire_address(protocol, address)
    data = bytes(data)
    if not data:
        raise ReplyError('empty', "No byte received.")
    if START not in data:
        raise ReplyError('garbage', "No frame in the reply.")
    try:
        for frame, raw in _frames(module, data):
            if frame.is_reply:
                break
        else:
            raise ReplyError('empty', "Only the request came back.")
    except FrameError as error:
        code = error.code
        if code in _GARBAGE:
            code = 'garbage'
        raise ReplyError(code, str(error))
    if frame.address.upper() != expected:
        raise ReplyError('other_meter', "Reply from %s, not %s."
            % (frame.address, expected), address=frame.address,
            expected=expected)
    if frame.is_error:
        raise ReplyError('meter_error', frame.error_message or '',
            error=frame.error_code)
    if frame.di != di:
        raise ReplyError('di', "Reply to DI %X, not %X."
            % (frame.di or 0, di))
    if frame.value is None:
        raise ReplyError('no_value', "The reply holds no value.")
    return Reply(frame.value, frame.unit, frame.address, raw, frame)
