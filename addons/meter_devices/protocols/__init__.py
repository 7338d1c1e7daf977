# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Plain-Python codecs of the meter reading protocols.

Both DL/T 645 (electricity meters) and CJ/T 188 (water, heat and gas meters)
frame their payload between a ``0x68`` start byte and a ``0x16`` end byte,
protect it with an 8-bit additive checksum and carry addresses and values as
packed BCD, least significant byte first.  The helpers shared by both codecs
live here; nothing in this package imports trytond so the collector core and
the meter simulator can run without a database.
"""
from decimal import Decimal

__all__ = ['FrameError', 'EncodeError', 'checksum', 'bcd_to_int',
    'int_to_bcd', 'address_from_wire', 'address_to_wire', 'bcd_to_decimal',
    'decimal_to_bcd', 'strip_preamble']

START = 0x68
END = 0x16
PREAMBLE = 0xFE


class FrameError(ValueError):
    """A received frame cannot be decoded.

    ``code`` is a short stable identifier (``truncated``, ``start``,
    ``end``, ``length``, ``checksum``, ``bcd``, ``format``) that callers map
    to translated messages; the exception text is plain English.
    """

    def __init__(self, message, code='format'):
        super().__init__(message)
        self.code = code


class EncodeError(ValueError):
    "A value or an address cannot be encoded in the requested format."

    def __init__(self, message, code='encode'):
        super().__init__(message)
        self.code = code


def checksum(data):
    "Return the modulo-256 sum of data, the CS byte of both protocols."
    return sum(data) & 0xFF


def strip_preamble(data):
    """Return data without its leading ``FE`` wake-up bytes.

    Masters send two to four ``FE`` bytes before a frame to wake the receiver
    of battery meters and to let RS-485 transceivers settle; meters often
    echo the habit in their answers.
    """
    data = bytes(data)
    index = 0
    while index < len(data) and data[index] == PREAMBLE:
        index += 1
    return data[index:]


def bcd_to_int(data):
    """Return the integer of packed BCD bytes sent low byte first.

    Raise FrameError when a nibble is not a decimal digit.
    """
    digits = bytes(reversed(bytes(data))).hex()
    if not digits.isdigit():
        raise FrameError("Invalid BCD digits %s." % digits.upper(), 'bcd')
    return int(digits or '0')


def int_to_bcd(value, size):
    "Return value as size packed BCD bytes, low byte first."
    if value < 0 or value >= 10 ** (2 * size):
        raise EncodeError(
            "Value %s does not fit in %d BCD bytes." % (value, size),
            'range')
    return bytes(reversed(bytes.fromhex('%0*d' % (2 * size, value))))


def bcd_to_decimal(data, decimals, signed=False):
    """Return the Decimal of a BCD field with decimals fraction digits.

    When signed, the most significant bit of the most significant byte
    (the last one on the wire) is the sign, as DL/T 645-2007 does for
    currents and powers.
    """
    data = bytearray(data)
    negative = False
    if signed and data and data[-1] & 0x80:
        negative = True
        data[-1] &= 0x7F
    value = Decimal(bcd_to_int(data)).scaleb(-decimals)
    return -value if negative else value


def decimal_to_bcd(value, size, decimals, signed=False):
    "Return value as a size bytes BCD field, the inverse of bcd_to_decimal."
    value = Decimal(value)
    if not value.is_finite():
        raise EncodeError("Value %s is not finite." % value, 'range')
    units = value.scaleb(decimals).to_integral_value()
    if units != value.scaleb(decimals):
        raise EncodeError(
            "Value %s has more than %d decimals." % (value, decimals),
            'range')
    negative = units < 0
    if negative and not signed:
        raise EncodeError("Value %s must not be negative." % value, 'range')
    units = int(abs(units))
    # The sign bit leaves 0 to 7 for the most significant digit.
    limit = 10 ** (2 * size - 1) * (8 if signed else 10)
    if units >= limit:
        raise EncodeError(
            "Value %s does not fit in %d BCD bytes." % (value, size),
            'range')
    data = bytearray(int_to_bcd(units, size))
    if negative:
        data[-1] |= 0x80
    return bytes(data)


def address_from_wire(data):
    """Return the printed address of wire bytes sent low byte first.

    The result is upper case hexadecimal so that the ``AA`` wildcard bytes
    (and non BCD addresses met in the field) survive unchanged.
    """
    return bytes(reversed(bytes(data))).hex().upper()


def address_to_wire(address, size):
    """Return the size wire bytes of a printed address.

    Shorter numeric addresses are left padded with zeros, as printed on the
    nameplate of many meters.
    """
    address = str(address).strip().upper()
    if len(address) > 2 * size:
        raise EncodeError(
            "Address %s has more than %d digits." % (address, 2 * size),
            'address')
    address = address.rjust(2 * size, '0')
    try:
        data = bytes.fromhex(address)
    except ValueError:
        raise EncodeError(
            "Address %s is not made of digits." % address, 'address')
    return bytes(reversed(data))
