"""The resident's side of paying: the electronic payment notice of a bill
(with its PDF) and online payment through the fake UnionPay gateway, on
the routes of the pages."""
import datetime as dt
import html
import io
import re
import sys
import unittest
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import requests

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.worker import run_task

from . import test_routes

try:
    from tests.fakes.unionpay import FakeUnionPay
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    sys.modules.pop('tests', None)
    from tests.fakes.unionpay import FakeUnionPay

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ACTION = re.compile(r'<form method="post" action="([^"]+)" id="gateway-form">')


def create_bill(number, amount='56.78'):
    """Create and post a bill of amount for the account number with one
    meter and one line; return its id (in a transaction of the caller)"""
    pool = Pool()
    Account = pool.get('meter.account')
    Bill = pool.get('meter.bill')
    Period = pool.get('meter.billing.period')
    Meter = pool.get('meter.meter')
    account, = Account.search([('number', '=', number)])
    meter, = Meter.search([('account', '=', account.id)], limit=1)
    today = dt.date.today()
    start = today.replace(day=1) - dt.timedelta(days=31)
    periods = Period.search([('start_date', '=', start.replace(day=1))])
    if periods:
        period, = periods
    else:
        end = today.replace(day=1) - dt.timedelta(days=1)
        period = Period(name='notice-' + end.strftime('%Y-%m'),
            start_date=start.replace(day=1), end_date=end,
            due_date=today + dt.timedelta(days=15))
        period.save()
    amount = Decimal(amount)
    bill, = Bill.create([{
                'account': account.id, 'campus': account.campus.id,
                'category': account.category, 'period': period.id,
                'start_date': period.start_date,
                'end_date': period.end_date, 'due_date': period.due_date,
                'meters': [('create', [{
                                'meter': meter.id, 'kind': 'electricity',
                                'previous_value': Decimal(1200),
                                'value': Decimal(1311),
                                'multiplier': Decimal(1), 'usage': Decimal(111),
                                }])],
                'lines': [('create', [{
                                'sequence': 1, 'kind': 'electricity',
                                'type': 'usage', 'name': "电费",
                                'quantity': Decimal(1),
                                'unit_price': amount,
                                'amount': amount,
                                }])],
                }])
    Bill.post([bill])
    return bill.id


