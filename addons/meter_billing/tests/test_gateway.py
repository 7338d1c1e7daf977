# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Online payment through UnionPay, against the local fake gateway that
speaks its protocol with keys and certificates made for the test."""
import datetime as dt
import sys
import unittest
from decimal import Decimal
from pathlib import Path

import requests

from trytond.modules.meter_billing.exceptions import PaymentGatewayError
from trytond.modules.meter_billing.rules import unionpay, wechatpay
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

try:
    from tests.fakes.unionpay import FakeUnionPay, make_pki
    from tests.fakes.wechat_pay import FakeWeChatPay
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    sys.modules.pop('tests', None)
    from tests.fakes.unionpay import FakeUnionPay, make_pki
    from tests.fakes.wechat_pay import FakeWeChatPay


class UnionPayProtocolTestCase(unittest.TestCase):
    "The merchant's side of UnionPay's protocol, without Tryton"

    @classmethod
    def setUpClass(cls):
        cls.pki = make_pki()

    def client(self, url='http://127.0.0.1:9/'):
        return unionpay.UnionPayClient('777290058110048',
            self.pki['merchant_key'], self.pki['merchant_cert'],
            self.pki['authority_cert'], url)

    def test_fen(self):
        "Amounts go to fen exactly, and only exact ones"
        self.assertEqual(unionpay.to_fen(Decimal('56.78')), '5678')
        self.assertEqual(unionpay.to_fen(Decimal('0.01')), '1')
        self.assertEqual(unionpay.from_fen('5678'), Decimal('56.78'))
        for amount in ['0.001', '0', '-1']:
            with self.assertRaises(unionpay.UnionPayError):
                unionpay.to_fen(Decimal(amount))
        for text in ['12.5', '-1', '', '１２']:
            with self.assertRaises(unionpay.UnionPayError):
                unionpay.from_fen(text)

    def test_signatures(self):
        "A notification verifies; tampered, self-signed or foreign do not"
        fake = FakeUnionPay(self.pki)
        fake.orders['ORDER1'] = {'txnTime': '20261206120000',
            'txnAmt': '5678', 'state': 'paid', 'queryId': 'Q1'}
        client = self.client()
        fields = fake.notification('ORDER1')
        result = client.notification(fields)
        self.assertEqual((result.order_id, result.state, result.amount,
                result.reference), ('ORDER1', 'paid', Decimal('56.78'), 'Q1'))
        for name, value in [('txnAmt', '1'), ('orderId', 'ORDER2'),
                ('respCode', '01')]:
            with self.subTest(tampered=name), self.assertRaises(
                    unionpay.UnionPayError) as context:
                client.notification(dict(fields, **{name: value}))
            self.assertEqual(context.exception.code, 'signature')
        # Signed by a key whose certificate the authority did not issue
        forger = FakeUnionPay(make_pki())
        forger.orders = fake.orders
        with self.assertRaises(unionpay.UnionPayError) as context:
            client.notification(forger.notification('ORDER1'))
        self.assertEqual(context.exception.code, 'certificate')
        with self.assertRaises(unionpay.UnionPayError):
            client.notification(dict(fields, signature=''))

    def test_statement_format(self):
        """The statement archive holds the ZM file in its fixed widths; a
        line out of the format is named"""
        lines = [
            unionpay.StatementLine('20261206120000A1B2C3D4E5F6', 'Q' * 21,
                Decimal('34.18'), '20261206120000'),
            unionpay.StatementLine('ORDER2', 'Q2', Decimal('0.01'),
                '20261206130000', 'refund'),
            ]
        name, archive = unionpay.write_archive(
            lines, '777290058110048', dt.date(2026, 12, 6))
        self.assertEqual(name, '777290058110048_20261206.zip')
        zm = unionpay.statement_file(archive)
        first = zm.splitlines()[0]
        # Each field at its place: 交易代码, 交易金额 in fen zero-padded,
        # 查询流水号 and 商户订单号 padded to 21 and 32
        self.assertEqual(first[:4], b'S22 ')
        self.assertEqual(first[66:79], b'000000003418 ')
        self.assertEqual(first[87:109], b'Q' * 21 + b' ')
        self.assertEqual(first[112:145],
            b'20261206120000A1B2C3D4E5F6'.ljust(32) + b' ')
        self.assertEqual(len(first), 607)
        self.assertEqual(unionpay.parse_statement(archive), [
                lines[0]._replace(txn_time='1206120000'),
                lines[1]._replace(txn_time='1206130000')])
        # The ZM file alone parses as the archive does
        self.assertEqual(unionpay.parse_statement(zm),
            unionpay.parse_statement(archive))
        bad_amount = first[:66] + b'00000000341x' + first[78:]
        for data, line in [
                (zm + first[:300] + b'\r\n', 3),
                (first + b'\r\n' + bad_amount + b'\r\n', 2),
                (b'garbage', 1)]:
            with self.subTest(line=line), self.assertRaises(
                    unionpay.UnionPayError) as context:
                unionpay.parse_statement(data)
            self.assertEqual(context.exception.line, line)
        with self.assertRaises(unionpay.UnionPayError) as context:
            unionpay.parse_statement(archive[:40])
        self.assertIsNone(context.exception.line)

    def test_parse_response(self):
        self.assertEqual(unionpay.parse_response(
                'a=1&b={x=1&y=2}&c=q=r&d='),
            {'a': '1', 'b': '{x=1&y=2}', 'c': 'q=r', 'd': ''})


class GatewayTestCase(unittest.TestCase):
    "Online payment orders through the fake UnionPay gateway"

    @classmethod
    def setUpClass(cls):
        activate_module('meter_billing')
        cls.fake = FakeUnionPay().start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        super().setUp()
        self.fake.orders.clear()
        self.fake.query_delay = 0
        self.fake.extra_statement_lines = []

    def setup_account(self, mode='postpaid', amounts=('30.00', '40.00')):
        "Return the gateway, the account and its posted bills"
        pool = Pool()
        Gateway = pool.get('meter.payment.gateway')
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Period = pool.get('meter.billing.period')
        Bill = pool.get('meter.bill')
        gateway, = Gateway.create([{
                    'name': "UnionPay", 'provider': 'unionpay',
                    'merchant': self.fake.mer_id, 'url': self.fake.url,
                    'server_url': 'http://127.0.0.1:9/',
                    'private_key': self.fake.pki['merchant_key'],
                    'certificate': self.fake.pki['merchant_cert'],
                    'authority_certificate': self.fake.pki['authority_cert'],
                    'timeout': 1,
                    }])
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN',
                    'payment_gateway': gateway.id}])
        account, = Account.create([{'number': 'A1', 'name': "A1",
                    'campus': campus.id, 'billing_mode': mode}])
        bills = []
        for month, amount in enumerate(amounts, 3):
            period, = Period.create([{'name': '2026-%02d' % month,
                        'start_date': dt.date(2026, month, 1),
                        'end_date': dt.date(2026, month + 1, 1)
                        - dt.timedelta(days=1),
                        'due_date': dt.date(2026, month + 1, 15)}])
            amount = Decimal(amount)
            bills.extend(Bill.create([{
                            'account': account.id, 'campus': campus.id,
                            'category': 'resident', 'billing_mode': mode,
                            'period': period.id,
                            'start_date': period.start_date,
                            'end_date': period.end_date,
                            'due_date': period.due_date,
                            'lines': [('create', [{
                                            'kind': 'electricity',
                                            'type': 'usage',
                                            'quantity': Decimal(1),
                                            'unit_price': amount,
                                            'amount': amount}])],
                            }]))
        Bill.post(bills)
        return gateway, account, bills

    def send_to_gateway(self, order):
        "Post the order's front form to the fake as the browser does"
        action, fields = order.front_form('db', 'http://127.0.0.1:9/return')
        self.assertEqual(fields['txnAmt'], unionpay.to_fen(order.amount))
        response = requests.post(action, data=fields, timeout=5)
        self.assertEqual(response.status_code, 200, response.text)

    @with_transaction()
    def test_pay_bills_once(self):
        "A verified notification posts once, whatever comes after it"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Payment = pool.get('meter.payment')
        Event = pool.get('meter.payment.gateway.event')
        gateway, account, bills = self.setup_account()
        order = Order.create_for(account, bills=[b.id for b in bills],
            payer='13800000000')
        self.assertEqual(order.amount, Decimal('70.00'))
        self.send_to_gateway(order)
        fields = self.fake.pay(order.number, notify=False)
        for _ in range(3):
            self.assertTrue(Gateway.handle_notification(gateway.id, fields))
        order = Order(order.id)
        self.assertEqual(order.state, 'paid')
        payments = Payment.search([('account', '=', account.id)])
        self.assertEqual(len(payments), 1)
        payment, = payments
        self.assertEqual((payment.state, payment.method, payment.amount,
                payment.online_order, payment.advance),
            ('posted', 'online', Decimal('70.00'), order, Decimal(0)))
        self.assertTrue(payment.receipt_number)
        self.assertEqual([b.state for b in pool.get('meter.bill').browse(
                    bills)], ['paid', 'paid'])
        self.assertEqual(
            [e.outcome for e in Event.search([('order', '=', order.id)],
                    order=[('id', 'ASC')])],
            ['posted', 'duplicate', 'duplicate'])
        # And the query after the notifications posts nothing more
        Order.check([order])
        self.assertEqual(
            Payment.search([('account', '=', account.id)], count=True), 1)

    @with_transaction()
    def test_query_before_notification(self):
        """The result page's query posts the order when the notification
        is late; the notification then finds it posted"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Payment = pool.get('meter.payment')
        gateway, account, bills = self.setup_account()
        order = Order.create_for(account, bills=[bills[0].id])
        self.send_to_gateway(order)
        Order.check([order])
        self.assertEqual(Order(order.id).state, 'pending')
        fields = self.fake.pay(order.number, notify=False)
        Order.check([order])
        self.assertEqual(Order(order.id).state, 'paid')
        self.assertTrue(Gateway.handle_notification(gateway.id, fields))
        payment, = Payment.search([('account', '=', account.id)])
        self.assertEqual(payment.amount, Decimal('30.00'))
        self.assertEqual(
            [b.state for b in pool.get('meter.bill').browse(bills)],
            ['paid', 'posted'])

    @with_transaction()
    def test_refusals(self):
        "Unknown order, wrong amount, bad signature: refused and logged"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Payment = pool.get('meter.payment')
        Event = pool.get('meter.payment.gateway.event')
        gateway, account, bills = self.setup_account()
        order = Order.create_for(account, bills=[bills[0].id])
        self.send_to_gateway(order)
        fields = self.fake.pay(order.number, notify=False)
        self.assertFalse(Gateway.handle_notification(
                gateway.id, dict(fields, txnAmt='1')))
        self.fake.orders['UNKNOWN1'] = dict(
            self.fake.orders[order.number], orderId='UNKNOWN1')
        self.assertFalse(Gateway.handle_notification(
                gateway.id, self.fake.notification('UNKNOWN1')))
        # Signed right, for the wrong amount
        self.assertFalse(Gateway.handle_notification(
                gateway.id, self.fake.notification(
                    order.number, txnAmt='2999')))
        self.assertFalse(Gateway.handle_notification(gateway.id + 1, fields))
        self.assertEqual(Order(order.id).state, 'pending')
        self.assertFalse(Payment.search([('account', '=', account.id)]))
        self.assertEqual(
            [(e.outcome, e.reason, e.order) for e in Event.search(
                    [('gateway', '=', gateway.id)], order=[('id', 'ASC')])],
            [('refused', 'signature', None),
                ('refused', 'unknown_order', None),
                ('refused', 'amount 29.99', order)])
        self.assertTrue(Gateway.handle_notification(gateway.id, fields))
        self.assertEqual(Order(order.id).state, 'paid')

    @with_transaction()
    def test_double_paid_bill_credit(self):
        "Two orders paying the same bill leave the second as credit"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Account = pool.get('meter.account')
        gateway, account, bills = self.setup_account()
        first = Order.create_for(account, bills=[bills[0].id])
        second = Order.create_for(account, bills=[bills[0].id])
        for order in [first, second]:
            self.send_to_gateway(order)
        for order in [first, second]:
            self.assertTrue(Gateway.handle_notification(
                    gateway.id, self.fake.pay(order.number, notify=False)))
        first, second = Order.browse([first.id, second.id])
        self.assertEqual(
            [(o.state, o.payment.advance) for o in [first, second]],
            [('paid', Decimal(0)), ('paid', Decimal('30.00'))])
        # The April bill stays open: the credit pays the next bills
        self.assertEqual(
            [b.state for b in pool.get('meter.bill').browse(bills)],
            ['paid', 'posted'])
        self.assertEqual(Account(account.id).balance, Decimal('30.00'))

    @with_transaction()
    def test_topup_prepaid(self):
        "A prepaid account tops up its balance; a postpaid one may not"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Account = pool.get('meter.account')
        gateway, account, bills = self.setup_account(
            mode='prepaid', amounts=())
        for amount in [Decimal(0), Decimal('-5'), Decimal('1.001'), None]:
            with self.assertRaises(PaymentGatewayError):
                Order.create_for(account, amount=amount)
        order = Order.create_for(account, amount=Decimal('100.00'))
        self.assertEqual(order.kind, 'topup')
        self.send_to_gateway(order)
        self.assertTrue(Gateway.handle_notification(
                gateway.id, self.fake.pay(order.number, notify=False)))
        self.assertEqual(Account(account.id).balance, Decimal('100.00'))

    @with_transaction()
    def test_order_checks(self):
        "Only open bills of the account, on a campus with a gateway"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Account = pool.get('meter.account')
        Campus = pool.get('meter.campus')
        gateway, account, bills = self.setup_account()
        other, = Account.create([{'number': 'A2', 'name': "A2",
                    'campus': account.campus.id}])
        for args in [{'bills': [bills[0].id + 1000]}, {'bills': []},
                {'amount': Decimal(10)}]:
            with self.subTest(args=args), self.assertRaises(
                    PaymentGatewayError):
                Order.create_for(account, **args)
        with self.assertRaises(PaymentGatewayError):
            Order.create_for(other, bills=[bills[0].id])
        Campus.write([account.campus], {'payment_gateway': None})
        with self.assertRaises(PaymentGatewayError):
            Order.create_for(Account(account.id), bills=[bills[0].id])

    @with_transaction()
    def test_expiry_timeout_and_close(self):
        """An unpaid order past its expiry is closed, a paid one posted;
        a gateway that does not answer leaves the order pending"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Payment = pool.get('meter.payment')
        Event = pool.get('meter.payment.gateway.event')
        gateway, account, bills = self.setup_account()
        unpaid = Order.create_for(account, bills=[bills[0].id])
        paid = Order.create_for(account, bills=[bills[1].id])
        for order in [unpaid, paid]:
            self.send_to_gateway(order)
        self.fake.pay(paid.number, notify=False)
        past = dt.datetime.now() - dt.timedelta(minutes=1)
        Order.write([unpaid, paid], {'expires_at': past})
        self.fake.query_delay = 1.5
        Order.expire_orders()
        self.assertEqual([o.state for o in Order.browse([unpaid, paid])],
            ['pending', 'pending'])
        self.assertEqual(Event.search([('outcome', '=', 'error')],
                count=True), 2)
        self.fake.query_delay = 0
        Order.expire_orders()
        unpaid, paid = Order.browse([unpaid.id, paid.id])
        self.assertEqual([o.state for o in [unpaid, paid]],
            ['expired', 'paid'])
        payment, = Payment.search([('account', '=', account.id)])
        self.assertEqual(payment.online_order, paid)
        # Nothing was refunded: the expired order took no money
        self.assertEqual(
            [b.state for b in pool.get('meter.bill').browse(bills)],
            ['posted', 'paid'])


    @with_transaction()
    def test_reconciliation(self):
        """The day's statement matched with the payments; what differs is
        listed"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Reconciliation = pool.get('meter.payment.reconciliation')
        Date = pool.get('ir.date')
        # Started again on a lock: forget the orders of the first attempt
        self.fake.orders.clear()
        gateway, account, bills = self.setup_account(
            amounts=('30.00', '40.00', '50.00'))
        orders = [Order.create_for(account, bills=[b.id]) for b in bills]
        for order in orders:
            self.send_to_gateway(order)
            self.assertTrue(Gateway.handle_notification(
                    gateway.id, self.fake.pay(order.number, notify=False)))
        matched, missing, differs = orders
        # The gateway's statement lacks one, has another amount for one
        # and a transaction the centre never heard of
        self.fake.orders[missing.number]['state'] = 'pending'
        self.fake.orders[differs.number]['txnAmt'] = '4999'
        self.fake.extra_statement_lines = [unionpay.StatementLine(
                'UNKNOWN0001', 'Q-UNKNOWN', Decimal('12.00'),
                '20261206120000')]
        # And money given back at the gateway for the matched one
        self.fake.extra_statement_lines.append(unionpay.StatementLine(
                matched.number, 'Q-REFUND', Decimal('30.00'),
                '20261206130000', 'refund'))
        reconciliation, = Reconciliation.create([{
                    'gateway': gateway.id, 'date': Date.today()}])
        with self.assertRaises(PaymentGatewayError):
            Reconciliation.reconcile([reconciliation])
        Reconciliation.download([reconciliation])
        # The file transfer request, at the download host's root
        request, = [c['form'] for c in self.fake.calls_to('')]
        self.assertEqual((request['txnType'], request['fileType'],
                request['settleDate']),
            ('76', '00', Date.today().strftime('%m%d')))
        reconciliation = Reconciliation(reconciliation.id)
        self.assertEqual(reconciliation.statement_name, '%s_%s.zip' % (
                self.fake.mer_id, Date.today().strftime('%Y%m%d')))
        Reconciliation.reconcile([reconciliation])
        reconciliation = Reconciliation(reconciliation.id)
        self.assertEqual(reconciliation.state, 'done')
        self.assertEqual(sorted(
                (l.order_number, l.status, l.statement_amount,
                    l.payment_amount) for l in reconciliation.lines), sorted([
                    (matched.number, 'matched', Decimal('30.00'),
                        Decimal('30.00')),
                    (differs.number, 'amount', Decimal('49.99'),
                        Decimal('50.00')),
                    ('UNKNOWN0001', 'not_posted', Decimal('12.00'), None),
                    (missing.number, 'not_in_statement', None,
                        Decimal('40.00')),
                    (matched.number, 'refunded', Decimal('30.00'),
                        Decimal('30.00')),
                    ]))
        self.assertEqual(reconciliation.differences, 4)
        # A statement not in the format is refused, naming the line
        Reconciliation.draft([reconciliation])
        zm = unionpay.statement_file(bytes(reconciliation.statement))
        Reconciliation.write([reconciliation], {
                'statement': zm + b'S22 000480200\r\n',
                'statement_name': 'upload.txt'})
        with self.assertRaises(PaymentGatewayError) as context:
            Reconciliation.reconcile([reconciliation])
        self.assertIn('at line %d:' % (len(zm.splitlines()) + 1),
            context.exception.message)
        Reconciliation.write([reconciliation], {'statement': b'garbage'})
        with self.assertRaises(PaymentGatewayError):
            Reconciliation.reconcile([reconciliation])
        # The ZM file uploaded alone reconciles as the archive
        Reconciliation.write([reconciliation], {'statement': zm})
        Reconciliation.reconcile([reconciliation])
        self.assertEqual(Reconciliation(reconciliation.id).differences, 4)
        # The day before: the gateway holds no file of it (respCode 98),
        # a day without transaction that reconciles empty
        self.fake.extra_statement_lines = []
        empty, = Reconciliation.create([{'gateway': gateway.id,
                    'date': Date.today() - dt.timedelta(days=1)}])
        Reconciliation.download([empty])
        self.assertEqual(len([c for c in self.fake.calls_to('')
                    if c['form']['settleDate']
                    == empty.date.strftime('%m%d')]), 1)
        empty = Reconciliation(empty.id)
        self.assertEqual((empty.no_statement, empty.statement),
            (True, None))
        self.assertIn("no statement", empty.note)
        Reconciliation.reconcile([empty])
        empty = Reconciliation(empty.id)
        self.assertEqual((empty.state, empty.lines, empty.differences),
            ('done', (), 0))
        Reconciliation.draft([reconciliation])
        self.fake.query_delay = 1.5
        with self.assertRaises(PaymentGatewayError):
            Reconciliation.download([reconciliation])


