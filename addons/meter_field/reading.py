"The readings as the field staff follow them"
from trytond.pool import PoolMeta


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'

    @classmethod
    def in_review_of(cls, user, limit=20):
        """Return the number of the readings user took that wait for a
        reviewer (draft: a check failed) and the last of them, within the
        caller's record rules"""
        domain = [
            ('reader', '=', user.id),
            ('state', '=', 'draft'),
            ]
        return (cls.search(domain, count=True),
            cls.search(domain, limit=limit))
