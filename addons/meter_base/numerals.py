# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Numbers written as text, read strictly.

Python reads more as numbers than people write: ``int()``, ``float()`` and
``Decimal()`` take the digits of every script (Arabic-Indic ``١٢٣``,
full-width ``１２``), underscores (``1_000``), surrounding blanks and, for
the last two, ``Infinity`` and ``NaN``.  A meter value, an identifier in
a URL or a cell of an imported file is a number only when it is written
with the ASCII digits 0-9::

    parse_integer('0012')       # 12
    parse_integer('１２')        # ValueError
    parse_decimal('-1.5E+3')    # Decimal('-1.5E+3')
    parse_decimal('1_000')      # ValueError

Plain Python: no trytond import.
"""
import re
from decimal import Decimal

__all__ = ['is_integer', 'parse_integer', 'is_decimal', 'parse_decimal',
    'has_other_digits']

_INTEGER = re.compile(r'[0-9]+\Z')
_DECIMAL = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z')
_SCIENTIFIC = re.compile(
    r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z')
# Integers longer than this are no identifier nor register value; int()
# refuses by default more than 4300 digits anyway.
MAX_INTEGER_DIGITS = 100


def is_integer(text, max_digits=MAX_INTEGER_DIGITS):
    "Tell if text is a non-negative integer written with ASCII digits only"
    return (isinstance(text, str) and len(text) <= max_digits
        and _INTEGER.match(text) is not None)


def parse_integer(text, max_digits=MAX_INTEGER_DIGITS):
    """Return the int of text made of ASCII digits only (no sign, no blank,
    no underscore), raise ValueError otherwise"""
    if not is_integer(text, max_digits):
        raise ValueError("Not an integer of ASCII digits: %r" % (text,))
    return int(text)


def is_decimal(text, exponent=False):
    """Tell if text is a decimal number written with ASCII digits, an
    optional sign and point and, with exponent, an E exponent"""
    if not isinstance(text, str):
        return False
    regex = _SCIENTIFIC if exponent else _DECIMAL
    return regex.match(text) is not None


def parse_decimal(text, exponent=False):
    """Return the finite Decimal of text written with ASCII digits, raise
    ValueError otherwise (Infinity, NaN, other digits, underscores and
    blanks included)"""
    if not is_decimal(text, exponent):
        raise ValueError("Not a decimal number of ASCII digits: %r" % (text,))
    return Decimal(text)


def has_other_digits(text):
    "Tell if text holds a digit other than the ASCII 0-9"
    return any(c.isdigit() and not '0' <= c <= '9' for c in text)
