from trytond.pool import Pool, PoolMeta


class Rule(metaclass=PoolMeta):
    "Record rules see the campuses assigned to the user as meter_campuses"
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        pool = Pool()
        User = pool.get('res.user')
        key = super()._get_cache_key(model_names)
        return (*key, tuple(User.get_meter_campuses()))

    @classmethod
    def _get_context(cls, model_name):
        pool = Pool()
        User = pool.get('res.user')
        context = super()._get_context(model_name)
        context['meter_campuses'] = User.get_meter_campuses()
        return context
