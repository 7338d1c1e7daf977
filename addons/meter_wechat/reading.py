import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.meter_base import numerals
from trytond.pool import PoolMeta

from .exceptions import SubmissionError
from .submission import check_photo, fetch_photo

# Readings of a register beyond 12 digits are typing errors
MAX_READING = 10 ** 12
# A position is kept to the micro-degree (about 0.1 m), as the meters' are
POSITION = Decimal('0.000001')


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
    def parse_position(cls, latitude, longitude, accuracy):
        """Return (latitude, longitude, accuracy) of the position a phone
        sent with a form as text, or None when it sent none (the phone may
        refuse to tell)."""
        texts = [(t or '').strip() for t in (latitude, longitude, accuracy)]
        if not any(texts[:2]):
            return None
        try:
            # As JavaScript writes numbers: 1e-7 near the equator
            latitude, longitude = (
                numerals.parse_decimal(t, exponent=True) for t in texts[:2])
            accuracy = (numerals.parse_decimal(texts[2], exponent=True)
                if texts[2] else None)
        except ValueError:
            raise SubmissionError(gettext('meter_wechat.msg_position_invalid'))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180
                and (accuracy is None or 0 <= accuracy < 10 ** 6)):
            raise SubmissionError(gettext('meter_wechat.msg_position_invalid'))
        return (latitude.quantize(POSITION), longitude.quantize(POSITION),
            int(accuracy.to_integral_value()) if accuracy is not None
            else None)

    @classmethod
    def submit(cls, meter, text, photo, submitter, source='self',
            reader=None, position=None):
        """Create the reading of meter typed as text with its photo, taken
        now, and return it; it is then checked as every reading.  reader
        is the Tryton user who read the meter (a member of staff on their
        pages), None for a resident; position the (latitude, longitude,
        accuracy) of the reader's phone (parse_position).

        photo is the bytes of the photo or a callable returning them,
        called after the value is checked (see submission.py).  Raise
        SubmissionError when refused before anything is written."""
        value = cls.parse_submitted_value(text)
        photo = fetch_photo(photo)
        check_photo(photo)
        latitude, longitude, accuracy = position or (None, None, None)
        reading, = cls.create([{
                    'meter': meter.id,
                    'value': value,
                    'taken_at': dt.datetime.now().replace(microsecond=0),
                    'source': source,
                    'reader': reader.id if reader else None,
                    'submitter': submitter,
                    'photo': photo,
                    'reader_latitude': latitude,
                    'reader_longitude': longitude,
                    'reader_accuracy': accuracy,
                    }])
        return reading
