from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.modules.meter_base.configuration import to_local
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .account import RESIDENT_LANGUAGE


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
        pool = Pool()
        Binding = pool.get('meter.wechat.binding')
        Binding.push('template_notice', [
                (n.account_domain(), n.template_data(), 'notices')
                for n in notices if n.state == 'published'])

    def account_domain(self):
        "The domain of the accounts the notice concerns"
        if self.location:
            return [('location', 'child_of', [self.location.id], 'parent')]
        elif self.campus:
            return [('campus', '=', self.campus.id)]
        return []

    def template_data(self):
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            return self._template_data()

    def _template_data(self):
        if self.location:
            place = f'{self.campus.name} {self.location.rec_name}'
        elif self.campus:
            place = self.campus.name
        else:
            place = gettext('meter_wechat.msg_push_notice_all_campuses')
        zone = Pool().get('meter.configuration').tzinfo()
        moments = [f'{to_local(d, zone):%Y-%m-%d %H:%M}'
            for d in [self.start, self.end] if d]
        if len(moments) == 2:
            when = gettext('meter_wechat.msg_push_notice_period',
                start=moments[0], end=moments[1])
        elif moments:
            when = moments[0]
        else:
            when = gettext('meter_wechat.msg_push_notice_unscheduled')
        return {
            'first': self.title,
            'keyword1': gettext(
                'meter_wechat.msg_push_notice_%s' % self.kind),
            'keyword2': place,
            'keyword3': when,
            'remark': self.body[:100],
            }
