from trytond.pool import Pool, PoolMeta


class Date(metaclass=PoolMeta):
    """Today is the service centre's day: the one clock of the suite

    The centre's time zone (Configuration › Time Zone, read by
    meter.configuration's tzinfo()) dates everything: bills, payments and
    reports through ir.date as much as the residents' pages, the working
    calendar and the slots.  It replaces, when no zone is given, the
    company's zone that the company module would use, so that a bill
    posted at 00:30 in Beijing is dated the same day as the pages show.
    """
    __name__ = 'ir.date'

    @classmethod
    def today(cls, timezone=None):
        if timezone is None:
            timezone = Pool().get('meter.configuration').tzinfo()
        return super().today(timezone=timezone)


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
