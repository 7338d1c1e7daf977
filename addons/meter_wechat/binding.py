import datetime as dt
import unicodedata

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.meter_base.configuration import to_local
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .account import RESIDENT_LANGUAGE
from .exceptions import (
    BindingError, BindingLimitError, BindingMismatchError)

# How many accounts of a category a WeChat user may bind: a household
# has one or two, a unit's energy officer or a dormitory manager many.
LIMITS = {
    'resident': 2,
    'unit': 10,
    'dormitory': 10,
    }
ACTIVE_STATES = {'pending', 'approved'}


def _normalize(text):
    return unicodedata.normalize('NFKC', text or '').strip().replace(' ', '')


def verification_matches(account, verification):
    """Tell if the verification proves the resident knows the account.

    It is either the holder's name on the account or the last 4 digits of
    the phone registered on it.
    """
    verification = _normalize(verification)
    if not verification:
        return False
    if account.name and verification == _normalize(account.name):
        return True
    phone = ''.join(c for c in (account.phone or '') if c.isdigit())
    return (len(verification) == 4 and verification.isdigit()
        and len(phone) >= 4 and phone[-4:] == verification)


class Binding(Workflow, ModelSQL, ModelView):
    """A request of a WeChat user to see an account (户号绑定).

    The resident gives the account number and proves they know it; staff
    approve or reject the request within one working day and the resident
    is told by a template message.  Only approved bindings give access.
    """
    __name__ = 'meter.wechat.binding'
    _states = {'readonly': Eval('state') != 'pending'}
    user = fields.Many2One(
        'meter.wechat.user', "WeChat User", required=True,
        ondelete='CASCADE', states=_states)
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='CASCADE',
        states=_states)
    category = fields.Function(
        fields.Selection('get_categories', "Category"),
        'on_change_with_category')
    phone = fields.Function(fields.Char("Phone"), 'get_phone')
    verification = fields.Char(
        "Verification", readonly=True,
        help="What the resident typed to prove they know the account.")
    verified = fields.Boolean(
        "Verified", readonly=True,
        help="The verification matches the holder's name or phone.")
    requested_at = fields.DateTime("Requested At", readonly=True)
    reviewed_by = fields.Many2One('res.user', "Reviewed By", readonly=True)
    reviewed_at = fields.DateTime("Reviewed At", readonly=True)
    reject_reason = fields.Char(
        "Reject Reason", states={
            'readonly': Eval('state') != 'pending',
            })
    state = fields.Selection([
            ('pending', "Pending"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('unbound', "Unbound"),
            ], "State", readonly=True, required=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('requested_at', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.user, Index.Equality())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'pending'),
                })
        cls._transitions |= {
            ('pending', 'approved'),
            ('pending', 'rejected'),
            ('pending', 'unbound'),
            ('approved', 'unbound'),
            }
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('state') != 'pending',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'pending',
                    'depends': ['state'],
                    },
                'unbind': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        "A binding waiting for approval stands out in the lists"
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'pending', 'warning', ''),
                ['state']),
            ]

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def default_requested_at(cls):
        return dt.datetime.now()

    @classmethod
    def get_categories(cls):
        pool = Pool()
        Account = pool.get('meter.account')
        return Account.fields_get(['category'])['category']['selection']

    @fields.depends('account', '_parent_account.category')
    def on_change_with_category(self, name=None):
        return self.account.category if self.account else None

    def get_phone(self, name):
        return self.user.phone

    def get_rec_name(self, name):
        return '%s - %s' % (self.account.rec_name, self.user.rec_name)

    @classmethod
    def request(cls, user, account, verification):
        """Create the pending binding of account for user.

        Raise BindingError when the account is already bound or the limit
        of its category is reached.
        """
        existing = cls.search([
                ('user', '=', user.id),
                ('account', '=', account.id),
                ('state', 'in', list(ACTIVE_STATES)),
                ])
        if existing:
            raise BindingError(gettext(
                    'meter_wechat.msg_binding_duplicate',
                    account=account.number))
        cls.check_limit(user, account.category)
        binding = cls(
            user=user, account=account, verification=verification,
            verified=verification_matches(account, verification))
        binding.save()
        return binding

    @classmethod
    def request_number(cls, user, number, verification):
        """Create the pending binding for user of the account of number,
        which the verification must match (verification_matches).

        Raise BindingMismatchError when no account matches both, and
        BindingError as request does."""
        pool = Pool()
        Account = pool.get('meter.account')
        number, verification = number.strip(), verification.strip()
        accounts = Account.search([
                ('number', '=', number),
                ], limit=1) if number else []
        if not accounts or not verification_matches(
                accounts[0], verification):
            raise BindingMismatchError(
                gettext('meter_wechat.msg_binding_mismatch'))
        return cls.request(user, accounts[0], verification)

    @classmethod
    def check_limit(cls, user, category):
        limit = LIMITS.get(category, LIMITS['resident'])
        count = cls.search([
                ('user', '=', user.id),
                ('account.category', '=', category),
                ('state', 'in', list(ACTIVE_STATES)),
                ], count=True)
        if count >= limit:
            raise BindingLimitError(gettext(
                    'meter_wechat.msg_binding_limit', limit=limit))

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, bindings):
        # Counted without the bindings being approved, which are still
        # pending, then adding them one by one: a batch cannot pass the
        # limit either.
        counts = {}
        for binding in bindings:
            category = binding.account.category
            key = (binding.user.id, category)
            if key not in counts:
                counts[key] = cls.search([
                        ('user', '=', binding.user.id),
                        ('account.category', '=', category),
                        ('state', '=', 'approved'),
                        ], count=True)
            limit = LIMITS.get(category, LIMITS['resident'])
            if counts[key] >= limit:
                raise BindingLimitError(gettext(
                        'meter_wechat.msg_binding_limit', limit=limit))
            counts[key] += 1
        cls._review(bindings)
        cls.__queue__.notify(bindings)

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, bindings):
        for binding in bindings:
            if not binding.reject_reason:
                raise BindingError(gettext(
                        'meter_wechat.msg_binding_reject_reason',
                        binding=binding.rec_name))
        cls._review(bindings)
        cls.__queue__.notify(bindings)

    @classmethod
    @ModelView.button
    @Workflow.transition('unbound')
    def unbind(cls, bindings):
        pass

    @classmethod
    def _review(cls, bindings):
        cls.write(bindings, {
                'reviewed_by': Transaction().user or None,
                'reviewed_at': dt.datetime.now(),
                })

    @classmethod
    def notify(cls, bindings):
        "Tell the residents the decision by template message"
        with without_check_access():
            cls._notify(bindings)

    @classmethod
    def _notify(cls, bindings):
        # Run by the queue as the reviewer, who may not read the settings
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        Configuration(1).send_templates('template_binding', [
                (b.user.openid, b.template_data(), 'accounts')
                for b in bindings if b.state in {'approved', 'rejected'}])

    def template_data(self):
        "The template message telling the resident the decision"
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        WeChatConfiguration = pool.get('meter.wechat.configuration')
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            if self.state == 'approved':
                first = gettext('meter_wechat.msg_push_binding_approved')
                result = gettext(
                    'meter_wechat.msg_push_binding_approved_result')
            else:
                first = gettext('meter_wechat.msg_push_binding_rejected')
                result = gettext(
                    'meter_wechat.msg_push_binding_rejected_result',
                    reason=self.reject_reason)
            remark = gettext('meter_wechat.msg_push_binding_remark',
                service=WeChatConfiguration(1).get_setting('service_name'))
        return {
            'first': first,
            'keyword1': self.account.number,
            'keyword2': result,
            'keyword3': to_local(
                self.reviewed_at, Configuration.tzinfo()).strftime(
                '%Y-%m-%d %H:%M'),
            'remark': remark,
            }

    @classmethod
    def residents_of(cls, account_domain):
        """Return the OpenIDs of the unblocked users with an approved
        binding to an account matching the domain, each once"""
        bindings = cls.search([
                ('state', '=', 'approved'),
                ('user.blocked', '!=', True),
                ('account', 'where', account_domain),
                ], order=[('id', 'ASC')])
        return list(dict.fromkeys(b.user.openid for b in bindings))

    @classmethod
    def push(cls, template_setting, items):
        """Send the template message of template_setting to the residents
        of the accounts concerned: items are (account domain, data, page).

        Called by the queue as the staff user who acted, who may neither
        read the settings nor the bindings.
        """
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        with without_check_access():
            messages = [(openid, data, page)
                for domain, data, page in items
                for openid in cls.residents_of(domain)]
            Configuration(1).send_templates(template_setting, messages)
