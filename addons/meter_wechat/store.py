"""A small key-value table with expiry shared by every server process.

It keeps what must be the same for all the processes behind the proxy:
the nonces of WeChat's callbacks (a replay is refused by whichever
process receives it), the SMS verification codes and their counters,
the per-resident submission counters and WeChat's access token.
"""
import json
import time

from sql import Cast, Conflict
from sql.conditionals import Case

from trytond.model import Index, ModelSQL, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from wechatpy.session import SessionStorage

from .nonce import NonceStore
from .verification import CodeStorage


class Store(ModelSQL):
    "WeChat key-value store with expiry"
    __name__ = 'meter.wechat.store'
    key = fields.Char("Key", required=True)
    value = fields.Text("Value")
    expires = fields.Float("Expires", required=True,
        help="Epoch seconds after which the value is forgotten.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('key_unique', Unique(t, t.key),
                'meter_wechat.msg_store_key_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.expires, Index.Range())))

    @classmethod
    def get_value(cls, key, now=None):
        "Return the decoded value of key, None if unknown or expired"
        if now is None:
            now = time.time()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.value,
                where=(table.key == key) & (table.expires > now)))
        row = cursor.fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None

    @classmethod
    def set_value(cls, key, value, expires):
        "Store value under key until expires, replacing any other value"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.key == key))
        cursor.execute(*table.insert(
                [table.key, table.value, table.expires],
                [[key, json.dumps(value), expires]]))

    @classmethod
    def add_value(cls, key, value, expires, now=None):
        """Store value under key unless an unexpired value exists.

        Return False when the key is taken; atomic across processes thanks
        to the unique key.
        """
        if now is None:
            now = time.time()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(
                where=(table.key == key) & (table.expires <= now)))
        cursor.execute(*table.insert(
                [table.key, table.value, table.expires],
                [[key, json.dumps(value), expires]],
                on_conflict=Conflict(table, indexed_columns=[table.key])))
        return cursor.rowcount == 1

    @classmethod
    def delete_key(cls, key):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.key == key))

    @classmethod
    def purge(cls, now=None):
        "Forget the expired values (run by cron)"
        if now is None:
            now = time.time()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.expires <= now))

    @classmethod
    def increment(cls, key, expires, now=None):
        """Increment the counter under key and return its new value

        One upsert, which keeps the row locked until the transaction ends:
        two processes counting at once cannot both read the same value (on
        PostgreSQL the second waits for the first's row, and a
        serialisation failure is retried by trytond), so the value returned
        is the rank of this submission.  An expired counter
        starts again at 1 with the new expiry.
        """
        if now is None:
            now = time.time()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        alive = table.expires > now
        cursor.execute(*table.insert(
                [table.key, table.value, table.expires],
                [[key, '1', expires]],
                on_conflict=Conflict(table,
                    indexed_columns=[table.key],
                    columns=[table.value, table.expires],
                    values=[
                        Case((alive,
                                Cast(Cast(table.value, 'INTEGER') + 1,
                                    cls.value.sql_type().base)),
                            else_='1'),
                        Case((alive, table.expires), else_=expires),
                        ])))
        # The row is ours until the end of the transaction
        cursor.execute(*table.select(table.value, where=table.key == key))
        return int(cursor.fetchone()[0])


class TableNonceStore(NonceStore):
    "Callback nonces in the store: a replay is refused by every process"

    def remember(self, key, expires, now):
        Store = Pool().get('meter.wechat.store')
        return Store.add_value('nonce:' + key, None, expires, now)


class TableCodeStorage(CodeStorage):
    "SMS verification codes and counters in the store"

    def get(self, key, now):
        return Pool().get('meter.wechat.store').get_value(key, now)

    def set(self, key, value, expires):
        Pool().get('meter.wechat.store').set_value(key, value, expires)

    def delete(self, key):
        Pool().get('meter.wechat.store').delete_key(key)


class TokenStorage(SessionStorage):
    """wechatpy's session storage in the store.

    All the processes share one access token: each fetch of a new one
    invalidates the previous after a few minutes.
    """
    default_ttl = 7200

    def get(self, key, default=None):
        value = Pool().get('meter.wechat.store').get_value('wechatpy:' + key)
        return default if value is None else value

    def set(self, key, value, ttl=None):
        if Transaction().readonly:
            return
        Pool().get('meter.wechat.store').set_value(
            'wechatpy:' + key, value,
            time.time() + (ttl or self.default_ttl))

    def delete(self, key):
        if Transaction().readonly:
            return
        Pool().get('meter.wechat.store').delete_key('wechatpy:' + key)