class WeChatPayGatewayTestCase(unittest.TestCase):
    "Online payment orders through the fake WeChat Pay (API v2)"

    @classmethod
    def setUpClass(cls):
        activate_module('meter_billing')
        cls.fake = FakeWeChatPay().start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setup_account(self, amounts=('25.50',)):
        pool = Pool()
        Gateway = pool.get('meter.payment.gateway')
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Period = pool.get('meter.billing.period')
        Bill = pool.get('meter.bill')
        self.fake.orders.clear()
        gateway, = Gateway.create([{
                    'name': "WeChat Pay", 'provider': 'wechat',
                    'merchant': self.fake.mch_id, 'appid': self.fake.appid,
                    'api_key': self.fake.api_key, 'url': self.fake.url,
                    'server_url': 'http://127.0.0.1:9/', 'timeout': 2,
                    }])
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN',
                    'payment_gateway': gateway.id}])
        account, = Account.create([{'number': 'W1', 'name': "W1",
                    'campus': campus.id}])
        bills = []
        for month, amount in enumerate(amounts, 5):
            period, = Period.create([{'name': '2026-%02d' % month,
                        'start_date': dt.date(2026, month, 1),
                        'end_date': dt.date(2026, month + 1, 1)
                        - dt.timedelta(days=1)}])
            amount = Decimal(amount)
            bills.extend(Bill.create([{
                            'account': account.id, 'campus': campus.id,
                            'category': 'resident', 'period': period.id,
                            'start_date': period.start_date,
                            'end_date': period.end_date,
                            'lines': [('create', [{
                                            'kind': 'water',
                                            'type': 'usage',
                                            'quantity': Decimal(1),
                                            'unit_price': amount,
                                            'amount': amount}])],
                            }]))
        Bill.post(bills)
        if len(bills) == 1:
            return gateway, account, bills[0]
        return gateway, account, bills

    @with_transaction()
    def test_jsapi_notification_once(self):
        """The unified order gives chooseWXPay's parameters; a verified
        notification posts once; a tampered or foreign one is refused"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Payment = pool.get('meter.payment')
        Event = pool.get('meter.payment.gateway.event')
        gateway, account, bill = self.setup_account()
        order = Order.create_for(account, bills=[bill.id])
        params = order.wechat_jsapi('db', 'o-openid-1', '127.0.0.1', "水电费")
        self.assertEqual(set(params), {'appId', 'timestamp', 'nonceStr',
                'package', 'signType', 'paySign'})
        placed = self.fake.orders[order.number]
        self.assertEqual((placed['total_fee'], placed['openid'],
                placed['notify_url']), ('2550', 'o-openid-1',
                'http://127.0.0.1:9/db/payment_gateway/%d/notify'
                % gateway.id))
        self.assertEqual(params['package'], 'prepay_id=' + placed[
                'prepay_id'])
        Order.check([order])
        self.assertEqual(Order(order.id).state, 'pending')
        xml = self.fake.pay(order.number, notify=False)
        for bad in [self.fake.notification(order.number, total_fee='1'),
                xml.replace(self.fake.mch_id, '1900000999'), 'not xml']:
            self.assertFalse(Gateway.handle_notification(
                    gateway.id, {}, body=bad.encode()))
        for _ in range(2):
            self.assertTrue(Gateway.handle_notification(
                    gateway.id, {}, body=xml.encode()))
        Order.check([order])
        order = Order(order.id)
        self.assertEqual(order.state, 'paid')
        payment, = Payment.search([('account', '=', account.id)])
        self.assertEqual((payment.amount, payment.state, order.reference),
            (Decimal('25.50'), 'posted',
                self.fake.orders[order.number]['transaction_id']))
        self.assertEqual(pool.get('meter.bill')(bill.id).state, 'paid')
        self.assertEqual([e.outcome for e in Event.search(
                    [('gateway', '=', gateway.id)], order=[('id', 'ASC')])],
            ['pending', 'refused', 'refused', 'refused', 'posted',
                'duplicate'])
        self.assertEqual(Gateway.notification_answer(gateway.id, True)[0],
            wechatpay.SUCCESS_ANSWER)

    @with_transaction()
    def test_expired_closed(self):
        "An unpaid order past its expiry is closed at WeChat Pay"
        pool = Pool()
        Order = pool.get('meter.payment.order')
        gateway, account, bill = self.setup_account()
        order = Order.create_for(account, bills=[bill.id])
        order.wechat_jsapi('db', 'o-openid-2', '127.0.0.1', "水电费")
        Order.write([order], {
                'expires_at': dt.datetime.now() - dt.timedelta(minutes=1)})
        Order.expire_orders()
        self.assertEqual(Order(order.id).state, 'expired')
        self.assertEqual(self.fake.orders[order.number]['state'], 'CLOSED')
        self.assertEqual(len(self.fake.calls_to('pay/closeorder')), 1)

    @with_transaction()
    def test_reconciliation(self):
        """The day's bill of downloadbill matched with the payments; a day
        WeChat Pay has no bill of reconciles empty, with a note"""
        pool = Pool()
        Order = pool.get('meter.payment.order')
        Gateway = pool.get('meter.payment.gateway')
        Payment = pool.get('meter.payment')
        Reconciliation = pool.get('meter.payment.reconciliation')
        Date = pool.get('ir.date')
        gateway, account, bills = self.setup_account(
            amounts=('10.00', '20.00', '30.00', '40.00'))
        orders = [Order.create_for(account, bills=[b.id]) for b in bills]
        for number, order in enumerate(orders, 1):
            order.wechat_jsapi('db', 'o-openid-%d' % number, '127.0.0.1',
                "水电费")
        matched, lost, missing, differs = orders
        today = Date.today()
        for order in orders:
            xml = self.fake.pay(order.number, notify=False)
            # WeChat Pay's day is the centre's (Beijing time in service)
            self.fake.orders[order.number]['time_end'] = (
                today.strftime('%Y%m%d') + '101500')
            if order != lost:
                # The notification of the lost one never came
                self.assertTrue(Gateway.handle_notification(
                        gateway.id, {}, body=xml.encode()))
        # WeChat Pay saw the missing one paid the day before, and another
        # amount for one
        self.fake.orders[missing.number]['time_end'] = (
            today - dt.timedelta(days=1)).strftime('%Y%m%d') + '235959'
        self.fake.orders[differs.number]['total_fee'] = '3999'
        reconciliation, = Reconciliation.create([{
                    'gateway': gateway.id, 'date': today}])
        Reconciliation.download([reconciliation])
        request, = [c['data'] for c in self.fake.calls_to('pay/downloadbill')]
        self.assertEqual((request['bill_date'], request['bill_type'],
                request['appid']),
            (today.strftime('%Y%m%d'), 'ALL', self.fake.appid))
        reconciliation = Reconciliation(reconciliation.id)
        self.assertFalse(reconciliation.no_statement)
        self.assertEqual(reconciliation.statement_name,
            'wechatpay-%s-%s.csv' % (self.fake.mch_id,
                today.strftime('%Y%m%d')))
        Reconciliation.reconcile([reconciliation])
        reconciliation = Reconciliation(reconciliation.id)
        self.assertEqual(reconciliation.state, 'done')
        payment = {o: Payment.search([('online_order', '=', o.id)])
            for o in orders}
        self.assertEqual(payment[lost], [])
        self.assertEqual(sorted(
                (l.order_number, l.status, l.statement_amount,
                    l.payment_amount, l.reference) for l in
                reconciliation.lines), sorted([
                    (matched.number, 'matched', Decimal('10.00'),
                        Decimal('10.00'),
                        self.fake.orders[matched.number]['transaction_id']),
                    (lost.number, 'not_posted', Decimal('20.00'), None,
                        self.fake.orders[lost.number]['transaction_id']),
                    (missing.number, 'not_in_statement', None,
                        Decimal('30.00'), Order(missing.id).reference),
                    (differs.number, 'amount', Decimal('39.99'),
                        Decimal('40.00'),
                        self.fake.orders[differs.number]['transaction_id']),
                    ]))
        self.assertEqual(reconciliation.differences, 3)
        self.assertIsNone(reconciliation.note)

        # A row out of the format is named
        Reconciliation.draft([reconciliation])
        bill = bytes(reconciliation.statement).decode('utf-8')
        rows = bill.splitlines()
        rows[2] = rows[2].replace('`', '', 1)
        Reconciliation.write([reconciliation], {
                'statement': '\r\n'.join(rows).encode('utf-8')})
        with self.assertRaises(PaymentGatewayError) as context:
            Reconciliation.reconcile([reconciliation])
        self.assertIn('at line 3:', context.exception.message)
        # A bill cut short lacks its summary
        Reconciliation.write([reconciliation], {
                'statement': '\r\n'.join(rows[:3]).encode('utf-8')})
        with self.assertRaises(PaymentGatewayError):
            Reconciliation.reconcile([reconciliation])

        # The day before the first payment: No Bill Exist
        empty, = Reconciliation.create([{'gateway': gateway.id,
                    'date': today - dt.timedelta(days=2)}])
        Reconciliation.download([empty])
        empty = Reconciliation(empty.id)
        self.assertTrue(empty.no_statement)
        self.assertIsNone(empty.statement)
        self.assertEqual(empty.note, '%s has no statement of %s: it saw no '
            'transaction that day.' % (gateway.rec_name, empty.date))
        Reconciliation.reconcile([empty])
        empty = Reconciliation(empty.id)
        self.assertEqual((empty.state, empty.lines, empty.differences),
            ('done', (), 0))
        # A gateway that refuses the request says why
        gateway.api_key = 'f' * 32
        gateway.save()
        other, = Reconciliation.create([{'gateway': gateway.id,
                    'date': today}])
        with self.assertRaises(PaymentGatewayError):
            Reconciliation.download([other])
