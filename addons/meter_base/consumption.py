"""Consumption and anomaly rules of meter readings, in plain Python.

The ORM models call these functions; they import nothing from trytond so
that the rules can be tested directly and reused elsewhere.

Rollover: a register with N integer digits counts up to 10**N - 1 and
starts again at 0.  A value lower than the previous one is taken as a
rollover only when it is plausible: the previous value was in the top
part of the register (at least ``ROLLOVER_HIGH`` of 10**N) and the value
read after the wrap is in the bottom part (below ``ROLLOVER_LOW`` of
10**N).  Any other lower value is an error of reading (or tampering) and
must be reviewed, never billed as a huge consumption.
"""
from decimal import Decimal
from statistics import median

ROLLOVER_HIGH = Decimal('0.9')
ROLLOVER_LOW = Decimal('0.1')
# Periods longer than this (such as the first one after installation) say
# little about the meter's usual use and stay out of its median.
MEDIAN_MAX_DAYS = 93

# Anomaly codes, kept on the reading (translated in the selection).
LOWER = 'lower'
ZERO = 'zero'
HIGH = 'high'
FUTURE = 'future'
BACKDATED = 'backdated'
SAME_DAY = 'same_day'
ANOMALIES = [LOWER, ZERO, HIGH, FUTURE, BACKDATED, SAME_DAY]


def register_size(digits):
    "Return the number of distinct values of a register with digits"
    return Decimal(10) ** int(digits)


def is_rollover(previous, value, digits):
    "Tell if value lower than previous is a plausible rollover"
    if value is None or previous is None or value >= previous or not digits:
        return False
    size = register_size(digits)
    return (previous >= size * ROLLOVER_HIGH
        and value < size * ROLLOVER_LOW
        and previous < size)


def consumption(previous, value, digits, multiplier=1):
    """Return (consumption, rollover) between two register values.

    The consumption is None when the value is lower than the previous
    one without a plausible rollover: the reading cannot be billed as it
    stands.
    """
    if previous is None:
        return Decimal(0), False
    multiplier = Decimal(multiplier or 1)
    if value >= previous:
        return (value - previous) * multiplier, False
    if is_rollover(previous, value, digits):
        return (value + register_size(digits) - previous) * multiplier, True
    return None, False


def recent_median(consumptions, window):
    "Return the median of the last window consumptions (None if too few)"
    values = [c for c in consumptions if c is not None][-window:]
    if len(values) < 3:
        return None
    return Decimal(median(values))


def anomalies(*, value, taken_at, now, previous_value, previous_taken_at,
        consumption_value, history, same_day, digits, high_factor=3,
        median_window=6, zero_days=20):
    """Return the sorted list of anomaly codes of a reading.

    - ``lower``: lower than the previous confirmed value, not a rollover;
    - ``zero``: no use at all over at least ``zero_days`` days;
    - ``high``: use above ``high_factor`` times the median of the meter's
      own recent consumptions per day (so that periods of different
      lengths compare), over periods of at most ``MEDIAN_MAX_DAYS``;
    - ``future``: taken after now;
    - ``backdated``: taken before the previous confirmed reading;
    - ``same_day``: another reading of the meter on the same day.

    ``history`` is a list of (consumption, days) of the meter's earlier
    confirmed readings, oldest first.
    """
    found = set()
    if taken_at > now:
        found.add(FUTURE)
    if same_day:
        found.add(SAME_DAY)
    if previous_taken_at is not None and taken_at < previous_taken_at:
        found.add(BACKDATED)
    if previous_value is not None and value < previous_value:
        if not is_rollover(previous_value, value, digits):
            found.add(LOWER)
    if (previous_taken_at is not None and taken_at > previous_taken_at
            and consumption_value is not None):
        days = days_between(previous_taken_at, taken_at)
        if consumption_value == 0 and days >= zero_days:
            found.add(ZERO)
        rates = [c / d for c, d in history
            if c is not None and d and d <= MEDIAN_MAX_DAYS]
        reference = recent_median(rates, median_window)
        if (reference and days
                and consumption_value / days > reference * high_factor):
            found.add(HIGH)
    return sorted(found, key=ANOMALIES.index)


def days_between(start, end):
    "Return the number of days (Decimal, at least a tenth) between"
    seconds = Decimal((end - start).total_seconds())
    return max(seconds / Decimal(86400), Decimal('0.1'))
