from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta

METHODS = {
    'cash': '现金',
    'cheque': '支票',
    'transfer': '银行转账',
    }


class Payment(metaclass=PoolMeta):
    """The residents bound to the account are told by template message
    when a payment is posted (with its receipt) or a transfer refused."""
    __name__ = 'meter.payment'

    @classmethod
    @ModelView.button
    def post(cls, payments):
        super().post(payments)
        cls._queue_results(payments)

    @classmethod
    @ModelView.button
    def approve(cls, payments):
        super().approve(payments)
        cls._queue_results(payments)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, payments):
        super().refuse(payments)
        cls.__queue__.push_results(payments)

    @classmethod
    def _queue_results(cls, payments):
        posted = [p for p in cls.browse(payments) if p.state == 'posted']
        if posted:
            cls.__queue__.push_results(posted)

    @classmethod
    def push_results(cls, payments):
        "Send the template message of the payments to their residents"
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Binding.push('template_payment', [
                ([('id', '=', p.account.id)], p.template_data(), 'pay')
                for p in payments if p.state in {'posted', 'refused'}])

    def template_data(self):
        method = METHODS.get(self.method, self.method)
        if self.state == 'posted':
            first = '您的缴费已入账'
            remark = f'收据号：{self.receipt_number}'
        else:
            first = '您的转账缴费未通过审核'
            remark = f'原因：{self.cancel_reason}'
        return {
            'first': first,
            'keyword1': self.account.number,
            'keyword2': f'¥{self.amount:.2f}',
            'keyword3': method,
            'keyword4': f'{self.date:%Y-%m-%d}',
            'remark': remark,
            }
