from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pyson import Eval


class Account(DeactivableMixin, ModelSQL, ModelView):
    """An account (户号) of the billing system.

    Residents, dormitories and units pay for the meters of their account;
    its number is the one printed on payment notices and used by the
    existing billing system.
    """
    __name__ = 'meter.account'
    _rec_name = 'number'
    number = fields.Char("Number", required=True)
    name = fields.Char("Name", required=True)
    category = fields.Selection([
            ('resident', "Resident"),
            ('unit', "Unit"),
            ('dormitory', "Dormitory"),
            ], "Category", required=True)
    billing_mode = fields.Selection([
            ('postpaid', "Postpaid"),
            ('prepaid', "Prepaid"),
            ], "Billing Mode", required=True)
    party = fields.Many2One('party.party', "Party", ondelete='RESTRICT')
    phone = fields.Char("Phone")
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT')
    location = fields.Many2One(
        'meter.location', "Location", ondelete='RESTRICT',
        domain=[('campus', '=', Eval('campus', -1))])
    meters = fields.One2Many('meter.meter', 'account', "Meters")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('number_unique', Unique(t, t.number),
                'meter_base.msg_account_number_unique'),
            ]
        cls._order.insert(0, ('number', 'ASC'))

    @classmethod
    def default_category(cls):
        return 'resident'

    @classmethod
    def default_billing_mode(cls):
        return 'postpaid'

    def get_rec_name(self, name):
        return f'{self.number} {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('number', operator, value),
            ('name', operator, value),
            ]
