from trytond.model import ModelSQL, fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    meter_campuses = fields.Many2Many(
        'res.user-meter.campus', 'user', 'campus', "Meter Campuses",
        help="The campuses whose meters a field staff user may work on.")

    @classmethod
    def get_meter_campuses(cls):
        "Return the ids of the campuses assigned to the current user"
        user_id = Transaction().user
        if not user_id:
            return []
        user = cls(user_id)
        return [c.id for c in user.meter_campuses]


class UserCampus(ModelSQL):
    "User - Campus"
    __name__ = 'res.user-meter.campus'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='CASCADE')