class ResidentPayTestCase(test_routes.WeChatRouteTestCase):
    "Test the resident's notice and online payment pages"

    def test_notice_page(self):
        "Each bill opens as its notice; another resident's answers 404"
        pool = Pool(DB_NAME)
        BillingConfiguration = pool.get('meter.billing.configuration')
        with Transaction().start(DB_NAME, 0, _lock_tables=[
                    BillingConfiguration._table]) as transaction:
            BillingConfiguration.write([BillingConfiguration(1)], {
                    'payee': "某大学水电中心", 'bank_name': "工商银行",
                    'bank_account': '0200 0000 0000 7777'})
            bill_id = create_bill('R002', '56.78')
            other_id = create_bill('R001', '12.00')
            number = pool.get('meter.bill')(bill_id).number
            transaction.commit()
        client = self.resident('oNotice', '13822220001', 'R002')
        stranger = self.resident('oNoticeOther', '13822220002', 'R001')
        pay = client.get(self.url('pay'))
        self.assertIn(self.quoted_url('bill/%d' % bill_id), pay.text)
        self.assertNotIn(self.quoted_url('bill/%d' % other_id), pay.text)
        page = client.get(self.url('bill/%d' % bill_id))
        self.assertEqual(page.status_code, 200, page.text)
        for text in [number, 'R002', "李四", 'M-R002', '1200', '1311',
                '111', "电费", '¥56.78', "伍拾陆元柒角捌分", "某大学水电中心",
                "工商银行", '0200 0000 0000 7777', "主校区",
                "水电楼101", "8:00-17:00", "缴费期限"]:
            self.assertIn(text, page.text)
        pdf = client.get(self.url('bill/%d/notice.pdf' % bill_id))
        self.assertEqual(pdf.status_code, 200)
        self.assertEqual(pdf.headers['Content-Type'], 'application/pdf')
        self.assertTrue(pdf.data.startswith(b'%PDF'))
        self.assertIn('attachment', pdf.headers['Content-Disposition'])
        for url in ['bill/%d' % bill_id, 'bill/%d/notice.pdf' % bill_id]:
            response = stranger.get(self.url(url))
            self.assertEqual(response.status_code, 404)
            self.assertIn("无此账单", response.text)
        self.assertEqual(
            client.get(self.url('bill/%d' % other_id)).status_code, 404)

    def test_notice_draft(self):
        "A draft bill is no notice yet"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            Bill = pool.get('meter.bill')
            bill_id = create_bill('R003', '10.00')
            bill, = Bill.copy([Bill(bill_id)])
            draft_id = bill.id
            transaction.commit()
        client = self.resident('oNoticeDraft', '13822220003', 'R003')
        self.assertEqual(
            client.get(self.url('bill/%d' % bill_id)).status_code, 200)
        self.assertEqual(
            client.get(self.url('bill/%d' % draft_id)).status_code, 404)

    def test_notice_template_messages(self):
        "Residents are told when a bill is issued and before it falls due"
        pool = Pool(DB_NAME)
        Configuration = pool.get('meter.wechat.configuration')
        self.resident('oBillPush', '13822220009', 'R004')
        self.api.subscribe('oBillPush')
        self.api.templates.add('TPL-bill-0001')
        with Transaction().start(DB_NAME, 0, _lock_tables=[
                    Configuration._table]) as transaction:
            Configuration.write([Configuration(1)], {
                    'template_bill': 'TPL-bill-0001'})
            transaction.commit()
        self.api.sent.clear()
        with Transaction().start(DB_NAME, 0) as transaction:
            bill_id = create_bill('R004', '88.80')
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        for task in tasks:
            run_task(pool, task)
        issued = [m for m in self.api.sent
            if m['template_id'] == 'TPL-bill-0001']
        self.assertEqual(len(issued), 1)
        self.assertEqual(issued[0]['touser'], 'oBillPush')
        self.assertEqual(
            [issued[0]['data'][k]['value'] for k in [
                    'first', 'keyword1', 'keyword3']],
            ["您的账单已出账。", 'R004', '¥88.80'])
        with Transaction().start(DB_NAME, 0) as transaction:
            Bill = pool.get('meter.bill')
            due = Bill(bill_id).due_date
            Date = pool.get('ir.date')
            days = (due - Date.today()).days
            # Not yet within the days before it falls due
            Bill.remind_due(days=days - 1)
            Bill.remind_due(days=days)
            # The cron run again the same day, and the next day
            Bill.remind_due(days=days)
            Bill.remind_due(days=days + 1)
            self.assertTrue(Bill(bill_id).due_reminded)
        due_messages = [m for m in self.api.sent
            if m['template_id'] == 'TPL-bill-0001'][1:]
        self.assertEqual(
            [m['data']['first']['value'] for m in due_messages],
            ["您的账单即将到期，请及时缴费。"])


