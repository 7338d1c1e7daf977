from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .account import RESIDENT_LANGUAGE
from .exceptions import SubmissionError
from .labels import label
from .submission import check_photo, fetch_photo

# The kinds a resident may submit from the pages, in the order shown
RESIDENT_KINDS = (
    'repair', 'request', 'appointment', 'complaint', 'suggestion', 'praise',
    'waste')
# How the pages and the WorkOrder.submit write an appointment's slot
SLOT_FORMAT = '%Y-%m-%dT%H:%M'


def type_label(order):
    "Return the type of an appointment or service request, or ''"
    if order.kind == 'appointment':
        return label(order, 'appointment_type')
    if order.kind == 'request':
        return label(order, 'request_type')
    return ''


class WorkOrder(metaclass=PoolMeta):
    __name__ = 'meter.work_order'
    wechat_user = fields.Many2One(
        'meter.wechat.user', "WeChat User", ondelete='SET NULL',
        readonly=True,
        help="The resident who submitted it from WeChat; told of replies.")

    @classmethod
    def submit(cls, kind, *, account=None, subject='', description='',
            place='', appointment_type=None, request_type=None, slot=None,
            photo=None, phone=None, wechat_user=None):
        """Create the work order a requester submits and return it.

        An appointment takes its type and a slot (SLOT_FORMAT) of the
        working calendar of the account's campus with a place left; a
        service request its type; either is its own subject when none is
        given.  A waste report needs its photo.  photo is the bytes or a
        callable returning them or None, called after the form's checks
        (see submission.py).  Raise SubmissionError when refused before
        anything is written."""
        pool = Pool()
        Calendar = pool.get('meter.calendar')
        campus = account.campus if account else None
        appointment_at = None
        if kind == 'appointment':
            request_type = None
            if not appointment_type or appointment_type not in dict(
                    cls.fields_get(['appointment_type'])[
                        'appointment_type']['selection']):
                raise SubmissionError(gettext(
                        'meter_wechat.msg_work_order_appointment_type'))
            chosen = [s for s in Calendar.appointment_slots(campus)
                if s[0].strftime(SLOT_FORMAT) == slot]
            if not chosen:
                raise SubmissionError(
                    gettext('meter_wechat.msg_work_order_slot'))
            appointment_at, _, left = chosen[0]
            if left <= 0:
                raise SubmissionError(
                    gettext('meter_wechat.msg_work_order_slot_full'))
            subject = subject or label(
                cls.__name__, 'appointment_type', appointment_type)
        elif kind == 'request':
            appointment_type = None
            if not request_type or request_type not in dict(
                    cls.fields_get(['request_type'])[
                        'request_type']['selection']):
                raise SubmissionError(gettext(
                        'meter_wechat.msg_work_order_request_type'))
            subject = subject or label(
                cls.__name__, 'request_type', request_type)
        else:
            appointment_type = request_type = None
        if not subject:
            raise SubmissionError(
                gettext('meter_wechat.msg_work_order_subject'))
        photo = fetch_photo(photo)
        if photo is not None:
            check_photo(photo)
        elif kind == 'waste':
            raise SubmissionError(
                gettext('meter_wechat.msg_work_order_waste_photo'))
        order, = cls.create([{
                    'kind': kind,
                    'appointment_type': appointment_type,
                    'request_type': request_type,
                    'subject': subject,
                    'description': description,
                    'place': place,
                    'account': account.id if account else None,
                    'campus': campus.id if campus else None,
                    'location': (account.location.id
                        if account and account.location else None),
                    'appointment_at': appointment_at,
                    'requester_phone': phone,
                    'requester': phone,
                    'wechat_user': wechat_user.id if wechat_user else None,
                    'photos': ([('create', [{
                                        'photo': photo,
                                        'name': 'photo',
                                        }])] if photo else []),
                    }])
        return order

    def follow_up(self, text, before=None):
        """Add the requester's public reply text to the order, unless it is
        empty or the order closed; return the reply or None.  before is
        called when the reply is to be added (the web layer counts it
        against the daily limit there)."""
        pool = Pool()
        Reply = pool.get('meter.work_order.reply')
        text = (text or '').strip()[:2000]
        if not text or self.state in {'done', 'cancelled'}:
            return None
        if before:
            before()
        reply, = Reply.create([{
                    'work_order': self.id,
                    'text': text,
                    'public': True,
                    'from_requester': True,
                    'author': None,
                    }])
        return reply


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
        with Transaction().set_context(language=RESIDENT_LANGUAGE):
            for reply in replies:
                order = reply.work_order
                kind = label(order, 'kind')
                if type_label(order):
                    kind = gettext('meter_wechat.msg_push_work_order_type',
                        kind=kind, type=type_label(order))
                messages.append((order.wechat_user.openid, {
                            'first': gettext(
                                'meter_wechat.msg_push_work_order_reply',
                                kind=kind),
                            'keyword1': order.number,
                            'keyword2': order.subject,
                            'keyword3': reply.text[:100],
                            'remark': gettext(
                                'meter_wechat.msg_push_see_details'),
                            }, 'requests/%d' % order.id))
        Configuration(1).send_templates('template_work_order', messages)
