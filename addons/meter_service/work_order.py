import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation

from sql import Null

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.modules.meter_base.configuration import to_local
from trytond.modules.meter_base.evidence import check_image
from trytond.modules.meter_base.numerals import parse_decimal
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction, without_check_access

from .exceptions import AppointmentError, FieldReportError

KINDS = [
    ('repair', "Repair"),
    ('request', "Service Request"),
    ('appointment', "Appointment"),
    ('complaint', "Complaint"),
    ('suggestion', "Suggestion"),
    ('praise', "Praise"),
    ('waste', "Waste Report"),
    ('fault', "Fault Report"),
    ('meter_mismatch', "Meter Information Mismatch"),
    ]
# The kinds field staff report from site
FIELD_KINDS = {'fault', 'meter_mismatch'}
# The meter information field staff may find different on site, with the
# field of the meter it is compared to
MISMATCH_FIELDS = {
    'number': 'number',
    'barcode': 'barcode',
    'comm_address': 'comm_address',
    'seal': 'seal',
    }
# A report carries a few photos, each checked as a reading's photo is
MAX_REPORT_PHOTOS = 6
# The precision of a GPS position, as the meters have it
POSITION = Decimal('0.000001')
APPOINTMENT_TYPES = [
    ('meter_reading', "Meter Reading"),
    ('fault_check', "Fault Check"),
    ('move_in', "Move-in Registration"),
    ('move_out', "Move-out Settlement"),
    ]
REQUEST_TYPES = [
    ('metering_question', "Metering Question"),
    ('capacity_increase', "Capacity Increase"),
    ('safety_assessment', "Electrical Safety Assessment"),
    ]
CLOSED_STATES = {'done', 'cancelled'}


