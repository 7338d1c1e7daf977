"""The reply deadline of service requests, without database."""
import datetime as dt
import unittest

from trytond.modules.meter_service.sla import WorkingCalendar

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


class SlotsTestCase(unittest.TestCase):
    "The appointment slots: half days of the working days to come"
    lunch = dt.time(12), dt.time(14)

    def setUp(self):
        self.calendar = WorkingCalendar(
            holidays=HOLIDAYS, working_days=WORKED)

    def slots(self, after, days):
        return self.calendar.slots(after, days, *self.lunch)

    def test_split_at_break(self):
        "A day is a morning and an afternoon around the lunch break"
        self.assertEqual(self.slots(at(13, 7), 1), [
                (at(14, 8), at(14, 12)),
                (at(14, 14), at(14, 17, 30)),
                ])

    def test_next_working_day(self):
        "Never the same day, even before the office opens"
        starts = [s for s, _ in self.slots(at(14, 6), 2)]
        self.assertEqual(starts,
            [at(15, 8), at(15, 14), at(16, 8), at(16, 14)])
        self.assertEqual(
            [s for s, _ in self.calendar.slots(
                    dt.date(2026, 10, 14), 1, *self.lunch)],
            [at(15, 8), at(15, 14)])

    def test_skip_weekend(self):
        "Friday afternoon books Monday"
        self.assertEqual(self.slots(at(16, 16), 1)[0], (at(19, 8), at(19, 12)))

    def test_holidays_and_makeup_day(self):
        "The National Day holiday is skipped, its makeup Saturday offered"
        dates = [s.date() for s, _ in self.slots(at(30, 10, month=9), 3)]
        self.assertEqual(sorted(set(dates)), [
                dt.date(2026, 10, 8), dt.date(2026, 10, 9),
                dt.date(2026, 10, 10)])
        self.assertEqual(len(dates), 6)
        self.assertNotIn(dt.date(2026, 10, 11), [
                s.date() for s, _ in self.slots(at(9, 10), 2)])

    def test_break_within_office_hours(self):
        for break_start, break_end in [
                (dt.time(7), dt.time(9)),
                (dt.time(13), dt.time(12)),
                (dt.time(16), dt.time(17, 30)),
                ]:
            with self.subTest(start=break_start, end=break_end):
                with self.assertRaises(ValueError):
                    self.calendar.slots(at(13, 9), 1, break_start, break_end)
