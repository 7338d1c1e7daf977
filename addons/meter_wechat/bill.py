"""The residents are told by template message when a bill is issued and
a few days before an open bill falls due."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.meter_billing import bulk_write
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .account import RESIDENT_LANGUAGE

# The days before its due date when an open bill is recalled
DUE_REMINDER_DAYS = 3


class Bill(metaclass=PoolMeta):
    __name__ = 'meter.bill'
    due_reminded = fields.Boolean(
        "Due Reminded", readonly=True,
        help="The residents were reminded that the bill falls due.")

    @classmethod
    def copy(cls, bills, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('due_reminded', False)
        return super().copy(bills, default=default)

    @classmethod
    def post_ids(cls, ids):
        super().post_ids(ids)
        if ids:
            cls.__queue__.push_issued(sorted(set(ids)))

    @classmethod
    def push_issued(cls, ids):
        "Send the template message of the bills issued to their residents"
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        bills = [b for b in cls.browse(ids) if b.state != 'draft']
        Binding.push('template_bill', [
                ([('id', '=', b.account.id)], b.template_data('issued'),
                    'bill/%d' % b.id)
                for b in bills if b.state != 'cancelled'])

    @classmethod
    def remind_due(cls, days=DUE_REMINDER_DAYS):
        """Recall the open bills falling due within days to their residents,
        each bill once (trytond-cron, once a day: a day the cron did not
        run is caught up the next, and a second run sends nothing more)"""
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Date = pool.get('ir.date')
        today = Date.today()
        bills = cls.search([
                ('state', 'in', ['posted', 'partially_paid']),
                ('due_date', '>=', today),
                ('due_date', '<=', today + dt.timedelta(days=days)),
                ('due_reminded', '!=', True),
                ])
        if not bills:
            return
        Binding.push('template_bill', [
                ([('id', '=', b.account.id)], b.template_data('due'),
                    'bill/%d' % b.id)
                for b in bills])
        # A bill issued is not written through the ORM any more (its
        # amounts are final): the mark goes straight to its table
        bulk_write.update(cls, ['due_reminded'], [(b.id, True) for b in bills])

    def template_data(self, event):
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            return {
                'first': gettext('meter_wechat.msg_push_bill_%s' % event),
                'keyword1': self.account.number,
                'keyword2': '%s ~ %s' % (self.start_date, self.end_date),
                'keyword3': f'¥{self.amount_to_pay:.2f}',
                'keyword4': f'{self.due_date:%Y-%m-%d}' if self.due_date
                else '',
                'remark': gettext('meter_wechat.msg_push_bill_remark'),
                }
