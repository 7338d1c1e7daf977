# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Online payment through a gateway: the gateways, chosen per campus, and
the payment orders residents pay through them.

A payment is posted only from what the gateway itself says: a verified
notification or the answer to a query, never from the browser's return.
An order posts at most once however many notifications arrive; what it
pays beyond what its bills still owe (another order paid them first) is
the account's credit.  Every message of a gateway, accepted or refused,
is kept in the gateway's log.
"""
import datetime as dt
import logging
import secrets
from decimal import Decimal
from urllib.parse import quote

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .bill import OPEN_STATES
from .exceptions import PaymentGatewayError
from .rules import unionpay, wechatpay

logger = logging.getLogger(__name__)

PROVIDERS = [
    ('unionpay', "UnionPay Online Payment"),
    ('wechat', "WeChat Pay"),
    ]
# The gateway's clock, on which UnionPay reads txnTime and payTimeout
GATEWAY_ZONE = dt.timezone(dt.timedelta(hours=8))
MAX_ONLINE_AMOUNT = Decimal(1_000_000)


class Campus(metaclass=PoolMeta):
    __name__ = 'meter.campus'
    payment_gateway = fields.Many2One(
        'meter.payment.gateway', "Payment Gateway", ondelete='RESTRICT',
        help="The gateway the residents of the campus pay online through; "
        "none: no online payment.")


class Gateway(ModelSQL, ModelView):
    "A payment gateway with the merchant's access to it"
    __name__ = 'meter.payment.gateway'
    name = fields.Char("Name", required=True)
    provider = fields.Selection(PROVIDERS, "Provider", required=True)
    active = fields.Boolean("Active")
    merchant = fields.Char("Merchant ID", required=True)
    url = fields.Char(
        "Gateway URL", required=True,
        help="The address of the gateway's API, e.g. "
        "https://gateway.95516.com/ for UnionPay.")
    statement_url = fields.Char(
        "Statement URL", states={
            'invisible': Eval('provider') != 'unionpay',
            },
        help="The address UnionPay's statements are downloaded from, e.g. "
        "https://filedownload.95516.com/ ; the gateway URL if empty.")
    server_url = fields.Char(
        "Server URL", required=True,
        help="The address of this server as the gateway and the residents "
        "reach it, e.g. https://pay.example.edu.cn/ ; the notifications "
        "and the returns come to it.")
    private_key = fields.Text(
        "Merchant Private Key",
        help="The merchant's signing key (PEM).")
    certificate = fields.Text(
        "Merchant Certificate",
        help="The certificate of the merchant's signing key (PEM).")
    authority_certificate = fields.Text(
        "Gateway Authority Certificate",
        help="The certificate that issues the gateway's signing "
        "certificates (PEM).")
    appid = fields.Char(
        "AppID", states={
            'invisible': Eval('provider') != 'wechat',
            'required': Eval('provider') == 'wechat',
            },
        help="The official account the residents pay in (WeChat Pay).")
    api_key = fields.Char(
        "API Key", states={
            'invisible': Eval('provider') != 'wechat',
            'required': Eval('provider') == 'wechat',
            },
        help="The merchant's API key of WeChat Pay (v2), which signs.")
    timeout = fields.Integer(
        "Timeout (seconds)", required=True,
        domain=[('timeout', '>', 0)])
    expiry_minutes = fields.Integer(
        "Order Expiry (minutes)", required=True,
        domain=[('expiry_minutes', '>', 0)],
        help="How long a resident has to pay an order at the gateway.")
    events = fields.One2Many(
        'meter.payment.gateway.event', 'gateway', "Log", readonly=True)

    @classmethod
    def default_active(cls):
        return True

    @classmethod
    def default_provider(cls):
        return 'unionpay'

    @classmethod
    def default_timeout(cls):
        return 10

    @classmethod
    def default_expiry_minutes(cls):
        return 15

    def client(self):
        "Return the client of the provider's protocol"
        if self.provider == 'unionpay':
            return unionpay.UnionPayClient(self.merchant, self.private_key,
                self.certificate, self.authority_certificate, self.url,
                timeout=self.timeout, file_url=self.statement_url)
        elif self.provider == 'wechat':
            return wechatpay.WeChatPayClient(self.appid, self.api_key,
                self.merchant, self.url, timeout=self.timeout)
        raise NotImplementedError(self.provider)

    def parse_statement(self, data):
        """Return the StatementLines of a statement of the gateway (bytes,
        as downloaded); raise GatewayError when it is not one"""
        if self.provider == 'unionpay':
            return unionpay.parse_statement(data)
        elif self.provider == 'wechat':
            return wechatpay.parse_bill(data)
        raise NotImplementedError(self.provider)

    @classmethod
    def notification_answer(cls, gateway_id, accepted):
        """Return (body, content type, HTTP status) of the answer to a
        notification of the gateway of id"""
        gateways = cls.search([('id', '=', gateway_id)], limit=1)
        if gateways and gateways[0].provider == 'wechat':
            # WeChat Pay reads the XML, not the status
            return (wechatpay.SUCCESS_ANSWER if accepted
                else wechatpay.FAIL_ANSWER), 'application/xml', (
                200 if accepted else 400)
        return ('ok' if accepted else 'refused'), 'text/plain', (
            200 if accepted else 400)

    def notify_url(self, database_name):
        return '%s%s/payment_gateway/%d/notify' % (
            _slash(self.server_url), quote(database_name), self.id)

    @classmethod
    def handle_notification(cls, gateway_id, form, body=None):
        """Handle the notification of the gateway of id (the posted form,
        or the body for WeChat Pay); return True when accepted (posted now
        or before), False when refused (logged)"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Event = pool.get('meter.payment.gateway.event')
        gateways = cls.search([('id', '=', gateway_id)], limit=1)
        data = '&'.join('%s=%s' % (k, v) for k, v in sorted(form.items())
            if k not in {'signature', 'signPubKeyCert'})
        if not gateways:
            logger.warning("notification for unknown gateway %s", gateway_id)
            return False
        gateway, = gateways
        if gateway.provider == 'wechat':
            form = body or b''
            data = form.decode('utf-8', 'replace')[:4000]
        try:
            result = gateway.client().notification(form)
        except unionpay.GatewayError as exception:
            Event.log(gateway, None, 'notification', 'refused',
                exception.code, data)
            logger.warning("notification refused by gateway %s: %s",
                gateway.id, exception)
            return False
        orders = Order.search([
                ('number', '=', result.order_id),
                ('gateway', '=', gateway.id),
                ], limit=1)
        if not orders:
            Event.log(gateway, None, 'notification', 'refused',
                'unknown_order', data)
            logger.warning("notification of unknown order %s",
                result.order_id)
            return False
        return Order.process(orders[0], result, 'notification', data)


