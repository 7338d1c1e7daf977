"""The nonces of the callback's messages: each is accepted once within
the time WeChat may repeat it, so that a captured message can not be
replayed.  The ORM keeps them in a table (store.TableNonceStore)."""
import threading

__all__ = ['NonceStore', 'MemoryNonceStore', 'DEFAULT_NONCE_STORE']


class NonceStore:
    """Remembers the nonces already seen to refuse replayed requests.

    The in-memory implementation only protects one process; a server with
    many workers should give a store backed by a shared table.
    """

    def remember(self, key, expires, now):
        """Record key until expires (epoch seconds).

        Return False if key is already known and not expired: the request
        is a replay.  Must be atomic.
        """
        raise NotImplementedError


class MemoryNonceStore(NonceStore):
    "Thread-safe in-memory nonce store with expiry"

    def __init__(self, max_size=100000):
        self.max_size = max_size
        self._keys = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._keys)

    def remember(self, key, expires, now):
        with self._lock:
            known = self._keys.get(key)
            if known is not None and known > now:
                return False
            if len(self._keys) >= self.max_size:
                self._purge(now)
            self._keys[key] = expires
            return True

    def _purge(self, now):
        for key, expires in list(self._keys.items()):
            if expires <= now:
                del self._keys[key]
        if len(self._keys) >= self.max_size:
            # Only requests signed with our token get here, so this is a
            # flood from WeChat itself: forget the oldest half.
            ordered = sorted(self._keys.items(), key=lambda i: i[1])
            for key, _ in ordered[:len(ordered) // 2]:
                del self._keys[key]


DEFAULT_NONCE_STORE = MemoryNonceStore()
