# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Files exchanged with the existing billing system (收费系统).

Plain functions without trytond so that the file formats can be tested on
their own; the wizards of ``meter_billing`` call them.

Export
------

``write_payments_xlsx(rows, fileobj)`` and ``write_bills_xlsx(rows,
fileobj)`` write one worksheet with a single header row of the Chinese
names of :data:`PAYMENT_COLUMNS` and :data:`BILL_COLUMNS`, which the
operator maps once in the import screen of the billing system.  ``rows``
is an iterable of mappings keyed by the column keys (``'account'``,
``'amount'`` …); missing keys give empty cells.  Account, meter and
receipt numbers are written as text so that leading zeros survive,
amounts as numbers with the ``0.00`` format, quantities as numbers with
the decimals they have, dates as dates.  The header row is frozen and has
an autofilter.  Both return the number of data rows written.

Import
------

``read_history(data, filename) -> HistoryResult`` parses the historical
usage exported by the billing system: CSV (UTF-8, UTF-8 with BOM, UTF-16
with BOM or GBK/GB18030; comma, tab or semicolon separated) or XLSX (read
with :mod:`zipfile` and :mod:`xml.etree` through ``defusedxml``, which
trytond already requires).  The header row may be preceded by title rows
and its names may be Chinese or English: :data:`HEADER_SYNONYMS` maps them
to ``account``, ``meter``, ``month``, ``usage`` and ``amount``; ``meter``
is optional because some accounts have no meter number in the billing
system.  The result holds the valid ``HistoryRow`` and one ``RowError``
``(row, code, message, column)`` per problem; a row with an error is left
out.  Row numbers are those the operator sees in a spreadsheet (the header
is usually row 1).  Error codes: ``missing_column``, ``missing_value``,
``bad_month``, ``bad_number``, ``negative_usage``, ``duplicate``.  Blank
rows and total rows (合计, 总计, 小计) are skipped.  A file that cannot be
read at all raises :class:`ExchangeError` (a :class:`ValueError` with a
``code``: ``empty_file``, ``file_format``, ``encoding``,
``file_too_large``).
"""
import csv
import datetime as dt
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import List, Optional

import xlsxwriter
from defusedxml import ElementTree

from trytond.modules.meter_base.numerals import (
    has_other_digits, parse_decimal)

__all__ = [
    'ExchangeError', 'Column', 'PAYMENT_COLUMNS', 'BILL_COLUMNS',
    'PAYMENT_METHODS', 'HEADER_SYNONYMS', 'REQUIRED_FIELDS',
    'NEEDED_COLUMNS', 'mapped_columns', 'missing_columns',
    'write_payments_xlsx', 'write_bills_xlsx',
    'HistoryRow', 'RowError', 'HistoryResult', 'read_history',
    'parse_month',
    'ACCOUNT_FIELDS', 'ACCOUNT_REQUIRED', 'AccountRow', 'AccountResult',
    'read_accounts',
    ]

TEXT, MONTH, DATE, MONEY, QUANTITY = 'text', 'month', 'date', 'money', 'qty'


class ExchangeError(ValueError):
    "A file that cannot be read at all; code is stable for translation"

    def __init__(self, code, message, /, **params):
        super().__init__(message % params if params else message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str
    width: int


PAYMENT_COLUMNS = (
    Column('receipt', '收据号', TEXT, 18),
    Column('date', '缴费日期', DATE, 12),
    Column('account', '户号', TEXT, 14),
    Column('name', '户名', TEXT, 16),
    Column('meter', '表号', TEXT, 16),
    Column('campus', '校区', TEXT, 10),
    Column('month', '月份', MONTH, 9),
    Column('amount', '金额', MONEY, 12),
    Column('method', '缴费方式', TEXT, 10),
    Column('reference', '交易流水号', TEXT, 30),
    )
BILL_COLUMNS = (
    Column('number', '账单号', TEXT, 18),
    Column('account', '户号', TEXT, 14),
    Column('name', '户名', TEXT, 16),
    Column('meter', '表号', TEXT, 16),
    Column('campus', '校区', TEXT, 10),
    Column('month', '月份', MONTH, 9),
    Column('previous_reading', '上期读数', QUANTITY, 12),
    Column('reading', '本期读数', QUANTITY, 12),
    Column('usage', '用量', QUANTITY, 10),
    Column('amount', '金额', MONEY, 12),
    Column('due_date', '缴费期限', DATE, 12),
    )
# Payment methods as the billing system names them; other values are
# written as given
PAYMENT_METHODS = {
    'cash': '现金',
    'cheque': '支票',
    'wechat': '微信',
    'alipay': '支付宝',
    'card': '校园卡',
    'transfer': '银行转账',
    'pos': '刷卡',
    }

_XLSX_MONEY = '0.00'
_XLSX_DATE = 'yyyy-mm-dd'
_MAX_QUANTITY_DECIMALS = 6


def _write(rows, fileobj, sheet_name, columns):
    workbook = xlsxwriter.Workbook(fileobj, {
            'in_memory': True,
            'strings_to_numbers': False,
            'strings_to_formulas': False,
            'strings_to_urls': False,
            })
    header_format = workbook.add_format({
            'bold': True, 'bottom': 1, 'align': 'center',
            'bg_color': '#DDEBF7'})
    formats = {
        TEXT: workbook.add_format({'num_format': '@'}),
        MONTH: workbook.add_format({'num_format': '@'}),
        DATE: workbook.add_format({'num_format': _XLSX_DATE}),
        MONEY: workbook.add_format({'num_format': _XLSX_MONEY}),
        }
    quantity_formats = {}

    def quantity_format(value):
        exponent = value.as_tuple().exponent
        places = min(max(-exponent, 0), _MAX_QUANTITY_DECIMALS)
        if places not in quantity_formats:
            quantity_formats[places] = workbook.add_format({
                    'num_format': '0.' + '0' * places if places else '0'})
        return quantity_formats[places]

    worksheet = workbook.add_worksheet(sheet_name)
    for index, column in enumerate(columns):
        worksheet.set_column(index, index, column.width, formats.get(
                column.kind))
        worksheet.write_string(0, index, column.header, header_format)
    count = 0
    for count, row in enumerate(rows, 1):
        for index, column in enumerate(columns):
            value = row.get(column.key)
            if value is None or value == '':
                continue
            if column.kind == MONEY:
                worksheet.write_number(count, index,
                    float(Decimal(value)), formats[MONEY])
            elif column.kind == QUANTITY:
                value = Decimal(value)
                worksheet.write_number(count, index, float(value),
                    quantity_format(value))
            elif column.kind == DATE:
                if isinstance(value, dt.datetime):
                    value = value.date()
                worksheet.write_datetime(count, index, value, formats[DATE])
            elif column.kind == MONTH:
                if isinstance(value, dt.date):
                    value = value.strftime('%Y-%m')
                worksheet.write_string(count, index, value, formats[MONTH])
            else:
                if column.key == 'method':
                    value = PAYMENT_METHODS.get(value, value)
                worksheet.write_string(count, index, str(value),
                    formats[TEXT])
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, max(count, 1), len(columns) - 1)
    workbook.close()
    return count


# The columns the billing system cannot take a file without
NEEDED_COLUMNS = {
    'bills': ('account', 'meter', 'month', 'usage', 'amount'),
    'payments': ('receipt', 'account', 'month', 'amount', 'method'),
    }


def mapped_columns(columns, mapping=None):
    """Return the columns laid out by mapping, a list of (key, header) in
    the billing system's order: only those, under those headers; all the
    columns under their own headers when mapping is empty"""
    if not mapping:
        return columns
    by_key = {c.key: c for c in columns}
    return tuple(replace(by_key[key], header=header)
        for key, header in mapping if key in by_key)


def missing_columns(what, mapping=None):
    "Return the keys of the needed columns the mapping leaves out"
    columns = BILL_COLUMNS if what == 'bills' else PAYMENT_COLUMNS
    keys = {c.key for c in mapped_columns(columns, mapping)}
    return [k for k in NEEDED_COLUMNS[what] if k not in keys]


def write_payments_xlsx(rows, fileobj, mapping=None):
    """Write the payments to fileobj as XLSX for the billing system.

    rows are mappings with the keys of PAYMENT_COLUMNS; mapping as for
    mapped_columns.
    """
    return _write(rows, fileobj, '缴费记录',
        mapped_columns(PAYMENT_COLUMNS, mapping))


def write_bills_xlsx(rows, fileobj, mapping=None):
    """Write the bills to fileobj as XLSX for the billing system.

    rows are mappings with the keys of BILL_COLUMNS; mapping as for
    mapped_columns.
    """
    return _write(rows, fileobj, '账单', mapped_columns(BILL_COLUMNS, mapping))


HEADER_SYNONYMS = {
    'account': (
        '户号', '用户号', '用户编号', '户编号', '账户号', '帐户号', '账号',
        '帐号', '客户号', '客户编号', '缴费号', '房间号', 'account',
        'accountno', 'accountnumber', 'accountid', 'acct', 'customerno',
        'customer'),
    'meter': (
        '表号', '表编号', '表具编号', '表计编号', '仪表编号', '仪表号',
        '电表号', '电表编号', '水表号', '水表编号', 'meter', 'meterno',
        'meternumber', 'meterid'),
    'month': (
        '月份', '年月', '账期', '帐期', '计费月份', '抄表月份', '所属月份',
        '费用月份', '结算月份', '月度', 'month', 'period', 'billingmonth',
        'billingperiod', 'yearmonth'),
    'usage': (
        '用量', '用水量', '用电量', '使用量', '实用量', '本月用量',
        '本期用量', '计费用量', '消耗量', 'usage', 'consumption', 'quantity',
        'qty', 'volume'),
    'amount': (
        '金额', '应收金额', '应缴金额', '应交金额', '本月金额', '本期金额',
        '合计金额', '费用', '电费', '水费', 'amount', 'charge', 'total',
        'fee'),
    }
REQUIRED_FIELDS = ('account', 'month', 'usage', 'amount')
# A column is named in errors by its first, usual header
_FIELD_LABELS = {
    name: synonyms[0] for name, synonyms in HEADER_SYNONYMS.items()}
_TOTAL_LABELS = {'合计', '总计', '小计', 'total', 'sum'}
_HEADER_SCAN = 10
_MAX_MEMBER_SIZE = 256 * 1024 * 1024
_MONTH_RE = re.compile(
    r'(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?'
    r'(?:\s*[-/.]?\s*\d{1,2}\s*日?)?'
    r'(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?')
_COMPACT_MONTH_RE = re.compile(r'(\d{4})(\d{2})(?:\d{2})?')
_FIRST_YEAR, _LAST_YEAR = 1990, 2099
# A larger spreadsheet date serial is no date (and int() of 1E+100000 is
# slow).
_MAX_SERIAL = 10 ** 7


@dataclass(frozen=True)
class HistoryRow:
    row: int
    account: str
    meter: Optional[str]
    month: str
    usage: Decimal
    amount: Decimal


@dataclass(frozen=True)
class RowError:
    row: int
    code: str
    message: str
    column: Optional[str] = None
    params: dict = field(default_factory=dict)


@dataclass
class HistoryResult:
    rows: List[HistoryRow] = field(default_factory=list)
    errors: List[RowError] = field(default_factory=list)
    format: str = ''
    encoding: Optional[str] = None


def _normalize_header(value):
    "Fold a header so that spacing, case and a unit suffix do not matter"
    text = str(value or '').strip().lstrip('\ufeff').lower()
    text = re.sub(r'[(（\[【].*?[)）\]】]', '', text)
    return re.sub(r'[\s_\-.:：/#]', '', text)


def _map_header(cells, synonyms_of=None):
    """Return {field: column index} for the header cells.

    For each field the column named by its earliest synonym wins, so that
    金额 is preferred to 水费 when a file has both.
    """
    names = [_normalize_header(c) for c in cells]
    mapping = {}
    for name, synonyms in (synonyms_of or HEADER_SYNONYMS).items():
        ranks = [(synonyms.index(n), i) for i, n in enumerate(names)
            if n in synonyms and i not in mapping.values()]
        if ranks:
            mapping[name] = min(ranks)[1]
    return mapping


def _text(value):
    "Cell value as text, numbers without a spurious .0"
    if value is None:
        return ''
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            # Not quantize(): 1E+30 exceeds the precision of the context.
            return format(value.to_integral_value(), 'f')
        return str(value.normalize())
    text = str(value).strip()
    # Exports protect leading zeros with ="0012" or '0012
    match = re.fullmatch(r'="(.*)"', text)
    if match:
        text = match.group(1).strip()
    return text.lstrip("'").strip()


def _number(value):
    """Return the finite Decimal of a cell or raise ValueError

    Text is read with the ASCII digits 0-9 only: Decimal() also reads the
    digits of other scripts and underscores.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(value)
        return value
    text = _text(value).replace(',', '').replace('，', '')
    text = text.lstrip('¥￥').strip()
    if text.endswith('元'):
        text = text[:-1].strip()
    return parse_decimal(text, exponent=True)


