# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import os
import unittest
from decimal import Decimal
from types import SimpleNamespace
from unittest.mock import patch

from sql.aggregate import Sum

from trytond import backend
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.meter_billing import bill as bill_module
from trytond.modules.meter_billing.bill import (
    NewBill, NewBillLine, NewBillMeter, NewBillUsage, centre_selection)
from trytond.modules.meter_billing.exceptions import PrepaidBalanceError
from trytond.modules.meter_billing.rules import pricing
from trytond.modules.meter_billing.rules.amount_words import amount_in_words
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, ModuleTestCase, with_transaction)
from trytond.transaction import Transaction


class AmountInWordsTestCase(unittest.TestCase):
    "Amounts in capital Chinese numerals"

    def test_amounts(self):
        for amount, words in [
                ('0', '零元整'),
                ('0.05', '伍分'),
                ('10', '壹拾元整'),
                ('60.00', '陆拾元整'),
                ('100.07', '壹佰元零柒分'),
                ('1001', '壹仟零壹元整'),
                ('1010.10', '壹仟零壹拾元壹角'),
                ('12345.67', '壹万贰仟叁佰肆拾伍元陆角柒分'),
                ('100010', '壹拾万零壹拾元整'),
                ('20000005', '贰仟万零伍元整'),
                ]:
            with self.subTest(amount=amount):
                self.assertEqual(amount_in_words(Decimal(amount)), words)


def frozen_utc(moment):
    "Patch ir.date's clock to the naive UTC moment"
    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            aware = moment.replace(tzinfo=dt.timezone.utc)
            if tz is None:
                return moment
            return aware.astimezone(tz)

    return patch('trytond.ir.date.datetime', SimpleNamespace(
            datetime=Clock, date=dt.date, timedelta=dt.timedelta))


