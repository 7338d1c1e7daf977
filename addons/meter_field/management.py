"""On-site meter management (表计管理): what field staff type on their
phone, read strictly and handed to the rules of meter_base.

- verify a meter against its record (number, barcode, communication
  address, seal): found as recorded, the verification is kept on the
  meter; found otherwise, the office gets a work order;
- set its position from the phone's GPS;
- record a new installation, in draft until the office confirms it;
- replace it, with the old meter's final reading and the new one's
  initial reading and a photo of each (the rules of the sao wizard).

Each method raises SubmissionError for what it refuses before anything
is written, so that the page comes back with what was typed.
"""
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.meter_base import numerals
from trytond.modules.meter_wechat.exceptions import SubmissionError
from trytond.modules.meter_wechat.submission import check_photo, fetch_photo
from trytond.pool import Pool, PoolMeta

from .meter import MAX_CODE

# What staff verify on site, in the order the page shows them
VERIFIED_FIELDS = ('number', 'barcode', 'comm_address', 'seal')
MAX_TEXT = 1000
MAX_VALUE = 10 ** 12


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'

    @classmethod
    def field_label(cls, name):
        "Return the label of the field in the language of the context"
        return cls.fields_get([name])[name]['string']

    @classmethod
    def _text(cls, values, name, required=False, size=MAX_CODE):
        value = (values.get(name) or '').strip()
        if required and not value:
            raise SubmissionError(gettext('meter_field.msg_value_required',
                    field=cls.field_label(name)))
        if len(value) > size:
            raise SubmissionError(gettext('meter_field.msg_value_invalid',
                    field=cls.field_label(name), value=value[:20] + '…'))
        return value or None

    @classmethod
    def _number(cls, values, name, integer=False, default=None,
            label=None):
        "Return the number typed in values[name], or default when empty"
        text = (values.get(name) or '').strip()
        if not text and default is not None:
            return default
        try:
            if integer:
                value = numerals.parse_integer(text, max_digits=2)
            else:
                value = numerals.parse_decimal(text)
        except ValueError:
            value = None
        if value is None or value < 0 or value >= MAX_VALUE:
            raise SubmissionError(gettext('meter_field.msg_value_invalid',
                    field=label or cls.field_label(name), value=text))
        return value

    @classmethod
    def verify_on_site(cls, meter, found, note=None, photo=None):
        """Verify meter against what staff found on site and return the
        work order of the mismatches, or None when all match.

        found maps each of VERIFIED_FIELDS to None when staff confirmed
        the recorded value, else to the text they typed; a field neither
        confirmed nor typed is refused.  photo (bytes or a callable) is
        joined to the work order."""
        check_in_service(meter)
        unanswered = [name for name in VERIFIED_FIELDS
            if name not in found or (
                found[name] is not None and not found[name].strip())]
        if unanswered:
            raise SubmissionError(gettext('meter_field.msg_verify_unanswered',
                    fields=gettext('meter_field.msg_list_separator').join(
                        cls.field_label(n) for n in unanswered)))
        mismatches = {}
        for name in VERIFIED_FIELDS:
            if found[name] is None:
                continue
            value = cls._text(found, name)
            if value != (getattr(meter, name) or None):
                mismatches[name] = value
        note = (note or '').strip()[:MAX_TEXT] or None
        photo = fetch_photo(photo)
        if photo:
            check_photo(photo)
        if not mismatches:
            cls.mark_verified([meter])
            return None
        return Pool().get('meter.work_order').report_meter_mismatch(
            meter, mismatches, note=note, photo=photo)

    @classmethod
    def locate_on_site(cls, meter, latitude, longitude, accuracy):
        "Set the position of meter from the phone's GPS, sent as text"
        check_in_service(meter)
        try:
            position = [float(numerals.parse_decimal(v.strip()))
                for v in (latitude or '', longitude or '')]
            accuracy = (float(numerals.parse_decimal(accuracy.strip()))
                if (accuracy or '').strip() else None)
        except ValueError:
            raise SubmissionError(
                gettext('meter_field.msg_position_missing'))
        cls.locate([meter], *position, accuracy)

    @classmethod
    def install_on_site(cls, values, photo, campuses):
        """Record the meter installed on site that values describe (the
        form's text) with the photo of its register, in draft until the
        office confirms it; campuses are those the staff may choose."""
        pool = Pool()
        Location = pool.get('meter.location')
        kinds = dict(cls.fields_get(['kind'])['kind']['selection'])
        kind = values.get('kind') or ''
        if kind not in kinds:
            raise SubmissionError(gettext('meter_field.msg_value_required',
                    field=cls.field_label('kind')))
        campus = {str(c.id): c for c in campuses}.get(
            values.get('campus') or '')
        if campus is None:
            raise SubmissionError(gettext('meter_field.msg_value_required',
                    field=cls.field_label('campus')))
        location = None
        if values.get('location'):
            try:
                location_id = numerals.parse_integer(
                    values['location'], max_digits=18)
            except ValueError:
                location_id = -1
            locations = Location.search([
                    ('campus', '=', campus.id),
                    ('id', '=', location_id),
                    ], limit=1)
            if not locations:
                raise SubmissionError(gettext(
                        'meter_field.msg_value_invalid',
                        field=cls.field_label('location'),
                        value=values['location']))
            location, = locations
        number = cls._text(values, 'number', required=True)
        digits = cls._number(values, 'digits', integer=True,
            default=cls.default_digits())
        multiplier = cls._number(values, 'multiplier',
            default=cls.default_multiplier())
        initial_value = cls._number(values, 'initial_value')
        if not 1 <= digits <= 12 or multiplier <= 0:
            name = 'digits' if not 1 <= digits <= 12 else 'multiplier'
            raise SubmissionError(gettext('meter_field.msg_value_invalid',
                    field=cls.field_label(name), value=values.get(name)))
        photo = fetch_photo(photo)
        check_photo(photo)
        return cls.install({
                'number': number,
                'kind': kind,
                'campus': campus.id,
                'location': location.id if location else None,
                'place': cls._text(values, 'place', size=MAX_TEXT),
                'barcode': cls._text(values, 'barcode'),
                'comm_address': cls._text(values, 'comm_address'),
                'seal': cls._text(values, 'seal'),
                'digits': digits,
                'multiplier': multiplier.quantize(Decimal('0.0001')),
                'initial_value': initial_value.quantize(Decimal('0.001')),
                }, photo)

    @classmethod
    def replace_on_site(cls, meter, values, photo, new_photo):
        """Replace meter by the new one values describe (the form's text),
        now, with the photo of the old register at its final value and of
        the new one at its initial value; return the meter change."""
        pool = Pool()
        Change = pool.get('meter.change')
        final_value = cls._number(values, 'final_value',
            label=Change.fields_get(['final_value'])['final_value']['string'])
        new_values = {
            'number': cls._text(values, 'number', required=True),
            'barcode': cls._text(values, 'barcode'),
            'comm_address': cls._text(values, 'comm_address'),
            'seal': cls._text(values, 'seal'),
            'digits': cls._number(values, 'digits', integer=True,
                default=meter.digits),
            'multiplier': cls._number(values, 'multiplier',
                default=meter.multiplier).quantize(Decimal('0.0001')),
            }
        if not 1 <= new_values['digits'] <= 12:
            raise SubmissionError(gettext('meter_field.msg_value_invalid',
                    field=cls.field_label('digits'),
                    value=values.get('digits')))
        if new_values['multiplier'] <= 0:
            raise SubmissionError(gettext('meter_field.msg_value_invalid',
                    field=cls.field_label('multiplier'),
                    value=values.get('multiplier')))
        initial_value = cls._number(values, 'initial_value')
        reason = (values.get('reason') or '').strip()[:MAX_TEXT] or None
        photos = []
        for data, message in [(photo, 'msg_replace_old_photo'),
                (new_photo, 'msg_replace_new_photo')]:
            data = fetch_photo(data)
            if not data:
                raise SubmissionError(gettext('meter_field.' + message))
            check_photo(data)
            photos.append(data)
        change, = cls.replace([meter],
            dt.datetime.now().replace(microsecond=0),
            final_value.quantize(Decimal('0.001')), new_values,
            initial_value.quantize(Decimal('0.001')), reason=reason,
            photo=photos[0], new_photo=photos[1])
        return change


def check_in_service(meter):
    "Refuse the on-site work on a removed meter"
    if meter.state == 'removed':
        raise SubmissionError(
            gettext('meter_field.msg_meter_removed_onsite'))