class OnlinePayTestCase(test_routes.WeChatRouteTestCase):
    "Test paying online from the pages, through the fake UnionPay"

    @classmethod
    def setUpClass(cls):
        cls.unionpay = FakeUnionPay().start()
        cls.unionpay.hold_notifications = True
        try:
            super().setUpClass()
        except Exception:
            cls.unionpay.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.unionpay.stop()

    @classmethod
    def setUpDatabase(cls):
        super().setUpDatabase()
        pool = Pool()
        Gateway = pool.get('meter.payment.gateway')
        Campus = pool.get('meter.campus')
        gateway, = Gateway.create([{
                    'name': "银联", 'provider': 'unionpay',
                    'merchant': cls.unionpay.mer_id,
                    'url': cls.unionpay.url,
                    'server_url': 'http://localhost/',
                    'private_key': cls.unionpay.pki['merchant_key'],
                    'certificate': cls.unionpay.pki['merchant_cert'],
                    'authority_certificate':
                    cls.unionpay.pki['authority_cert'],
                    }])
        Campus.write(Campus.search([('code', '=', 'MAIN')]),
            {'payment_gateway': gateway.id})

    def gateway_form(self, response):
        "Return the action and fields the page has the browser post"
        self.assertEqual(response.status_code, 200, response.text)
        return (html.unescape(ACTION.search(response.text).group(1)),
            {k: html.unescape(v) for k, v in HIDDEN.findall(response.text)
                if k != 'csrf_token'})

    def test_online_pay(self):
        """The resident pays the bills chosen; the return shows it paid only
        once the gateway said so; a notification posts it once"""
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            old_id = create_bill('R001', '30.00')
            transaction.commit()
        client = self.resident('oOnline', '13833330001', 'R001')
        stranger = self.resident('oOnlineOther', '13833330002', 'R002')
        page = client.get(self.url('pay'))
        # The pay page pays the open bills online from itself
        self.assertIn('action="%s"' % self.quoted_url('pay/online'),
            page.text)
        self.assertIn('value="%d" data-amount="30.00" checked' % old_id,
            page.text)
        self.assertIn("在线支付 <span class=\"pay-online-total\">¥30.00",
            page.text)
        # A postpaid account has nothing to top up
        self.assertNotIn("在线充值", page.text)
        page = client.get(self.url('pay/online'))
        self.assertEqual(page.status_code, 200, page.text)
        self.assertIn('value="%d" data-amount="30.00" checked' % old_id,
            page.text)
        token = test_routes.CSRF.search(page.text).group(1)
        # Another's bill, a bill that is no id: refused, nothing made
        for bill in [str(old_id + 1000), '01', 'x']:
            response = client.post(self.url('pay/online'), data={
                    'csrf_token': token, 'bill': bill})
            self.assertEqual(response.status_code, 400)
            self.assertIn("请选择本户号的待缴账单", response.text)
        response = stranger.post(self.url('pay/online'), data={
                'csrf_token': self.csrf(stranger, 'pay/online'),
                'bill': str(old_id)})
        self.assertEqual(response.status_code, 400)
        with Transaction().start(DB_NAME, 0):
            self.assertFalse(pool.get('meter.payment.order').search([]))
        action, fields = self.gateway_form(client.post(
                self.url('pay/online'), data={
                    'csrf_token': token, 'bill': str(old_id)}))
        self.assertEqual(fields['txnAmt'], '3000')
        self.assertTrue(fields['backUrl'].endswith(
                '/payment_gateway/%s/notify' % fields['backUrl'].split(
                    '/')[-2]))
        cashier = requests.post(action, data=fields, timeout=5)
        self.assertIn('¥30.00', cashier.text)
        number = fields['orderId']
        # Back from the gateway before it paid: the browser's word is not
        # taken, the result page asks the gateway
        response = client.post(fields['frontUrl'].replace(
                'http://localhost', ''), data={
                'orderId': number, 'respCode': '00'})
        self.assertEqual(response.status_code, 303)
        result = unquote(response.headers['Location'])
        page = client.get(result)
        self.assertIn("支付结果确认中", page.text)
        self.assertEqual(stranger.get(result).status_code, 404)
        notification = self.unionpay.pay(number)
        notify = fields['backUrl'].split('localhost/', 1)[1]
        tampered = dict(notification, txnAmt='1')
        self.assertEqual(self.client().post(
                '/' + notify, data=tampered).status_code, 400)
        for _ in range(2):
            response = self.client().post('/' + notify, data=notification)
            self.assertEqual(response.status_code, 200, response.text)
        page = client.get(result)
        self.assertIn("缴费成功", page.text)
        with Transaction().start(DB_NAME, 0):
            Payment = pool.get('meter.payment')
            payment, = Payment.search([('method', '=', 'online')])
            self.assertEqual((payment.amount, payment.state,
                    payment.account.number), (Decimal('30.00'), 'posted',
                    'R001'))
            self.assertIn(payment.receipt_number, page.text)
            self.assertEqual(
                pool.get('meter.bill')(old_id).state, 'paid')
        page = client.get(self.url('bill/%d' % old_id))
        self.assertIn("已缴清", page.text)
        self.assertNotIn("pay-online", page.text)
        # A prepaid account tops up online from the pay page
        with Transaction().start(DB_NAME, 0) as transaction:
            Account = pool.get('meter.account')
            account, = Account.search([('number', '=', 'R001')])
            Account.write([account], {'billing_mode': 'prepaid'})
            transaction.commit()
        try:
            page = client.get(self.url('pay'))
            self.assertIn('<a class="weui-btn weui-btn_default pay-online" '
                'href="%s?account=%d">在线充值</a>' % (
                    self.quoted_url('pay/online'), account.id), page.text)
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                Account.write([Account(account.id)],
                    {'billing_mode': 'postpaid'})
                transaction.commit()

    def test_transfer_waiting(self):
        """The bills a transfer waiting for finance would pay (the oldest
        first, as posting allocates it) are not ticked for paying online,
        and say why: the resident does not pay them twice by default"""
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0) as transaction:
            # Two bills due the same day: the first numbered is the older
            old_id = create_bill('R003', '25.00')
            new_id = create_bill('R003', '25.00')
            account_id = pool.get('meter.bill')(old_id).account.id
            transaction.commit()
        client = self.resident('oTransferWaiting', '13833330003', 'R003')
        for path in ['pay', 'pay/online']:
            page = client.get(self.url(path))
            for bill_id in [old_id, new_id]:
                self.assertIn('value="%d" data-amount="25.00" checked'
                    % bill_id, page.text)
            self.assertNotIn('已提交转账', page.text)
        response = client.post(self.url('pay'), data={
                'csrf_token': self.csrf(client, 'pay'),
                'account': str(account_id), 'amount': '20.00',
                'reference': 'TXWAIT0001',
                'screenshot': (io.BytesIO(test_routes.image('JPEG')),
                    'transfer.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        page = client.get(self.url('pay'))
        # 20.00 waiting pays part of the oldest bill: that one is left
        # unticked with the reason, the later one stays ticked
        self.assertIn('value="%d" data-amount="25.00"><i' % old_id,
            page.text)
        self.assertIn('value="%d" data-amount="25.00" checked' % new_id,
            page.text)
        self.assertEqual(page.text.count('已提交转账，待财务审核'), 1)
        self.assertIn("在线支付 <span class=\"pay-online-total\">¥25.00",
            page.text)
        page = client.get(self.url('pay/online'))
        self.assertIn('value="%d" data-amount="25.00"><i' % old_id,
            page.text)
        self.assertIn('value="%d" data-amount="25.00" checked' % new_id,
            page.text)
        self.assertIn('id="online-total">¥25.00', page.text)
        # Finance refuses the transfer: both are offered again
        with Transaction().start(DB_NAME, 0) as transaction:
            Payment = pool.get('meter.payment')
            payment, = Payment.search([('transfer_reference', '=',
                        'TXWAIT0001')])
            self.assertEqual(payment.state, 'waiting')
            Payment.write([payment], {'state': 'refused',
                    'cancel_reason': "未到账"})
            transaction.commit()
        page = client.get(self.url('pay'))
        self.assertIn('value="%d" data-amount="25.00" checked' % old_id,
            page.text)
        self.assertIn("¥50.00", page.text)


def load_tests(loader, tests, pattern):
    "Only the tests of this module, not those of the class it extends"
    suite = unittest.TestSuite()
    for case in [ResidentPayTestCase, OnlinePayTestCase]:
        suite.addTests(case(n) for n in loader.getTestCaseNames(case)
            if n in case.__dict__)
    return suite
