# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Exchange with the existing billing system (收费系统), the ORM side: the
export of bills and payments as XLSX and the history of the months it
billed, imported from its exports.  The files themselves are read and
written by rules/billing_system.py."""
import io
import os

from sql import Column

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSingleton, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import bulk_write
from .exceptions import (
    ExchangeColumnError, ExchangeDirectoryError, HistoryImportError)
from .rules import billing_system


# The columns of the files, as the fields of the export name them
COLUMNS = [
    ('number', "Bill Number"),
    ('receipt', "Receipt Number"),
    ('date', "Payment Date"),
    ('account', "Account"),
    ('name', "Account Name"),
    ('meter', "Meter"),
    ('campus', "Campus"),
    ('month', "Month"),
    ('previous_reading', "Previous Reading"),
    ('reading', "Reading"),
    ('usage', "Usage"),
    ('amount', "Amount"),
    ('due_date', "Due Date"),
    ('method', "Payment Method"),
    ('reference', "Reference"),
    ]


class Exchange(ModelSingleton, ModelSQL, ModelView):
    """The exchange of files with the billing system (收费系统接口): the
    directory the exports are written to and the layout of their columns"""
    __name__ = 'meter.billing.exchange'
    directory = fields.Char(
        "Exchange Directory",
        help="A directory of the server (or a share mounted on it) where "
        "the exports are also written for the billing system to read; "
        "empty to download them only.")
    columns = fields.One2Many(
        'meter.billing.exchange.column', 'exchange', "Columns",
        help="The columns of the files in the billing system's order and "
        "under its headers; all the columns under their own headers for a "
        "file without any.")
    sample = fields.Binary(
        "Sample History File", filename='sample_name',
        help="A history file exported by the billing system, read by the "
        "connection test.")
    sample_name = fields.Char("Sample File Name")

    def mapping(self, what):
        "The (column, header) of the file what, [] for its own layout"
        return [(c.column, c.header) for c in self.columns if c.file == what]

    def write_file(self, filename, data):
        "Write data as filename in the exchange directory, if there is one"
        if self.directory:
            path = os.path.join(self.directory, filename)
            with open(path, 'wb') as file:
                file.write(data)
            return path


class ExchangeColumn(sequence_ordered(), ModelSQL, ModelView):
    "A column of a file for the billing system, under its header"
    __name__ = 'meter.billing.exchange.column'
    exchange = fields.Many2One(
        'meter.billing.exchange', "Exchange", required=True,
        ondelete='CASCADE')
    file = fields.Selection([
            ('bills', "Bills"),
            ('payments', "Payments"),
            ], "File", required=True)
    file_string = file.translated('file')
    column = fields.Selection(COLUMNS, "Column", required=True)
    header = fields.Char("Header", required=True,
        help="The column's header as the billing system reads it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('file_column_unique', Unique(t, t.exchange, t.file, t.column),
                'meter_billing.msg_exchange_column_unique'),
            ]

    @classmethod
    def default_file(cls):
        return 'bills'

    @fields.depends('column', 'file', 'header')
    def on_change_column(self):
        "The billing system's usual header, to start from"
        columns = (billing_system.BILL_COLUMNS if self.file == 'bills'
            else billing_system.PAYMENT_COLUMNS)
        for column in columns:
            if column.key == self.column and not self.header:
                self.header = column.header

    @classmethod
    def validate_fields(cls, columns, field_names):
        super().validate_fields(columns, field_names)
        labels = dict(cls.fields_get(['column'])['column']['selection'])
        for column in columns:
            keys = {c.key for c in (billing_system.BILL_COLUMNS
                    if column.file == 'bills'
                    else billing_system.PAYMENT_COLUMNS)}
            if column.column not in keys:
                raise ExchangeColumnError(gettext(
                        'meter_billing.msg_exchange_column_file',
                        column=labels[column.column],
                        file=column.file_string))


class ExportStart(ModelView):
    "Export to the billing system: what to export"
    __name__ = 'meter.billing.export.start'
    period = fields.Many2One('meter.billing.period', "Period", required=True)
    what = fields.Selection([
            ('bills', "Bills"),
            ('payments', "Payments"),
            ], "Export", required=True)

    @classmethod
    def default_what(cls):
        return 'bills'


class ExportResult(ModelView):
    "Export to the billing system: the file"
    __name__ = 'meter.billing.export.result'
    file = fields.Binary("File", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Rows", readonly=True)


class Export(Wizard):
    """Export the bills or the payments of a period as XLSX in the layout
    of the existing billing system (收费系统)."""
    __name__ = 'meter.billing.export'
    start = StateView('meter.billing.export.start',
        'meter_billing.export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'export', 'tryton-ok', default=True),
            ])
    export = StateTransition()
    result = StateView('meter.billing.export.result',
        'meter_billing.export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_export(self):
        Exchange = Pool().get('meter.billing.exchange')
        exchange = Exchange(1)
        period = self.start.period
        what = self.start.what
        output = io.BytesIO()
        if what == 'bills':
            count = billing_system.write_bills_xlsx(
                self.bill_rows(period), output, exchange.mapping(what))
        else:
            count = billing_system.write_payments_xlsx(
                self.payment_rows(period), output, exchange.mapping(what))
        self._file = output.getvalue()
        self._count = count
        try:
            exchange.write_file(self.filename(), self._file)
        except OSError as exception:
            raise ExchangeDirectoryError(gettext(
                    'meter_billing.msg_exchange_directory',
                    directory=exchange.directory,
                    error=exception.strerror or exception)) from exception
        return 'result'

    def filename(self):
        return '%s-%s.xlsx' % (self.start.what, self.start.period.rec_name)

    def default_result(self, fields):
        return {
            'file': self._file,
            'filename': self.filename(),
            'count': self._count,
            }

    @staticmethod
    def bill_rows(period):
        "Yield a row per meter of the posted bills of the period"
        pool = Pool()
        Bill = pool.get('meter.bill')
        bills = Bill.search([
                ('period', '=', period.id),
                ('state', 'not in', ['draft', 'cancelled']),
                ], order=[('number', 'ASC')])
        for bill in bills:
            meters = bill.meters or [None]
            for index, meter in enumerate(meters):
                yield {
                    'number': bill.number,
                    'account': bill.account.number,
                    'name': bill.account.name,
                    'meter': meter.meter.number if meter else None,
                    'campus': bill.campus.rec_name,
                    'month': bill.start_date,
                    'previous_reading': meter.previous_value if meter
                    else None,
                    'reading': meter.value if meter else None,
                    'usage': meter.usage if meter else None,
                    # The amount of the bill once, on its first row
                    'amount': bill.amount if not index else None,
                    'due_date': bill.due_date,
                    }

    @staticmethod
    def payment_rows(period):
        "Yield a row per posted payment taken in the period"
        pool = Pool()
        Payment = pool.get('meter.payment')
        payments = Payment.search([
                ('date', '>=', period.start_date),
                ('date', '<=', period.end_date),
                ('state', '=', 'posted'),
                ], order=[('receipt_number', 'ASC')])
        for payment in payments:
            meters = [m for m in payment.account.meters if m.state == 'active']
            yield {
                'receipt': payment.receipt_number,
                'date': payment.date,
                'account': payment.account.number,
                'name': payment.account.name,
                'meter': meters[0].number if len(meters) == 1 else None,
                'campus': payment.campus.rec_name,
                'month': payment.date,
                'amount': payment.amount,
                'method': payment.method,
                'reference': payment.transfer_reference
                or payment.cheque_number,
                }


class History(ModelSQL, ModelView):
    """The usage and amount of a month billed by the former billing system,
    kept to show residents their history."""
    __name__ = 'meter.billing.history'
    account = fields.Many2One(
        'meter.account', "Account", required=True, ondelete='CASCADE')
    meter = fields.Many2One('meter.meter', "Meter", ondelete='SET NULL')
    meter_number = fields.Char("Meter Number")
    month = fields.Char("Month", required=True, help="As YYYY-MM.")
    usage = fields.Numeric("Usage", digits=(16, 3), required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)
    source = fields.Char("Source File", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('account_meter_month_unique',
                Unique(t, t.account, t.meter_number, t.month),
                'meter_billing.msg_history_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.account, Index.Range())))
        cls._order = [('month', 'DESC'), ('id', 'DESC')]


class Account(metaclass=PoolMeta):
    __name__ = 'meter.account'
    usage_history = fields.One2Many(
        'meter.billing.history', 'account', "Usage History", readonly=True,
        help="The months billed by the former billing system.")


class HistoryImportStart(ModelView):
    "Import usage history: the file"
    __name__ = 'meter.billing.history.import.start'
    file = fields.Binary("File", filename='filename', required=True)
    filename = fields.Char("File Name")


class HistoryImportPreview(ModelView):
    "Import usage history: what the file holds"
    __name__ = 'meter.billing.history.import.preview'
    new = fields.Integer("New", readonly=True)
    updated = fields.Integer("Updated", readonly=True)
    unchanged = fields.Integer("Unchanged", readonly=True)
    skipped = fields.Integer("Rows with Errors", readonly=True)
    errors = fields.Text("Errors", readonly=True)


class HistoryImportResult(ModelView):
    "Import usage history: what was imported"
    __name__ = 'meter.billing.history.import.result'
    imported = fields.Integer("Imported Rows", readonly=True)
    skipped = fields.Integer("Rows with Errors", readonly=True)
    errors = fields.Text("Errors", readonly=True)


# The columns of a history row the import writes
HISTORY_COLUMNS = (
    'account', 'meter', 'meter_number', 'month', 'usage', 'amount', 'source')


class HistoryImport(Wizard):
    """Import historical usage exported by the former billing system;
    the preview lists every row with a problem with its row number, the
    import leaves them out and writes the others in bulk (a month already
    known is updated, importing the same file again changes nothing)."""
    __name__ = 'meter.billing.history.import'
    start = StateView('meter.billing.history.import.start',
        'meter_billing.history_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView('meter.billing.history.import.preview',
        'meter_billing.history_import_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('meter.billing.history.import.result',
        'meter_billing.history_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_preview(self, fields):
        to_create, to_write, unchanged, errors = self.check_file(
            self.start.file, self.start.filename)
        return {
            'new': len(to_create),
            'updated': len(to_write),
            'unchanged': unchanged,
            'skipped': len(errors),
            'errors': '\n'.join(errors),
            }

    def transition_import_(self):
        self._result = self.import_file(self.start.file, self.start.filename)
        return 'result'

    def default_result(self, fields):
        return self._result

    @classmethod
    def import_file(cls, data, filename):
        "Import the history of the file and return what the result shows"
        History = Pool().get('meter.billing.history')
        to_create, to_write, _, errors = cls.check_file(data, filename)
        bulk_write.insert(History, HISTORY_COLUMNS,
            [[v[c] for c in HISTORY_COLUMNS] for v in to_create])
        bulk_write.update(History, HISTORY_COLUMNS,
            [[id_] + [v[c] for c in HISTORY_COLUMNS] for id_, v in to_write])
        return {
            'imported': len(to_create) + len(to_write),
            'skipped': len(errors),
            'errors': '\n'.join(errors),
            }

    @staticmethod
    def check_file(data, filename):
        """Return the values of the new rows, the (id, values) of the
        changed ones, the number of the unchanged ones and the errors"""
        pool = Pool()
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        History = pool.get('meter.billing.history')
        filename = filename or 'history'
        try:
            result = billing_system.read_history(data, filename)
        except billing_system.ExchangeError as exception:
            raise HistoryImportError(gettext(
                    'meter_billing.msg_history_file', filename=filename,
                    error=gettext(
                        'meter_billing.msg_history_error_' + exception.code,
                        **exception.params))) from exception
        errors = [(e.row, gettext(
                    'meter_billing.msg_history_error_' + e.code,
                    **e.params))
            for e in result.errors]
        accounts, meters = {}, {}
        in_max = backend.MAX_QUERY_PARAMS
        for numbers in grouped_slice(
                list({r.account for r in result.rows}), in_max):
            accounts.update((number, id_)
                for id_, number in bulk_write.select(Account, [
                        ('number', 'in', list(numbers)),
                        ('active', 'in', [True, False]),
                        ], ['number']))
        for numbers in grouped_slice(
                list({r.meter for r in result.rows if r.meter}), in_max):
            meters.update((number, (id_, account))
                for id_, number, account in bulk_write.select(Meter, [
                        ('number', 'in', list(numbers)),
                        ], ['number', 'account']))
        existing = {}
        table = History.__table__()
        cursor = Transaction().connection.cursor()
        for ids in grouped_slice(list(accounts.values()), in_max):
            cursor.execute(*table.select(table.id,
                    *[Column(table, c) for c in HISTORY_COLUMNS],
                    where=table.account.in_(list(ids))))
            for id_, *values in cursor:
                history = dict(zip(HISTORY_COLUMNS, values), id=id_)
                key = (history['account'], history['meter_number'],
                    history['month'])
                existing[key] = history
        to_create, to_write, unchanged = [], [], 0
        for row in result.rows:
            account = accounts.get(row.account)
            if not account:
                errors.append((row.row, gettext(
                            'meter_billing.msg_history_unknown_account',
                            account=row.account)))
                continue
            meter, meter_account = (
                meters.get(row.meter, (None, None)) if row.meter
                else (None, None))
            if row.meter and (not meter or meter_account != account):
                errors.append((row.row, gettext(
                            'meter_billing.msg_history_unknown_meter',
                            meter=row.meter, account=row.account)))
                continue
            values = {
                'account': account,
                'meter': meter,
                'meter_number': row.meter,
                'month': row.month,
                'usage': row.usage,
                'amount': row.amount,
                'source': filename,
                }
            record = existing.get((account, row.meter, row.month))
            if not record:
                to_create.append(values)
            elif any(record[c] != values[c] for c in HISTORY_COLUMNS
                    if c != 'source'):
                to_write.append((record['id'], values))
            else:
                unchanged += 1
        errors.sort(key=lambda e: e[0])
        return to_create, to_write, unchanged, ['%s: %s' % (
                gettext('meter_billing.msg_history_row', row=r), e)
            for r, e in errors]
