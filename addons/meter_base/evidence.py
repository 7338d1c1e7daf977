"""Reading evidence: every self and field reading proves itself.

The photo of a reading is checked when it is submitted (a real JPEG or
PNG of a readable size, else nothing is stored) and its evidence is
examined through the task queue, so that the submitter gets the anomaly
result at once and the evidence result follows:

- capture time: the EXIF time against the time of the reading;
- capture place: the EXIF GPS position against the meter's, when both are
  known;
- the same photo re-used: its perceptual hash against the earlier photos
  of the meter, of its account and, recently, of every meter;
- OCR: the typed value looked for in the photo's counter window
  (ocr.verify_counter): 'match' only when the counter's integer wheels
  read the typed integer part.

A reading is confirmed automatically only when its anomaly and evidence
checks pass and its source may be confirmed automatically; otherwise it
waits in the review list with the failed checks as reasons.
"""
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from . import photo as photos
from .exceptions import PhotoValidationError
from .reading import SOURCES

CHECKS = [
    ('photo_time', "Capture Time"),
    ('photo_place', "Capture Place"),
    ('photo_reuse', "Photo Re-used"),
    ('ocr', "Counter OCR"),
    ]
OUTCOMES = [
    ('passed', "Passed"),
    ('failed', "Failed"),
    ('skipped', "Not Checked"),
    ]
# Photos of other meters taken into account when looking for a re-used one
REUSE_DAYS = 90
MAX_MEGAPIXELS = round(photos.MAX_PIXELS / 1e6)


def check_image(data):
    """Check an image kept as evidence, as a reading's photo is checked

    A work order's photo and a transfer's screenshot must be whole JPEG or
    PNG images within the photo size limit of the configuration and of at
    least the size of a reading's photo, so that staff can read them.
    Raise PhotoValidationError.
    """
    pool = Pool()
    Configuration = pool.get('meter.configuration')
    max_size = Configuration(1).photo_max_size
    try:
        photos.validate(data, max_size=max_size * 1024 * 1024)
    except photos.PhotoError as exception:
        raise PhotoValidationError(gettext(
                'meter_base.msg_image_%s' % exception.code,
                max_size=max_size, max_pixels=MAX_MEGAPIXELS,
                width=photos.MIN_WIDTH, height=photos.MIN_HEIGHT)
            ) from exception


