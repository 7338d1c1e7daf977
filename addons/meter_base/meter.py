import datetime as dt
from decimal import Decimal

from sql import Window
from sql.functions import RowNumber

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import MeterChangeError, MeterValidationError

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


class Meter(ModelSQL, ModelView):
    """A meter (表计) of electricity, water or hot water.

    The number is the billing system's meter number; the hardware ids
    match the meter in handheld exports (handheld id), on the energy
    platform (platform id) and on the bus (communication address).
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
    removal_date = fields.Date("Removal Date", readonly=True)
    replaced_by = fields.Many2One('meter.meter', "Replaced By", readonly=True)
    state = fields.Selection([
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
        cls._buttons.update({
                'change': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state'],
                    },
                })

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
        return super().copy(meters, default=default)

    @classmethod
    @ModelView.button_action('meter_base.wizard_meter_change')
    def change(cls, meters):
        pass


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
        readonly=True)
    photo_id = fields.Char("Photo ID", readonly=True)
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
    photo = fields.Binary("Photo")


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
        Reading = pool.get('meter.reading')
        Meter = pool.get('meter.meter')
        MeterChange = pool.get('meter.change')
        old = self.record
        start = self.start
        if old.state != 'active':
            raise MeterChangeError(gettext(
                    'meter_base.msg_meter_change_removed',
                    meter=old.rec_name))
        new, = Meter.copy([old], default={
                'number': start.new_number,
                'comm_address': start.new_comm_address,
                'handheld_id': start.new_handheld_id,
                'barcode': None,
                'platform_id': None,
                'digits': start.new_digits,
                'multiplier': start.new_multiplier,
                'initial_value': start.initial_value,
                'install_date': start.changed_at.date(),
                })
        # The final reading closes the old meter; it is confirmed at once
        # because the change itself is the evidence (photo, staff).
        final, initial = Reading.create([{
                    'meter': old.id,
                    'taken_at': start.changed_at,
                    'value': start.final_value,
                    'source': 'change',
                    'photo': start.photo,
                    }, {
                    'meter': new.id,
                    'taken_at': start.changed_at,
                    'value': start.initial_value,
                    'source': 'change',
                    'photo': start.photo,
                    }])
        Reading.confirm([final, initial])
        Meter.write([old], {
                'state': 'removed',
                'removal_date': start.changed_at.date(),
                'replaced_by': new.id,
                })
        MeterChange.create([{
                    'old_meter': old.id,
                    'new_meter': new.id,
                    'changed_at': start.changed_at,
                    'final_value': start.final_value,
                    'initial_value': start.initial_value,
                    'reason': start.reason,
                    'photo': start.photo,
                    'user': Transaction().user,
                    }])
        return 'end'
