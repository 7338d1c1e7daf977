"The readings as the field staff follow them"
from trytond.pool import Pool, PoolMeta


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

    @classmethod
    def create(cls, vlist):
        # A reading of a meter of a round, whoever took it, reads its line
        readings = super().create(vlist)
        Line = Pool().get('meter.field.round.line')
        Line.link_readings(readings)
        return readings

    @classmethod
    def write(cls, *args):
        # A reading rejected, moved to another meter or day may unread a
        # line and read another
        actions = iter(args)
        changed = []
        for readings, values in zip(actions, actions):
            if (values.keys() & {'meter', 'taken_at'}
                    or values.get('state') in {'rejected', 'draft'}):
                changed.extend(readings)
        before = [(r.meter, r.taken_at) for r in cls.browse(changed)]
        super().write(*args)
        if changed:
            Line = Pool().get('meter.field.round.line')
            Line.link_readings(cls.browse(changed), before)