class MeterBillingTestCase(ModuleTestCase):
    "Test Billing module"
    module = 'meter_billing'

    @with_transaction()
    def test_printed_words_in_centre_language(self):
        """Notices and receipts print the selections' and the bill lines'
        words in the centre's language, whatever the user's"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        BillLine = pool.get('meter.bill.line')
        lang, = Lang.search([('code', '=', 'zh_CN')])
        lang.translatable = True
        lang.save()
        directory = os.path.dirname(os.path.dirname(__file__))
        Translation.translation_import('zh_CN', 'meter_billing',
            [os.path.join(directory, 'locale', 'zh_CN.po')])
        Translation._translation_cache.clear()
        dates = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))

        def line(kind, tier=None):
            return pricing.BillLine(kind, None, None, Decimal(1),
                Decimal(1), Decimal(1), tier, *dates)

        for centre, user in [('zh_CN', 'en'), ('en', 'zh_CN')]:
            with self.subTest(centre=centre), \
                    patch.object(bill_module, 'centre_language',
                        return_value=centre), \
                    Transaction().set_context(language=user):
                chinese = centre == 'zh_CN'
                self.assertEqual(
                    centre_selection('meter.payment', 'method')['cash'],
                    '现金' if chinese else "Cash")
                self.assertEqual(
                    centre_selection('meter.bill.line', 'type')['fixed'],
                    '固定月费' if chinese else "Fixed Charge")
                self.assertEqual(
                    [BillLine.pricing_description(l) for l in [
                            line('usage', 2), line('usage'), line('free'),
                            line('minimum'), line('fixed')]],
                    ['第2阶梯', '', '免费额度', '最低收费补差', '固定月费']
                    if chinese else ["Tier 2", '', "Free quota",
                        "Top-up to the minimum charge",
                        "Fixed monthly charge"])

    @with_transaction()
    def test_one_clock(self):
        "Billing's today is the pages' today around the centre's midnight"
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        Date = pool.get('ir.date')
        company = create_company()
        # A company on another zone does not give bills another day.
        company.timezone = 'UTC'
        company.save()

        def pages_today(moment):
            # As the resident pages do: now on the centre's clock.
            return moment.replace(tzinfo=dt.timezone.utc).astimezone(
                Configuration.tzinfo()).date()

        for moment, day in [
                (dt.datetime(2026, 1, 31, 15, 59), dt.date(2026, 1, 31)),
                (dt.datetime(2026, 1, 31, 16, 0), dt.date(2026, 2, 1)),
                (dt.datetime(2026, 1, 31, 16, 30), dt.date(2026, 2, 1)),
                (dt.datetime(2026, 2, 1, 15, 59), dt.date(2026, 2, 1)),
                ]:
            with self.subTest(moment=moment), frozen_utc(moment):
                self.assertEqual(pages_today(moment), day)
                self.assertEqual(Date.today(), day)
                with set_company(company):
                    self.assertEqual(Date.today(), day)
                # An explicit zone is still obeyed.
                self.assertEqual(
                    Date.today(dt.timezone.utc), moment.date())

        # One setting: another zone for the centre moves both.
        config = Configuration(1)
        config.timezone = 'America/New_York'
        config.save()
        moment = dt.datetime(2026, 2, 1, 3, 0)
        with frozen_utc(moment), set_company(company):
            self.assertEqual(Date.today(), dt.date(2026, 1, 31))
            self.assertEqual(pages_today(moment), dt.date(2026, 1, 31))

    @with_transaction()
    def test_create_bulk(self):
        "Bill.create_bulk stores a bill with its rows; runs call it"
        pool = Pool()
        Bill = pool.get('meter.bill')
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Period = pool.get('meter.billing.period')
        Run = pool.get('meter.billing.run')
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN'}])
        account, = Account.create([{
                    'number': '1', 'name': "1", 'campus': campus.id}])
        meter, = Meter.create([{
                    'number': 'E1', 'campus': campus.id,
                    'account': account.id}])
        period, = Period.create([{'name': '2026-03',
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}])
        line = pricing.BillLine('usage', 'energy', "Energy",
            Decimal('10'), Decimal('0.55'), Decimal('5.50'), None,
            period.start_date, period.end_date)
        ten, zero = Decimal(10), Decimal(0)
        bill_id, = Bill.create_bulk([NewBill(account.id, campus.id,
                    'resident', 'postpaid', period.id, None,
                    period.start_date, period.end_date, None,
                    Decimal('5.50'), None,
                    [NewBillMeter(meter.id, 'electricity', zero, ten,
                            Decimal(1), ten)],
                    [NewBillUsage('electricity', None, ten, zero, ten,
                            Decimal('5.50'), zero, None, ten)],
                    [NewBillLine('electricity', line)])])
        bill = Bill(bill_id)
        self.assertEqual((bill.state, bill.amount, bill.paid_amount),
            ('draft', Decimal('5.50'), Decimal(0)))
        self.assertEqual([(m.meter, m.usage) for m in bill.meters],
            [(meter, Decimal(10))])
        self.assertEqual([(u.kind, u.billable) for u in bill.usages],
            [('electricity', Decimal(10))])
        self.assertEqual(
            [(l.sequence, l.code, l.quantity, l.amount) for l in bill.lines],
            [(1, 'energy', Decimal(10), Decimal('5.50'))])

        # A run stores its bills through the pool's create_bulk, which
        # an extending module overrides.
        run, = Run.create([{'period': period.id}])
        calls = []
        create_bulk = Bill.create_bulk.__func__

        def create_bulk_seen(cls, bills):
            calls.append(list(bills))
            return create_bulk(cls, bills)

        Bill.create_bulk = classmethod(create_bulk_seen)
        try:
            Run.process([run])
        finally:
            del Bill.create_bulk
        self.assertEqual(calls, [[]])

    @with_transaction()
    def test_low_balance_event(self):
        "The low-balance event is raised with the accounts below threshold"
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        PrepaidLine = pool.get('meter.prepaid.line')
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN'}])
        low, high, postpaid = Account.create([{
                    'number': number, 'name': number, 'campus': campus.id,
                    'billing_mode': mode,
                    } for number, mode in [
                    ('1', 'prepaid'), ('2', 'prepaid'), ('3', 'postpaid')]])
        PrepaidLine.create([{
                    'account': a.id, 'type': 'topup', 'amount': amount,
                    'date': dt.date(2026, 3, 1),
                    } for a, amount in [
                    (low, Decimal(30)), (high, Decimal(100)),
                    (postpaid, Decimal(5))]])
        calls = []
        original = Account.on_low_balance.__func__

        def on_low_balance(cls, accounts):
            calls.append(sorted(a.number for a in accounts))
            return original(cls, accounts)
        with patch.object(Account, 'on_low_balance',
                classmethod(on_low_balance)):
            PrepaidLine.create([{
                        'account': a.id, 'type': 'adjustment',
                        'amount': Decimal(-15), 'date': dt.date(2026, 3, 2),
                        } for a in [low, high, postpaid]])
        self.assertEqual(calls, [['1']])
        self.assertEqual(
            [a.balance for a in Account.browse([low, high, postpaid])],
            [Decimal(15), Decimal(85), Decimal(-10)])

    @with_transaction()
    def test_stored_balance(self):
        """The balance each account stores is the sum of its ledger after
        top-ups, adjustments, the deductions of bills posted together and
        the refund of a cancelled bill; the migration computes it from the
        ledger"""
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Period = pool.get('meter.billing.period')
        Bill = pool.get('meter.bill')
        PrepaidLine = pool.get('meter.prepaid.line')
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN'}])
        accounts = Account.create([{
                    'number': number, 'name': number, 'campus': campus.id,
                    'billing_mode': mode,
                    } for number, mode in [('1', 'prepaid'),
                    ('2', 'prepaid'), ('3', 'postpaid'), ('4', 'prepaid')]])
        one, two, three, four = accounts
        self.assertEqual([a.balance for a in accounts], [Decimal(0)] * 4)
        PrepaidLine.create([{
                    'account': a.id, 'type': 'topup', 'amount': amount,
                    'date': dt.date(2026, 3, 1),
                    } for a, amount in [(one, Decimal('50.10')),
                    (two, Decimal('12.34')), (three, Decimal('7.00')),
                    (one, Decimal('0.90'))]])
        PrepaidLine.create([{'account': two.id, 'type': 'adjustment',
                    'amount': Decimal('-2.34'), 'date': dt.date(2026, 3, 2),
                    }])
        period, = Period.create([{'name': '2026-03',
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}])
        bills = Bill.create([{
                    'account': a.id, 'campus': campus.id,
                    'category': 'resident', 'billing_mode': a.billing_mode,
                    'period': period.id, 'start_date': period.start_date,
                    'end_date': period.end_date,
                    'lines': [('create', [{
                                    'kind': 'electricity', 'type': 'usage',
                                    'quantity': Decimal(1),
                                    'unit_price': amount, 'amount': amount,
                                    }])],
                    } for a, amount in [(one, Decimal('20.25')),
                    (two, Decimal('30.00')), (three, Decimal('4.50')),
                    (four, Decimal('9.00'))]])
        Bill.post(bills)
        Bill.write([bills[0]], {'cancel_reason': "重复出账"})
        Bill.cancel([bills[0]])

        def ledger():
            cursor = Transaction().connection.cursor()
            line = PrepaidLine.__table__()
            cursor.execute(*line.select(line.account, Sum(line.amount),
                    group_by=line.account))
            return {a: Decimal(str(s)).quantize(Decimal('0.01'))
                for a, s in cursor}
        expected = {one.id: Decimal('51.00'), two.id: Decimal(0),
            three.id: Decimal('2.50')}
        self.assertEqual(ledger(), expected)
        balances = {a.id: a.balance for a in Account.browse(accounts)}
        self.assertEqual(balances, {**expected, four.id: Decimal(0)})
        self.assertEqual(Account.get_balances(accounts), balances)

        # A database of the ledger alone, as before the balance was stored
        table = Account.__table_handler__('meter_billing')
        table.drop_column('ledger_total')
        Account.__register__('meter_billing')
        self.assertEqual(Account.get_balances(accounts), balances)

    @with_transaction()
    def test_post_prepaid_at_most_balance(self):
        "Posting pays prepaid bills from the balance but never below zero"
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Period = pool.get('meter.billing.period')
        Bill = pool.get('meter.bill')
        PrepaidLine = pool.get('meter.prepaid.line')
        campus, = Campus.create([{'name': "Main", 'code': 'MAIN'}])
        account, = Account.create([{
                    'number': '1', 'name': "1", 'campus': campus.id,
                    'billing_mode': 'prepaid',
                    }])
        PrepaidLine.create([{
                    'account': account.id, 'type': 'topup',
                    'amount': Decimal(50), 'date': dt.date(2026, 3, 1),
                    }])
        periods = Period.create([{
                    'name': name, 'start_date': start, 'end_date': end,
                    } for name, start, end in [
                    ('2026-03', dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
                    ('2026-04', dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
                    ]])
        bills = Bill.create([{
                    'account': account.id, 'campus': campus.id,
                    'category': 'resident', 'billing_mode': 'prepaid',
                    'period': period.id, 'start_date': period.start_date,
                    'end_date': period.end_date,
                    'lines': [('create', [{
                                    'kind': 'electricity', 'type': 'usage',
                                    'quantity': Decimal(1),
                                    'unit_price': amount, 'amount': amount,
                                    }])],
                    } for period, amount in zip(
                    periods, [Decimal(30), Decimal(40)])])

        Bill.post(bills)

        # The records read before posting see the posted values
        march, april = bills
        self.assertEqual(
            [(b.state, b.paid_amount, b.amount_to_pay)
                for b in [march, april]],
            [('paid', Decimal(30), Decimal(0)),
                ('partially_paid', Decimal(20), Decimal(20))])
        self.assertTrue(march.number < april.number)
        self.assertEqual(Account(account.id).balance, Decimal(0))

        # Posting again neither numbers nor deducts twice
        numbers = [march.number, april.number]
        Bill.post([march, april])
        self.assertEqual(
            [b.number for b in Bill.browse(bills)], numbers)
        self.assertEqual(
            sorted(l.amount for l in PrepaidLine.search([])),
            [Decimal(-30), Decimal(-20), Decimal(50)])


    @unittest.skipUnless(backend.name == 'postgresql',
        "concurrent transactions need PostgreSQL")
    def test_balance_not_spent_twice(self):
        "Two transactions at once cannot spend the same prepaid balance"
        def adjustment(account_id):
            Pool().get('meter.prepaid.line').create([{
                        'account': account_id, 'type': 'adjustment',
                        'amount': Decimal(-80), 'date': dt.date(2026, 3, 2),
                        'description': "退费",
                        }])
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Campus = pool.get('meter.campus')
            Account = pool.get('meter.account')
            campus, = Campus.create([{'name': "Race", 'code': 'RACE'}])
            account, = Account.create([{
                        'number': 'RACE-1', 'name': "RACE-1",
                        'campus': campus.id, 'billing_mode': 'prepaid'}])
            pool.get('meter.prepaid.line').create([{
                        'account': account.id, 'type': 'topup',
                        'amount': Decimal(100), 'date': dt.date(2026, 3, 1),
                        }])
            account_id = account.id
            transaction.commit()
        with Transaction().start(DB_NAME, 0) as first:
            # The balance this transaction sees from now on
            self.assertEqual(
                Pool().get('meter.account')(account_id).balance,
                Decimal(100))
            with Transaction().new_transaction() as second:
                adjustment(account_id)
                second.commit()
            with self.assertRaises(backend.DatabaseOperationalError):
                adjustment(account_id)
            first.rollback()
        # Run again, it sees the balance left by the other
        with Transaction().start(DB_NAME, 0) as again:
            self.assertEqual(
                Pool().get('meter.account')(account_id).balance,
                Decimal(20))
            with self.assertRaises(PrepaidBalanceError):
                adjustment(account_id)
            again.rollback()
        # The other tests of the class share the database
        with Transaction().start(DB_NAME, 0) as transaction:
            cursor = transaction.connection.cursor()
            for table, column in [('meter_prepaid_line', 'account'),
                    ('meter_account', 'id')]:
                cursor.execute('DELETE FROM "%s" WHERE "%s" = %%s'
                    % (table, column), (account_id,))
            cursor.execute(
                'DELETE FROM "meter_campus" WHERE "code" = %s', ('RACE',))
            transaction.commit()


    @unittest.skipUnless(backend.name == 'postgresql',
        "concurrent transactions need PostgreSQL")
    def test_post_while_topped_up(self):
        "A bill posted while a top-up is taken is posted again after it"
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Account = pool.get('meter.account')
            Period = pool.get('meter.billing.period')
            Bill = pool.get('meter.bill')
            campus, = pool.get('meter.campus').create(
                [{'name': "Top", 'code': 'TOP'}])
            account, = Account.create([{
                        'number': 'TOP-1', 'name': "TOP-1",
                        'campus': campus.id, 'billing_mode': 'prepaid'}])
            period, = Period.create([{'name': 'TOP-2026-05',
                        'start_date': dt.date(2026, 5, 1),
                        'end_date': dt.date(2026, 5, 31)}])
            bill, = Bill.create([{
                        'account': account.id, 'campus': campus.id,
                        'category': 'resident', 'billing_mode': 'prepaid',
                        'period': period.id, 'start_date': period.start_date,
                        'end_date': period.end_date,
                        'lines': [('create', [{
                                        'kind': 'electricity',
                                        'type': 'usage',
                                        'quantity': Decimal(1),
                                        'unit_price': Decimal(30),
                                        'amount': Decimal(30)}])],
                        }])
            ids = account.id, campus.id, period.id, bill.id
            transaction.commit()
        account_id, campus_id, period_id, bill_id = ids
        try:
            with Transaction().start(DB_NAME, 0) as first:
                Bill = Pool().get('meter.bill')
                # The balance of 0 this transaction sees from now on
                self.assertEqual(
                    Pool().get('meter.account')(account_id).balance, 0)
                with Transaction().new_transaction() as second:
                    Pool().get('meter.prepaid.line').create([{
                                'account': account_id, 'type': 'topup',
                                'amount': Decimal(100),
                                'date': dt.date(2026, 5, 31)}])
                    second.commit()
                with self.assertRaises(backend.DatabaseOperationalError):
                    Bill.post([Bill(bill_id)])
                first.rollback()
            with Transaction().start(DB_NAME, 0) as again:
                Bill = Pool().get('meter.bill')
                Bill.post([Bill(bill_id)])
                self.assertEqual(Bill(bill_id).state, 'paid')
                again.rollback()
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                cursor = transaction.connection.cursor()
                for query, value in [
                        ('DELETE FROM "meter_prepaid_line" '
                            'WHERE "account" = %s', account_id),
                        ('DELETE FROM "meter_bill" WHERE "id" = %s', bill_id),
                        ('DELETE FROM "meter_billing_period" '
                            'WHERE "id" = %s', period_id),
                        ('DELETE FROM "meter_account" WHERE "id" = %s',
                            account_id),
                        ('DELETE FROM "meter_campus" WHERE "id" = %s',
                            campus_id),
                        ]:
                    cursor.execute(query, (value,))
                transaction.commit()


del ModuleTestCase
