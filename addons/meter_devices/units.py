# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Convert the values meters answer to the unit of their readings.

A CJ/T 188 water meter may count its flow in litres ('L') while the
readings of water meters are in cubic metres; heat and electricity meters
may answer in Wh or MWh while readings of electricity are in kWh::

    convert(Decimal('123456.78'), 'L', 'm3') == Decimal('123.456')

The result keeps at most DECIMALS decimals, dropping the others as a
register display does.  Plain Python: no trytond import.
"""
from decimal import ROUND_DOWN, Decimal

__all__ = ['UnitError', 'convert', 'FACTORS', 'DECIMALS']

DECIMALS = 3
# Each unit as a factor of the base unit of its quantity.
FACTORS = {
    'volume': {
        'm3': Decimal(1),
        'L': Decimal('0.001'),
        },
    'energy': {
        'Wh': Decimal('0.001'),
        'kWh': Decimal(1),
        'MWh': Decimal(1000),
        'MWh*100': Decimal(100000),
        },
    }


class UnitError(ValueError):
    "A value in a unit that cannot be converted to the one asked"

    def __init__(self, unit, target):
        super().__init__(
            "The unit %r cannot be converted to %r." % (unit, target))
        self.unit = unit
        self.target = target


def convert(value, unit, target):
    "Return value in unit as a Decimal in target or raise UnitError"
    for factors in FACTORS.values():
        if unit in factors and target in factors:
            break
    else:
        raise UnitError(unit, target)
    if unit != target:
        value = Decimal(value) * factors[unit] / factors[target]
    quantum = Decimal(1).scaleb(-DECIMALS)
    if value.as_tuple().exponent < -DECIMALS:
        value = value.quantize(quantum, rounding=ROUND_DOWN)
    return value
