import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.meter_base import numerals
from trytond.pool import PoolMeta

from .exceptions import SubmissionError
from .submission import check_photo, fetch_photo

# Readings of a register beyond 12 digits are typing errors
MAX_READING = 10 ** 12


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'

    @classmethod
    def parse_submitted_value(cls, text):
        """Return the Decimal of a reading typed in a form.

        Only ASCII digits (numerals.parse_decimal): Decimal() would take
        the digits of every script, underscores, exponents, Infinity and
        NaN, none of which a resident means."""
        try:
            value = numerals.parse_decimal(text)
        except ValueError:
            value = None
        if value is None or value < 0 or value >= MAX_READING:
            raise SubmissionError(gettext('meter_wechat.msg_reading_value'))
        return value.quantize(Decimal('0.001'))

    @classmethod
    def submit_preview(cls, meter, text, source='self'):
        """Return what the reading typed would be flagged for, before it
        is submitted: the anomaly codes and the consumption it gives."""
        return cls.preview(meter, cls.parse_submitted_value(text), source)

    @classmethod
    def submit(cls, meter, text, photo, submitter, source='self',
            reader=None):
        """Create the reading of meter typed as text with its photo, taken
        now, and return it; it is then checked as every reading.  reader
        is the Tryton user who read the meter (a member of staff on their
        pages), None for a resident.

        photo is the bytes of the photo or a callable returning them,
        called after the value is checked (see submission.py).  Raise
        SubmissionError when refused before anything is written."""
        value = cls.parse_submitted_value(text)
        photo = fetch_photo(photo)
        check_photo(photo)
        reading, = cls.create([{
                    'meter': meter.id,
                    'value': value,
                    'taken_at': dt.datetime.now().replace(microsecond=0),
                    'source': source,
                    'reader': reader.id if reader else None,
                    'submitter': submitter,
                    'photo': photo,
                    }])
        return reading
