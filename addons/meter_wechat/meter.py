import datetime as dt
from decimal import Decimal

from trytond.modules.meter_base.configuration import to_local, to_utc
from trytond.pool import Pool, PoolMeta


def last_months(today, count=12):
    "Return the count months up to today's as (year, month), oldest first"
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.insert(0, (year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'

    def monthly_usage(self, today=None):
        """Return the 12 months up to today's as (YYYY-MM, consumption):
        the confirmed consumption by the month the reading was taken.

        Months are the centre's: a reading taken on the 1st at 06:00
        Beijing time (22:00 UTC the day before) counts in the month it
        was taken."""
        pool = Pool()
        Reading = pool.get('meter.reading')
        Configuration = pool.get('meter.configuration')
        zone = Configuration.tzinfo()
        today = today or dt.datetime.now(zone).date()
        months = last_months(today)
        start = to_utc(dt.datetime(*months[0], 1), zone)
        totals = {m: Decimal(0) for m in months}
        # The page of the residents' most asked question: read two
        # columns rather than whole readings
        for reading in Reading.search_read([
                    ('meter', '=', self.id),
                    ('state', '=', 'confirmed'),
                    ('taken_at', '>=', start),
                    ('consumption', '!=', None),
                    ], order=[], fields_names=['taken_at', 'consumption']):
            taken_at = to_local(reading['taken_at'], zone)
            key = (taken_at.year, taken_at.month)
            if key in totals:
                totals[key] += reading['consumption']
        return [('%04d-%02d' % m, totals[m]) for m in months]