class Configuration(metaclass=PoolMeta):
    __name__ = 'meter.configuration'
    photo_required_sources = fields.MultiSelection(
        SOURCES, "Photo Required For",
        help="Readings of these sources are refused without a photo.")
    auto_confirm_sources = fields.MultiSelection(
        SOURCES, "Confirm Automatically From",
        help="Readings of these sources are confirmed when every check "
        "passes; the others always wait for a reviewer.")
    photo_max_size = fields.Integer(
        "Photo Maximum Size (MB)", required=True,
        domain=[('photo_max_size', '>', 0)])
    photo_time_window = fields.Integer(
        "Capture Time Window (hours)", required=True,
        domain=[('photo_time_window', '>', 0)],
        help="The photo must be taken within this many hours of the "
        "reading.")
    photo_max_distance = fields.Integer(
        "Capture Distance (m)", required=True,
        domain=[('photo_max_distance', '>', 0)],
        help="The photo must be taken within this distance of the meter.")
    photo_hash_distance = fields.Integer(
        "Same Photo Distance", required=True,
        domain=[('photo_hash_distance', '>=', 0)],
        help="Photos whose perceptual hashes differ by at most this many "
        "bits are taken as the same photo.")
    ocr = fields.Boolean("Read the Counter (OCR)")

    @classmethod
    def default_photo_required_sources(cls):
        return ['self']

    @classmethod
    def default_auto_confirm_sources(cls):
        return [s for s, _ in SOURCES]

    @classmethod
    def default_photo_max_size(cls):
        return 10

    @classmethod
    def default_photo_time_window(cls):
        return 24

    @classmethod
    def default_photo_max_distance(cls):
        return 200

    @classmethod
    def default_photo_hash_distance(cls):
        return 6

    @classmethod
    def default_ocr(cls):
        return True


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'
    ocr_left = fields.Float("Counter Left", digits=(1, 3),
        domain=['OR', ('ocr_left', '=', None),
            [('ocr_left', '>=', 0), ('ocr_left', '<', 1)]],
        help="Where the counter is on this meter's photos, as fractions "
        "of the photo: set once by staff from a first photo.")
    ocr_top = fields.Float("Counter Top", digits=(1, 3),
        domain=['OR', ('ocr_top', '=', None),
            [('ocr_top', '>=', 0), ('ocr_top', '<', 1)]])
    ocr_right = fields.Float("Counter Right", digits=(1, 3),
        domain=['OR', ('ocr_right', '=', None),
            [('ocr_right', '>', 0), ('ocr_right', '<=', 1)]])
    ocr_bottom = fields.Float("Counter Bottom", digits=(1, 3),
        domain=['OR', ('ocr_bottom', '=', None),
            [('ocr_bottom', '>', 0), ('ocr_bottom', '<=', 1)]])

    @property
    def ocr_region(self):
        region = (self.ocr_left, self.ocr_top, self.ocr_right,
            self.ocr_bottom)
        if any(v is None for v in region):
            return None
        return region


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'
    photo_thumbnail = fields.Binary(
        "Thumbnail", file_id='photo_thumbnail_id',
        store_prefix='meter_reading_thumbnail', readonly=True)
    photo_thumbnail_id = fields.Char("Thumbnail ID", readonly=True)
    photo_hash = fields.Char("Photo Hash", readonly=True)
    photo_taken_at = fields.DateTime("Photo Taken At", readonly=True)
    photo_latitude = fields.Numeric(
        "Photo Latitude", digits=(9, 6), readonly=True)
    photo_longitude = fields.Numeric(
        "Photo Longitude", digits=(9, 6), readonly=True)
    reader_latitude = fields.Numeric(
        "Reader Latitude", digits=(9, 6), readonly=True,
        help="Where the phone of the member of staff who read the meter was "
        "when the reading was sent.")
    reader_longitude = fields.Numeric(
        "Reader Longitude", digits=(9, 6), readonly=True)
    reader_accuracy = fields.Integer(
        "Reader Position Accuracy", readonly=True,
        help="In metres, as the phone gave it.")
    evidence = fields.Selection([
            ('none', "No Photo"),
            ('pending', "Pending"),
            ('passed', "Passed"),
            ('failed', "Failed"),
            ], "Evidence", readonly=True, sort=False)
    ocr_digits = fields.Char("OCR Digits", readonly=True)
    ocr_confidence = fields.Float(
        "OCR Confidence", digits=(1, 2), readonly=True)
    ocr_result = fields.Selection([
            (None, ""),
            ('match', "Match"),
            ('mismatch', "Mismatch"),
            ('unreadable', "Unreadable"),
            ], "OCR Result", readonly=True)
    checks = fields.One2Many(
        'meter.reading.check', 'reading', "Checks", readonly=True)

    @classmethod
    def default_evidence(cls):
        return 'none'

    @classmethod
    def copy(cls, readings, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('checks', None)
        default.setdefault('evidence', 'none')
        return super().copy(readings, default=default)

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        vlist = [v.copy() for v in vlist]
        for values in vlist:
            data = values.get('photo')
            source = values.get('source', cls.default_source())
            if data:
                values.update(cls._photo_values(data, config))
            elif source in (config.photo_required_sources or []):
                raise PhotoValidationError(gettext(
                        'meter_base.msg_photo_required'))
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        args = list(args)
        pending = []
        for i in range(0, len(args), 2):
            values = args[i + 1]
            if values.get('photo'):
                args[i + 1] = values = values.copy()
                values.update(cls._photo_values(values['photo'], config))
                pending.extend(args[i])
        super().write(*args)
        if pending:
            cls.__queue__.check_evidence(pending)

    @classmethod
    def _photo_values(cls, data, config):
        "Check the photo and return what is kept of it besides the file"
        try:
            photos.validate(data,
                max_size=config.photo_max_size * 1024 * 1024)
        except photos.PhotoError as exception:
            raise PhotoValidationError(gettext(
                    'meter_base.msg_photo_%s' % exception.code,
                    max_size=config.photo_max_size,
                    max_pixels=MAX_MEGAPIXELS)) from exception
        gps = photos.exif_gps(data)
        return {
            'photo_thumbnail': photos.thumbnail(data),
            'photo_hash': photos.phash(data),
            'photo_taken_at': photos.exif_time(data),
            'photo_latitude': (
                Decimal(str(round(gps[0], 6))) if gps else None),
            'photo_longitude': (
                Decimal(str(round(gps[1], 6))) if gps else None),
            'evidence': 'pending',
            }

    @classmethod
    def check_readings(cls, readings):
        super().check_readings(readings)
        pending = [r for r in readings if r.evidence == 'pending']
        if pending:
            cls.__queue__.check_evidence(pending)

    def auto_confirmable(self):
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        return (super().auto_confirmable()
            and self.source in (config.auto_confirm_sources or [])
            and self.evidence in {'none', 'passed', None})

    @classmethod
    def check_evidence(cls, readings):
        """Examine the photos of the readings and record each check.

        Run through the task queue: OCR takes about a second a photo.
        """
        pool = Pool()
        Check = pool.get('meter.reading.check')
        Configuration = pool.get('meter.configuration')
        config = Configuration(1)
        readings = [r for r in cls.browse(readings)
            if r.photo and r.state == 'draft']
        if not readings:
            return
        Check.delete(Check.search([('reading', 'in', readings)]))
        checks = []
        for reading in readings:
            results = reading.examine_photo(config)
            checks.extend(results)
            failed = any(c['outcome'] == 'failed' for c in results)
            reading.evidence = 'failed' if failed else 'passed'
        Check.create(checks)
        cls.save(readings)
        to_confirm = [r for r in readings
            if r.evidence == 'passed' and not r.anomalies
            and config.auto_confirm and r.auto_confirmable()]
        with without_check_access():
            cls.confirm(to_confirm)

    def examine_photo(self, config):
        "Return the values of the checks of the reading's photo"
        return [dict(c, reading=self.id) for c in [
                self._check_time(config),
                self._check_place(config),
                self._check_reuse(config),
                self._check_ocr(config),
                ]]

    def _check_time(self, config):
        if not self.photo_taken_at:
            return {'check': 'photo_time', 'outcome': 'skipped',
                'detail': gettext('meter_base.msg_check_no_exif_time')}
        delta = abs(self.photo_taken_at - self.taken_at)
        hours = round(delta.total_seconds() / 3600, 1)
        passed = delta <= dt.timedelta(hours=config.photo_time_window)
        return {'check': 'photo_time',
            'outcome': 'passed' if passed else 'failed',
            'detail': gettext('meter_base.msg_check_time',
                taken=self.photo_taken_at.strftime('%Y-%m-%d %H:%M'),
                hours=hours)}

    def _check_place(self, config):
        """The photo's EXIF position against the meter's; without one (phone
        browsers often strip it), the position the reader's phone gave
        when it was sent, if it is precise enough to tell"""
        meter = self.meter
        if meter.latitude is None or meter.longitude is None:
            position = None
        elif self.photo_latitude is not None:
            position = (self.photo_latitude, self.photo_longitude)
            message = 'meter_base.msg_check_place'
        elif (self.reader_latitude is not None
                and (self.reader_accuracy or 0) <= config.photo_max_distance):
            position = (self.reader_latitude, self.reader_longitude)
            message = 'meter_base.msg_check_place_reader'
        else:
            position = None
        if position is None:
            return {'check': 'photo_place', 'outcome': 'skipped',
                'detail': gettext('meter_base.msg_check_no_gps')}
        distance = photos.distance_m(
            float(position[0]), float(position[1]),
            float(meter.latitude), float(meter.longitude))
        passed = distance <= config.photo_max_distance
        return {'check': 'photo_place',
            'outcome': 'passed' if passed else 'failed',
            'detail': gettext(message, distance=int(round(distance)),
                accuracy=self.reader_accuracy)}

    def _check_reuse(self, config):
        since = dt.datetime.now() - dt.timedelta(days=REUSE_DAYS)
        domain = [
            ('id', '!=', self.id),
            ('photo_hash', '!=', None),
            ['OR',
                ('meter', '=', self.meter.id),
                ('meter.account', '=', (
                        self.meter.account.id if self.meter.account
                        else -1)),
                ('create_date', '>=', since),
                ],
            ]
        for other in self.search(domain, order=[('id', 'DESC')]):
            distance = photos.hash_distance(self.photo_hash, other.photo_hash)
            if distance <= config.photo_hash_distance:
                return {'check': 'photo_reuse', 'outcome': 'failed',
                    'detail': gettext('meter_base.msg_check_reused',
                        reading=other.rec_name)}
        return {'check': 'photo_reuse', 'outcome': 'passed',
            'detail': gettext('meter_base.msg_check_not_reused')}

    def _check_ocr(self, config):
        from . import ocr
        if not config.ocr:
            return {'check': 'ocr', 'outcome': 'skipped',
                'detail': gettext('meter_base.msg_check_ocr_disabled')}
        try:
            verdict = ocr.verify_counter(self.photo, self.value,
                digits=self.meter.digits, decimals=self.meter.decimals,
                region=self.meter.ocr_region)
        except (photos.PhotoError, ValueError):
            verdict = ocr.Verdict('unreadable', 0., None)
        self.ocr_digits = verdict.digits
        self.ocr_confidence = round(verdict.confidence, 2)
        self.ocr_result = verdict.result
        outcome = {'match': 'passed'}.get(self.ocr_result, 'failed')
        return {'check': 'ocr', 'outcome': outcome,
            'detail': gettext('meter_base.msg_check_ocr_%s' % self.ocr_result,
                digits=verdict.digits or '', value=self.value)}


class ReadingCheck(ModelSQL, ModelView):
    "One check of a reading's evidence, with its outcome"
    __name__ = 'meter.reading.check'
    reading = fields.Many2One(
        'meter.reading', "Reading", required=True, ondelete='CASCADE')
    check = fields.Selection(CHECKS, "Check", required=True, readonly=True)
    outcome = fields.Selection(
        OUTCOMES, "Outcome", required=True, readonly=True)
    detail = fields.Char("Detail", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('reading', 'ASC'))
        cls._order.insert(1, ('check', 'ASC'))
