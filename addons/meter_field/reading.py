"The readings as the field staff follow them"
from trytond.model import Index
from trytond.modules.meter_wechat.submission import check_photo, fetch_photo
from trytond.pool import Pool, PoolMeta

from . import dashboard_usage
from .sync import IdempotentMixin

# A change of these may change the confirmed use of the reading's meter
USAGE_FIELDS = {'value', 'taken_at', 'meter', 'state', 'consumption'}


class Reading(IdempotentMixin, metaclass=PoolMeta):
    __name__ = 'meter.reading'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The dashboard's twelve months of confirmed use read from the
        # index alone: a range of taken_at a month rather than the rows of
        # five years of readings
        cls._sql_indexes.add(
            Index(t,
                (t.taken_at, Index.Range()),
                include=[t.meter, t.consumption, t.id],
                where=t.state == 'confirmed'))

    @classmethod
    def submit_taken(cls, meter, text, photo, submitter, taken_at, key,
            source='field', reader=None, position=None):
        """Create the reading of meter typed as text with its photo, taken
        at taken_at (naive UTC, the phone's time) by the submission of
        idempotency key, and return it; it is then checked as every
        reading, the photo's EXIF time against taken_at.  The arguments
        are those of Reading.submit; raise SubmissionError when refused
        before anything is written.  sync.once() makes it idempotent."""
        value = cls.parse_submitted_value(text)
        photo = fetch_photo(photo)
        if not photo:
            # Refused as the residents' is; a photo is checked once, by
            # the evidence when stored (meter_base's validate: its header
            # first, then its stream decoded at an eighth of its scale),
            # not decoded whole here too: 12 MP photos arrive by hundreds
            check_photo(photo)
        latitude, longitude, accuracy = position or (None, None, None)
        reading, = cls.create([{
                    'meter': meter.id,
                    'value': value,
                    'taken_at': taken_at,
                    'source': source,
                    'reader': reader.id if reader else None,
                    'submitter': submitter,
                    'photo': photo,
                    'reader_latitude': latitude,
                    'reader_longitude': longitude,
                    'reader_accuracy': accuracy,
                    'idempotency_key': key,
                    }])
        return reading

    @classmethod
    def in_review_of(cls, user, limit=20):
        """Return the number of the readings user took that wait for a
        reviewer (draft: a check failed) and the last of them, within the
        caller's record rules"""
        domain = [
            ('reader', '=', user.id),
            ('state', '=', 'draft'),
            ]
        return (cls.search(domain, count=True),
            cls.search(domain, limit=limit))

    @classmethod
    def create(cls, vlist):
        # A reading of a meter of a round, whoever took it, reads its line
        with dashboard_usage.deferring():
            readings = super().create(vlist)
        Line = Pool().get('meter.field.round.line')
        Line.link_readings(readings)
        # The readings confirmed on creation (read again: the checks
        # confirmed them), and the later ones of their meters they changed
        cls._usage_changed([(r.meter.id, r.taken_at)
                for r in cls.browse([r.id for r in readings])
                if r.state == 'confirmed'])
        return readings

    @classmethod
    def create_bulk(cls, rows, source, **kwargs):
        # The batch's use added to the dashboard's sums, set-based
        with dashboard_usage.deferring():
            result = super().create_bulk(rows, source, **kwargs)
        if result.confirmed and not dashboard_usage.deferred():
            dashboard_usage.created(result.after, result.recomputed)
        return result

    @classmethod
    def _usage_changed(cls, changes):
        """Tell the dashboard's stored use the confirmed readings of the
        meters changed from the dates of changes [(meter id, naive UTC
        datetime)], unless the caller will.  The recomputations of the
        later readings (Reading.recompute) run only inside write and
        create_bulk, which tell them: from the dates changed on, and by
        the import's BulkResult.recomputed."""
        if dashboard_usage.deferred() or not changes:
            return
        starts = [s for _, s in changes]
        dashboard_usage.changed({m for m, _ in changes},
            min(starts) if None not in starts else None)

    @classmethod
    def write(cls, *args):
        # A reading rejected, moved to another meter or day may unread a
        # line and read another
        actions = iter(args)
        changed = []
        for readings, values in zip(actions, actions):
            if (values.keys() & {'meter', 'taken_at'}
                    or values.get('state') in {'rejected', 'draft'}):
                changed.extend(readings)
        before = [(r.meter, r.taken_at) for r in cls.browse(changed)]
        actions = iter(args)
        used = []
        for readings, values in zip(actions, actions):
            if values.keys() & USAGE_FIELDS:
                used.extend(readings)
        usage = [(r.meter.id, r.taken_at) for r in cls.browse(used)]
        with dashboard_usage.deferring():
            super().write(*args)
        if changed:
            Line = Pool().get('meter.field.round.line')
            Line.link_readings(cls.browse(changed), before)
        # The readings before and after: the recomputation of the later
        # ones of both meters starts from there
        cls._usage_changed(usage
            + [(r.meter.id, r.taken_at) for r in cls.browse(used)])
