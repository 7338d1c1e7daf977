from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

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
        # Run by the queue as the cashier or finance, who may not read
        # the settings nor the bindings
        with without_check_access():
            cls._push_results(payments)

    @classmethod
    def _push_results(cls, payments):
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Configuration = pool.get('meter.wechat.configuration')
        messages = []
        for payment in payments:
            if payment.state not in {'posted', 'refused'}:
                continue
            data = payment.template_data()
            messages.extend((openid, data, 'pay')
                for openid in Binding.residents_of(
                    [('id', '=', payment.account.id)]))
        Configuration(1).send_templates('template_payment', messages)

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