class WorkOrder(Workflow, ModelSQL, ModelView):
    """A work order (工单): a repair, service request, appointment,
    complaint, suggestion, praise or energy-waste report, or a fault or a
    meter whose information differs from its record, reported by field
    staff from site.

    Its reply deadline comes from the working calendar of its campus when
    it is submitted (see sla.py); it is overdue while it has no reply
    visible to the requester after that deadline.

    An appointment books a slot of that calendar: the start of a morning
    or afternoon of the working days offered, while the slot has places
    left on the campus.
    """
    __name__ = 'meter.work_order'
    _rec_name = 'number'
    _states = {'readonly': Eval('state').in_(list(CLOSED_STATES))}
    number = fields.Char("Number", readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, states=_states)
    subject = fields.Char("Subject", required=True, states=_states)
    description = fields.Text("Description", states=_states)
    requester = fields.Char("Requester", states=_states)
    requester_phone = fields.Char("Requester Phone", states=_states)
    account = fields.Many2One(
        'meter.account', "Account", ondelete='RESTRICT', states=_states)
    campus = fields.Many2One(
        'meter.campus', "Campus", ondelete='RESTRICT', states=_states)
    location = fields.Many2One(
        'meter.location', "Location", ondelete='RESTRICT', states=_states,
        domain=[If(Bool(Eval('campus')),
                ('campus', '=', Eval('campus', -1)), ())])
    place = fields.Char("Place", states=_states,
        help="Where on site, as the requester described it.")
    meter = fields.Many2One(
        'meter.meter', "Meter", ondelete='RESTRICT', states=_states,
        domain=[If(Bool(Eval('campus')),
                ('campus', '=', Eval('campus', -1)), ())])
    latitude = fields.Numeric(
        "Latitude", digits=(9, 6), states=_states,
        domain=['OR', ('latitude', '=', None),
            [('latitude', '>=', -90), ('latitude', '<=', 90)]],
        help="Where the report was made, as the phone located it.")
    longitude = fields.Numeric(
        "Longitude", digits=(9, 6), states=_states,
        domain=['OR', ('longitude', '=', None),
            [('longitude', '>=', -180), ('longitude', '<=', 180)]])
    reporter = fields.Many2One(
        'res.user', "Reported By", readonly=True,
        help="The staff member who reported it from site.")
    _mismatch_states = {
        'invisible': Eval('kind') != 'meter_mismatch',
        'readonly': _states['readonly'],
        }
    found_number = fields.Char(
        "Number On Site", states=_mismatch_states)
    found_barcode = fields.Char(
        "Barcode On Site", states=_mismatch_states)
    found_comm_address = fields.Char(
        "Communication Address On Site", states=_mismatch_states)
    found_seal = fields.Char(
        "Seal On Site", states=_mismatch_states)
    del _mismatch_states
    appointment_type = fields.Selection(
        [(None, "")] + APPOINTMENT_TYPES, "Appointment Type",
        states={
            'invisible': Eval('kind') != 'appointment',
            'required': Eval('kind') == 'appointment',
            'readonly': _states['readonly'],
            })
    request_type = fields.Selection(
        [(None, "")] + REQUEST_TYPES, "Request Type",
        states={
            'invisible': Eval('kind') != 'request',
            'required': Eval('kind') == 'request',
            'readonly': _states['readonly'],
            })
    appointment_at = fields.DateTime(
        "Appointment", states={
            'invisible': Eval('kind') != 'appointment',
            'required': Eval('kind') == 'appointment',
            'readonly': _states['readonly'],
            },
        help="The start of the booked slot of the working calendar.")
    appointment_end = fields.DateTime(
        "Appointment Ends", readonly=True, states={
            'invisible': Eval('kind') != 'appointment',
            },
        help="The end of the booked slot.")
    photos = fields.One2Many(
        'meter.work_order.photo', 'work_order', "Photos", states=_states)
    submitted_at = fields.DateTime(
        "Submitted At", required=True,
        states={'readonly': Eval('id', -1) >= 0},
        help="When the request was made; the deadline counts from it.")
    deadline = fields.DateTime(
        "Reply Deadline", readonly=True,
        help="Computed from the working calendar when submitted.")
    replied_at = fields.DateTime(
        "First Reply At", readonly=True,
        help="When the requester got the first reply.")
    overdue = fields.Function(
        fields.Boolean("Overdue"), 'get_overdue', searcher='search_overdue')
    assignee = fields.Many2One(
        'res.user', "Assignee", states=_states)
    replies = fields.One2Many(
        'meter.work_order.reply', 'work_order', "Replies")
    state = fields.Selection([
            ('open', "Open"),
            ('processing', "Processing"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('submitted_at', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['open', 'processing'])),
                Index(t, (t.deadline, Index.Range())),
                Index(t, (t.reporter, Index.Range()),
                    where=t.reporter != Null),
                })
        cls._transitions |= {
            ('open', 'processing'),
            ('open', 'done'),
            ('processing', 'done'),
            ('open', 'cancelled'),
            ('processing', 'cancelled'),
            ('done', 'processing'),
            ('cancelled', 'open'),
            }
        cls._buttons.update({
                'process': {
                    'invisible': ~Eval('state').in_(['open', 'done']),
                    'icon': If(Eval('state') == 'done',
                        'tryton-back', 'tryton-forward'),
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': ~Eval('state').in_(['open', 'processing']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['open', 'processing']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        "An overdue work order stands out in the lists"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('overdue', False), 'danger', ''),
                ['overdue']),
            ]

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def default_kind(cls):
        return 'request'

    @classmethod
    def default_submitted_at(cls):
        return dt.datetime.now().replace(microsecond=0)

    @fields.depends('account', '_parent_account.campus',
        '_parent_account.location')
    def on_change_account(self):
        if self.account:
            self.campus = self.account.campus
            self.location = self.account.location

    @fields.depends('meter', '_parent_meter.campus', '_parent_meter.location',
        '_parent_meter.account')
    def on_change_meter(self):
        if self.meter:
            self.campus = self.meter.campus
            self.location = self.meter.location or self.location
            self.account = self.meter.account or self.account

    @fields.depends('kind')
    def on_change_kind(self):
        if self.kind != 'appointment':
            self.appointment_type = None
            self.appointment_at = None
        if self.kind != 'request':
            self.request_type = None

    def get_overdue(self, name):
        return bool(
            self.state not in CLOSED_STATES
            and not self.replied_at and self.deadline
            and self.deadline < dt.datetime.now())

    @classmethod
    def search_overdue(cls, name, clause):
        _, operator, value = clause
        overdue = [
            ('state', 'not in', list(CLOSED_STATES)),
            ('replied_at', '=', None),
            ('deadline', '<', dt.datetime.now()),
            ]
        if (operator == '=') == bool(value):
            return overdue
        return ['OR',
            ('state', 'in', list(CLOSED_STATES)),
            ('replied_at', '!=', None),
            ('deadline', '=', None),
            ('deadline', '>=', dt.datetime.now()),
            ]

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        Calendar = pool.get('meter.calendar')
        Account = pool.get('meter.account')
        Campus = pool.get('meter.campus')
        now = dt.datetime.now().replace(microsecond=0)
        vlist = [v.copy() for v in vlist]
        for values in vlist:
            if not values.get('submitted_at'):
                values['submitted_at'] = now
            if not values.get('campus') and values.get('account'):
                values['campus'] = Account(values['account']).campus.id
            if not values.get('deadline'):
                campus = (Campus(values['campus'])
                    if values.get('campus') else None)
                values['deadline'] = Calendar.deadline(
                    values['submitted_at'], campus)
        orders = super().create(vlist)
        for order in orders:
            order.number = 'GD%s%05d' % (
                order.submitted_at.strftime('%Y%m%d'), order.id)
        cls.save(orders)
        return orders

    def compute_fields(self, field_names=None):
        pool = Pool()
        Calendar = pool.get('meter.calendar')
        values = super().compute_fields(field_names=field_names)
        if field_names is None or (
                {'kind', 'appointment_at', 'campus'} & field_names):
            end = None
            if self.kind == 'appointment' and self.appointment_at:
                end = Calendar.for_appointments(self.campus).slot_end(
                    self.appointment_at)
            if self.appointment_end != end:
                values['appointment_end'] = end
        return values

    @classmethod
    def validate_fields(cls, orders, field_names):
        super().validate_fields(orders, field_names)
        if field_names is None or (
                {'kind', 'appointment_at', 'campus'} & field_names):
            cls.check_appointments([o for o in orders
                    if o.kind == 'appointment' and o.appointment_at
                    and o.state != 'cancelled'])

    @classmethod
    def booked(cls, campus, starts, exclude=()):
        """Return the number of appointments of campus at each of starts
        that are not cancelled, leaving out exclude.

        Every appointment counts, whoever may read it.
        """
        excluded = {o.id for o in exclude}
        with without_check_access():
            appointments = cls.search([
                    ('kind', '=', 'appointment'),
                    ('campus', '=', campus.id if campus else None),
                    ('appointment_at', 'in', list(starts)),
                    ('state', '!=', 'cancelled'),
                    ])
        return Counter(a.appointment_at for a in appointments
            if a.id not in excluded)

    @classmethod
    def check_appointments(cls, appointments, booking=True):
        """Check that the appointments book slots with places left.

        A booked or moved appointment must start a slot offered now by the
        calendar of its campus; one taken back (reopened) only needs a
        place, when its slot is still to come.  The table is locked before
        counting so that two residents can not both take the last place.
        """
        pool = Pool()
        Calendar = pool.get('meter.calendar')
        Configuration = pool.get('meter.configuration')
        if not appointments:
            return
        cls.lock()
        now = dt.datetime.now()
        zone = Configuration.tzinfo()
        by_slot = defaultdict(list)
        for appointment in appointments:
            by_slot[appointment.campus, appointment.appointment_at].append(
                appointment)
        for (campus, start), orders in by_slot.items():
            calendar = Calendar.for_appointments(campus)
            appointment = to_local(start, zone).strftime('%Y-%m-%d %H:%M')
            if start not in dict(calendar.slots(now)):
                if not booking:
                    continue
                raise AppointmentError(gettext(
                        'meter_service.msg_appointment_not_slot',
                        appointment=appointment,
                        days=calendar.appointment_days,
                        morning=calendar.day_start.strftime('%H:%M'),
                        afternoon=calendar.break_end.strftime('%H:%M')))
            booked = cls.booked(campus, [start], exclude=orders)[start]
            if booked + len(orders) > calendar.slot_capacity:
                raise AppointmentError(gettext(
                        'meter_service.msg_appointment_slot_full',
                        appointment=appointment,
                        capacity=calendar.slot_capacity))

    @classmethod
    def copy(cls, orders, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'open')
        for name in ['number', 'submitted_at', 'deadline', 'replied_at',
                'replies', 'assignee', 'appointment_end']:
            default.setdefault(name, None)
        return super().copy(orders, default=default)

    @classmethod
    def report_fault(cls, reporter_user, description, meter=None,
            location=None, place=None, latitude=None, longitude=None,
            photos=()):
        """Create and return the fault (故障上报) field staff report from
        site: its description, where it is (a meter, a building, a place
        described or the GPS position of the phone) and its photos as
        (bytes, filename) pairs.

        It runs as the staff member, with their access and campus rules;
        each photo is checked as a reading's photo is, all before anything
        is stored.  Raise FieldReportError or PhotoValidationError."""
        description = (description or '').strip()
        if not description:
            raise FieldReportError(gettext(
                    'meter_service.msg_fault_description'))
        place = (place or '').strip() or None
        latitude, longitude = cls._report_position(latitude, longitude)
        if not (meter or location or place or latitude is not None):
            raise FieldReportError(gettext('meter_service.msg_fault_place'))
        cls._check_report_place(meter, location)
        photos = cls._report_photos(photos)
        if meter:
            campus = meter.campus
            location = location or meter.location
        else:
            campus = location.campus if location else None
        where = (meter.number if meter
            else location.rec_name if location
            else place or '%s, %s' % (latitude, longitude))
        order, = cls.create([{
                    'kind': 'fault',
                    'subject': gettext(
                        'meter_service.msg_fault_subject', place=where),
                    'description': description,
                    'meter': meter.id if meter else None,
                    'account': (meter.account.id
                        if meter and meter.account else None),
                    'campus': campus.id if campus else None,
                    'location': location.id if location else None,
                    'place': place,
                    'latitude': latitude,
                    'longitude': longitude,
                    'reporter': reporter_user.id,
                    'requester': reporter_user.rec_name,
                    'photos': [('create', photos)] if photos else [],
                    }])
        return order

    @classmethod
    def report_meter_mismatch(cls, meter, found, note=None, photo=None):
        """Create and return the report (表计信息不符) of meter whose
        information found on site differs from its record.

        found maps the names of MISMATCH_FIELDS to what is on site; only
        what differs from the record is kept, each difference written in
        the description.  photo is bytes or a (bytes, filename) pair.  It
        runs as the staff member reporting; raise FieldReportError or
        PhotoValidationError."""
        pool = Pool()
        User = pool.get('res.user')
        cls._check_report_place(meter)
        unknown = set(found) - MISMATCH_FIELDS.keys()
        if unknown:
            raise FieldReportError(gettext(
                    'meter_service.msg_mismatch_unknown',
                    names=', '.join(sorted(unknown))))
        strings = cls.fields_get(
            ['found_%s' % n for n in MISMATCH_FIELDS])
        differences, lines = {}, []
        for name, meter_field in MISMATCH_FIELDS.items():
            value = str(found.get(name) or '').strip()
            recorded = getattr(meter, meter_field)
            if not value or value == (recorded or ''):
                continue
            differences['found_%s' % name] = value
            lines.append(gettext(
                    'meter_service.msg_mismatch_line',
                    field=strings['found_%s' % name]['string'],
                    found=value, recorded=recorded or '-'))
        if not differences:
            raise FieldReportError(gettext(
                    'meter_service.msg_mismatch_nothing',
                    meter=meter.number))
        note = (note or '').strip()
        if note:
            lines.append(note)
        photos = cls._report_photos([photo] if photo else [])
        user = User(Transaction().user)
        order, = cls.create([{
                    'kind': 'meter_mismatch',
                    'subject': gettext(
                        'meter_service.msg_mismatch_subject',
                        meter=meter.number),
                    'description': '\n'.join(lines),
                    'meter': meter.id,
                    'account': meter.account.id if meter.account else None,
                    'campus': meter.campus.id if meter.campus else None,
                    'location': meter.location.id if meter.location else None,
                    'reporter': user.id,
                    'requester': user.rec_name,
                    'photos': [('create', photos)] if photos else [],
                    **differences,
                    }])
        return order

    @classmethod
    def _report_position(cls, latitude, longitude):
        "Return the GPS position given as numbers or text, or raise"
        if latitude in (None, '') and longitude in (None, ''):
            return None, None
        try:
            position = [parse_decimal(value) if isinstance(value, str)
                else Decimal(str(value)) for value in (latitude, longitude)]
            if not all(v.is_finite() for v in position):
                raise ValueError
            latitude, longitude = [v.quantize(POSITION) for v in position]
        except (ValueError, TypeError, InvalidOperation):
            latitude = longitude = None
        if (latitude is None or not -90 <= latitude <= 90
                or not -180 <= longitude <= 180):
            raise FieldReportError(gettext(
                    'meter_service.msg_report_position'))
        return latitude, longitude

    @classmethod
    def _check_report_place(cls, *records):
        """Check the staff member may read the meter or location reported,
        as the campus rules allow them, or raise AccessError"""
        for record in filter(None, records):
            record.__class__.read([record.id], ['id'])

    @classmethod
    def _report_photos(cls, photos):
        """Return the values of the photos of a report, each checked as a
        reading's photo is, or raise"""
        photos = list(photos or [])
        if len(photos) > MAX_REPORT_PHOTOS:
            raise FieldReportError(gettext(
                    'meter_service.msg_report_photos',
                    max=MAX_REPORT_PHOTOS))
        values = []
        for photo in photos:
            data, name = photo if isinstance(photo, tuple) else (photo, None)
            check_image(data)
            values.append({'photo': data, 'name': name or 'photo'})
        return values

    @classmethod
    @ModelView.button
    @Workflow.transition('processing')
    def process(cls, orders):
        user = Transaction().user
        for order in orders:
            if not order.assignee and user:
                order.assignee = user
        cls.save(orders)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, orders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, orders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, orders):
        # A cancelled appointment gave its place back: take it again
        cls.check_appointments([o for o in orders
                if o.kind == 'appointment' and o.appointment_at],
            booking=False)


