"""The reply deadline of service requests, without database."""
import datetime as dt
import unittest

from trytond.modules.meter_base.sla import WorkingCalendar

# 2026: 1 October (Thursday) to 7 October is the National Day holiday and
# Saturday 10 October is worked instead (调休).
HOLIDAYS = [dt.date(2026, 10, d) for d in range(1, 8)]
WORKED = [dt.date(2026, 10, 10)]


def at(day, hour, minute=0, month=10):
    return dt.datetime(2026, month, day, hour, minute)


class SlaTestCase(unittest.TestCase):

    def setUp(self):
        self.calendar = WorkingCalendar(
            holidays=HOLIDAYS, working_days=WORKED)

    def test_working_day_within_two_hours(self):
        "A request in office hours of a working day: 2 hours later"
        self.assertEqual(
            self.calendar.deadline(at(13, 10)), at(13, 12))

    def test_end_of_day_carries_over(self):
        "The office hours left on the day count, the rest the next day"
        self.assertEqual(
            self.calendar.deadline(at(13, 16, 45)), at(14, 9, 15))

    def test_before_office_hours(self):
        self.assertEqual(self.calendar.deadline(at(13, 7)), at(13, 10))

    def test_after_office_hours(self):
        self.assertEqual(self.calendar.deadline(at(13, 20)), at(14, 10))

    def test_weekend(self):
        "Saturday 17 → Monday 19 at 10:00"
        self.assertEqual(self.calendar.deadline(at(17, 11)), at(19, 10))

    def test_holiday_and_makeup_day(self):
        "A holiday waits for the next working day, a makeup Saturday"
        self.assertEqual(self.calendar.deadline(at(2, 11)), at(8, 10))
        self.assertTrue(self.calendar.is_working_day(dt.date(2026, 10, 10)))
        self.assertEqual(self.calendar.deadline(at(9, 17)), at(10, 9, 30))
        self.assertEqual(self.calendar.deadline(at(30, 17, 0, month=9)),
            at(8, 9, 30))

    def test_invalid(self):
        with self.assertRaises(ValueError):
            WorkingCalendar(day_start=dt.time(18), day_end=dt.time(8))
        with self.assertRaises(ValueError):
            WorkingCalendar(weekdays=[])
