# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval

from . import parsing

SOURCES = [
    ('handheld', "Handheld"),
    ('platform', "Energy Platform"),
    ]
FILE_TYPES = [
    ('csv', "CSV"),
    ('txt', "Text"),
    ('xlsx', "Excel (XLSX)"),
    ('json', "JSON"),
    ]
DELIMITERS = [
    (',', "Comma"),
    (';', "Semicolon"),
    ('tab', "Tab"),
    ('|', "Vertical Bar"),
    ('space', "Blanks"),
    ]
ENCODINGS = [
    ('utf-8-sig', "UTF-8"),
    ('gb18030', "GB 18030 (GBK)"),
    ('utf-16', "UTF-16"),
    ('latin-1', "Latin-1"),
    ]
# The meter field matched by the identifier of each source.
MATCH_FIELDS = {
    'handheld': 'handheld_id',
    'platform': 'platform_id',
    }


class ImportFormat(DeactivableMixin, ModelSQL, ModelView):
    """The layout of the files of a handheld model or an energy platform.

    Each handheld model (抄表器型号) exports its own columns; it says which
    column is the handheld id of the meter, the value and the date, and how
    to read them.  Meters are matched by their handheld id or, for energy
    platforms, by their platform id.
    """
    __name__ = 'meter.import.format'
    _delimited = ~Eval('file_type').in_(['csv', 'txt'])
    name = fields.Char("Name", required=True,
        help="The handheld model or platform whose files it reads.")
    source = fields.Selection(SOURCES, "Source", required=True)
    file_type = fields.Selection(FILE_TYPES, "File Type", required=True)
    identifier_column = fields.Char(
        "Identifier Column", required=True,
        help="The column (1-based number or header name, key for JSON) of "
        "the meter's handheld id or platform id.")
    value_column = fields.Char(
        "Value Column", required=True,
        help="The column of the register value.")
    date_column = fields.Char(
        "Date Column", required=True,
        help="The column of the date, or of the date and time.")
    time_column = fields.Char(
        "Time Column", help="The column of the time when apart.")
    date_format = fields.Char(
        "Date Format",
        help="As for strptime, e.g. %Y-%m-%d %H:%M; empty for ISO 8601 and "
        "the usual formats.")
    timezone = fields.Selection(
        'get_timezones', "Time Zone",
        help="The zone of the dates of the file that do not say theirs; "
        "empty for the centre's time zone (Meter Configuration).")
    encoding = fields.Selection(ENCODINGS, "Encoding", required=True,
        states={'invisible': Eval('file_type') == 'xlsx'})
    delimiter = fields.Selection(DELIMITERS, "Delimiter",
        states={
            'invisible': _delimited,
            'required': ~_delimited,
            })
    header_rows = fields.Integer(
        "Header Rows", required=True,
        domain=[('header_rows', '>=', 0)],
        states={'invisible': Eval('file_type') == 'json'},
        help="Rows skipped at the start; the last one names the columns.")
    records_key = fields.Char(
        "Records Key",
        states={'invisible': Eval('file_type') != 'json'},
        help="The dotted path of the list of records in the JSON object; "
        "empty when the file is the list.")
    del _delimited

    @classmethod
    def default_source(cls):
        return 'handheld'

    @classmethod
    def default_file_type(cls):
        return 'csv'

    @classmethod
    def default_encoding(cls):
        return 'utf-8-sig'

    @classmethod
    def default_delimiter(cls):
        return ','

    @classmethod
    def default_header_rows(cls):
        return 1

    @property
    def match_field(self):
        "The meter field holding the identifier of the file"
        return MATCH_FIELDS[self.source]

    @classmethod
    def get_timezones(cls):
        pool = Pool()
        Configuration = pool.get('meter.configuration')
        return [(None, '')] + Configuration.get_timezones()

    @property
    def layout(self):
        return parsing.Layout(
            file_type=self.file_type,
            identifier=self.identifier_column.strip(),
            value=self.value_column.strip(),
            taken_at=self.date_column.strip(),
            time=(self.time_column or '').strip(),
            date_format=self.date_format or '',
            encoding=self.encoding or 'utf-8-sig',
            delimiter=self.delimiter or ',',
            header_rows=self.header_rows or 0,
            records_key=self.records_key or '',
            # Handhelds and platforms write the local time of the meters
            timezone=self.timezone or Pool().get(
                'meter.configuration')(1).timezone or '')
