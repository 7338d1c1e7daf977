"""Phone verification codes: a resident proves the phone number
registered on an account by typing the code sent to it.

Plain Python; the text messages themselves go through a provider of
sms.py, the state through a CodeStorage (store.TableCodeStorage in the
ORM).
"""
import datetime as dt
import hmac
import logging
import secrets
import threading
import time

from .sms import CHINA_TZ, SmsError, VerificationError, normalize_phone

__all__ = ['CodeStorage', 'MemoryCodeStorage', 'VerificationCodes']

logger = logging.getLogger(__name__)


class CodeStorage:
    """Where VerificationCodes keeps its state: a key-value store with
    expiry of small JSON-compatible dicts.

    The ORM may implement it on a table; VerificationCodes serialises the
    calls of one process, a shared store must be used inside a transaction.
    """

    def get(self, key, now):
        "Return the value of key, None if unknown or expired"
        raise NotImplementedError

    def set(self, key, value, expires):
        "Store value under key until expires (epoch seconds)"
        raise NotImplementedError

    def delete(self, key):
        raise NotImplementedError


class MemoryCodeStorage(CodeStorage):
    "In-memory storage for a single process and for tests"

    def __init__(self):
        self._values = {}

    def get(self, key, now):
        value = self._values.get(key)
        if value is None:
            return None
        expires, data = value
        if expires <= now:
            del self._values[key]
            return None
        return dict(data)

    def set(self, key, value, expires):
        self._values[key] = (expires, dict(value))

    def delete(self, key):
        self._values.pop(key, None)

    def purge(self, now):
        for key, (expires, _) in list(self._values.items()):
            if expires <= now:
                del self._values[key]


class VerificationCodes:
    """Sends and checks the 6-digit codes proving a phone number.

    A new code replaces the previous one; a code is valid ttl seconds, for
    max_attempts wrong tries and a single success.  A phone receives at
    most one code per interval seconds and daily_limit codes per day.
    """
    length = 6

    def __init__(
            self, provider, storage=None, template='verification',
            ttl=300, max_attempts=5, interval=60, daily_limit=10):
        self.provider = provider
        self.storage = storage if storage is not None else (
            MemoryCodeStorage())
        self.template = template
        self.ttl = ttl
        self.max_attempts = max_attempts
        self.interval = interval
        self.daily_limit = daily_limit
        self._lock = threading.RLock()

    @staticmethod
    def _day(now):
        return dt.datetime.fromtimestamp(now, CHINA_TZ).date()

    @classmethod
    def _end_of_day(cls, now):
        tomorrow = cls._day(now) + dt.timedelta(days=1)
        return dt.datetime.combine(
            tomorrow, dt.time(), tzinfo=CHINA_TZ).timestamp()

    def _generate(self):
        return str(secrets.randbelow(10 ** self.length)).zfill(self.length)

    def send(self, phone, purpose='bind', now=None):
        """Send a new code to phone for purpose and return its expiry.

        Raise SmsError when the phone is invalid, when sending too often or
        when the provider fails.
        """
        if now is None:
            now = time.time()
        phone = normalize_phone(phone)
        with self._lock:
            last = self.storage.get('sms-last:%s' % phone, now)
            if last is not None:
                wait = int(last['time'] + self.interval - now + 0.999)
                raise SmsError(
                    'rate_limited', "Retry in %d seconds." % wait,
                    retry_after=wait)
            day_key = 'sms-day:%s:%s' % (phone, self._day(now).isoformat())
            day = self.storage.get(day_key, now) or {'count': 0}
            if day['count'] >= self.daily_limit:
                raise SmsError(
                    'daily_limit', "Too many codes today.")
            code = self._generate()
            self.provider.send(phone, self.template, {'code': code})
            expires = now + self.ttl
            self.storage.set(
                'sms-last:%s' % phone, {'time': now}, now + self.interval)
            self.storage.set(
                day_key, {'count': day['count'] + 1},
                self._end_of_day(now))
            self.storage.set(
                self._code_key(phone, purpose),
                {'code': code, 'attempts': 0, 'expires': expires}, expires)
            return expires

    @staticmethod
    def _code_key(phone, purpose):
        return 'sms-code:%s:%s' % (purpose, phone)

    def verify(self, phone, code, purpose='bind', now=None):
        """Check code for phone and purpose and consume it.

        Return the normalized phone, raise VerificationError otherwise.
        """
        if now is None:
            now = time.time()
        phone = normalize_phone(phone)
        key = self._code_key(phone, purpose)
        with self._lock:
            entry = self.storage.get(key, now)
            if entry is None:
                raise VerificationError(
                    'code_expired', "The code has expired.")
            code = code.strip() if isinstance(code, str) else ''
            if hmac.compare_digest(
                    code.encode('utf-8'), entry['code'].encode('ascii')):
                self.storage.delete(key)
                return phone
            attempts = entry['attempts'] + 1
            remaining = self.max_attempts - attempts
            if remaining <= 0:
                self.storage.delete(key)
                raise VerificationError(
                    'too_many_attempts', "Too many wrong codes.")
            entry['attempts'] = attempts
            self.storage.set(key, entry, entry['expires'])
            raise VerificationError(
                'code_invalid', "Wrong code, %d attempts left." % remaining,
                remaining=remaining)