class WorkOrderPhoto(sequence_ordered(), ModelSQL, ModelView):
    "A photo of a work order, in the filestore"
    __name__ = 'meter.work_order.photo'
    work_order = fields.Many2One(
        'meter.work_order', "Work Order", required=True, ondelete='CASCADE')
    photo = fields.Binary(
        "Photo", required=True, file_id='photo_id',
        store_prefix='meter_work_order')
    photo_id = fields.Char("Photo ID", readonly=True)
    name = fields.Char("Name")

    @classmethod
    def create(cls, vlist):
        # Checked as a reading's photo is, before anything is stored
        for values in vlist:
            if values.get('photo'):
                check_image(values['photo'])
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        for values in args[1::2]:
            if values.get('photo'):
                check_image(values['photo'])
        super().write(*args)


class WorkOrderReply(ModelSQL, ModelView):
    """A reply on a work order.

    Public replies are shown to the requester, who is told of each one;
    internal notes are for staff only.
    """
    __name__ = 'meter.work_order.reply'
    work_order = fields.Many2One(
        'meter.work_order', "Work Order", required=True, ondelete='CASCADE')
    text = fields.Text("Text", required=True)
    public = fields.Boolean(
        "Visible to Requester",
        help="Shown to the requester, who is notified.")
    author = fields.Many2One('res.user', "Author", readonly=True)
    from_requester = fields.Boolean("From Requester", readonly=True)
    posted_at = fields.DateTime("Posted At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('posted_at', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_public(cls):
        return True

    @classmethod
    def default_from_requester(cls):
        return False

    @classmethod
    def default_author(cls):
        return Transaction().user or None

    @classmethod
    def default_posted_at(cls):
        return dt.datetime.now().replace(microsecond=0)

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        replies = super().create(vlist)
        to_save = []
        for reply in replies:
            order = reply.work_order
            if (reply.public and not reply.from_requester
                    and not order.replied_at):
                order.replied_at = reply.posted_at
                to_save.append(order)
        WorkOrder.save(to_save)
        return replies
