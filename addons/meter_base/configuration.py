from decimal import Decimal

from trytond.cache import Cache
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.tools import timezone as tz
from trytond.transaction import without_check_access

# The service centre's clock: office hours, slots and the times shown to
# residents are in it, while Tryton stores every datetime in UTC.
DEFAULT_TIMEZONE = 'Asia/Shanghai'


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Settings of meter reading: automatic confirmation and anomaly limits"
    __name__ = 'meter.configuration'
    auto_confirm = fields.Boolean(
        "Confirm Automatically",
        help="Confirm a reading at once when it shows no anomaly.")
    high_usage_factor = fields.Numeric(
        "High Usage Factor", digits=(16, 2), required=True,
        help="A use per day above this multiple of the meter's recent "
        "median is flagged.")
    median_window = fields.Integer(
        "Median Window", required=True,
        help="How many earlier readings make the meter's recent median.")
    zero_usage_days = fields.Integer(
        "Zero Usage Days", required=True,
        help="No use at all over at least this many days is flagged.")
    timezone = fields.Selection(
        'get_timezones', "Time Zone", required=True,
        help="The zone of the office hours, the appointment slots and the "
        "times shown on the residents' pages.")
    _timezone_cache = Cache('meter.configuration.timezone', context=False)

    @classmethod
    def default_auto_confirm(cls):
        return True

    @classmethod
    def default_high_usage_factor(cls):
        return Decimal(3)

    @classmethod
    def default_median_window(cls):
        return 6

    @classmethod
    def default_zero_usage_days(cls):
        return 20

    @classmethod
    def default_timezone(cls):
        return DEFAULT_TIMEZONE

    @classmethod
    def get_timezones(cls):
        return [(z, z) for z in sorted(tz.available_timezones())]

    @classmethod
    def tzinfo(cls):
        """Return the zone of the service centre's clock, the one setting
        of the suite's dates (ir.date's today included, see ir.py)

        Every page and every today asks for it: its name is cached, and
        cleared in every process when the configuration changes.  Any user
        may know it, whatever their access to the configuration."""
        name = cls._timezone_cache.get(None)
        if name is None:
            with without_check_access():
                name = cls(1).timezone or DEFAULT_TIMEZONE
            cls._timezone_cache.set(None, name)
        return tz.get_tzinfo(name)

    @classmethod
    def create(cls, vlist):
        records = super().create(vlist)
        cls._timezone_cache.clear()
        return records

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls._timezone_cache.clear()


def to_local(moment, zone):
    "Return the naive UTC moment as a naive time of zone"
    if moment is None:
        return None
    return moment.replace(tzinfo=tz.UTC).astimezone(zone).replace(
        tzinfo=None)


def to_utc(moment, zone):
    "Return the naive time of zone as a naive UTC moment"
    if moment is None:
        return None
    return moment.replace(tzinfo=zone).astimezone(tz.UTC).replace(
        tzinfo=None)
