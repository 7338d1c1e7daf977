"""Business messages to staff (业务消息): what waits for them reaches them

New binding requests, resident work orders and service requests, readings
waiting for review and bank transfers waiting for finance are announced to
the staff who handle them: a notification in sao (the bell) and, for staff
who bound their WeChat, a template message.

Who is told: the holders of an active post on which the kind is switched
on, who hold one of the kind's groups (their own or through a post) and
whose campuses cover the record (the meter administrators see every
campus, as the record rules let them).

Batched: one event (a create, an import, a review) gives one notification
per kind and recipient, whatever the number of records; while it is
unread, the next events add to its count instead of adding notifications,
and the WeChat message is sent only with a new notification.  So an
import of 10,000 readings tells each reviewer once."""
import datetime as dt
import logging

from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.modules.meter_service.work_order import FIELD_KINDS
from trytond.modules.meter_wechat.client import WeChatApiError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

logger = logging.getLogger(__name__)

KINDS = [
    ('binding', "Binding Requests"),
    ('work_order', "Work Orders"),
    ('reading_review', "Readings to Review"),
    ('transfer', "Transfers to Review"),
    ]
# kind: (the groups handling it, the list the notification opens)
HANDLERS = {
    'binding': (
        ['meter_base.group_service_desk', 'meter_base.group_meter_admin'],
        'meter_wechat.act_binding'),
    'work_order': (
        ['meter_base.group_service_desk', 'meter_base.group_meter_admin'],
        'meter_service.act_work_order'),
    'reading_review': (
        ['meter_base.group_meter_admin'],
        'meter_base.act_reading_review'),
    'transfer': (
        ['meter_base.group_finance'],
        'meter_billing.act_payment'),
    }


def _xml_id(xml_id):
    module, fs_id = xml_id.split('.')
    return Pool().get('ir.model.data').get_id(module, fs_id)


class Post(metaclass=PoolMeta):
    __name__ = 'meter.post'
    message_binding = fields.Boolean(
        "Binding Requests",
        help="Tell the holders of new binding requests.")
    message_work_order = fields.Boolean(
        "Work Orders",
        help="Tell the holders of new work orders and service requests "
        "of residents.")
    message_reading_review = fields.Boolean(
        "Readings to Review",
        help="Tell the holders of readings waiting for review.")
    message_transfer = fields.Boolean(
        "Transfers to Review",
        help="Tell the holders of bank transfers waiting for finance.")

    @classmethod
    def default_message_binding(cls):
        return False

    @classmethod
    def default_message_work_order(cls):
        return False

    @classmethod
    def default_message_reading_review(cls):
        return False

    @classmethod
    def default_message_transfer(cls):
        return False


class Notification(metaclass=PoolMeta):
    __name__ = 'res.notification'
    business_kind = fields.Selection(
        [(None, "")] + KINDS, "Business Message", readonly=True)
    business_count = fields.Integer("Count", readonly=True)

    @classmethod
    def push_business_wechat(cls, notifications):
        """Send the notifications by template message to the WeChat bound
        by their users, when the staff template is set"""
        pool = Pool()
        Configuration = pool.get('meter.wechat.configuration')
        Lang = pool.get('ir.lang')
        with without_check_access():
            config = Configuration(1)
            template = config.get_setting('template_staff')
            api = config.api()
            if not template or not api:
                return
            now = dt.datetime.now()
            for notification in notifications:
                user = notification.user
                if not user.field_openid:
                    continue
                language = user.language.code if user.language else None
                with Transaction().set_context(language=language):
                    kind = dict(cls.fields_get(
                            ['business_kind'])['business_kind'][
                            'selection'])[notification.business_kind]
                    lang = Lang.get()
                data = {
                    'first': notification.label,
                    'keyword1': kind,
                    'keyword2': lang.format_number(
                        notification.business_count),
                    'keyword3': now.strftime('%Y-%m-%d %H:%M'),
                    'remark': notification.description,
                    }
                try:
                    api.send_template(user.field_openid, template, data)
                except WeChatApiError as exception:
                    logger.warning("business message not sent to user %s: "
                        "%s", user.id, exception)


