"""The resident's side of paying: the electronic payment notice of a bill
(with its PDF) on the routes of the pages."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from . import test_routes


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


def load_tests(loader, tests, pattern):
    "Only the tests of this module, not those of the class it extends"
    names = [n for n in loader.getTestCaseNames(ResidentPayTestCase)
        if n in ResidentPayTestCase.__dict__]
    return unittest.TestSuite(ResidentPayTestCase(n) for n in names)