def _slash(url):
    return url if url.endswith('/') else url + '/'


class GatewayEvent(ModelSQL, ModelView):
    """A message from a gateway (a notification, a query's answer) and
    what became of it"""
    __name__ = 'meter.payment.gateway.event'
    gateway = fields.Many2One(
        'meter.payment.gateway', "Gateway", required=True,
        ondelete='CASCADE', readonly=True)
    order = fields.Many2One(
        'meter.payment.order', "Order", ondelete='CASCADE', readonly=True)
    date = fields.DateTime("Date", required=True, readonly=True)
    kind = fields.Selection([
            ('notification', "Notification"),
            ('query', "Query"),
            ('close', "Close"),
            ], "Kind", required=True, readonly=True)
    outcome = fields.Selection([
            ('posted', "Posted"),
            ('duplicate', "Already Posted"),
            ('pending', "Pending"),
            ('failed', "Failed"),
            ('expired', "Expired"),
            ('refused', "Refused"),
            ('error', "Error"),
            ], "Outcome", required=True, readonly=True)
    reason = fields.Char("Reason", readonly=True)
    data = fields.Text("Data", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.order, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def log(cls, gateway, order, kind, outcome, reason=None, data=None):
        return cls.create([{
                    'gateway': gateway.id,
                    'order': order.id if order else None,
                    'date': dt.datetime.now(),
                    'kind': kind,
                    'outcome': outcome,
                    'reason': reason,
                    'data': data,
                    }])[0]


class Order(Workflow, ModelSQL, ModelView):
    """A payment order a resident pays at a gateway: the bills chosen, or
    a top-up of a prepaid account, for an amount checked against them.

    It is pending until the gateway says it is paid (posting a payment,
    once) or it expires unpaid and is closed."""
    __name__ = 'meter.payment.order'
    _rec_name = 'number'
    number = fields.Char("Number", required=True, readonly=True)
    gateway = fields.Many2One(
        'meter.payment.gateway', "Gateway", required=True,
        ondelete='RESTRICT', readonly=True)
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='RESTRICT',
        readonly=True)
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='RESTRICT',
        readonly=True)
    kind = fields.Selection([
            ('bills', "Bills"),
            ('topup', "Top-up"),
            ], "Kind", required=True, readonly=True)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True, readonly=True)
    bills = fields.One2Many(
        'meter.payment.order.bill', 'order', "Bills", readonly=True)
    payer = fields.Char("Payer", readonly=True)
    sent_at = fields.DateTime("Sent At", required=True, readonly=True)
    expires_at = fields.DateTime("Expires At", required=True, readonly=True)
    paid_at = fields.DateTime("Paid At", readonly=True)
    reference = fields.Char(
        "Gateway Reference", readonly=True,
        help="The gateway's number of the transaction (queryId).")
    payment = fields.Many2One(
        'meter.payment', "Payment", readonly=True, ondelete='RESTRICT')
    state = fields.Selection([
            ('pending', "Pending"),
            ('paid', "Paid"),
            ('failed', "Failed"),
            ('expired', "Expired"),
            ], "State", required=True, readonly=True, sort=False)
    events = fields.One2Many(
        'meter.payment.gateway.event', 'order', "Log", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('number_unique', Unique(t, t.number),
                'meter_billing.msg_payment_order_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.account, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'pending'),
                })
        cls._order = [('sent_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('pending', 'paid'),
            ('pending', 'failed'),
            ('pending', 'expired'),
            ('failed', 'paid'),
            ('expired', 'paid'),
            }
        cls._buttons.update({
                'check': {
                    'invisible': Eval('state') != 'pending',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def _new_number(cls, now):
        "An order number as UnionPay takes it: 8 to 40 letters and digits"
        return now.strftime('%Y%m%d%H%M%S') + secrets.token_hex(6).upper()

    @classmethod
    def create_for(cls, account, bills=None, amount=None, payer=None):
        """Create the order paying the open bills of account (ids), or
        topping up the prepaid account with amount (Decimal); return it.

        Raise PaymentGatewayError when the campus takes no online payment,
        a bill is not an open bill of the account or the amount is
        wrong."""
        pool = Pool()
        Bill = pool.get('meter.bill')
        gateway = account.campus.payment_gateway
        if not gateway or not gateway.active:
            raise PaymentGatewayError(gettext(
                    'meter_billing.msg_payment_gateway_none',
                    campus=account.campus.rec_name))
        values = []
        if bills:
            records = Bill.search([
                    ('id', 'in', list(bills)),
                    ('account', '=', account.id),
                    ('state', 'in', OPEN_STATES),
                    ])
            if len(records) != len(set(bills)):
                raise PaymentGatewayError(gettext(
                        'meter_billing.msg_payment_order_bills'))
            values = [{'bill': b.id, 'amount': b.amount_to_pay}
                for b in records]
            total = sum((v['amount'] for v in values), Decimal(0))
            kind = 'bills'
        else:
            if account.billing_mode != 'prepaid':
                raise PaymentGatewayError(gettext(
                        'meter_billing.msg_payment_order_bills'))
            total = amount
            kind = 'topup'
        if (total is None or total <= 0 or total > MAX_ONLINE_AMOUNT
                or total != total.quantize(Decimal('0.01'))):
            raise PaymentGatewayError(gettext(
                    'meter_billing.msg_payment_order_amount'))
        now = dt.datetime.now()
        order, = cls.create([{
                    'number': cls._new_number(now),
                    'gateway': gateway.id,
                    'account': account.id,
                    'campus': account.campus.id,
                    'kind': kind,
                    'amount': total,
                    'bills': [('create', values)] if values else [],
                    'payer': payer,
                    'sent_at': now,
                    'expires_at': now + dt.timedelta(
                        minutes=gateway.expiry_minutes),
                    }])
        return order

    def _gateway_time(self, moment):
        "A stored (naive UTC) moment on the gateway's clock, naive"
        return moment.replace(tzinfo=dt.timezone.utc).astimezone(
            GATEWAY_ZONE).replace(tzinfo=None)

    def front_form(self, database_name, return_url):
        """Return (action, fields) of the form the resident's browser posts
        to the gateway to pay"""
        return self.gateway.client().front_form(self.number,
            self._gateway_time(self.sent_at), self.amount, return_url,
            self.gateway.notify_url(database_name),
            self._gateway_time(self.expires_at))

    def wechat_jsapi(self, database_name, openid, client_ip, body):
        """Place the order at WeChat Pay; return the parameters of the
        page's chooseWXPay"""
        return self.gateway.client().jsapi(self.number, self.amount, body,
            self.gateway.notify_url(database_name), openid, client_ip,
            self._gateway_time(self.sent_at).replace(tzinfo=GATEWAY_ZONE),
            self._gateway_time(self.expires_at).replace(tzinfo=GATEWAY_ZONE))

    @classmethod
    def process(cls, order, result, source, data=None):
        """Apply what the gateway says of order (a unionpay.Result) from
        source (notification or query); post the payment once.  Return
        False when refused (a wrong amount), True otherwise."""
        pool = Pool()
        Event = pool.get('meter.payment.gateway.event')
        # One at a time per order: a second notification waits for the
        # first and then finds the order paid
        cls.lock([order])
        state, = cls._read_state(order)
        order = cls(order.id)
        if result.state == 'paid' and result.amount != order.amount:
            Event.log(order.gateway, order, source, 'refused',
                'amount %s' % result.amount, data)
            logger.warning("order %s: paid %s for %s refused",
                order.number, result.amount, order.amount)
            return False
        if result.state == 'paid':
            if state == 'paid':
                Event.log(order.gateway, order, source, 'duplicate',
                    None, data)
                return True
            cls._pay(order, result)
            Event.log(order.gateway, order, source, 'posted', None, data)
        elif result.state == 'failed':
            if state == 'pending':
                cls._fail([order])
            Event.log(order.gateway, order, source, 'failed', result.code,
                data)
        else:
            Event.log(order.gateway, order, source, 'pending', result.code,
                data)
        return True

    @classmethod
    def _read_state(cls, order):
        "Read the state from the table, not from a cache"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.state,
                where=table.id == order.id))
        return cursor.fetchone()

    @classmethod
    def _pay(cls, order, result):
        pool = Pool()
        Payment = pool.get('meter.payment')
        Date = pool.get('ir.date')
        payment, = Payment.create([{
                    'account': order.account.id,
                    'campus': order.campus.id,
                    'date': Date.today(),
                    'method': 'online',
                    'amount': order.amount,
                    'payer': order.payer,
                    'online_order': order.id,
                    'transfer_reference': result.reference,
                    }])
        Payment.post([payment])
        cls.write([order], {
                'payment': payment.id,
                'reference': result.reference,
                'paid_at': dt.datetime.now(),
                })
        cls._paid([order])

    @classmethod
    @Workflow.transition('paid')
    def _paid(cls, orders):
        pass

    @classmethod
    @Workflow.transition('failed')
    def _fail(cls, orders):
        pass

    @classmethod
    @Workflow.transition('expired')
    def _expire(cls, orders):
        pass

    @classmethod
    @ModelView.button
    def check(cls, orders):
        """Ask the gateway the state of the pending orders; an order past
        its expiry the gateway has not seen paid is closed as expired"""
        pool = Pool()
        Event = pool.get('meter.payment.gateway.event')
        now = dt.datetime.now()
        for order in orders:
            if order.state != 'pending':
                continue
            try:
                result = order.gateway.client().query(
                    order.number, order._gateway_time(order.sent_at))
            except unionpay.GatewayError as exception:
                Event.log(order.gateway, order, 'query', 'error',
                    exception.code)
                logger.warning("query of order %s failed: %s",
                    order.number, exception)
                continue
            if result.state == 'paid':
                cls.process(order, result, 'query')
            elif order.expires_at < now:
                cls.close(order, result)
            else:
                cls.process(order, result, 'query')

    @classmethod
    def close(cls, order, result):
        """Close the unpaid order at the gateway (UnionPay closes it
        itself at its payTimeout) and mark it expired"""
        pool = Pool()
        Event = pool.get('meter.payment.gateway.event')
        if order.gateway.provider == 'wechat':
            try:
                order.gateway.client().close(order.number)
            except unionpay.GatewayError as exception:
                Event.log(order.gateway, order, 'close', 'error',
                    exception.code)
                return
        cls.lock([order])
        if cls._read_state(order)[0] != 'pending':
            return
        cls._expire([order])
        Event.log(order.gateway, order, 'close', 'expired', result.code)

    @classmethod
    def expire_orders(cls, domain=None):
        """Check the pending orders past their expiry: paid ones are
        posted, the others closed (trytond-cron, and the pay page for its
        resident's)"""
        orders = cls.search([
                ('state', '=', 'pending'),
                ('expires_at', '<', dt.datetime.now()),
                *(domain or []),
                ])
        cls.check(orders)


class OrderBill(ModelSQL, ModelView):
    "A bill of a payment order with what it owed when the order was made"
    __name__ = 'meter.payment.order.bill'
    order = fields.Many2One(
        'meter.payment.order', "Order", required=True, ondelete='CASCADE')
    bill = fields.Many2One(
        'meter.bill', "Bill", required=True, ondelete='RESTRICT')
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.order, Index.Range())))


class Payment(metaclass=PoolMeta):
    "An online payment is allocated to the bills of its order only"
    __name__ = 'meter.payment'
    online_order = fields.Many2One(
        'meter.payment.order', "Online Order", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': Eval('method') != 'online'})

    def _allocation_bills(self):
        """The bills of an order paying bills, while still open: what
        another order paid first leaves this amount as credit"""
        if self.online_order and self.online_order.kind == 'bills':
            return [ob.bill for ob in self.online_order.bills
                if ob.bill.state in OPEN_STATES]
        return super()._allocation_bills()


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('meter.payment.order|expire_orders',
                "Close Expired Payment Orders"))
