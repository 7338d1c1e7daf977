from trytond.model import fields
from trytond.pool import Pool, PoolMeta


class Account(metaclass=PoolMeta):
    """The residents bound to a prepaid account are told when its balance
    falls below the threshold, so that they top up before the supply is
    at risk."""
    __name__ = 'meter.account'
    wechat_bindings = fields.One2Many(
        'meter.wechat.binding', 'account', "WeChat Bindings", readonly=True)

    @classmethod
    def on_low_balance(cls, accounts):
        super().on_low_balance(accounts)
        cls.__queue__.push_low_balance(accounts)

    @classmethod
    def push_low_balance(cls, accounts):
        "Send the low balance template message to the residents"
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Configuration = pool.get('meter.billing.configuration')
        threshold = Configuration(1).low_balance_threshold
        # The balance may have been topped up since the task was queued
        Binding.push('template_balance', [
                ([('id', '=', a.id)], a.low_balance_data(threshold), 'pay')
                for a in cls.browse(accounts) if a.low_balance])

    def low_balance_data(self, threshold):
        return {
            'first': '您的预付费余额不足，请及时充值',
            'keyword1': self.number,
            'keyword2': f'¥{self.balance:.2f}',
            'keyword3': f'¥{threshold:.2f}',
            'remark': '可在“缴费”页面转账充值，或到校区服务大厅缴费。',
            }
