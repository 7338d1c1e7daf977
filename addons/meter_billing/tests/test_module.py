# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import unittest
from decimal import Decimal
from unittest.mock import patch

from trytond.modules.meter_billing.words import amount_in_words
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


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


class MeterBillingTestCase(ModuleTestCase):
    "Test Billing module"
    module = 'meter_billing'

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


del ModuleTestCase
