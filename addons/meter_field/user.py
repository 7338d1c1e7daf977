"""The staff's contact fields, their WeChat OpenID and what they change of
themselves on the field pages (个人信息)"""
import re

from trytond.exceptions import RateLimitException
from trytond.i18n import gettext
from trytond.model import Unique, fields
from trytond.modules.meter_wechat.sms import SmsError, normalize_phone
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import ContactError, PasswordChangeError

# An office phone as staff write it: digits, spaces, dashes, an extension
_OFFICE_PHONE = re.compile(
    r'^\+?[0-9][0-9 ()-]{4,23}(?:\s*(?:转|ext\.?|#)\s*[0-9]{1,6})?$')
_EMAIL = re.compile(r'^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$')
MAX_EMAIL = 254


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    mobile = fields.Char("Mobile")
    office_phone = fields.Char("Office Phone")
    field_openid = fields.Char("WeChat OpenID (Field Pages)",
        help="The WeChat user who opens the field pages as this user "
        "without a password.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('field_openid_unique', Unique(t, t.field_openid),
                'meter_field.msg_user_field_openid_unique'),
            ]
        cls._preferences_fields += ['mobile', 'office_phone']

    @classmethod
    def field_user_of_openid(cls, openid):
        "Return the active user bound to the WeChat openid, or None"
        if not openid:
            return None
        users = cls.search([('field_openid', '=', openid)], limit=1)
        return users[0] if users else None

    def bind_field_openid(self, openid):
        """Bind the WeChat openid to the user, taking it from another
        user it was bound to: the phone's WeChat is now the user's who
        just logged in with their password"""
        with Transaction().set_context(active_test=False):
            others = self.search([
                    ('field_openid', '=', openid),
                    ('id', '!=', self.id),
                    ])
        with without_check_access():
            if others:
                self.write(others, {'field_openid': None})
            self.write([self], {'field_openid': openid})

    def unbind_field_openid(self):
        with without_check_access():
            self.write([self], {'field_openid': None})

    @classmethod
    def validate_fields(cls, users, field_names):
        super().validate_fields(users, field_names)
        cls.check_contact(users, field_names)

    @classmethod
    def check_contact(cls, users, field_names=None):
        """The contact fields as the office and the pages read them: an
        11-digit mobile, an office phone of digits and an e-mail address
        (checked here too, as res.user checks it only with the optional
        email_validator)"""
        if field_names and not (
                set(field_names) & {'mobile', 'office_phone', 'email'}):
            return
        for user in users:
            if user.mobile:
                try:
                    valid = normalize_phone(user.mobile) == user.mobile
                except SmsError:
                    valid = False
                if not valid:
                    raise ContactError(gettext(
                            'meter_field.msg_contact_mobile_invalid'))
            if user.office_phone and not _OFFICE_PHONE.match(
                    user.office_phone):
                raise ContactError(gettext(
                        'meter_field.msg_contact_office_phone_invalid'))
            if user.email and (len(user.email) > MAX_EMAIL
                    or not _EMAIL.match(user.email)):
                raise ContactError(gettext(
                        'meter_field.msg_contact_email_invalid'))

    def set_field_contact(self, mobile, office_phone, email):
        """Write the contact fields the user edits on the field pages, the
        mobile as its 11 digits; raise ContactError naming the first wrong
        one"""
        mobile = (mobile or '').strip()
        try:
            mobile = normalize_phone(mobile) if mobile else None
        except SmsError:
            pass  # refused as typed by check_contact
        values = {
            'mobile': mobile or None,
            'office_phone': (office_phone or '').strip() or None,
            'email': (email or '').strip() or None,
            }
        with Transaction().set_user(self.id), without_check_access():
            self.set_preferences(values)

    def change_field_password(self, old, new, confirmation):
        """Change the user's password: the old one checked by Tryton's own
        login (with its throttling), the new one by the rules of res.user
        (validate_password)"""
        if not old or not new:
            raise PasswordChangeError(gettext(
                    'meter_field.msg_password_missing'))
        if new != confirmation:
            raise PasswordChangeError(gettext(
                    'meter_field.msg_password_mismatch'))
        try:
            user_id = self.get_login(self.login, {'password': old})
        except RateLimitException:
            raise PasswordChangeError(gettext(
                    'meter_field.msg_login_too_many'))
        if user_id != self.id:
            raise PasswordChangeError(gettext(
                    'meter_field.msg_password_old_wrong'))
        if new == old:
            raise PasswordChangeError(gettext(
                    'meter_field.msg_password_same'))
        with Transaction().set_user(self.id), without_check_access():
            self.set_preferences({'password': new})

    def field_work_orders(self, limit=20):
        """Return the number of the open work orders assigned to the user
        and the first of them"""
        WorkOrder = Pool().get('meter.work_order')
        domain = [
            ('assignee', '=', self.id),
            ('state', 'in', ['open', 'processing']),
            ]
        return (WorkOrder.search(domain, count=True),
            WorkOrder.search(domain, limit=limit))

    def field_faults(self, offset=0, limit=20):
        """Return the number of the faults the user reported from site and
        a page of them, the last reported first"""
        WorkOrder = Pool().get('meter.work_order')
        domain = [
            ('reporter', '=', self.id),
            ('kind', '=', 'fault'),
            ]
        return (WorkOrder.search(domain, count=True),
            WorkOrder.search(domain, offset=offset, limit=limit,
                order=[('create_date', 'DESC'), ('id', 'DESC')]))
