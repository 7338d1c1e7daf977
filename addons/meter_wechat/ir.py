from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('meter.wechat.store|purge', "Purge WeChat Store"))
        cls.method.selection.append(
            ('meter.bill|remind_due', "Recall Bills Falling Due"))
