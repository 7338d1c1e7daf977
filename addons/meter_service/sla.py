"""The reply deadline of service requests (工单时限).

The rule of the service centre: a request made on a working day is
answered within 2 hours; one made on another day, by the next working day.
Both are the same rule counted on the office clock:

    the deadline is ``hours`` (2) office hours after the request, office
    hours being ``day_start``–``day_end`` (08:00–17:30) of working days.

So a request at 10:00 on a Tuesday is due at 12:00; at 16:45 it is due at
09:15 the next working day (45 minutes on Tuesday, 75 on Wednesday); at
07:00 it is due at 10:00; on a Saturday or a holiday, or after 17:30, it is
due at 10:00 of the next working day.

Which days are working days is data: the weekdays of the calendar, minus
the holidays (节假日), plus the weekend days worked instead (调休上班).

Appointments (预约) are booked by slot: each working day is a morning and
an afternoon slot, the office hours split around the lunch break, from
the next working day on.
"""
import datetime as dt

__all__ = ['WorkingCalendar', 'DEFAULT_WEEKDAYS']

DEFAULT_WEEKDAYS = frozenset(range(5))
# No calendar has a year without a working day
_MAX_DAYS = 366


class WorkingCalendar:
    """Working days and office hours.

    weekdays are the numbers (Monday = 0) of the usual working days,
    holidays the dates not worked and working_days the dates worked even
    when not on a usual weekday.
    """

    def __init__(
            self, weekdays=DEFAULT_WEEKDAYS, holidays=(), working_days=(),
            day_start=dt.time(8, 0), day_end=dt.time(17, 30)):
        if day_start >= day_end:
            raise ValueError("the office day must end after it starts")
        self.weekdays = frozenset(weekdays)
        self.holidays = frozenset(holidays)
        self.working_days = frozenset(working_days)
        self.day_start = day_start
        self.day_end = day_end
        if not self.weekdays and not self.working_days:
            raise ValueError("a calendar needs working days")

    def is_working_day(self, date):
        if date in self.working_days:
            return True
        if date in self.holidays:
            return False
        return date.weekday() in self.weekdays

    def next_working_day(self, date):
        "Return the first working day after date"
        for _ in range(_MAX_DAYS):
            date += dt.timedelta(days=1)
            if self.is_working_day(date):
                return date
        raise ValueError("no working day within a year after %s" % date)

    def _office(self, date):
        return (dt.datetime.combine(date, self.day_start),
            dt.datetime.combine(date, self.day_end))

    def deadline(self, submitted, hours=2):
        "Return when a request made at submitted must be answered"
        remaining = dt.timedelta(hours=hours)
        date = submitted.date()
        if not self.is_working_day(date):
            date = self.next_working_day(date)
        current = submitted
        for _ in range(_MAX_DAYS * 10):
            start, end = self._office(date)
            current = max(current, start)
            if current < end:
                if current + remaining <= end:
                    return current + remaining
                remaining -= end - current
            date = self.next_working_day(date)
            current = dt.datetime.combine(date, self.day_start)
        raise ValueError("deadline too far")

    def is_working_time(self, moment):
        start, end = self._office(moment.date())
        return self.is_working_day(moment.date()) and start <= moment < end

    def day_slots(self, date, break_start, break_end):
        """Return the morning and afternoon slots of date as (start, end)
        pairs: the office hours split around the lunch break."""
        if not self.day_start < break_start <= break_end < self.day_end:
            raise ValueError("the break must lie within the office hours")
        start, end = self._office(date)
        return [
            (start, dt.datetime.combine(date, break_start)),
            (dt.datetime.combine(date, break_end), end),
            ]

    def slots(self, after, days, break_start, break_end):
        """Return the appointment slots of the days working days after the
        day of after, as (start, end) pairs in time order.

        Booking starts the next working day, never the same day: the
        service centre needs the time to plan the visit.
        """
        slots = []
        date = after.date() if isinstance(after, dt.datetime) else after
        for _ in range(days):
            date = self.next_working_day(date)
            slots.extend(self.day_slots(date, break_start, break_end))
        return slots
