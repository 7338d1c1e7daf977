# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta

# The unit of the readings of each kind of meter.
READING_UNITS = {
    'electricity': 'kWh',
    'water': 'm3',
    'hot_water': 'm3',
    }


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'
    collector = fields.Many2One(
        'meter.collector', "Collector", ondelete='SET NULL',
        help="The collector reading the meter on its bus; the meter needs "
        "a protocol and a communication address.")

    @property
    def reading_unit(self):
        "The unit of the readings of the meter: kWh or m3"
        return READING_UNITS.get(self.kind, 'kWh')
