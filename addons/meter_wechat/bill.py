"""The residents are told by template message when a bill is issued and
a few days before an open bill falls due."""
import datetime as dt

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .account import RESIDENT_LANGUAGE

# The days before its due date when an open bill is recalled
DUE_REMINDER_DAYS = 3


class Bill(metaclass=PoolMeta):
    __name__ = 'meter.bill'

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
        """Recall the open bills falling due in days to their residents
        (trytond-cron, once a day)"""
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Date = pool.get('ir.date')
        due = Date.today() + dt.timedelta(days=days)
        bills = cls.search([
                ('state', 'in', ['posted', 'partially_paid']),
                ('due_date', '=', due),
                ])
        Binding.push('template_bill', [
                ([('id', '=', b.account.id)], b.template_data('due'),
                    'bill/%d' % b.id)
                for b in bills])

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
