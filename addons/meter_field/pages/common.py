"What the field pages share: their visitor, their prefix, a meter's card"
from urllib.parse import quote

from trytond.modules.meter_wechat.web import not_found, page_url
from trytond.modules.meter_wechat.visitor import Staff

__all__ = ['PREFIX', 'FieldStaff', 'card_url', 'find_meter']

PREFIX = '/<database_name>/field'


class FieldStaff(Staff):
    "A member of staff on the field pages: unknown, they get the login form"

    @classmethod
    def login(cls, request, configuration, next_):
        from .login import login_form
        return login_form(request, configuration, next_)


def card_url(request, meter):
    "The address of the meter's card: its code, quoted"
    return page_url(request, 'm/' + quote(meter.code, safe=''))


def find_meter(pool, code):
    "The meter of the code, within the staff's record rules, or 404"
    meter = pool.get('meter.meter').from_code(code)
    if meter is None:
        raise not_found('meter_field.msg_meter_not_found')
    return meter
