from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

KINDS = {
    'water_outage': '停水',
    'power_outage': '停电',
    'general': '通知',
    }


class Notice(metaclass=PoolMeta):
    """Publishing an outage notice pushes it by template message to the
    residents bound to an account of the places concerned."""
    __name__ = 'meter.notice'

    @classmethod
    @ModelView.button
    @Workflow.transition('published')
    def publish(cls, notices):
        super().publish(notices)
        cls.__queue__.push_residents(notices)

    @classmethod
    def push_residents(cls, notices):
        "Send the template message of the notices to their residents"
        # Run by the queue as the publisher, who may not read the
        # settings nor the bindings
        with without_check_access():
            cls._push_residents(notices)

    @classmethod
    def _push_residents(cls, notices):
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Configuration = pool.get('meter.wechat.configuration')
        messages = []
        for notice in notices:
            if notice.state != 'published':
                continue
            data = notice.template_data()
            messages.extend((openid, data, 'notices')
                for openid in Binding.residents_of(notice.account_domain()))
        Configuration(1).send_templates('template_notice', messages)

    def account_domain(self):
        "The domain of the accounts the notice concerns"
        if self.location:
            return [('location', 'child_of', [self.location.id], 'parent')]
        elif self.campus:
            return [('campus', '=', self.campus.id)]
        return []

    def template_data(self):
        if self.location:
            place = f'{self.campus.name} {self.location.rec_name}'
        elif self.campus:
            place = self.campus.name
        else:
            place = '全部校区'
        when = '、'.join(f'{d:%Y-%m-%d %H:%M}'
            for d in [self.start, self.end] if d)
        return {
            'first': self.title,
            'keyword1': KINDS.get(self.kind, '通知'),
            'keyword2': place,
            'keyword3': when.replace('、', ' 至 ') or '另行通知',
            'remark': self.body[:100],
            }
