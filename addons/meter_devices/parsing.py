# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Read the rows of handheld exports and energy platform files.

Handhelds export CSV, delimited text (TXT) or XLSX files; energy platforms
send CSV or JSON.  A Layout says where the meter identifier, the value and
the date are and how to read them::

    layout = Layout('csv', identifier='1', value='3', taken_at='2',
        date_format='%Y-%m-%d %H:%M')
    for row in read(data, layout):
        if row.error:
            ...row.number, row.raw, row.error.code, row.error.params...
        else:
            ...row.identifier, row.taken_at, row.value...

Columns are 1-based numbers or header names (keys for JSON).  data is the
content of the file (bytes) or a binary file object: CSV, TXT and XLSX rows
are read lazily from it so that big files do not fill the memory (a JSON
document is read whole).  A row that cannot be
read gives a RowError; a file that cannot be read at all raises FileError.
Plain Python: no trytond import.
"""
import csv
import datetime as dt
import functools
import io
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from trytond.modules.meter_base.numerals import (
    has_other_digits, is_integer, parse_decimal)

__all__ = ['Layout', 'Row', 'RowError', 'FileError', 'read', 'ROW_ERRORS',
    'FILE_ERRORS']

ROW_ERRORS = {
    'columns': "The row has too few columns.",
    'key': "The record misses a key.",
    'identifier': "The meter identifier is empty.",
    'value': "The value is not a number.",
    'negative': "The value is negative.",
    'value_digits': "The value has too many decimals.",
    'date': "The date cannot be read.",
    'date_range': "The date is out of range.",
    }
FILE_ERRORS = {
    'encoding': "The file is not in the expected encoding.",
    'column': "A column is missing from the header.",
    'json': "The file is not valid JSON.",
    'xlsx': "The file is not a valid XLSX workbook.",
    'csv': "The file is not a valid CSV or text file.",
    'records': "The JSON file holds no list of records.",
    'file_type': "Unknown file type.",
    'timezone': "Unknown time zone.",
    'nesting': "The JSON file is nested too deep.",
    }
DELIMITERS = {'tab': '\t', 'space': None}
# Formats tried in order when the layout has none.
DATE_FORMATS = [
    '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d',
    '%Y%m%d%H%M%S', '%Y%m%d%H%M', '%Y%m%d',
    '%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y',
    '%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M', '%Y年%m月%d日',
    ]
MAX_RAW = 500
# The epoch seconds taken for a date: 2000-01-01 to 2100-01-01
EPOCH_MIN, EPOCH_MAX = 946684800, 4102444800
# The dates taken for a reading, in UTC: the same years.
DATE_MIN, DATE_MAX = dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1)
_DATE_MIN_TEXT, _DATE_MAX_TEXT = (
    DATE_MIN.date().isoformat(), DATE_MAX.date().isoformat())
MAX_DECIMALS = 3


class RowError(ValueError):
    "A row that cannot be read; code is a key of ROW_ERRORS"

    def __init__(self, code, **params):
        super().__init__(ROW_ERRORS[code])
        self.code = code
        self.params = params


class FileError(ValueError):
    "A file that cannot be read; code is a key of FILE_ERRORS"

    def __init__(self, code, **params):
        super().__init__(FILE_ERRORS[code])
        self.code = code
        self.params = params


@dataclass
class Layout:
    """Where the data is in a file and how to read it.

    file_type is 'csv', 'txt', 'xlsx' or 'json'; identifier, value,
    taken_at and time (an optional separate time column) are 1-based
    column numbers or header names; date_format is a strptime format
    (ISO and common formats are tried when empty); delimiter is a
    character, 'tab' or 'space' (any run of blanks); header_rows are
    skipped, the last one names the columns; records_key is the dotted
    path of the list of records in a JSON object; timezone is the zone of
    dates without one (they are returned in UTC, as Tryton stores them).
    """
    file_type: str = 'csv'
    identifier: str = '1'
    value: str = '2'
    taken_at: str = '3'
    time: str = ''
    date_format: str = ''
    encoding: str = 'utf-8-sig'
    delimiter: str = ','
    header_rows: int = 1
    records_key: str = ''
    timezone: str = ''


class Row(NamedTuple):
    number: int
    raw: str
    identifier: Optional[str] = None
    taken_at: Optional[dt.datetime] = None
    value: Optional[Decimal] = None
    error: Optional[RowError] = None


def read(data, layout):
    """Yield a Row per data row of data (bytes or a binary file object)
    read with layout"""
    readers = {
        'csv': _read_delimited,
        'txt': _read_delimited,
        'xlsx': _read_xlsx,
        'json': _read_json,
        }
    if layout.file_type not in readers:
        raise FileError('file_type', file_type=layout.file_type)
    zone = _zone(layout.timezone)
    if layout.file_type in {'csv', 'txt'}:
        yield from _read_delimited(data, layout, zone)
        return
    for number, raw, get in readers[layout.file_type](data, layout):
        try:
            identifier, taken_at, value = _parse(get, layout, zone)
        except RowError as error:
            yield Row(number, raw[:MAX_RAW], error=error)
        else:
            yield Row(number, raw[:MAX_RAW], identifier, taken_at, value)


def _zone(name):
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FileError('timezone', timezone=name)


def _parse(get, layout, zone):
    identifier = _text(get(layout.identifier))
    if not identifier:
        raise RowError('identifier')
    value = parse_value(get(layout.value))
    date = get(layout.taken_at)
    if layout.time:
        time = get(layout.time)
        if isinstance(date, dt.datetime):
            date = date.date()
        if isinstance(date, dt.date) and isinstance(time, dt.time):
            date = dt.datetime.combine(date, time)
        else:
            date = '%s %s' % (_text(date), _text(time))
    return identifier, parse_date(date, layout.date_format, zone), value


def _text(value):
    if value is None:
        return ''
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# A plain positive number: most values of most files, read at once.
_PLAIN_NUMBER = re.compile(r'([0-9]+)(?:\.([0-9]*))?\Z')


def parse_value(value):
    """Return the Decimal of a register value or raise RowError

    Text is a number only when written with the ASCII digits 0-9 (an
    exponent allowed): Python's Decimal also reads the digits of other
    scripts and underscores, which no meter shows.
    """
    if value.__class__ is str:
        match = _PLAIN_NUMBER.match(value)
        if match is not None:
            decimals = match.group(2)
            if not decimals or len(decimals.rstrip('0')) <= MAX_DECIMALS:
                return Decimal(value)
    text = _text(value)
    if isinstance(value, float):
        text = repr(value)
    if isinstance(value, float):
        number = Decimal(text)
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        try:
            number = parse_decimal(text.replace(' ', ''), exponent=True)
        except ValueError:
            raise RowError('value', value=text)
    if not number.is_finite():
        raise RowError('value', value=text)
    if number < 0:
        raise RowError('negative', value=text)
    if -number.normalize().as_tuple().exponent > MAX_DECIMALS:
        raise RowError('value_digits', value=text, digits=MAX_DECIMALS)
    return number


def parse_date(value, date_format='', zone=None):
    "Return the naive UTC datetime of value or raise RowError"
    if isinstance(value, dt.datetime):
        date = value
    elif isinstance(value, dt.date):
        date = dt.datetime.combine(value, dt.time())
    elif (isinstance(value, (int, float, Decimal))
            and not isinstance(value, bool)):
        return _number_date(value, date_format, zone)
    else:
        date = _parse_date_text(_text(value), date_format)
    if date.tzinfo is None and zone is not None:
        date = date.replace(tzinfo=zone)
    if date.tzinfo is not None:
        try:
            date = date.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except (OverflowError, ValueError):
            # 0001-01-01 00:00 east of UTC falls before year 1.
            raise RowError('date_range', value=_text(value),
                min=_DATE_MIN_TEXT, max=_DATE_MAX_TEXT)
    return check_date_range(date, value)


def check_date_range(date, value=None):
    """Return the naive UTC datetime date when it lies between DATE_MIN
    and DATE_MAX, raise RowError otherwise: a handheld with an unset
    clock sends 0001-01-01 or 1970-01-01, no reading is that old."""
    if not DATE_MIN <= date < DATE_MAX:
        raise RowError('date_range',
            value=_text(value if value is not None else date),
            min=_DATE_MIN_TEXT, max=_DATE_MAX_TEXT)
    return date


def _number_date(value, date_format, zone):
    """Return the naive UTC datetime of a number in a date column

    A spreadsheet cell typed as a number holds a day as 20261125, some
    platforms send epoch seconds or milliseconds; anything else (a serial
    day, a reading in the wrong column) is an error, not a date of 1970.
    """
    finite = (value.is_finite() if isinstance(value, Decimal)
        else math.isfinite(value))
    if not finite or not 0 <= value <= EPOCH_MAX * 1000:
        # Also before int() of a huge number.
        raise RowError('date', value=str(value), format=date_format)
    if value == int(value) and 19000101 <= value <= 21001231:
        return parse_date(str(int(value)), date_format or '%Y%m%d', zone)
    if EPOCH_MIN * 1000 <= value <= EPOCH_MAX * 1000:
        value = value / 1000
    if not EPOCH_MIN <= value <= EPOCH_MAX:
        raise RowError('date', value=str(value), format=date_format)
    return dt.datetime.fromtimestamp(
        float(value), dt.timezone.utc).replace(tzinfo=None)


def _parse_date_text(text, date_format):
    if not text or has_other_digits(text):
        # strptime and int() read the digits of every script.
        raise RowError('date', value=text, format=date_format)
    if date_format:
        fast = _fast_format(date_format)
        if fast:
            date = fast(text)
            if date is not None:
                return date
        try:
            return dt.datetime.strptime(text, date_format)
        except ValueError:
            raise RowError('date', value=text, format=date_format)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for format_ in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, format_)
        except ValueError:
            continue
    raise RowError('date', value=text, format='ISO 8601')


# The ISO 8601 formats: their width and separators.
_ISO_FORMATS = {
    f: (len(w), tuple((i, c) for i, c in enumerate(w) if not c.isdigit()))
    for f, w in [
        ('%Y-%m-%d %H:%M:%S', '2000-01-01 00:00:00'),
        ('%Y-%m-%dT%H:%M:%S', '2000-01-01T00:00:00'),
        ('%Y-%m-%d %H:%M', '2000-01-01 00:00'),
        ('%Y-%m-%dT%H:%M', '2000-01-01T00:00'),
        ('%Y-%m-%d', '2000-01-01'),
        ]}


@functools.lru_cache(maxsize=32)
def _fast_format(date_format):
    """Return a function reading date_format as strptime does (or giving
    None) when it holds only %Y, %m, %d, %H, %M and %S: strptime is slow
    for files of 100,000 rows."""
    regex, names = '', []
    for part in re.split('(%.)', date_format):
        if len(part) == 2 and part[0] == '%':
            if part[1] not in 'YmdHMS' or part[1] in names:
                return None
            regex += r'([0-9]{4})' if part[1] == 'Y' else r'([0-9]{1,2})'
            names.append(part[1])
        else:
            regex += re.escape(part)
    if not {'Y', 'm', 'd'} <= set(names):
        return None
    match = re.compile(regex + r'\Z').match
    datetime = dt.datetime
    iso = _ISO_FORMATS.get(date_format)
    if iso is not None:
        # fromisoformat is the fastest and reads the same dates when they
        # have the full width of the format; others take the regex.
        width, positions = iso
        fromisoformat = datetime.fromisoformat

        def parse(text):
            if len(text) == width and all(
                    text[i] == c for i, c in positions):
                try:
                    return fromisoformat(text)
                except ValueError:
                    pass
            found = match(text)
            if found is not None:
                try:
                    return datetime(*map(int, found.groups()))
                except ValueError:
                    pass
    elif ''.join(names) == 'YmdHMS'[:len(names)]:
        def parse(text):
            found = match(text)
            if found is not None:
                try:
                    return datetime(*map(int, found.groups()))
                except ValueError:
                    pass
    else:
        positions = [names.index(n) if n in names else None
            for n in 'YmdHMS']

        def parse(text):
            found = match(text)
            if found is not None:
                groups = found.groups()
                try:
                    return datetime(*(
                            int(groups[p]) if p is not None else 0
                            for p in positions))
                except ValueError:
                    pass
    return parse


def _column_getter(columns, header):
    "Return a function giving the value of a column from a list of cells"
    indexes = _column_indexes(columns, header)

    def getter(cells):
        def get(column):
            index = indexes[column]
            if index >= len(cells):
                raise RowError('columns', count=len(cells),
                    needed=max(indexes.values()) + 1)
            return cells[index]
        return get
    return getter


def _columns(layout):
    return [layout.identifier, layout.value, layout.taken_at, layout.time]


def _open(data):
    "Return a binary file object of data (bytes or a file object)"
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(data)
    return data


def _read_delimited(data, layout, zone):
    """Yield the Rows of a CSV or text file.

    The cells of the identifier, value and date are found by index and
    read with the fast paths of parse_value and parse_date: this is the
    loop run for each row of big handheld exports.
    """
    try:
        text = io.TextIOWrapper(
            _open(data), encoding=layout.encoding or 'utf-8-sig',
            newline='')
    except LookupError:
        raise FileError('encoding', encoding=layout.encoding)
    delimiter = DELIMITERS.get(layout.delimiter, layout.delimiter or ',')
    if delimiter is None:
        lines = (line.split() for line in text)
    elif layout.file_type == 'csv':
        lines = csv.reader(text, delimiter=delimiter)
    else:
        lines = (line.rstrip('\r\n').split(delimiter) for line in text)
    join = (delimiter or ' ').join
    header = None
    indexes = None
    date_format = layout.date_format
    time = bool(layout.time)
    fast_date = (_fast_format(date_format)
        if date_format and zone is None else None)
    date_min, date_max = DATE_MIN, DATE_MAX
    try:
        for number, cells in enumerate(lines, 1):
            cells = [c.strip() for c in cells]
            if number <= layout.header_rows:
                header = cells
                continue
            if not any(cells):
                continue
            if indexes is None:
                indexes = _column_indexes(_columns(layout), header)
                identifier_index, value_index, date_index, time_index = (
                    indexes.get(c) for c in _columns(layout))
                needed = max(indexes.values()) + 1
            raw = join(cells)
            if len(raw) > MAX_RAW:
                raw = raw[:MAX_RAW]
            if len(cells) < needed:
                yield Row(number, raw, error=RowError('columns',
                        count=len(cells), needed=needed))
                continue
            identifier = cells[identifier_index]
            try:
                if not identifier:
                    raise RowError('identifier')
                value = parse_value(cells[value_index])
                date = cells[date_index]
                if time:
                    date = '%s %s' % (date, cells[time_index])
                taken_at = fast_date(date) if fast_date else None
                if taken_at is None:
                    taken_at = parse_date(date, date_format, zone)
                elif not date_min <= taken_at < date_max:
                    check_date_range(taken_at, date)
            except RowError as error:
                yield Row(number, raw, error=error)
            else:
                yield Row(number, raw, identifier, taken_at, value)
    except UnicodeDecodeError:
        raise FileError('encoding', encoding=layout.encoding)
    except csv.Error:
        raise FileError('csv')


def _column_indexes(columns, header):
    "Return the 0-based index of each column from its number or header"
    indexes = {}
    for column in columns:
        if not column:
            continue
        if is_integer(column) and int(column) >= 1:
            indexes[column] = int(column) - 1
        elif header is not None and column in header:
            indexes[column] = header.index(column)
        else:
            raise FileError('column', column=column)
    return indexes


def _read_xlsx(data, layout):
    import zipfile
    try:
        import openpyxl
        workbook = openpyxl.load_workbook(
            _open(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FileError('xlsx')
    try:
        sheet = workbook.active
        header = None
        getter = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            cells = [c.strip() if isinstance(c, str) else c for c in cells]
            if number <= layout.header_rows:
                header = [_text(c) for c in cells]
                continue
            if all(c is None or c == '' for c in cells):
                continue
            if getter is None:
                getter = _column_getter(_columns(layout), header)
            raw = '\t'.join(_text(c) for c in cells)
            yield number, raw, getter(list(cells))
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        # The sheet is read as rows are asked for: its damage shows late.
        # lxml's and ElementTree's parse errors are SyntaxErrors.
        raise FileError('xlsx') from error
    finally:
        workbook.close()


def _read_json(data, layout):
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data) if isinstance(data, memoryview) else data.read()
    try:
        document = json.loads(
            data.decode(layout.encoding or 'utf-8-sig'), parse_float=Decimal)
    except UnicodeDecodeError:
        raise FileError('encoding', encoding=layout.encoding)
    except (ValueError, LookupError):
        raise FileError('json')
    except RecursionError:
        # Arrays nested 100,000 deep exhaust the stack of the parser.
        raise FileError('nesting')
    records = document
    for key in filter(None, (layout.records_key or '').split('.')):
        if not isinstance(records, dict):
            raise FileError('records', key=layout.records_key)
        records = records.get(key)
    if not isinstance(records, list):
        raise FileError('records', key=layout.records_key)
    for number, record in enumerate(records, 1):
        try:
            raw = json.dumps(record, ensure_ascii=False, default=str)
        except RecursionError:
            raise FileError('nesting')
        yield number, raw, _json_getter(record)


def _json_getter(record):
    def get(column):
        value: Any = record
        for key in column.split('.'):
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and is_integer(key) and (
                    1 <= int(key) <= len(value)):
                value = value[int(key) - 1]
            else:
                raise RowError('key', column=column)
        return value
    return get
