"""Submissions made on a phone, maybe without signal, and sent later.

Each submission of the field pages (a reading, a skip, a fault, and the
other kinds the phone's queue may carry) holds an idempotency key the
phone made when the staff member pressed the button: the record it
created keeps it in a unique column, so that the same submission sent
twice (after a timeout, from two tabs, after a crash, or at the same
moment from two connections) creates one record and the second answers
with the first's result.  The time a submission was made is the phone's
(``taken_at``, ISO 8601 with its offset), not the time it arrived.
"""
import datetime as dt
import re

from trytond.i18n import gettext
from trytond.model import Unique, fields
from trytond.model.exceptions import SQLConstraintError
from trytond.transaction import Transaction

from .exceptions import SyncError

__all__ = ['IdempotentMixin', 'parse_key', 'parse_taken_at', 'once']

# What the phone makes: a UUID (crypto.randomUUID) or another random token
KEY = re.compile(r'^[A-Za-z0-9_-]{16,64}$')
# A phone's clock may be a little ahead of the server's
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
# A queue kept on a phone for longer than this is not sent as it is
MAX_AGE = dt.timedelta(days=62)


class IdempotentMixin:
    "A record made by a submission of the phones, found by its key"
    __slots__ = ()
    idempotency_key = fields.Char(
        "Idempotency Key", readonly=True, strip=False,
        help="Made by the phone for the submission that created the "
        "record: the same submission sent again gives the same record.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('idempotency_key_unique', Unique(t, t.idempotency_key),
                'meter_field.msg_idempotency_key_unique'),
            ]

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('idempotency_key')
        return super().copy(records, default=default)

    @classmethod
    def of_key(cls, key):
        "Return the record the submission of key made, or None"
        records = cls.search([('idempotency_key', '=', key)], limit=1)
        return records[0] if records else None


def parse_key(text):
    "Return the idempotency key of a form or raise SyncError"
    text = (text or '').strip()
    if not KEY.match(text):
        raise SyncError(gettext('meter_field.msg_idempotency_key_invalid'))
    return text


def parse_taken_at(text, now=None):
    """Return the naive UTC moment of an ISO 8601 time with its offset as
    the phone writes it, or raise SyncError: a time without offset would
    be read on the wrong clock, one in the future or long ago is a
    phone's clock set wrong."""
    text = (text or '').strip()
    try:
        if not text or len(text) > 40:
            raise ValueError
        moment = dt.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise SyncError(gettext(
                'meter_field.msg_taken_at_invalid', value=text[:40]))
    if moment.tzinfo is None:
        raise SyncError(gettext(
                'meter_field.msg_taken_at_invalid', value=text))
    moment = moment.astimezone(dt.timezone.utc).replace(
        tzinfo=None, microsecond=0)
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if moment > now + FUTURE_TOLERANCE or moment < now - MAX_AGE:
        raise SyncError(gettext(
                'meter_field.msg_taken_at_out_of_range', value=text))
    return moment


def once(Model, key, create):
    """Return (record, replayed): the record the submission of key made
    before, or the one create() makes now.

    Two submissions of one key at the same moment both find none; the
    unique key lets one insert and makes the other wait for it, then
    fail: that one is rolled back and answers with the first's record."""
    record = Model.of_key(key)
    if record is not None:
        return record, True
    try:
        return create(), False
    except SQLConstraintError:
        Transaction().rollback()
        record = Model.of_key(key)
        if record is None:
            raise
        return record, True
