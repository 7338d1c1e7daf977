from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


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
        with without_check_access():
            cls._push_low_balance(accounts)

    @classmethod
    def _push_low_balance(cls, accounts):
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Configuration = pool.get('meter.wechat.configuration')
        BillingConfiguration = pool.get('meter.billing.configuration')
        threshold = BillingConfiguration(1).low_balance_threshold
        messages = []
        for account in cls.browse(accounts):
            # The balance may have been topped up since the task was queued
            if not account.low_balance:
                continue
            data = {
                'first': '您的预付费余额不足，请及时充值',
                'keyword1': account.number,
                'keyword2': f'¥{account.balance:.2f}',
                'keyword3': f'¥{threshold:.2f}',
                'remark': '可在“缴费”页面转账充值，或到校区服务大厅缴费。',
                }
            messages.extend((openid, data, 'pay')
                for openid in Binding.residents_of(
                    [('id', '=', account.id)]))
        Configuration(1).send_templates('template_balance', messages)