class BusinessMessage(Model):
    "Business messages to the staff who handle what waits"
    __name__ = 'meter.business_message'

    @classmethod
    def recipients(cls, kind, campuses):
        """Return the users told of records of kind at campuses (ids, None
        for a record of no campus), each with the number of the records
        they see"""
        pool = Pool()
        User = pool.get('res.user')
        Post = pool.get('meter.post')
        groups, _ = HANDLERS[kind]
        admin_group = _xml_id('meter_base.group_meter_admin')
        posts = Post.search([('message_%s' % kind, '=', True)])
        holders = {u.id for p in posts for u in p.holders}
        if not holders:
            return {}
        users = User.search([
                ('id', 'in', list(holders)),
                ('all_groups', 'in', [_xml_id(g) for g in groups]),
                ])
        result = {}
        for user in users:
            if admin_group in {g.id for g in user.all_groups}:
                count = len(campuses)
            else:
                own = {c.id for c in user.campuses}
                count = sum(1 for c in campuses if c is None or c in own)
            if count:
                result[user] = count
        return result

    @classmethod
    def dispatch(cls, kind, campuses):
        """Tell the staff of kind about new records at campuses (one id, or
        None, per record): one notification per recipient"""
        if not campuses:
            return
        with without_check_access(), \
                Transaction().set_context(active_test=True):
            cls._dispatch(kind, list(campuses))

    @classmethod
    def _dispatch(cls, kind, campuses):
        pool = Pool()
        Notification = pool.get('res.notification')
        ActWindow = pool.get('ir.action.act_window')
        _, action = HANDLERS[kind]
        action = ActWindow(_xml_id(action)).action
        recipients = cls.recipients(kind, campuses)
        if not recipients:
            return
        unread = {n.user: n for n in Notification.search([
                    ('user', 'in', [u.id for u in recipients]),
                    ('business_kind', '=', kind),
                    ('unread', '=', True),
                    ])}
        to_save, new = [], []
        for user, count in recipients.items():
            notification = unread.get(user)
            if notification:
                count += notification.business_count or 0
            else:
                # With a value, the action reaches sao whole: sao 8.0
                # cannot execute an action given by its id alone
                notification = Notification(
                    user=user, business_kind=kind, action=action,
                    action_value='{}', icon='tryton-notification')
                new.append(notification)
            notification.business_count = count
            with Transaction().set_context(language=user.language.code
                    if user.language else None):
                notification.label = gettext(
                    'meter_field.msg_business_%s' % kind, count=count)
                notification.description = gettext(
                    'meter_field.msg_business_description')
            to_save.append(notification)
        Notification.save(to_save)
        wechat = [n for n in new if n.user.field_openid]
        if wechat:
            Notification.__queue__.push_business_wechat(wechat)


class Binding(metaclass=PoolMeta):
    __name__ = 'meter.wechat.binding'

    @classmethod
    def create(cls, vlist):
        bindings = super().create(vlist)
        Pool().get('meter.business_message').dispatch('binding', [
                b.account.campus.id if b.account.campus else None
                for b in bindings if b.state == 'pending'])
        return bindings


class WorkOrder(metaclass=PoolMeta):
    __name__ = 'meter.work_order'

    @classmethod
    def create(cls, vlist):
        orders = super().create(vlist)
        Pool().get('meter.business_message').dispatch('work_order', [
                o.campus.id if o.campus else None
                for o in orders if o.kind not in FIELD_KINDS])
        return orders


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'

    @classmethod
    def check_readings(cls, readings):
        super().check_readings(readings)
        # Those whose photo is still to be examined are told by
        # check_evidence
        cls._announce_review([r for r in readings
                if getattr(r, 'evidence', None) != 'pending'])

    @classmethod
    def check_evidence(cls, readings):
        super().check_evidence(readings)
        cls._announce_review(cls.browse(readings))

    @classmethod
    def create_bulk(cls, rows, source, **kwargs):
        # The imports' readings skip check_readings: those left for review
        # are told from the rows created, set-based
        pool = Pool()
        Meter = pool.get('meter.meter')
        result = super().create_bulk(rows, source, **kwargs)
        if result.created > result.confirmed:
            reading = cls.__table__()
            meter = Meter.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*reading.join(meter,
                    condition=reading.meter == meter.id
                    ).select(meter.campus, Count(reading.id),
                    where=(reading.id > result.after)
                    & (reading.create_uid == result.user)
                    & (reading.create_date == result.created_at)
                    & (reading.state == 'draft'),
                    group_by=[meter.campus]))
            pool.get('meter.business_message').dispatch('reading_review',
                [c for campus, count in cursor for c in [campus] * count])
        return result

    @classmethod
    def _announce_review(cls, readings):
        Pool().get('meter.business_message').dispatch('reading_review', [
                r.meter.campus.id if r.meter.campus else None
                for r in readings if r.state == 'draft'])


class Payment(metaclass=PoolMeta):
    __name__ = 'meter.payment'

    @classmethod
    def wait(cls, payments):
        super().wait(payments)
        Pool().get('meter.business_message').dispatch('transfer', [
                p.campus.id for p in cls.browse(payments)
                if p.state == 'waiting'])
