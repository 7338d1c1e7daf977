"The work orders the field staff report from site"
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

from .sync import IdempotentMixin


class WorkOrder(IdempotentMixin, metaclass=PoolMeta):
    "A fault reported from a phone keeps the idempotency key of its report"
    __name__ = 'meter.work_order'

    @classmethod
    def report_fault_once(cls, key, *args, **kwargs):
        """Report the fault as report_fault does, the order created with
        the key of the submission (sync.once() makes it idempotent)"""
        with Transaction().set_context(_field_fault_key=key):
            return cls.report_fault(*args, **kwargs)

    @classmethod
    def create(cls, vlist):
        key = Transaction().context.get('_field_fault_key')
        if key:
            vlist = [dict(v, idempotency_key=key) for v in vlist]
        return super().create(vlist)
