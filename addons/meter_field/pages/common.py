"""What the field pages share: their visitor, their prefix, a meter's card,
and what was typed in a form posted after the session expired."""
from decimal import Decimal
from urllib.parse import quote, urlencode

from trytond.modules.meter_wechat.visitor import Staff
from trytond.modules.meter_wechat.web import (
    not_found, page_url, safe_next)
from trytond.pool import Pool

__all__ = ['PREFIX', 'PAGE_SIZE', 'FieldStaff', 'kept_form', 'card_path',
    'card_url', 'find_meter', 'field_label', 'plain']

PREFIX = '/<database_name>/field'
# The rows of a list page
PAGE_SIZE = 20
# What a form keeps of its fields through the login: never a password,
# the token or a photo (the files are not in request.form)
_NOT_KEPT = {'csrf_token', 'back', 'media_id'}
MAX_KEPT_VALUE = 120


class FieldStaff(Staff):
    "A member of staff on the field pages: unknown, they get the login"

    @classmethod
    def login(cls, request, configuration, next_):
        from .login import login_redirect
        if request.method == 'POST':
            next_, kept = kept_form(request)
        else:
            kept = False
        return login_redirect(request, configuration, next_, expired=kept)


def kept_form(request):
    """Return the page to come back to after the login from a form posted
    without a valid session, with what was typed in its query (the form
    names its page in its hidden field back), and whether the form was
    one of ours.  The card and 个人信息 fill their fields from it; the
    photo must be taken again."""
    back = safe_next(request.form.get('back', ''))
    if not back or '?' in back:
        return '', False
    values = [(k, v) for k, v in request.form.items(multi=True)
        if k not in _NOT_KEPT and 'password' not in k
        and len(v) <= MAX_KEPT_VALUE]
    next_ = safe_next(back + '?' + urlencode(values)) if values else back
    return next_ or back, True


def card_path(meter):
    "The path of the meter's card in the pages: its code, quoted"
    return 'm/' + quote(meter.code, safe='')


def card_url(request, meter):
    "The address of the meter's card"
    return page_url(request, card_path(meter))


def find_meter(pool, code):
    "The meter of the code, within the staff's record rules, or 404"
    meter = pool.get('meter.meter').from_code(code)
    if meter is None:
        raise not_found('meter_field.msg_meter_not_found')
    return meter


def field_label(record, field):
    """The staff's text of the value of a selection field of record: its
    translation in zh_CN.po, as sao shows it"""
    value = getattr(record, field)
    if not value:
        return ''
    Model = Pool().get(record.__name__)
    return dict(Model.fields_get([field])[field]['selection']).get(
        value, value)


def plain(number):
    "A Decimal as text without its trailing zeros nor exponent (20.00 → 20)"
    if number is None:
        return ''
    return '{:f}'.format(Decimal(number).normalize())
