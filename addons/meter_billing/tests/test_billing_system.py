# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"Tests of the files exchanged with the billing system"
import datetime as dt
import io
import unittest
import zipfile
from decimal import Decimal as D
from xml.etree import ElementTree

import xlsxwriter

from trytond.modules.meter_billing.rules.billing_system import (
    BILL_COLUMNS, PAYMENT_COLUMNS, ExchangeError, parse_month, read_history,
    write_bills_xlsx, write_payments_xlsx)

NS = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
BUILTIN_FORMATS = {0: 'General', 2: '0.00', 14: 'mm-dd-yy', 49: '@'}


def read_sheet(data):
    """Return ({reference: value}, {reference: number format}, pane) of the
    first worksheet, values of numeric cells as Decimal."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    strings = [''.join(t.text or '' for t in si.iter('{%s}t' % NS['m']))
        for si in ElementTree.fromstring(
            archive.read('xl/sharedStrings.xml')).findall('m:si', NS)]
    styles = ElementTree.fromstring(archive.read('xl/styles.xml'))
    custom = {int(f.get('numFmtId')): f.get('formatCode')
        for f in styles.findall('m:numFmts/m:numFmt', NS)}
    cell_formats = [int(xf.get('numFmtId', 0))
        for xf in styles.findall('m:cellXfs/m:xf', NS)]
    sheet = ElementTree.fromstring(
        archive.read('xl/worksheets/sheet1.xml'))
    values, formats = {}, {}
    for cell in sheet.iter('{%s}c' % NS['m']):
        reference = cell.get('r')
        value = cell.find('m:v', NS)
        if value is None:
            continue
        if cell.get('t') == 's':
            values[reference] = strings[int(value.text)]
        else:
            values[reference] = D(value.text)
        format_id = cell_formats[int(cell.get('s', 0))]
        formats[reference] = custom.get(
            format_id, BUILTIN_FORMATS.get(format_id))
    pane = sheet.find('m:sheetViews/m:sheetView/m:pane', NS)
    return values, formats, pane


def excel_serial(date):
    return D((date - dt.date(1899, 12, 30)).days)


class ExportTestCase(unittest.TestCase):
    "XLSX written for the billing system"

    def test_payments(self):
        output = io.BytesIO()
        count = write_payments_xlsx([{
                    'receipt': 'R2024030001',
                    'date': dt.date(2024, 3, 5),
                    'account': '000123',
                    'name': '张三',
                    'meter': 'DB-0042',
                    'campus': '东校区',
                    'month': dt.date(2024, 3, 1),
                    'amount': D('123.4'),
                    'method': 'wechat',
                    'reference': '4200001234202403050000000001',
                    }, {
                    'receipt': 'R2024030002',
                    'account': '000124',
                    'month': '2024-02',
                    'amount': D('50'),
                    'method': '银行代扣',
                    }], output)
        self.assertEqual(count, 2)
        values, formats, pane = read_sheet(output.getvalue())
        self.assertEqual(
            [values['%s1' % chr(65 + i)] for i in range(10)],
            ['收据号', '缴费日期', '户号', '户名', '表号', '校区', '月份',
                '金额', '缴费方式', '交易流水号'])
        self.assertEqual(
            [c.header for c in PAYMENT_COLUMNS],
            [values['%s1' % chr(65 + i)] for i in range(10)])
        # Leading zeros kept: the account number is text
        self.assertEqual(values['C2'], '000123')
        self.assertEqual(formats['C2'], '@')
        self.assertEqual(values['B2'], excel_serial(dt.date(2024, 3, 5)))
        self.assertEqual(formats['B2'], 'yyyy-mm-dd')
        self.assertEqual(values['G2'], '2024-03')
        self.assertEqual(values['H2'], D('123.4'))
        self.assertEqual(formats['H2'], '0.00')
        self.assertEqual(values['I2'], '微信')
        self.assertEqual(values['J2'], '4200001234202403050000000001')
        self.assertEqual(values['G3'], '2024-02')
        self.assertEqual(values['H3'], D('50'))
        self.assertEqual(values['I3'], '银行代扣')
        self.assertNotIn('B3', values)
        self.assertEqual(pane.get('state'), 'frozen')
        self.assertEqual(pane.get('ySplit'), '1')
        self.assertEqual(pane.get('topLeftCell'), 'A2')

    def test_bills(self):
        output = io.BytesIO()
        write_bills_xlsx([{
                    'number': 'B0001',
                    'account': '000123',
                    'meter': 'SB-7',
                    'campus': '西校区',
                    'month': '2024-03',
                    'previous_reading': D('1000.0'),
                    'reading': D('1012.5'),
                    'usage': D('12.5'),
                    'amount': D('40.00'),
                    'due_date': dt.datetime(2024, 4, 15, 8, 0),
                    }], output)
        values, formats, pane = read_sheet(output.getvalue())
        self.assertEqual(
            [values['%s1' % chr(65 + i)] for i in range(len(BILL_COLUMNS))],
            ['账单号', '户号', '户名', '表号', '校区', '月份', '上期读数',
                '本期读数', '用量', '金额', '缴费期限'])
        self.assertEqual(values['I2'], D('12.5'))
        # A quantity keeps the decimals of the meter
        self.assertEqual(formats['I2'], '0.0')
        self.assertEqual(values['J2'], D('40'))
        self.assertEqual(formats['J2'], '0.00')
        self.assertEqual(values['K2'], excel_serial(dt.date(2024, 4, 15)))
        self.assertEqual(pane.get('state'), 'frozen')

    def test_bills_read_back_as_history(self):
        "The bill export is a valid history import"
        output = io.BytesIO()
        write_bills_xlsx([
                {'account': '000123', 'meter': 'SB-7', 'month': '2024-03',
                    'usage': D('12.5'), 'amount': D('40.00')},
                {'account': '000123', 'meter': 'SB-7', 'month': '2024-04',
                    'usage': D('7'), 'amount': D('22.40')},
                ], output)
        result = read_history(output.getvalue(), 'bills.xlsx')
        self.assertEqual(result.errors, [])
        self.assertEqual(
            [(r.row, r.account, r.meter, r.month, r.usage, r.amount)
                for r in result.rows], [
                (2, '000123', 'SB-7', '2024-03', D('12.5'), D('40')),
                (3, '000123', 'SB-7', '2024-04', D('7'), D('22.4')),
                ])

    def test_empty_export(self):
        output = io.BytesIO()
        self.assertEqual(write_bills_xlsx([], output), 0)
        values, _, _ = read_sheet(output.getvalue())
        self.assertEqual(values['A1'], '账单号')


class HistoryTestCase(unittest.TestCase):
    "Historical usage exported by the billing system"

    def errors(self, result):
        return [(e.row, e.code) for e in result.errors]

    def test_csv_utf8_english(self):
        data = (
            'Account No,Meter No,Month,Usage,Amount\n'
            '000123,M-1,2024-01,10.5,33.60\n'
            '000123,M-1,2024/2,"1,200",3840\n').encode('utf-8')
        result = read_history(data, 'history.csv')
        self.assertEqual(result.errors, [])
        self.assertEqual(result.encoding, 'utf-8')
        self.assertEqual(
            [(r.account, r.meter, r.month, r.usage, r.amount)
                for r in result.rows], [
                ('000123', 'M-1', '2024-01', D('10.5'), D('33.60')),
                ('000123', 'M-1', '2024-02', D('1200'), D('3840')),
                ])

    def test_csv_gbk_chinese_with_bad_rows(self):
        data = '\n'.join([
                '水电保障中心 历史用量导出',
                '',
                '户号,表号,月份,用水量(吨),应收金额（元）',
                '000123,SB-7,2024年1月,10,32.00',
                '000123,SB-7,2024-13,10,32.00',
                '000124,SB-8,2024-01,-3,0',
                '000125,SB-9,2024-01,abc,1',
                '000123,SB-7,2024-01-15,11,35.20',
                ',SB-10,2024-02,1,3.20',
                '000126,,202402,5,',
                '="000127",,202402,5,￥16.00',
                '合计,,,,999',
                ]).encode('gbk')
        result = read_history(data, 'HISTORY.CSV')
        self.assertEqual(result.encoding, 'gbk')
        self.assertEqual(
            [(r.row, r.account, r.meter, r.month, r.usage, r.amount)
                for r in result.rows], [
                (4, '000123', 'SB-7', '2024-01', D(10), D('32.00')),
                (11, '000127', None, '2024-02', D(5), D('16.00')),
                ])
        self.assertEqual(self.errors(result), [
                (5, 'bad_month'),
                (6, 'negative_usage'),
                (7, 'bad_number'),
                (8, 'duplicate'),
                (9, 'missing_value'),
                (10, 'missing_value'),
                ])
        duplicate = result.errors[3]
        self.assertIn('row 4', duplicate.message)
        self.assertEqual(result.errors[4].column, 'account')
        self.assertEqual(result.errors[5].column, 'amount')

    def test_csv_missing_column(self):
        data = '户号,表号,月份,金额\n000123,SB-7,2024-01,3\n'.encode('gbk')
        result = read_history(data, 'history.csv')
        self.assertEqual(result.rows, [])
        self.assertEqual(
            [(e.row, e.code, e.column) for e in result.errors],
            [(1, 'missing_column', 'usage')])
        self.assertIn('用量', result.errors[0].message)

    def test_csv_without_header(self):
        result = read_history(b'1,2,3\n4,5,6\n', 'history.csv')
        self.assertEqual(
            {(e.row, e.code) for e in result.errors},
            {(1, 'missing_column')})
        self.assertEqual(len(result.errors), 4)

    def test_csv_utf16_tabs(self):
        data = ('户号\t月份\t用电量\t电费\r\n'
            '8001\t2023-12\t200.5\t105.92\r\n').encode('utf-16')
        result = read_history(data, 'history.txt')
        self.assertEqual(result.errors, [])
        self.assertEqual(
            [(r.account, r.meter, r.month, r.usage, r.amount)
                for r in result.rows],
            [('8001', None, '2023-12', D('200.5'), D('105.92'))])

    def test_xlsx(self):
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {'in_memory': True})
        worksheet = workbook.add_worksheet('历史')
        date_format = workbook.add_format({'num_format': 'yyyy-mm'})
        worksheet.write_row(0, 0, ['户号', '电表号', '抄表月份', '用电量',
                '金额'])
        worksheet.write_row(1, 0, [20240001, 'DB-1', 202401, 100.25, 52.97])
        worksheet.write_number(2, 0, 20240001)
        worksheet.write_string(2, 1, 'DB-1')
        worksheet.write_datetime(2, 2, dt.date(2024, 2, 1), date_format)
        worksheet.write_number(2, 3, 0.1 + 0.2)
        worksheet.write_number(2, 4, 0.16)
        worksheet.write_row(3, 0, ['20240002', 'DB-2', '2024-02', '-1', 1])
        worksheet.write_row(5, 0, ['20240003', 'DB-3', 'March', 1, 1])
        worksheet.write_row(6, 0, ['20240001', 'DB-1', '2024.01', 1, 1])
        workbook.close()
        result = read_history(output.getvalue(), 'history.xlsx')
        self.assertEqual(result.format, 'xlsx')
        self.assertEqual(
            [(r.row, r.account, r.meter, r.month, r.usage, r.amount)
                for r in result.rows], [
                (2, '20240001', 'DB-1', '2024-01', D('100.25'), D('52.97')),
                # 0.1 + 0.2 is read with the 15 digits of a spreadsheet
                (3, '20240001', 'DB-1', '2024-02', D('0.3'), D('0.16')),
                ])
        self.assertEqual(self.errors(result), [
                (4, 'negative_usage'), (6, 'bad_month'), (7, 'duplicate')])

    def test_numbers_out_of_range(self):
        "Huge numbers and digits of other scripts are errors of their row"
        data = '\n'.join([
                '户号,月份,用量,金额',
                '000123,2024-01,1e30,3.20',
                '000123,2024-02,1,1E+100000',
                '000123,2024-03,１２,3.20',
                '000123,2024-04,1_000,3.20',
                '000123,2024-05,١٢٣,3.20',
                '000123,２０２４-06,1,3.20',
                '000123,2024-07,Infinity,NaN',
                '000123,2024-08,10,32.00',
                ]).encode('utf-8')
        result = read_history(data, 'history.csv')
        self.assertEqual(
            [(r.row, r.month, r.usage) for r in result.rows],
            [(9, '2024-08', D(10))])
        self.assertEqual(self.errors(result), [
                (2, 'bad_digits'), (3, 'bad_digits'), (4, 'bad_number'),
                (5, 'bad_number'), (6, 'bad_number'), (7, 'bad_month'),
                (8, 'bad_number'), (8, 'bad_number')])
        self.assertEqual(result.errors[0].params['value'], '1e30')

        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {'in_memory': True})
        worksheet = workbook.add_worksheet()
        worksheet.write_row(0, 0, ['户号', '月份', '用量', '金额'])
        worksheet.write_row(1, 0, ['000123', '2024-01', 1e30, 3.2])
        worksheet.write_row(2, 0, ['000123', 1e30, 1, 3.2])
        worksheet.write_row(3, 0, ['000123', '2024-03', 1, 1e300])
        worksheet.write_row(4, 0, ['000123', '2024-04', 10, 32])
        workbook.close()
        result = read_history(output.getvalue(), 'history.xlsx')
        self.assertEqual([r.row for r in result.rows], [5])
        self.assertEqual(self.errors(result), [
                (2, 'bad_digits'), (3, 'bad_month'), (4, 'bad_digits')])

    def test_xlsx_by_content(self):
        "An XLSX is recognised without its extension"
        output = io.BytesIO()
        write_bills_xlsx([{'account': '1', 'month': '2024-01',
                    'usage': D(1), 'amount': D(1)}], output)
        result = read_history(output.getvalue(), 'upload')
        self.assertEqual(result.format, 'xlsx')
        self.assertEqual(len(result.rows), 1)

    def test_unreadable_files(self):
        for data, filename, code in [
                (b'', 'empty.csv', 'empty_file'),
                (b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1', 'old.xls',
                    'old_excel'),
                (b'PK\x03\x04 broken', 'broken.xlsx', 'file_format'),
                (b'\xff\xff\xff\x81', 'binary.csv', 'encoding'),
                (b'a,"' + b'x' * 200000 + b'"', 'long.csv', 'bad_csv'),
                ]:
            with self.subTest(filename=filename):
                with self.assertRaises(ExchangeError) as cm:
                    read_history(data, filename)
                self.assertEqual(cm.exception.code, code)
                self.assertIsInstance(cm.exception, ValueError)

    def test_parse_month(self):
        for value, month in [
                ('2024-03', '2024-03'),
                ('2024/3', '2024-03'),
                ('2024.03', '2024-03'),
                ('2024年3月', '2024-03'),
                ('2024年03月15日', '2024-03'),
                ('202403', '2024-03'),
                ('20240315', '2024-03'),
                ('2024-03-15 00:00:00', '2024-03'),
                (D(202403), '2024-03'),
                (excel_serial(dt.date(2024, 3, 15)), '2024-03'),
                ]:
            with self.subTest(value=value):
                self.assertEqual(parse_month(value), month)
        for value in ['2024-00', '2024-13', '1899-01', 'March', '24-03',
                D('202403.5'), D(5)]:
            with self.subTest(value=value):
                with self.assertRaises(ValueError):
                    parse_month(value)
