"The work orders the field staff report from site"
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

from .sync import IdempotentMixin


class WorkOrder(IdempotentMixin, metaclass=PoolMeta):
    """A fault reported from a phone keeps the idempotency key of its
    report, and the time it was reported on the phone"""
    __name__ = 'meter.work_order'

    @classmethod
    def report_fault_once(cls, key, submitted_at, *args, **kwargs):
        """Report the fault as report_fault does, the order created with
        the key of the submission and submitted at submitted_at (naive
        UTC, the phone's time, as sync.parse_taken_at checks it): its
        reply deadline counts from then.  sync.once() makes it
        idempotent."""
        with Transaction().set_context(_field_fault_key=key,
                _field_fault_submitted_at=submitted_at):
            return cls.report_fault(*args, **kwargs)

    @classmethod
    def create(cls, vlist):
        context = Transaction().context
        key = context.get('_field_fault_key')
        if key:
            submitted_at = context.get('_field_fault_submitted_at')
            vlist = [dict(v, idempotency_key=key) for v in vlist]
            if submitted_at:
                vlist = [dict(v, submitted_at=submitted_at) for v in vlist]
        return super().create(vlist)
