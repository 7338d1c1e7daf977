"""Who opens a page, and as whom it runs.

A ``Resident`` is a WeChat user (meter.wechat.user): the page runs as
root, without access check, and shows only what staff approved for the
resident (``User.account``, ``User.meter``); anything else answers 404.

A ``Staff`` is a Tryton user (res.user): the page runs as that user with
the access and record rules on, as sao does, so a page shows and changes
only what the user's groups allow.  Staff sign in on a page of their own
(meter_field); ``Staff.open_session`` gives the cookie of their
session, and ``Staff.running`` is what runs a page as them.

Both keep their session in their own cookie, signed with their own key,
so that a resident's session is never taken for a staff's.
"""
from contextlib import contextmanager, nullcontext

from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.transaction import Transaction

from . import session as sessions

__all__ = ['Resident', 'Staff']


class Visitor:
    "The visitor of a page; its session is in cookie, signed by secret"
    cookie = None
    # The segment of the pages' addresses after the database
    pages = None
    registered = True
    blocked = False

    def __init__(self, user):
        self.user = user

    @property
    def id(self):
        return self.user.id

    @classmethod
    def secret(cls, configuration):
        raise NotImplementedError

    @classmethod
    def from_session(cls, pool, session):
        "Return the visitor of session or raise SessionError"
        raise NotImplementedError

    @classmethod
    def login(cls, request, configuration, next_):
        "Return the answer that sends an unknown visitor to their login"
        raise NotImplementedError

    def running(self):
        "Return the context manager in which the visitor's page runs"
        return nullcontext()

    def check_limit(self, pool, action):
        "Count a submission of action against the visitor's daily limit"


class Resident(Visitor):
    "A WeChat user of the residents' pages"
    cookie = sessions.COOKIE_NAME
    pages = 'wechat'

    @classmethod
    def secret(cls, configuration):
        return configuration.session_key()

    @classmethod
    def from_session(cls, pool, session):
        User = pool.get('meter.wechat.user')
        users = User.search([('id', '=', session.user)], limit=1)
        if not users:
            raise sessions.SessionError("unknown user")
        return cls(users[0])

    @classmethod
    def login(cls, request, configuration, next_):
        from .web import login_redirect
        return login_redirect(request, configuration, next_)

    @property
    def registered(self):
        return bool(self.user.phone)

    @property
    def blocked(self):
        return self.user.blocked

    @property
    def submitter(self):
        "Who submitted a reading, as the reading keeps it"
        return 'wechat:%s %s' % (self.user.phone, self.user.openid)

    def account(self, account_id):
        return self.user.account(account_id)

    def meter(self, meter_id):
        return self.user.meter(meter_id)

    def meters(self):
        return self.user.meters()

    @property
    def accounts(self):
        return self.user.approved_accounts

    def check_limit(self, pool, action):
        from .limits import check_limit
        check_limit(pool, self.user, action)


class Staff(Visitor):
    "A Tryton user of the staff's pages"
    cookie = 'meter_staff_session'
    pages = 'field'

    @classmethod
    def secret(cls, configuration):
        # Not the residents' key: their cookies are no staff's session
        return 'staff:' + configuration.session_key()

    @classmethod
    def from_session(cls, pool, session):
        User = pool.get('res.user')
        users = User.search([('id', '=', session.user)], limit=1)
        if not users or session.user == 0:
            raise sessions.SessionError("unknown user")
        return cls(users[0])

    @classmethod
    def login(cls, request, configuration, next_):
        from .web import PageError
        raise PageError(HTTPStatus.UNAUTHORIZED, 'msg_page_staff_login')

    @classmethod
    def open_session(cls, configuration, user_id):
        "Return the value of the session cookie of the Tryton user"
        _, cookie = sessions.encode(cls.secret(configuration), user_id)
        return cookie

    @property
    def blocked(self):
        return not self.user.active

    @property
    def submitter(self):
        return self.user.rec_name

    @contextmanager
    def running(self):
        """Run as the user, with the access and record rules on and the
        user's context (companies, employee), in the pages' language"""
        User = Pool().get('res.user')
        transaction = Transaction()
        with transaction.set_user(self.user.id):
            context = User.get_preferences(context_only=True)
            context.pop('language', None)
            with transaction.set_context(context, _check_access=True):
                yield self
