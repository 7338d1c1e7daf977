from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


# The kinds a resident may submit from the pages, with their page title
RESIDENT_KINDS = {
    'repair': '报修',
    'request': '服务申请',
    'appointment': '预约服务',
    'complaint': '投诉',
    'suggestion': '建议',
    'praise': '表扬',
    'waste': '节能先锋',
    }
# The types of appointments and service requests, as the pages show them
APPOINTMENT_TYPES = {
    'meter_reading': '抄表',
    'fault_check': '故障检查',
    'move_in': '入住登记',
    'move_out': '退房结算',
    }
REQUEST_TYPES = {
    'metering_question': '计量咨询',
    'capacity_increase': '增容申请',
    'safety_assessment': '安全用电评估',
    }


def type_label(order):
    "Return the type of an appointment or service request, or ''"
    if order.kind == 'appointment':
        return APPOINTMENT_TYPES.get(order.appointment_type, '')
    if order.kind == 'request':
        return REQUEST_TYPES.get(order.request_type, '')
    return ''


class WorkOrder(metaclass=PoolMeta):
    __name__ = 'meter.work_order'
    wechat_user = fields.Many2One(
        'meter.wechat.user', "WeChat User", ondelete='SET NULL',
        readonly=True,
        help="The resident who submitted it from WeChat; told of replies.")


class WorkOrderReply(metaclass=PoolMeta):
    __name__ = 'meter.work_order.reply'

    @classmethod
    def create(cls, vlist):
        replies = super().create(vlist)
        to_notify = [r for r in replies
            if r.public and not r.from_requester
            and r.work_order.wechat_user]
        if to_notify:
            cls.__queue__.notify_requester(to_notify)
        return replies

    @classmethod
    def notify_requester(cls, replies):
        "Tell the residents of the replies by template message"
        with without_check_access():
            cls._notify_requester(replies)

    @classmethod
    def _notify_requester(cls, replies):
        # Run by the queue as the staff user, who may not read the settings
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        messages = []
        for reply in replies:
            order = reply.work_order
            kind = RESIDENT_KINDS.get(order.kind, '工单')
            if type_label(order):
                kind += '（%s）' % type_label(order)
            messages.append((order.wechat_user.openid, {
                        'first': '您的%s有新的回复' % kind,
                        'keyword1': order.number,
                        'keyword2': order.subject,
                        'keyword3': reply.text[:100],
                        'remark': '点击查看详情。',
                        }, 'requests/%d' % order.id))
        Configuration(1).send_templates('template_work_order', messages)
