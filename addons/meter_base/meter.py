import datetime as dt
from decimal import Decimal

from sql import Window
from sql.functions import RowNumber

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .evidence import check_image
from .exceptions import (
    MeterChangeError, MeterInstallError, MeterPositionError,
    MeterValidationError)

KINDS = [
    ('electricity', "Electricity"),
    ('water', "Water"),
    ('hot_water', "Hot Water"),
    ]
PROTOCOLS = [
    (None, ""),
    ('dlt645_1997', "DL/T 645-1997"),
    ('dlt645_2007', "DL/T 645-2007"),
    ('cjt188_2004', "CJ/T 188-2004"),
    ('cjt188_2018', "CJ/T 188-2018"),
    ]
READING_METHODS = [
    ('manual', "Manual"),
    ('self', "Self Reading"),
    ('handheld', "Handheld"),
    ('collector', "Collector"),
    ('platform', "Energy Platform"),
    ('bluetooth', "Bluetooth"),
    ]


class Meter(Workflow, ModelSQL, ModelView):
    """A meter (表计) of electricity, water or hot water.

    The number is the billing system's meter number; the hardware ids
    match the meter in handheld exports (handheld id), on the energy
    platform (platform id) and on the bus (communication address).

    A meter recorded on site by field staff (install) is a draft until
    the office confirms it: billing runs, imports, collectors and the
    residents' pages leave drafts out.
    """
    __name__ = 'meter.meter'
    _rec_name = 'number'
    _states = {
        'readonly': Eval('state') == 'removed',
        }
    number = fields.Char("Number", required=True, states=_states)
    kind = fields.Selection(KINDS, "Kind", required=True, states=_states)
    account = fields.Many2One(
        'meter.account', "Account", ondelete='RESTRICT', states=_states,
        domain=[('campus', '=', Eval('campus', -1))])
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT',
        states=_states)
    location = fields.Many2One(
        'meter.location', "Location", ondelete='RESTRICT', states=_states,
        domain=[('campus', '=', Eval('campus', -1))])
    place = fields.Char("Place", states=_states,
        help="Where to find the meter on site.")
    latitude = fields.Numeric(
        "Latitude", digits=(9, 6), states=_states,
        domain=['OR', ('latitude', '=', None),
            [('latitude', '>=', -90), ('latitude', '<=', 90)]])
    longitude = fields.Numeric(
        "Longitude", digits=(9, 6), states=_states,
        domain=['OR', ('longitude', '=', None),
            [('longitude', '>=', -180), ('longitude', '<=', 180)]])
    handheld_id = fields.Char("Handheld ID", states=_states)
    platform_id = fields.Char("Platform ID", states=_states)
    comm_address = fields.Char("Communication Address", states=_states)
    barcode = fields.Char("Barcode", states=_states,
        help="The code printed on the meter's label; the number if empty.")
    seal = fields.Char("Seal Number", states=_states,
        help="The number of the seal on the meter's cover.")
    protocol = fields.Selection(PROTOCOLS, "Protocol", states=_states)
    reading_method = fields.Selection(
        READING_METHODS, "Reading Method", required=True, states=_states)
    multiplier = fields.Numeric(
        "Multiplier", digits=(16, 4), required=True, states=_states,
        domain=[('multiplier', '>', 0)],
        help="Consumption is the register difference times this factor "
        "(current transformer ratio).")
    digits = fields.Integer(
        "Integer Digits", required=True, states=_states,
        domain=[('digits', '>=', 1), ('digits', '<=', 12)],
        help="Number of integer digits of the register: it rolls over "
        "after 10^digits - 1.")
    decimals = fields.Integer(
        "Decimals", required=True, states=_states,
        domain=[('decimals', '>=', 0), ('decimals', '<=', 4)])
    brand = fields.Char("Brand", states=_states)
    meter_model = fields.Char("Model", states=_states)
    install_date = fields.Date("Install Date", states=_states)
    initial_value = fields.Numeric(
        "Initial Value", digits=(16, 3), required=True, states=_states,
        domain=[('initial_value', '>=', 0)],
        help="The register value when the meter was installed.")
    installed_by = fields.Many2One(
        'res.user', "Installed By", readonly=True,
        help="The member of staff who recorded the installation on site.")
    install_photo = fields.Binary(
        "Installation Photo", file_id='install_photo_id',
        store_prefix='meter_install', readonly=True)
    install_photo_id = fields.Char("Installation Photo ID", readonly=True)
    removal_date = fields.Date("Removal Date", readonly=True)
    replaced_by = fields.Many2One('meter.meter', "Replaced By", readonly=True)
    position_accuracy = fields.Integer(
        "Position Accuracy (m)", readonly=True,
        help="The accuracy the phone gave for the position.")
    located_at = fields.DateTime("Located At", readonly=True)
    located_by = fields.Many2One('res.user', "Located By", readonly=True)
    verified_at = fields.DateTime(
        "Last Verified At", readonly=True,
        help="When staff last found the meter on site as recorded.")
    verified_by = fields.Many2One(
        'res.user', "Last Verified By", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('active', "Active"),
            ('removed', "Removed"),
            ], "State", readonly=True, required=True, sort=False)
    readings = fields.One2Many('meter.reading', 'meter', "Readings",
        order=[('taken_at', 'DESC'), ('id', 'DESC')],
        states={
            'readonly': Eval('state') == 'removed',
            })
    last_value = fields.Function(
        fields.Numeric("Last Value", digits=(16, 3)), 'get_last')
    last_taken_at = fields.Function(
        fields.DateTime("Last Reading"), 'get_last')
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('number_unique', Unique(t, t.number),
                'meter_base.msg_meter_number_unique'),
            ]
        cls._order.insert(0, ('number', 'ASC'))
        cls._transitions |= {
            ('draft', 'active'),
            }
        cls._buttons.update({
                'confirm': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'change': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        "A meter waiting for the office's confirmation stands out"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'draft', 'warning', ''), ['state']),
            ]

    @classmethod
    def default_kind(cls):
        return 'electricity'

    @classmethod
    def default_reading_method(cls):
        return 'manual'

    @classmethod
    def default_multiplier(cls):
        return Decimal(1)

    @classmethod
    def default_digits(cls):
        return 6

    @classmethod
    def default_decimals(cls):
        return 1

    @classmethod
    def default_initial_value(cls):
        return Decimal(0)

    @classmethod
    def default_state(cls):
        return 'active'

    @fields.depends('account', 'location', '_parent_account.campus',
        '_parent_account.location')
    def on_change_account(self):
        if self.account:
            self.campus = self.account.campus
            if not self.location:
                self.location = self.account.location

    @classmethod
    def get_last(cls, meters, names):
        """Last confirmed value and its date, for lists and the field staff.

        One query ranks the confirmed readings of all the meters, so that a
        list of a thousand meters costs two queries, not a thousand.
        """
        pool = Pool()
        Reading = pool.get('meter.reading')
        reading = Reading.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {m.id: None for m in meters} for n in names}
        last = []
        for sub_ids in grouped_slice(
                [m.id for m in meters], backend.MAX_QUERY_PARAMS):
            rank = RowNumber(window=Window([reading.meter],
                    order_by=[reading.taken_at.desc, reading.id.desc]))
            ranked = reading.select(reading.id, rank.as_('rank'),
                where=reading.meter.in_(list(sub_ids))
                & (reading.state == 'confirmed'))
            cursor.execute(*ranked.select(
                    ranked.id, where=ranked.rank == 1))
            last.extend(r for r, in cursor)
        for values in Reading.read(last, ['meter', 'value', 'taken_at']):
            if 'last_value' in names:
                result['last_value'][values['meter']] = values['value']
            if 'last_taken_at' in names:
                result['last_taken_at'][values['meter']] = values['taken_at']
        return result

    @classmethod
    def validate_fields(cls, meters, field_names):
        super().validate_fields(meters, field_names)
        if field_names & {'initial_value', 'digits'}:
            for meter in meters:
                if meter.initial_value >= Decimal(10) ** meter.digits:
                    raise MeterValidationError(gettext(
                            'meter_base.msg_meter_initial_value_digits',
                            meter=meter.rec_name, digits=meter.digits))

    @classmethod
    def copy(cls, meters, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('readings', None)
        default.setdefault('state', 'active')
        default.setdefault('removal_date', None)
        default.setdefault('replaced_by', None)
        for name in ['installed_by', 'install_photo', 'install_photo_id',
                'seal', 'position_accuracy', 'located_at', 'located_by',
                'verified_at', 'verified_by']:
            default.setdefault(name, None)
        return super().copy(meters, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def confirm(cls, meters):
        "The office confirms a meter recorded on site: it is in service"
        pass

    @classmethod
    @ModelView.button_action('meter_base.wizard_meter_change')
    def change(cls, meters):
        pass

    @classmethod
    def install(cls, values, photo):
        """Record a meter installed on site and return it, in draft until
        the office confirms it.

        values are the meter's fields; photo is the photo of the new
        meter's register showing its initial value.  Who may change meters
        (write access, as the on-site buttons) may record one; the meter
        must be of a campus the user's record rules give.
        """
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        transaction = Transaction()
        if not photo:
            raise MeterInstallError(
                gettext('meter_base.msg_meter_install_photo'))
        check_image(photo)
        checked = transaction.user and transaction.check_access
        if checked:
            ModelAccess.check(cls.__name__, 'write')
        values = dict(values, state='draft', install_photo=photo,
            installed_by=transaction.user or None)
        values.setdefault('install_date', pool.get('ir.date').today())
        with without_check_access():
            meter, = cls.create([values])
        if checked:
            # The record rules of the user: a campus of theirs
            cls.read([meter.id], ['id'])
        return meter

    @classmethod
    @ModelView.button
    def locate(cls, meters, latitude, longitude, accuracy=None):
        """Set the position of the meters from a phone's GPS, with who and
        when; a fix less accurate than the distance the photo evidence
        allows is refused."""
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        max_distance = Configuration(1).photo_max_distance
        if latitude is None or longitude is None or not (
                -90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise MeterPositionError(
                gettext('meter_base.msg_meter_position_invalid'))
        if accuracy is not None and (accuracy < 0 or accuracy > max_distance):
            raise MeterPositionError(gettext(
                    'meter_base.msg_meter_position_accuracy',
                    accuracy=round(accuracy), max_distance=max_distance))
        cls.write(list(meters), {
                'latitude': Decimal(str(round(latitude, 6))),
                'longitude': Decimal(str(round(longitude, 6))),
                'position_accuracy': (
                    round(accuracy) if accuracy is not None else None),
                'located_at': dt.datetime.now().replace(microsecond=0),
                'located_by': Transaction().user or None,
                })

    @classmethod
    @ModelView.button
    def mark_verified(cls, meters):
        "Record that staff found the meters on site as recorded"
        cls.write(list(meters), {
                'verified_at': dt.datetime.now().replace(microsecond=0),
                'verified_by': Transaction().user or None,
                })

    @classmethod
    @ModelView.button
    def replace(cls, meters, changed_at, final_value, new_values,
            initial_value, reason=None, photo=None, new_photo=None):
        """Replace each meter by a new one (MeterChange.replace), for the
        users who may change meters; return the changes"""
        pool = Pool()
        MeterChange = pool.get('meter.change')
        return [MeterChange.replace(meter, changed_at, final_value,
                new_values, initial_value, reason=reason, photo=photo,
                new_photo=new_photo) for meter in meters]


class MeterChange(ModelSQL, ModelView):
    """A meter change (换表): the old meter closes with its final reading,
    the new one opens at its initial reading, with a photo as evidence."""
    __name__ = 'meter.change'
    old_meter = fields.Many2One(
        'meter.meter', "Old Meter", required=True, readonly=True,
        ondelete='RESTRICT')
    new_meter = fields.Many2One(
        'meter.meter', "New Meter", required=True, readonly=True,
        ondelete='RESTRICT')
    changed_at = fields.DateTime("Changed At", required=True, readonly=True)
    final_value = fields.Numeric(
        "Final Value", digits=(16, 3), required=True, readonly=True)
    initial_value = fields.Numeric(
        "Initial Value", digits=(16, 3), required=True, readonly=True)
    reason = fields.Text("Reason", readonly=True)
    photo = fields.Binary(
        "Photo", file_id='photo_id', store_prefix='meter_change',
        readonly=True, help="The old meter's register at its final value.")
    photo_id = fields.Char("Photo ID", readonly=True)
    new_photo = fields.Binary(
        "New Meter Photo", file_id='new_photo_id',
        store_prefix='meter_change', readonly=True,
        help="The new meter's register at its initial value.")
    new_photo_id = fields.Char("New Meter Photo ID", readonly=True)
    user = fields.Many2One('res.user', "Changed By", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('changed_at', 'DESC'))

    def get_rec_name(self, name):
        return f'{self.old_meter.rec_name} → {self.new_meter.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('old_meter.rec_name', operator, value),
            ('new_meter.rec_name', operator, value),
            ]

    @classmethod
    def replace(cls, old, changed_at, final_value, new_values,
            initial_value, reason=None, photo=None, new_photo=None):
        """Replace the old meter by a new one and return the change.

        The new meter is a copy of the old one with new_values (number,
        hardware ids, digits, multiplier); the old meter's final reading
        and the new one's initial reading are created at changed_at and
        confirmed at once, because the change itself is the evidence (the
        photos, the staff).  photo is the old register's, new_photo the
        new one's (the same photo when only one is given).  The sao wizard
        and the field staff's pages both come here.
        """
        pool = Pool()
        Reading = pool.get('meter.reading')
        Meter = pool.get('meter.meter')
        if old.state != 'active':
            raise MeterChangeError(gettext(
                    'meter_base.msg_meter_change_removed',
                    meter=old.rec_name))
        if new_photo is None:
            new_photo = photo
        default = {
            'barcode': None,
            'platform_id': None,
            'comm_address': None,
            'handheld_id': None,
            'initial_value': initial_value,
            'install_date': changed_at.date(),
            }
        default.update(new_values)
        new, = Meter.copy([old], default=default)
        final, initial = Reading.create([{
                    'meter': old.id,
                    'taken_at': changed_at,
                    'value': final_value,
                    'source': 'change',
                    'photo': photo,
                    }, {
                    'meter': new.id,
                    'taken_at': changed_at,
                    'value': initial_value,
                    'source': 'change',
                    'photo': new_photo,
                    }])
        Reading.confirm([final, initial])
        Meter.write([old], {
                'state': 'removed',
                'removal_date': changed_at.date(),
                'replaced_by': new.id,
                })
        change, = cls.create([{
                    'old_meter': old.id,
                    'new_meter': new.id,
                    'changed_at': changed_at,
                    'final_value': final_value,
                    'initial_value': initial_value,
                    'reason': reason,
                    'photo': photo,
                    'new_photo': new_photo,
                    'user': Transaction().user or None,
                    }])
        return change


class ChangeStart(ModelView):
    "Meter change: the final and initial values"
    __name__ = 'meter.change.start'
    old_meter = fields.Many2One('meter.meter', "Old Meter", readonly=True)
    last_value = fields.Numeric(
        "Last Confirmed Value", digits=(16, 3), readonly=True)
    changed_at = fields.DateTime("Changed At", required=True)
    final_value = fields.Numeric(
        "Final Value", digits=(16, 3), required=True,
        domain=[('final_value', '>=', 0)])
    new_number = fields.Char("New Meter Number", required=True)
    new_comm_address = fields.Char("New Communication Address")
    new_handheld_id = fields.Char("New Handheld ID")
    new_digits = fields.Integer("New Integer Digits", required=True)
    new_multiplier = fields.Numeric(
        "New Multiplier", digits=(16, 4), required=True)
    initial_value = fields.Numeric(
        "Initial Value", digits=(16, 3), required=True,
        domain=[('initial_value', '>=', 0)])
    reason = fields.Text("Reason")
    photo = fields.Binary("Photo",
        help="The old meter's register at its final value.")
    new_photo = fields.Binary("New Meter Photo",
        help="The new meter's register at its initial value; the photo "
        "above is kept for both when empty.")


class Change(Wizard):
    "Change a meter"
    __name__ = 'meter.change.wizard'
    start = StateView('meter.change.start',
        'meter_base.meter_change_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Change", 'change', 'tryton-ok', default=True),
            ])
    change = StateTransition()

    def default_start(self, fields):
        meter = self.record
        return {
            'old_meter': meter.id,
            'last_value': meter.last_value,
            'changed_at': dt.datetime.now(),
            'new_digits': meter.digits,
            'new_multiplier': meter.multiplier,
            'initial_value': Decimal(0),
            }

    def transition_change(self):
        pool = Pool()
        MeterChange = pool.get('meter.change')
        start = self.start
        MeterChange.replace(self.record, start.changed_at, start.final_value,
            {
                'number': start.new_number,
                'comm_address': start.new_comm_address,
                'handheld_id': start.new_handheld_id,
                'digits': start.new_digits,
                'multiplier': start.new_multiplier,
                },
            start.initial_value, reason=start.reason, photo=start.photo,
            new_photo=start.new_photo)
        return 'end'
