import datetime as dt

from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.modules.meter_base.configuration import to_local, to_utc
from trytond.pool import Pool
from trytond.pyson import Eval

from .migration import take_over
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
    hours of its working days (see sla.py).  Appointments book a morning
    or afternoon slot of the working days to come, each taking a limited
    number of appointments on the campus.  A campus may have its own
    calendar; the calendar without campus serves the others.
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
    break_start = fields.Time(
        "Lunch Break Starts", required=True,
        domain=[
            ('break_start', '>', Eval('day_start')),
            ('break_start', '<', Eval('day_end')),
            ],
        help="The end of the morning appointment slot.")
    break_end = fields.Time(
        "Lunch Break Ends", required=True,
        domain=[
            ('break_end', '>=', Eval('break_start')),
            ('break_end', '<', Eval('day_end')),
            ],
        help="The start of the afternoon appointment slot.")
    appointment_days = fields.Integer(
        "Appointment Days", required=True,
        domain=[('appointment_days', '>', 0)],
        help="How many working days ahead appointments can be booked, "
        "from the next working day.")
    slot_capacity = fields.Integer(
        "Appointments per Slot", required=True,
        domain=[('slot_capacity', '>', 0)],
        help="How many appointments a morning or afternoon slot takes "
        "on the campus.")
    days = fields.One2Many('meter.calendar.day', 'calendar', "Special Days")

    @classmethod
    def __register__(cls, module):
        # The first model of the module registered: a database made before
        # the service desk left meter_base gives its records to this
        # module before its XML is loaded
        take_over(module, 'meter_base')
        super().__register__(module)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('campus_unique', Unique(t, t.campus),
                'meter_service.msg_calendar_campus_unique'),
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
    def default_break_start(cls):
        return dt.time(12, 0)

    @classmethod
    def default_break_end(cls):
        return dt.time(14, 0)

    @classmethod
    def default_appointment_days(cls):
        return 10

    @classmethod
    def default_slot_capacity(cls):
        return 8

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
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        zone = Configuration.tzinfo()
        # The office hours are on the centre's clock, the moments in UTC
        submitted = to_local(submitted, zone)
        calendar = cls.for_campus(campus)
        if calendar is None:
            deadline = WorkingCalendar().deadline(submitted)
        else:
            deadline = calendar.working_calendar().deadline(
                submitted, calendar.reply_hours)
        return to_utc(deadline, zone)

    @classmethod
    def for_appointments(cls, campus):
        """Return the calendar of the appointments of campus; without any
        calendar, an unsaved one with the defaults."""
        calendar = cls.for_campus(campus)
        if calendar is None:
            calendar = cls(**cls.default_get(
                    list(cls._fields), with_rec_name=False), days=[])
        return calendar

    def slots(self, now):
        """Return the (start, end) of the slots that can be booked at now,
        in UTC as every stored moment, counted on the centre's clock"""
        zone = Pool().get('meter.configuration').tzinfo()
        return [(to_utc(start, zone), to_utc(end, zone))
            for start, end in self.working_calendar().slots(
                to_local(now, zone), self.appointment_days,
                self.break_start, self.break_end)]

    def slot_end(self, start):
        "Return the end of the slot starting at start (UTC), or None"
        zone = Pool().get('meter.configuration').tzinfo()
        local = to_local(start, zone)
        slots = self.working_calendar().day_slots(
            local.date(), self.break_start, self.break_end)
        return to_utc(dict(slots).get(local), zone)

    @classmethod
    def appointment_slots(cls, campus=None, now=None):
        """Return the slots of campus that can be booked at now, as
        (start, end, places left) triples.

        The places are counted on the appointments of the campus that are
        not cancelled.
        """
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        calendar = cls.for_appointments(campus)
        slots = calendar.slots(now or dt.datetime.now())
        booked = WorkOrder.booked(campus, [start for start, _ in slots])
        return [(start, end, calendar.slot_capacity - booked[start])
            for start, end in slots]


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
                'meter_service.msg_calendar_day_unique'),
            ]
        cls._order.insert(0, ('date', 'ASC'))

    @classmethod
    def default_kind(cls):
        return 'holiday'
