# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import json
import unittest
from decimal import Decimal

from zoneinfo import ZoneInfo

from trytond.modules.meter_devices.parsing import (
    FileError, Layout, RowError, parse_date, parse_value, read)

D = Decimal


class ParsingTestCase(unittest.TestCase):
    "Reading handheld and platform files, without database"

    def test_csv_by_header(self):
        layout = Layout('csv', identifier='id', value='kWh', taken_at='at')
        rows = list(read(
                b'\xef\xbb\xbfat,id,kWh\n2026-01-02 03:04,A1,12.5\n\n'
                b'2026-01-03,A2,x\n', layout))
        self.assertEqual(len(rows), 2)
        first, second = rows
        self.assertEqual((first.number, first.identifier, first.taken_at,
                first.value), (2, 'A1', dt.datetime(2026, 1, 2, 3, 4),
                D('12.5')))
        self.assertIsNone(first.error)
        self.assertEqual(second.number, 4)
        self.assertEqual(second.error.code, 'value')
        self.assertEqual(second.error.params['value'], 'x')
        self.assertEqual(second.raw, '2026-01-03,A2,x')

    def test_missing_header_column(self):
        layout = Layout('csv', identifier='id', value='value', taken_at='at')
        with self.assertRaises(FileError) as context:
            list(read(b'at,id\n2026-01-01,A\n', layout))
        self.assertEqual(context.exception.code, 'column')

    def test_short_row(self):
        layout = Layout('csv', identifier='1', value='3', taken_at='2',
            header_rows=0)
        row, = read(b'A,2026-01-01\n', layout)
        self.assertEqual(row.error.code, 'columns')
        self.assertEqual(row.error.params, {'count': 2, 'needed': 3})

    def test_txt_blanks_and_time_column(self):
        layout = Layout('txt', identifier='1', taken_at='2', time='3',
            value='4', delimiter='space', header_rows=0,
            date_format='%d/%m/%Y %H:%M')
        row, = read(b'  A7   31/01/2026 23:59   0001.20\n', layout)
        self.assertEqual(row.taken_at, dt.datetime(2026, 1, 31, 23, 59))
        self.assertEqual(row.value, D('1.2'))

    def test_encoding(self):
        layout = Layout('csv', encoding='gb18030', header_rows=0)
        row, = read('表1,5,2026-01-01\n'.encode('gb18030'), layout)
        self.assertEqual(row.identifier, '表1')
        with self.assertRaises(FileError) as context:
            list(read('表1,5,2026-01-01\n'.encode('gb18030'),
                    Layout('csv', encoding='utf-8', header_rows=0)))
        self.assertEqual(context.exception.code, 'encoding')

    def test_json(self):
        layout = Layout('json', identifier='meter.id', value='v',
            taken_at='t', records_key='result')
        data = json.dumps({'result': [
                    {'meter': {'id': 'P1'}, 'v': 1.25,
                        't': '2026-01-01T08:00:00+08:00'},
                    {'meter': {}, 'v': 1, 't': 0},
                    ]}).encode()
        first, second = read(data, layout)
        self.assertEqual(first.value, D('1.25'))
        self.assertEqual(first.taken_at, dt.datetime(2026, 1, 1, 0, 0))
        self.assertEqual(second.error.code, 'key')
        with self.assertRaises(FileError) as context:
            list(read(b'{"other": []}', layout))
        self.assertEqual(context.exception.code, 'records')
        with self.assertRaises(FileError) as context:
            list(read(b'{', layout))
        self.assertEqual(context.exception.code, 'json')

    def test_values(self):
        self.assertEqual(parse_value(' 1 234.500 '), D('1234.500'))
        self.assertEqual(parse_value(12.5), D('12.5'))
        for text, code in [('abc', 'value'), ('', 'value'), ('NaN', 'value'),
                ('-1', 'negative'), ('1.2345', 'value_digits')]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError) as context:
                    parse_value(text)
                self.assertEqual(context.exception.code, code)

    def test_dates(self):
        self.assertEqual(parse_date('2026年1月31日 08:00'),
            dt.datetime(2026, 1, 31, 8))
        self.assertEqual(parse_date('20260131'), dt.datetime(2026, 1, 31))
        self.assertEqual(parse_date(dt.date(2026, 1, 31)),
            dt.datetime(2026, 1, 31))
        with self.assertRaises(ValueError) as context:
            parse_date('31-31-2026')
        self.assertEqual(context.exception.code, 'date')
        with self.assertRaises(ValueError):
            parse_date('2026-01-31', '%d/%m/%Y')

    def test_damaged_files(self):
        "Damage found while reading the rows is a file error, not a crash"
        import io
        import zipfile

        import openpyxl
        workbook = openpyxl.Workbook()
        for row in [('id', 'value', 'at'), ('A', 1, '2026-01-01')]:
            workbook.active.append(row)
        good = io.BytesIO()
        workbook.save(good)
        damaged = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good.getvalue())) as source, \
                zipfile.ZipFile(damaged, 'w') as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == 'xl/worksheets/sheet1.xml':
                    data = data[:len(data) // 2]
                target.writestr(item, data)
        layout = Layout('xlsx', identifier='id', value='value',
            taken_at='at')
        row, = read(good.getvalue(), layout)
        self.assertEqual(row.identifier, 'A')
        with self.assertRaises(FileError) as context:
            list(read(damaged.getvalue(), layout))
        self.assertEqual(context.exception.code, 'xlsx')

        with self.assertRaises(FileError) as context:
            list(read(b'A,1,"' + b'x' * 200000 + b'"\n',
                    Layout('csv', header_rows=0)))
        self.assertEqual(context.exception.code, 'csv')

    def test_column_zero(self):
        "Columns count from 1: a column 0 is an error, not the last one"
        with self.assertRaises(FileError) as context:
            list(read(b'A,1,2026-01-01\n', Layout('csv', header_rows=0,
                        identifier='0', value='2', taken_at='3')))
        self.assertEqual(context.exception.code, 'column')
        records = json.dumps([{'v': [5, 6], 'id': 'A', 'at': '2026-01-01'}])
        row, = read(records.encode(), Layout('json', identifier='id',
                value='v.0', taken_at='at'))
        self.assertEqual(row.error.code, 'key')

    def test_number_dates(self):
        "Numbers in the date column: a day, epoch seconds or ms, or an error"
        self.assertEqual(parse_date(20261125), dt.datetime(2026, 11, 25))
        self.assertEqual(parse_date(D('1764028800')),
            dt.datetime(2025, 11, 25))
        self.assertEqual(parse_date(1764028800000),
            dt.datetime(2025, 11, 25))
        self.assertEqual(parse_date(20261125, zone=ZoneInfo('Asia/Shanghai')),
            dt.datetime(2026, 11, 24, 16))
        # A serial day, a reading in the wrong column: not a date of 1970
        for wrong in [46000, 1234.5, 0, -1, 99999999999999]:
            with self.subTest(value=wrong):
                with self.assertRaises(RowError) as context:
                    parse_date(wrong)
                self.assertEqual(context.exception.code, 'date')

    def test_timezone(self):
        layout = Layout('csv', header_rows=0, timezone='Asia/Shanghai')
        row, = read(b'A,1,2026-01-01 08:00\n', layout)
        self.assertEqual(row.taken_at, dt.datetime(2026, 1, 1, 0, 0))
        with self.assertRaises(FileError):
            list(read(b'A,1,2026-01-01\n', Layout(
                        'csv', header_rows=0, timezone='Mars/Base')))

    def test_date_out_of_range(self):
        "A date of year 1 or 1970 is a row error, not an OverflowError"
        for layout in [
                Layout('csv', header_rows=0, timezone='Asia/Shanghai',
                    date_format='%Y-%m-%d %H:%M'),
                Layout('csv', header_rows=0, timezone='Asia/Shanghai'),
                Layout('csv', header_rows=0, date_format='%Y-%m-%d %H:%M'),
                Layout('csv', header_rows=0),
                ]:
            with self.subTest(layout=layout):
                rows = list(read(b'A,1,0001-01-01 00:00\n'
                        b'A,2,9999-12-31 23:59\n'
                        b'A,3,1970-01-01 00:00\n'
                        b'A,4,2026-01-01 08:00\n', layout))
                self.assertEqual([r.error.code if r.error else None
                        for r in rows],
                    ['date_range', 'date_range', 'date_range', None])
                self.assertEqual(rows[0].error.params, {
                        'value': '0001-01-01 00:00',
                        'min': '2000-01-01', 'max': '2100-01-01'})
        with self.assertRaises(RowError) as context:
            parse_date(dt.datetime(1, 1, 1), zone=ZoneInfo('Asia/Shanghai'))
        self.assertEqual(context.exception.code, 'date_range')
        for wrong in [float('inf'), float('nan'), D('1E+100000'), D('NaN')]:
            with self.subTest(value=wrong):
                with self.assertRaises(RowError) as context:
                    parse_date(wrong)
                self.assertEqual(context.exception.code, 'date')

    def test_json_nested_deep(self):
        "A JSON file nested 100,000 deep is a file error, not a crash"
        layout = Layout('json', identifier='id', value='v', taken_at='at')
        with self.assertRaises(FileError) as context:
            list(read(b'[' * 100000 + b']' * 100000, layout))
        self.assertEqual(context.exception.code, 'nesting')
        with self.assertRaises(FileError) as context:
            list(read(b'{"a": ' * 100000 + b'1' + b'}' * 100000, layout))
        self.assertEqual(context.exception.code, 'nesting')

    def test_other_digits(self):
        "Only the ASCII digits 0-9 are read as numbers"
        for text in ['١٢٣', '１２', '1_000', '12.５', '²', 'Infinity',
                'inf', '1E+', ' 1 _000']:
            with self.subTest(text=text):
                with self.assertRaises(RowError) as context:
                    parse_value(text)
                self.assertEqual(context.exception.code, 'value')
        for value in [float('inf'), float('nan'), D('Infinity')]:
            with self.subTest(value=value):
                with self.assertRaises(RowError) as context:
                    parse_value(value)
                self.assertEqual(context.exception.code, 'value')
        # Too large for a register, but numbers: the meter's digits judge.
        self.assertEqual(parse_value('99999999999999999999999'),
            D('99999999999999999999999'))
        self.assertEqual(parse_value('1E+100000'), D('1E+100000'))
        self.assertEqual(parse_value('1.5E+3'), D('1500'))
        for text in ['２０２６-01-31 08:00', '٢٠٢٦-01-31', '2026-01-３１']:
            for date_format in ['', '%Y-%m-%d %H:%M', '%Y-%m-%d']:
                with self.subTest(text=text, date_format=date_format):
                    with self.assertRaises(RowError) as context:
                        parse_date(text, date_format)
                    self.assertEqual(context.exception.code, 'date')
        rows = list(read('A,١٢٣,2026-01-01\nA,1_000,2026-01-01\n'
                'A,１２,2026-01-01\nA,12,2026-01-01\n'.encode(),
                Layout('csv', header_rows=0)))
        self.assertEqual([r.error.code if r.error else r.value
                for r in rows], ['value', 'value', 'value', D(12)])
        # A column of the layout is a number of ASCII digits or a name.
        with self.assertRaises(FileError) as context:
            list(read(b'A,1,2026-01-01\n', Layout('csv', header_rows=0,
                        identifier='１', value='2', taken_at='3')))
        self.assertEqual(context.exception.code, 'column')
        records = json.dumps([{'v': [5, 6], 'id': 'A', 'at': '2026-01-01'}])
        row, = read(records.encode(), Layout('json', identifier='id',
                value='v.２', taken_at='at'))
        self.assertEqual(row.error.code, 'key')
