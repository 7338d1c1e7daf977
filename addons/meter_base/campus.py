from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, tree)
from trytond.pyson import Eval


class Campus(DeactivableMixin, ModelSQL, ModelView):
    "A campus (校区) with its own service office"
    __name__ = 'meter.campus'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    address = fields.Char("Office Address")
    hours = fields.Char("Office Hours")
    contact = fields.Char("Contact Person")
    phone = fields.Char("Phone")
    locations = fields.One2Many('meter.location', 'campus', "Locations")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('code_unique', Unique(t, t.code),
                'meter_base.msg_campus_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))


class Location(DeactivableMixin, tree(separator=' / '), ModelSQL, ModelView):
    "A place on a campus: an area, a building, a floor or a room"
    __name__ = 'meter.location'
    name = fields.Char("Name", required=True)
    code = fields.Char("Code")
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT')
    parent = fields.Many2One(
        'meter.location', "Parent", ondelete='CASCADE',
        domain=[('campus', '=', Eval('campus', -1))])
    children = fields.One2Many('meter.location', 'parent', "Children")
    kind = fields.Selection([
            ('area', "Area"),
            ('family_area', "Family Area"),
            ('dormitory', "Dormitory"),
            ('unit_building', "Unit Building"),
            ('building', "Building"),
            ('room', "Room"),
            ], "Kind", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_kind(cls):
        return 'building'

    @fields.depends('parent', '_parent_parent.campus')
    def on_change_parent(self):
        if self.parent:
            self.campus = self.parent.campus
