import datetime as dt

from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool


def valid_id(value):
    """Tell if value may be the id of a record: a resident can type any
    number in an address, and the database refuses those out of range"""
    return isinstance(value, int) and 0 < value < 2 ** 31


class User(ModelSQL, ModelView):
    """A resident who opened the pages from the WeChat official account.

    The OpenID identifies them for this account; the mobile number, proven
    by an SMS code, registers them.  They see nothing but the accounts
    (户号) staff approved for them.
    """
    __name__ = 'meter.wechat.user'
    _rec_name = 'openid'
    openid = fields.Char("OpenID", required=True, readonly=True)
    phone = fields.Char("Phone", readonly=True)
    registered_at = fields.DateTime("Registered At", readonly=True)
    last_login = fields.DateTime("Last Login", readonly=True)
    blocked = fields.Boolean(
        "Blocked", help="A blocked resident can not use the pages.")
    bindings = fields.One2Many(
        'meter.wechat.binding', 'user', "Bindings", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('openid_unique', Unique(t, t.openid),
                'meter_wechat.msg_user_openid_unique'),
            ]
        cls._order.insert(0, ('registered_at', 'DESC'))

    @classmethod
    def default_blocked(cls):
        return False

    def get_rec_name(self, name):
        if self.phone:
            return '%s (%s)' % (self.phone, self.openid)
        return self.openid

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('openid', operator, value),
            ('phone', operator, value),
            ]

    @classmethod
    def login(cls, openid):
        "Return the user of openid, created at the first visit"
        users = cls.search([('openid', '=', openid)], limit=1)
        if users:
            user, = users
        else:
            user = cls(openid=openid)
        user.last_login = dt.datetime.now()
        user.save()
        return user

    def register(self, phone):
        self.phone = phone
        self.registered_at = dt.datetime.now()
        self.save()

    @property
    def approved_accounts(self):
        "The active accounts the resident may see"
        pool = Pool()
        Account = pool.get('meter.account')
        # Asked on every page: one query, not one per binding
        return Account.search([
                ('wechat_bindings', 'where', [
                        ('user', '=', self.id),
                        ('state', '=', 'approved'),
                        ]),
                ], order=[('number', 'ASC')])

    def account(self, account_id):
        "Return the approved account of id or None"
        pool = Pool()
        Account = pool.get('meter.account')
        if not valid_id(account_id):
            return None
        accounts = Account.search([
                ('id', '=', account_id),
                ('wechat_bindings', 'where', [
                        ('user', '=', self.id),
                        ('state', '=', 'approved'),
                        ]),
                ], limit=1)
        return accounts[0] if accounts else None

    def _meters_domain(self):
        """The domain of the meters of the approved accounts, but those
        recorded on site that the office has not confirmed yet"""
        return [
            ('state', '!=', 'draft'),
            ('account.wechat_bindings', 'where', [
                    ('user', '=', self.id),
                    ('state', '=', 'approved'),
                    ]),
            ('account.active', '=', True),
            ]

    def meter(self, meter_id):
        "Return the meter of id of an approved account or None"
        pool = Pool()
        Meter = pool.get('meter.meter')
        if not valid_id(meter_id):
            return None
        meters = Meter.search([
                ('id', '=', meter_id),
                *self._meters_domain(),
                ], limit=1)
        return meters[0] if meters else None

    def meters(self):
        "The active meters of the approved accounts"
        pool = Pool()
        Meter = pool.get('meter.meter')
        return Meter.search([
                ('state', '=', 'active'),
                *self._meters_domain(),
                ], order=[('account', 'ASC'), ('number', 'ASC')])

    def bill(self, bill_id):
        """Return the issued bill of id of an approved account or None: a
        draft is no notice yet, and another resident's bill is no one's
        business here"""
        pool = Pool()
        Bill = pool.get('meter.bill')
        if not valid_id(bill_id):
            return None
        bills = Bill.search([
                ('id', '=', bill_id),
                ('state', '!=', 'draft'),
                ('account.wechat_bindings', 'where', [
                        ('user', '=', self.id),
                        ('state', '=', 'approved'),
                        ]),
                ], limit=1)
        return bills[0] if bills else None
