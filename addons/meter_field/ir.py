from trytond.pool import PoolMeta
from trytond.transaction import Transaction


class Rule(metaclass=PoolMeta):
    """Record rules know the user's id as user_id: field staff see their
    own reading rounds"""
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if {'meter.field.round', 'meter.field.round.line',
                'meter.field.route', 'meter.field.route.meter'} & set(
                    model_names):
            key = (*key, Transaction().user)
        return key

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        context['user_id'] = Transaction().user
        return context


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('meter.field.route|generate_month',
                    "Make the Reading Rounds of the Month"),
                ('meter.loss|compute_closed',
                    "Compute the Losses of the Last Closed Period"),
                ('meter.dashboard|refresh_usage',
                    "Compute the Dashboard's Use of the Last Twelve Months"),
                ])
