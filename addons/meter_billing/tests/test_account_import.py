"""The accounts (户号) and the usage history imported from the billing
system's exports: real CSV and XLSX files with good and bad rows."""
import io
import os
import unittest
from decimal import Decimal

import openpyxl

from trytond.exceptions import UserError
from trytond.modules.meter_billing.account_import import AccountImport
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


def load_chinese():
    "Load the zh_CN translations as make demo does"
    pool = Pool()
    Lang = pool.get('ir.lang')
    Translation = pool.get('ir.translation')
    lang, = Lang.search([('code', '=', 'zh_CN')])
    lang.translatable = True
    lang.save()
    addons = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    for module in ['meter_base', 'meter_billing']:
        Translation.translation_import('zh_CN', module, [
                os.path.join(addons, module, 'locale', 'zh_CN.po')])
    Translation._translation_cache.clear()
    pool.get('ir.message')._message_cache.clear()


def csv_file(text, encoding='utf-8'):
    return text.replace('\n', '\r\n').encode(encoding)


class AccountImportTestCase(unittest.TestCase):
    "Test the import of accounts and of the usage history"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_billing')

    def set_up_places(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Account = pool.get('meter.account')
        load_chinese()
        east = Campus(name="东校区", code='E')
        west = Campus(name="西校区", code='W')
        Campus.save([east, west])
        building = Location(name="1号楼", code='E-B1', campus=east)
        twice = [Location(name="食堂", campus=east),
            Location(name="食堂", campus=east)]
        Location.save([building] + twice)
        known = Account(number='A0002', name="Old name", campus=east,
            category='resident')
        known.save()
        return east, west, building, known

    @with_transaction()
    def test_csv_good_and_bad_rows(self):
        "The good rows create and update accounts, each bad row is told"
        pool = Pool()
        Account = pool.get('meter.account')
        east, west, building, known = self.set_up_places()
        data = csv_file(
            '户号,户名,用户类别,校区,楼栋,联系电话,计费方式\n'
            'A0001,张三,居民,东校区,1号楼,13800000001,后付费\n'
            'A0002,李四,单位,E,E-B1,,\n'
            'A0003,王五,学生,东校区,,,\n'
            'A0004,赵六,居民,北校区,,,\n'
            'A0005,钱七,居民,东校区,,,\n'
            'A0006,孙八,居民,西校区,9号楼,,\n'
            'A0005,钱七二,居民,东校区,,,\n'
            ',没有户号,居民,东校区,,,\n'
            'A0007,周九,集体宿舍,W,,,预付费\n'
            'A0008,吴十,居民,E,食堂,,\n'
            'A0009,郑一,居民,E,,,月结\n'
            '合计,,,,,,\n', 'gbk')
        with Transaction().set_context(language='zh_CN'):
            checked = AccountImport.import_file(data, 'accounts.csv')
        self.assertEqual(checked.total, 11)
        self.assertEqual([r for r, _ in checked.new], [2, 10])
        self.assertEqual([r for r, _, _ in checked.updated], [3])
        refused = {}
        for row, _, message in checked.refused:
            refused.setdefault(row, []).append(message)
        self.assertEqual(sorted(refused), [4, 5, 6, 7, 8, 9, 11, 12])
        self.assertIn('学生', refused[4][0])
        self.assertIn('北校区', refused[5][0])
        self.assertEqual(len(refused[6]), 1)
        self.assertIn('8', refused[6][0])
        self.assertIn('6', refused[8][0])
        self.assertIn('9号楼', refused[7][0])
        self.assertIn('食堂', refused[11][0])
        self.assertIn('月结', refused[12][0])

        first, = Account.search([('number', '=', 'A0001')])
        self.assertEqual((first.name, first.category, first.campus,
                first.location, first.phone, first.billing_mode),
            ('张三', 'resident', east, building, '13800000001', 'postpaid'))
        known = Account(known.id)
        self.assertEqual((known.name, known.category, known.location),
            ('李四', 'unit', building))
        dormitory, = Account.search([('number', '=', 'A0007')])
        self.assertEqual((dormitory.campus, dormitory.category,
                dormitory.billing_mode), (west, 'dormitory', 'prepaid'))
        self.assertFalse(Account.search([('number', 'in',
                        ['A0003', 'A0004', 'A0005', 'A0006', 'A0008',
                            'A0009'])]))

        # The same file again changes nothing
        with Transaction().set_context(language='zh_CN'):
            again = AccountImport.import_file(data, 'accounts.csv')
        self.assertEqual((len(again.new), len(again.updated),
                len(again.unchanged)), (0, 0, 3))
        self.assertEqual(Account.search([], count=True), 3)

    @with_transaction()
    def test_xlsx_with_title_and_numbers(self):
        "An XLSX with a title row and numeric account numbers is read"
        pool = Pool()
        Account = pool.get('meter.account')
        self.set_up_places()
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(['收费系统用户导出 2026年3月'])
        sheet.append(['用户编号', '户名', '类别', '校区'])
        sheet.append([100234, '张三', '居民', '东校区'])
        sheet.append([100235, '李四', 'Unit', 'W'])
        sheet.append([100236, None, '居民', 'E'])
        output = io.BytesIO()
        workbook.save(output)
        checked = AccountImport.import_file(output.getvalue(), 'users.xlsx')
        self.assertEqual(len(checked.new), 2)
        self.assertEqual([r for r, _, _ in checked.refused], [5])
        accounts = Account.search([('number', 'in', ['100234', '100235'])])
        self.assertEqual(sorted((a.number, a.category) for a in accounts),
            [('100234', 'resident'), ('100235', 'unit')])

    @with_transaction()
    def test_whole_file_refused(self):
        "A file without the needed columns is refused with its reason"
        self.set_up_places()
        with Transaction().set_context(language='zh_CN'):
            with self.assertRaises(UserError) as context:
                AccountImport.import_file(
                    csv_file('户号,电话\nA1,123\n'), 'accounts.csv')
            self.assertIn('户名', context.exception.message)
            with self.assertRaises(UserError) as context:
                AccountImport.import_file(b'\xd0\xcf\x11\xe0old',
                    'accounts.xls')
            self.assertIn('XLSX', context.exception.message)

    @with_transaction()
    def test_wizard_preview(self):
        "The wizard's preview lists the refused rows and the counts"
        pool = Pool()
        Wizard = pool.get('meter.account.import', type='wizard')
        Account = pool.get('meter.account')
        self.set_up_places()
        data = csv_file('户号,户名,校区\nB1,甲,E\nB2,乙,X\nA0002,李四,E\n')
        session_id, _, _ = Wizard.create()
        wizard = Wizard(session_id)
        wizard.start.file = data
        wizard.start.filename = 'a.csv'
        preview = wizard.default_preview(None)
        self.assertEqual((preview['total'], preview['new'],
                preview['updated'], preview['refused']), (3, 1, 1, 1))
        self.assertEqual([(r['row'], r['status']) for r in preview['rows']],
            [(2, 'new'), (3, 'refused'), (4, 'updated')])
        self.assertFalse(Account.search([('number', '=', 'B1')]))
        wizard.transition_import_()
        self.assertEqual(wizard.default_result(None)['created'], 1)
        self.assertTrue(Account.search([('number', '=', 'B1')]))

    @with_transaction()
    def test_history_import(self):
        "The history's good rows are kept, a second import changes nothing"
        pool = Pool()
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        History = pool.get('meter.billing.history')
        HistoryImport = pool.get('meter.billing.history.import',
            type='wizard')
        east, _, _, known = self.set_up_places()
        Meter.create([{'number': 'E-77', 'kind': 'electricity',
                    'account': known.id, 'campus': east.id,
                    'initial_value': Decimal(0)}])
        other = Account(number='A0099', name="Other", campus=east)
        other.save()
        data = csv_file(
            '户号,表号,月份,用量,金额\n'
            'A0002,E-77,2025-11,120.5,66.28\n'
            'A0002,E-77,2025年12月,130,71.50\n'
            'A0002,E-77,2025-13,1,1\n'
            'Z9999,,2025-12,1,1\n'
            'A0099,E-77,2025-12,1,1\n'
            'A0099,,2025-12,10,5.5\n')
        result = HistoryImport.import_file(data, 'history.csv')
        self.assertEqual((result['imported'], result['skipped']), (3, 3))
        self.assertEqual(
            [e.split(':')[0] for e in result['errors'].splitlines()],
            ['Row 4', 'Row 5', 'Row 6'])
        rows = History.search([], order=[('month', 'ASC'), ('id', 'ASC')])
        self.assertEqual([(h.account.number, h.month, h.usage, h.amount,
                    h.meter and h.meter.number) for h in rows], [
                ('A0002', '2025-11', Decimal('120.5'), Decimal('66.28'),
                    'E-77'),
                ('A0002', '2025-12', Decimal(130), Decimal('71.50'), 'E-77'),
                ('A0099', '2025-12', Decimal(10), Decimal('5.5'), None),
                ])
        to_create, to_write, unchanged, errors = HistoryImport.check_file(
            data, 'history.csv')
        self.assertEqual((len(to_create), len(to_write), unchanged),
            (0, 0, 3))
        # A corrected month is updated, not doubled
        corrected = data.replace(b'130,71.50', b'131,72.05')
        result = HistoryImport.import_file(corrected, 'history-2.csv')
        self.assertEqual(History.search([], count=True), 3)
        december, = History.search([
                ('account', '=', known.id), ('month', '=', '2025-12')])
        self.assertEqual((december.usage, december.source),
            (Decimal(131), 'history-2.csv'))

    @with_transaction()
    def test_history_read_only_but_for_administrators(self):
        "Finance reads the history, only the administrators change it"
        pool = Pool()
        User = pool.get('res.user')
        Group = pool.get('res.group')
        ModelData = pool.get('ir.model.data')
        ModelAccess = pool.get('ir.model.access')
        finance = Group(ModelData.get_id('meter_base', 'group_finance'))
        admin = Group(ModelData.get_id('meter_base', 'group_meter_admin'))
        users = User.create([
                {'login': 'fin', 'name': "Finance", 'groups': [
                        ('add', [finance.id])]},
                {'login': 'adm', 'name': "Admin", 'groups': [
                        ('add', [admin.id])]}])
        for user, write in zip(users, [False, True]):
            with Transaction().set_user(user.id):
                access = ModelAccess.get_access(['meter.billing.history'])
            access = access['meter.billing.history']
            self.assertTrue(access['read'])
            self.assertEqual(
                (access['write'], access['create'], access['delete']),
                (write, write, write))