def parse_month(value, epoch=dt.date(1899, 12, 30)):
    """Return the month 'YYYY-MM' of a cell or raise ValueError.

    Accepts 2024-03, 2024/3, 2024.03, 2024年3月, 202403, full dates and, for
    numeric spreadsheet cells, yyyymm or a date serial number counted from
    epoch.
    """
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > _MAX_SERIAL or (
                value != value.to_integral_value()):
            raise ValueError(value)
        number = int(value)
        if 100000 <= number <= 999999:
            year, month = divmod(number, 100)
        else:
            try:
                date = epoch + dt.timedelta(days=number)
            except OverflowError:
                raise ValueError(value)
            year, month = date.year, date.month
    else:
        text = _text(value)
        match = (_MONTH_RE.fullmatch(text)
            or _COMPACT_MONTH_RE.fullmatch(text))
        if not match or has_other_digits(text):
            raise ValueError(value)
        year, month = int(match.group(1)), int(match.group(2))
    if not (_FIRST_YEAR <= year <= _LAST_YEAR and 1 <= month <= 12):
        raise ValueError(value)
    return '%04d-%02d' % (year, month)


def _decode(data):
    if data.startswith(b'\xef\xbb\xbf'):
        return data[3:].decode('utf-8'), 'utf-8-sig'
    if data.startswith((b'\xff\xfe', b'\xfe\xff')):
        return data.decode('utf-16'), 'utf-16'
    try:
        return data.decode('utf-8'), 'utf-8'
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312
        return data.decode('gb18030'), 'gbk'
    except UnicodeDecodeError:
        raise ExchangeError(
            'encoding', 'The file is neither UTF-8 nor GBK text.')


