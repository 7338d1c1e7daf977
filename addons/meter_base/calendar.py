import datetime as dt

from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pyson import Eval

from .sla import WorkingCalendar

WEEKDAYS = [
    ('0', "Monday"),
    ('1', "Tuesday"),
    ('2', "Wednesday"),
    ('3', "Thursday"),
    ('4', "Friday"),
    ('5', "Saturday"),
    ('6', "Sunday"),
    ]


class Calendar(DeactivableMixin, ModelSQL, ModelView):
    """A working calendar (工作日历): office hours and special days.

    Service requests are due within the reply hours counted in the office
    hours of its working days (see sla.py).  A campus may have its own;
    the calendar without campus serves the others.
    """
    __name__ = 'meter.calendar'
    name = fields.Char("Name", required=True)
    campus = fields.Many2One(
        'meter.campus', "Campus", ondelete='CASCADE',
        help="Leave empty for the calendar of every other campus.")
    weekdays = fields.MultiSelection(
        WEEKDAYS, "Working Weekdays", sort=False)
    day_start = fields.Time("Office Opens", required=True)
    day_end = fields.Time(
        "Office Closes", required=True,
        domain=[('day_end', '>', Eval('day_start'))])
    reply_hours = fields.Integer(
        "Reply Hours", required=True,
        domain=[('reply_hours', '>', 0)],
        help="Office hours within which a request must be answered.")
    days = fields.One2Many('meter.calendar.day', 'calendar', "Special Days")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('campus_unique', Unique(t, t.campus),
                'meter_base.msg_calendar_campus_unique'),
            ]

    @classmethod
    def default_weekdays(cls):
        return ['0', '1', '2', '3', '4']

    @classmethod
    def default_day_start(cls):
        return dt.time(8, 0)

    @classmethod
    def default_day_end(cls):
        return dt.time(17, 30)

    @classmethod
    def default_reply_hours(cls):
        return 2

    @classmethod
    def for_campus(cls, campus):
        "Return the calendar of campus, the common one, or None"
        campus_id = campus.id if campus else None
        calendars = cls.search([
                ('campus', 'in', [campus_id, None]),
                ], order=[('id', 'ASC')])
        for calendar in calendars:
            if calendar.campus and campus_id == calendar.campus.id:
                return calendar
        for calendar in calendars:
            if not calendar.campus:
                return calendar
        return None

    def working_calendar(self):
        "Return the plain WorkingCalendar of the record"
        return WorkingCalendar(
            weekdays=[int(d) for d in self.weekdays or []],
            holidays=[d.date for d in self.days if d.kind == 'holiday'],
            working_days=[d.date for d in self.days if d.kind == 'working'],
            day_start=self.day_start, day_end=self.day_end)

    @classmethod
    def deadline(cls, submitted, campus=None):
        """Return the reply deadline of a request made at submitted.

        Without any calendar, Monday to Friday 08:00-17:30 and 2 hours.
        """
        calendar = cls.for_campus(campus)
        if calendar is None:
            return WorkingCalendar().deadline(submitted)
        return calendar.working_calendar().deadline(
            submitted, calendar.reply_hours)


class CalendarDay(ModelSQL, ModelView):
    "A holiday (节假日) or a working day on a weekend (调休上班)"
    __name__ = 'meter.calendar.day'
    calendar = fields.Many2One(
        'meter.calendar', "Calendar", required=True, ondelete='CASCADE')
    date = fields.Date("Date", required=True)
    kind = fields.Selection([
            ('holiday', "Holiday"),
            ('working', "Working Day"),
            ], "Kind", required=True)
    name = fields.Char("Name")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('date_unique', Unique(t, t.calendar, t.date),
                'meter_base.msg_calendar_day_unique'),
            ]
        cls._order.insert(0, ('date', 'ASC'))

    @classmethod
    def default_kind(cls):
        return 'holiday'