def _read_csv(data):
    text, encoding = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), '')
    delimiter = max(',\t;', key=first.count)
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    try:
        return [(number, row) for number, row in enumerate(reader, 1)
            ], encoding
    except csv.Error as exception:
        raise ExchangeError(
            'bad_csv', 'The file is not a valid CSV: %(error)s',
            error=exception) from exception


def _local(tag):
    return tag.rsplit('}', 1)[-1]


def _column_index(reference):
    letters = re.match(r'[A-Za-z]*', reference).group(0).upper()
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord('A') + 1
    return index - 1


def _read_xlsx(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ExchangeError('file_format', 'The file is not a valid XLSX.')

    def parse(name):
        try:
            info = archive.getinfo(name)
        except KeyError:
            return None
        if info.file_size > _MAX_MEMBER_SIZE:
            raise ExchangeError(
                'file_too_large', 'The spreadsheet is too large.')
        try:
            return ElementTree.fromstring(archive.read(name))
        except (ElementTree.ParseError, zipfile.BadZipFile):
            raise ExchangeError(
                'file_format', 'The file is not a valid XLSX.')

    workbook = parse('xl/workbook.xml')
    if workbook is None:
        raise ExchangeError('file_format', 'The file is not a valid XLSX.')
    epoch = dt.date(1899, 12, 30)
    sheet_path = 'xl/worksheets/sheet1.xml'
    relation = None
    for element in workbook.iter():
        tag = _local(element.tag)
        if tag == 'workbookPr' and element.get('date1904') in {'1', 'true'}:
            epoch = dt.date(1904, 1, 1)
        elif tag == 'sheet' and relation is None:
            relation = next((v for k, v in element.attrib.items()
                    if _local(k) == 'id'), None)
    relations = parse('xl/_rels/workbook.xml.rels')
    if relation and relations is not None:
        for element in relations.iter():
            if _local(element.tag) == 'Relationship' and (
                    element.get('Id') == relation):
                target = element.get('Target', '')
                if target.startswith('/'):
                    sheet_path = target.lstrip('/')
                else:
                    sheet_path = posixpath.normpath(
                        posixpath.join('xl', target))

    shared = []
    strings = parse('xl/sharedStrings.xml')
    if strings is not None:
        for item in strings:
            shared.append(_inline_text(item))

    sheet = parse(sheet_path)
    if sheet is None:
        raise ExchangeError('no_sheet', 'The XLSX has no worksheet.')
    rows, number = [], 0
    for row in sheet.iter():
        if _local(row.tag) != 'row':
            continue
        number = int(row.get('r') or number + 1)
        cells, position = [], 0
        for cell in row:
            if _local(cell.tag) != 'c':
                continue
            if cell.get('r'):
                position = _column_index(cell.get('r'))
            cells.extend([None] * (position + 1 - len(cells)))
            cells[position] = _cell_value(cell, shared)
            position += 1
        rows.append((number, cells))
    return rows, epoch


def _inline_text(element):
    "Text of a string item, leaving out phonetic runs"
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == 't':
            parts.append(child.text or '')
        elif tag == 'r':
            parts.extend(t.text or '' for t in child if _local(t.tag) == 't')
    return ''.join(parts)


def _cell_value(cell, shared):
    kind = cell.get('t', 'n')
    value = next((c.text for c in cell if _local(c.tag) == 'v'), None)
    if kind == 'inlineStr':
        inline = next((c for c in cell if _local(c.tag) == 'is'), None)
        return _inline_text(inline) if inline is not None else ''
    if value is None:
        return None
    if kind == 's':
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            return ''
    if kind == 'n':
        try:
            # Spreadsheets keep 15 significant digits; the rest of a binary
            # float is noise
            return Decimal(format(float(value), '.15g'))
        except ValueError:
            return value
    if kind == 'b':
        return 'TRUE' if value == '1' else 'FALSE'
    return value


def read_history(data, filename):
    """Parse the historical usage exported by the billing system.

    The format is chosen by the extension of filename and, failing that,
    by the content (an XLSX is a ZIP archive).
    """
    records, epoch, format_, encoding = _read_file(data, filename)
    result = HistoryResult(format=format_, encoding=encoding)
    _parse_records(records, result, epoch)
    return result


def _read_file(data, filename):
    """Return the (row number, cells) of the file with the date epoch, the
    format and the encoding of a CSV"""
    if not data or not data.strip():
        raise ExchangeError('empty_file', 'The file is empty.')
    data = bytes(data)
    extension = posixpath.splitext((filename or '').lower())[1]
    if extension == '.xls' or data.startswith(b'\xd0\xcf\x11\xe0'):
        raise ExchangeError(
            'old_excel',
            'Old Excel files (.xls) are not supported: save as XLSX or CSV.')
    if extension in {'.xlsx', '.xlsm'} or data.startswith(b'PK\x03\x04'):
        records, epoch = _read_xlsx(data)
        return records, epoch, 'xlsx', None
    records, encoding = _read_csv(data)
    return records, dt.date(1899, 12, 30), 'csv', encoding


def _error(result, row, code, message, column=None, **params):
    result.errors.append(RowError(
            row=row, code=code, message=message % params, column=column,
            params=params))


def _is_blank(cells):
    return all(_text(c) == '' for c in cells)


def _parse_records(records, result, epoch):
    records = [(n, cells) for n, cells in records if not _is_blank(cells)]
    header_at, mapping = None, {}
    for position, (number, cells) in enumerate(records[:_HEADER_SCAN]):
        candidate = _map_header(cells)
        if len(candidate) >= 2:
            header_at, mapping = position, candidate
            break
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if missing:
        row = records[header_at][0] if header_at is not None else 1
        for name in missing:
            _error(result, row, 'missing_column',
                'The column "%(label)s" (%(field)s) is missing.',
                column=name, label=_FIELD_LABELS[name], field=name)
        return

    seen = {}
    for number, cells in records[header_at + 1:]:
        def cell(name):
            index = mapping.get(name)
            if index is None or index >= len(cells):
                return None
            return cells[index]
        account = _text(cell('account'))
        if account.lower() in _TOTAL_LABELS or (
                not account and any(_text(c).lower() in _TOTAL_LABELS
                    for c in cells)):
            continue
        meter = _text(cell('meter')) or None
        errors = len(result.errors)
        if not account:
            _error(result, number, 'missing_value',
                'The %(label)s is empty.', column='account',
                label=_FIELD_LABELS['account'])

        month = None
        raw_month = cell('month')
        if _text(raw_month) == '':
            _error(result, number, 'missing_value', 'The %(label)s is empty.',
                column='month', label=_FIELD_LABELS['month'])
        else:
            try:
                month = parse_month(raw_month, epoch)
            except ValueError:
                _error(result, number, 'bad_month',
                    'The month "%(value)s" is not a valid year and month.',
                    column='month', value=_text(raw_month))

        values = {}
        for name, digits in [('usage', 3), ('amount', 2)]:
            raw, label = cell(name), _FIELD_LABELS[name]
            if _text(raw) == '':
                _error(result, number, 'missing_value',
                    'The %(label)s is empty.', column=name, label=label)
                continue
            try:
                value = _number(raw)
            except ValueError:
                _error(result, number, 'bad_number',
                    'The %(label)s "%(value)s" is not a number.',
                    column=name, label=label, value=_text(raw))
                continue
            # What the history keeps: 16 digits, of which these decimals.
            # The size first: round() of 1E+30 exceeds the precision of
            # the context.
            if (abs(value) >= Decimal(10) ** (16 - digits)
                    or value != round(value, digits)):
                _error(result, number, 'bad_digits',
                    'The %(label)s "%(value)s" has more than %(digits)s '
                    'decimals or is too large.', column=name, label=label,
                    value=_text(raw), digits=digits)
                continue
            values[name] = value
        if values.get('usage', 0) < 0:
            _error(result, number, 'negative_usage',
                'The usage %(value)s is negative.', column='usage',
                value=values['usage'])

        if account and month:
            key = (account, meter, month)
            if key in seen:
                _error(result, number, 'duplicate',
                    'The account %(account)s already has the month '
                    '%(month)s on row %(first)s.', account=account,
                    month=month, first=seen[key])
            else:
                seen[key] = number
        if len(result.errors) == errors:
            result.rows.append(HistoryRow(
                    row=number, account=account, meter=meter, month=month,
                    usage=values['usage'], amount=values['amount']))


# The accounts (户号) exported by the billing system.  The number is found
# by the history's synonyms; the other columns by the names the caller
# gives (the labels of the account's fields, from the translations).
ACCOUNT_FIELDS = (
    'account', 'name', 'category', 'campus', 'building', 'phone',
    'billing_mode')
ACCOUNT_REQUIRED = ('account', 'name', 'campus')
# The longest text kept of a cell: a longer one is a wrong column
_MAX_TEXT = 128


@dataclass(frozen=True)
class AccountRow:
    row: int
    account: str
    name: str
    campus: str
    category: Optional[str] = None
    building: Optional[str] = None
    phone: Optional[str] = None
    billing_mode: Optional[str] = None


@dataclass
class AccountResult:
    rows: List[AccountRow] = field(default_factory=list)
    errors: List[RowError] = field(default_factory=list)
    format: str = ''
    encoding: Optional[str] = None
    total: int = 0
    # (account, name) as the file has them, by row: to show refused rows
    texts: dict = field(default_factory=dict)


def read_accounts(data, filename, headers=None):
    """Parse the accounts exported by the billing system.

    headers maps the fields of ACCOUNT_FIELDS to the header names that
    name them (any case and spacing); the account number is also found by
    the names of HEADER_SYNONYMS.  Error codes: those of read_history's
    missing_column and missing_value, ``too_long`` and ``duplicate_account``
    (an account number twice in the file: both rows are refused, which
    one is right is the operator's call).
    """
    records, _, format_, encoding = _read_file(data, filename)
    result = AccountResult(format=format_, encoding=encoding)
    synonyms = {name: tuple(_normalize_header(h)
            for h in (headers or {}).get(name, ()) if h)
        for name in ACCOUNT_FIELDS}
    synonyms['account'] = HEADER_SYNONYMS['account'] + synonyms['account']
    labels = {name: (headers or {}).get(name, (name,))[0] if (
            headers or {}).get(name) else name for name in ACCOUNT_FIELDS}
    labels['account'] = _FIELD_LABELS['account']

    records = [(n, cells) for n, cells in records if not _is_blank(cells)]
    header_at, mapping = None, {}
    for position, (number, cells) in enumerate(records[:_HEADER_SCAN]):
        candidate = _map_header(cells, synonyms)
        if len(candidate) >= 2:
            header_at, mapping = position, candidate
            break
    missing = [f for f in ACCOUNT_REQUIRED if f not in mapping]
    if missing:
        row = records[header_at][0] if header_at is not None else 1
        for name in missing:
            _error(result, row, 'missing_column',
                'The column "%(label)s" (%(field)s) is missing.',
                column=name, label=labels[name], field=name)
        return result

    rows, first = [], {}
    for number, cells in records[header_at + 1:]:
        values = {}
        for name, index in mapping.items():
            values[name] = _text(cells[index]) if index < len(cells) else ''
        if values['account'].lower() in _TOTAL_LABELS:
            continue
        result.total += 1
        result.texts[number] = (values['account'], values['name'])
        errors = len(result.errors)
        for name in ACCOUNT_REQUIRED:
            if not values[name]:
                _error(result, number, 'missing_value',
                    'The %(label)s is empty.', column=name,
                    label=labels[name])
        for name, value in values.items():
            if len(value) > _MAX_TEXT:
                _error(result, number, 'too_long',
                    'The %(label)s is longer than %(size)s characters.',
                    column=name, label=labels[name], size=_MAX_TEXT)
        account = values['account']
        if account:
            if account in first:
                _error(result, number, 'duplicate_account',
                    'The account %(account)s is already on row %(first)s.',
                    column='account', account=account, first=first[account])
            else:
                first[account] = number
        if len(result.errors) == errors:
            rows.append(AccountRow(row=number, **{
                        n: v or None for n, v in values.items()}))
    # The first row of a number repeated later is refused too
    repeated = {e.params['account'] for e in result.errors
        if e.code == 'duplicate_account'}
    for row in rows:
        if row.account in repeated:
            _error(result, row.row, 'duplicate_account',
                'The account %(account)s is already on row %(first)s.',
                column='account', account=row.account,
                first=min(e.row for e in result.errors
                    if e.code == 'duplicate_account'
                    and e.params['account'] == row.account))
        else:
            result.rows.append(row)
    result.errors.sort(key=lambda e: e.row)
    return result
