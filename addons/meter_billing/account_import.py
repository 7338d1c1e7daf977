# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""The accounts (户号) imported from the billing system's export: a file
is previewed with the error of each refused row, then its good rows
create the new accounts and update the known ones by number, written in
bulk (an import of the whole university is one file)."""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import bulk_write
from .bill import centre_language
from .exceptions import AccountImportError
from .rules import billing_system

# Rows shown by the preview besides the refused ones
PREVIEW_ROWS = 100
PREVIEW_REFUSED = 1000
# The account's columns the import writes
COLUMNS = ('name', 'category', 'billing_mode', 'campus', 'location', 'phone',
    'active')
# The header names of a column, each message a list separated by |
_HEADER_MESSAGES = {
    'name': 'msg_account_import_header_name',
    'category': 'msg_account_import_header_category',
    'campus': 'msg_account_import_header_campus',
    'building': 'msg_account_import_header_building',
    'phone': 'msg_account_import_header_phone',
    'billing_mode': 'msg_account_import_header_billing_mode',
    }


@dataclass
class Checked:
    "The accounts of a file checked against the database"
    new: List[Tuple[int, dict]] = field(default_factory=list)
    updated: List[Tuple[int, int, dict]] = field(default_factory=list)
    unchanged: List[Tuple[int, int]] = field(default_factory=list)
    # (row, number, message)
    refused: List[Tuple[int, str, str]] = field(default_factory=list)
    total: int = 0
    rows: Dict[int, billing_system.AccountRow] = field(default_factory=dict)
    # (number, name) of every row as the file has them
    texts: Dict[int, Tuple[str, str]] = field(default_factory=dict)


def _languages():
    "The languages the headers and values of a file may be written in"
    languages = [Transaction().language, centre_language(), 'zh_CN', 'en']
    return list(dict.fromkeys(l for l in languages if l))


def _words(text):
    return [w.strip() for w in (text or '').split('|') if w.strip()]


def _fold(text):
    return ''.join(str(text or '').split()).lower()


def headers():
    "Return {field: [header names]}, the user's language first"
    headers = {}
    for name, message in _HEADER_MESSAGES.items():
        names = []
        for language in _languages():
            names.extend(_words(
                    gettext('meter_billing.' + message, language)))
        headers[name] = list(dict.fromkeys(names))
    return headers


def _selection_values(model, name):
    "Return {folded text: value} of a selection in every language"
    Model = Pool().get(model)
    values = {}
    for language in _languages():
        with Transaction().set_context(language=language):
            selection = Model.fields_get([name])[name]['selection']
        for value, text in selection:
            values[_fold(value)] = value
            values[_fold(text)] = value
    return values


def _row_error(row, text):
    return gettext('meter_billing.msg_history_row', row=row) + ': ' + text


def check_file(data, filename):
    """Return the Checked accounts of the file or raise AccountImportError
    when it cannot be read at all."""
    pool = Pool()
    Campus = pool.get('meter.campus')
    Location = pool.get('meter.location')
    Account = pool.get('meter.account')
    filename = filename or 'accounts'
    try:
        result = billing_system.read_accounts(data, filename, headers())
    except billing_system.ExchangeError as exception:
        raise AccountImportError(gettext(
                'meter_billing.msg_account_import_file', filename=filename,
                error=gettext(
                    'meter_billing.msg_history_error_' + exception.code,
                    **exception.params))) from exception
    if any(e.code == 'missing_column' for e in result.errors):
        raise AccountImportError(gettext(
                'meter_billing.msg_account_import_file', filename=filename,
                error='; '.join(gettext(
                        'meter_billing.msg_history_error_missing_column',
                        **e.params) for e in result.errors)))
    checked = Checked(total=result.total, texts=result.texts)
    for error in result.errors:
        if error.code in {'too_long', 'duplicate_account'}:
            message = 'meter_billing.msg_account_import_' + error.code
        else:
            message = 'meter_billing.msg_history_error_' + error.code
        checked.refused.append((error.row,
                result.texts.get(error.row, ('', ''))[0],
                gettext(message, **error.params)))

    categories = _selection_values('meter.account', 'category')
    modes = _selection_values('meter.account', 'billing_mode')
    # The campuses the user may manage, by code and name in each language
    campuses = {}
    for language in _languages():
        with Transaction().set_context(language=language):
            for campus in Campus.search([]):
                campuses.setdefault(_fold(campus.name), campus.id)
    for campus in Campus.search([]):
        campuses[_fold(campus.code)] = campus.id
    # The places of those campuses by code, then by name when it is the
    # name of one place only
    places, names = {}, {}
    for place in Location.search_read(
            [('campus', 'in', list(set(campuses.values())))],
            fields_names=['campus', 'name', 'code']):
        if place['code']:
            places[(place['campus'], _fold(place['code']))] = place['id']
        names.setdefault(
            (place['campus'], _fold(place['name'])), []).append(place['id'])

    # What is stored of the numbers of the file, whatever the user's rules
    # (a number must stay unique), inactive accounts included
    table = Account.__table__()
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    in_max = backend.MAX_QUERY_PARAMS
    stored = {}
    numbers = [r.account for r in result.rows]
    for sub_numbers in grouped_slice(numbers, in_max):
        cursor.execute(*table.select(table.id, table.number,
                *[getattr(table, c) for c in COLUMNS],
                where=table.number.in_(list(sub_numbers))))
        for id_, number, *values in cursor:
            stored[number] = (id_, dict(zip(COLUMNS, values)))
    visible = set()
    stored_ids = [v[0] for v in stored.values()]
    for sub_ids in grouped_slice(stored_ids, in_max):
        visible.update(id_ for id_, in bulk_write.select(Account, [
                    ('id', 'in', list(sub_ids)),
                    ('active', 'in', [True, False]),
                    ], []))

    for row in result.rows:
        checked.rows[row.row] = row
        errors = []
        campus = campuses.get(_fold(row.campus))
        if campus is None:
            errors.append(gettext('meter_billing.msg_account_import_campus',
                    campus=row.campus))
        location = None
        if row.building and campus is not None:
            key = (campus, _fold(row.building))
            location = places.get(key)
            if location is None:
                found = names.get(key, [])
                if len(found) == 1:
                    location, = found
                elif found:
                    errors.append(gettext(
                            'meter_billing.msg_account_import_building_twice',
                            building=row.building, campus=row.campus))
                else:
                    errors.append(gettext(
                            'meter_billing.msg_account_import_building',
                            building=row.building, campus=row.campus))
        category = None
        if row.category:
            category = categories.get(_fold(row.category))
            if category is None:
                errors.append(gettext(
                        'meter_billing.msg_account_import_category',
                        category=row.category))
        mode = None
        if row.billing_mode:
            mode = modes.get(_fold(row.billing_mode))
            if mode is None:
                errors.append(gettext(
                        'meter_billing.msg_account_import_billing_mode',
                        mode=row.billing_mode))
        known = stored.get(row.account)
        if known and known[0] not in visible:
            errors.append(gettext(
                    'meter_billing.msg_account_import_not_yours',
                    account=row.account))
        if errors:
            checked.refused.extend(
                (row.row, row.account, e) for e in errors)
            continue
        values = {
            'name': row.name,
            'campus': campus,
            'active': True,
            }
        # An empty cell keeps what is stored (or the default of a new
        # account): the billing system's export does not always have it
        for name, value in [('category', category), ('billing_mode', mode),
                ('location', location), ('phone', row.phone)]:
            if value is not None:
                values[name] = value
        if known:
            id_, current = known
            if values['campus'] != current['campus'] and (
                    'location' not in values):
                values['location'] = None
            changes = {k: v for k, v in values.items()
                if current[k] != v}
            if changes:
                checked.updated.append((row.row, id_, changes))
            else:
                checked.unchanged.append((row.row, id_))
        else:
            values.setdefault('category', Account.default_category())
            values.setdefault('billing_mode', Account.default_billing_mode())
            values.setdefault('location', None)
            values.setdefault('phone', None)
            checked.new.append((row.row, values))
    checked.refused.sort(key=lambda r: r[0])
    return checked


def _insert_numbers(checked):
    "The new rows with their numbers, as bulk_write.insert wants them"
    return [[checked.rows[row].account] + [values[c] for c in COLUMNS]
        for row, values in checked.new]


class AccountImportStart(ModelView):
    "Import accounts: the file"
    __name__ = 'meter.account.import.start'
    file = fields.Binary("File", filename='filename', required=True,
        help="The accounts exported by the billing system, "
        "as CSV or XLSX.")
    filename = fields.Char("File Name")


class AccountImportPreview(ModelView):
    "Import accounts: what the file holds"
    __name__ = 'meter.account.import.preview'
    total = fields.Integer("Rows", readonly=True)
    new = fields.Integer("New", readonly=True)
    updated = fields.Integer("Updated", readonly=True)
    unchanged = fields.Integer("Unchanged", readonly=True)
    refused = fields.Integer("Refused", readonly=True)
    rows = fields.One2Many('meter.account.import.row', None, "Rows",
        readonly=True, help="The refused rows and the first others.")


class AccountImportRow(ModelView):
    "A row of the accounts' file with what the import does with it"
    __name__ = 'meter.account.import.row'
    row = fields.Integer("Row", readonly=True)
    number = fields.Char("Number", readonly=True)
    name = fields.Char("Name", readonly=True)
    status = fields.Selection([
            ('new', "New"),
            ('updated', "Updated"),
            ('unchanged', "Unchanged"),
            ('refused', "Refused"),
            ], "Status", readonly=True)
    reason = fields.Char("Reason", readonly=True)


class AccountImportResult(ModelView):
    "Import accounts: what was imported"
    __name__ = 'meter.account.import.result'
    created = fields.Integer("Created", readonly=True)
    updated = fields.Integer("Updated", readonly=True)
    unchanged = fields.Integer("Unchanged", readonly=True)
    refused = fields.Integer("Refused", readonly=True)
    errors = fields.Text("Errors", readonly=True)


class AccountImport(Wizard):
    """Import the accounts (户号) exported by the billing system: the
    preview lists the refused rows with their reason; the import creates
    the new accounts and updates the known ones (by number) from the good
    rows.  Importing the same file again changes nothing."""
    __name__ = 'meter.account.import'
    start = StateView('meter.account.import.start',
        'meter_billing.account_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView('meter.account.import.preview',
        'meter_billing.account_import_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('meter.account.import.result',
        'meter_billing.account_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_preview(self, fields):
        checked = check_file(self.start.file, self.start.filename)
        rows = [{'row': r, 'number': n,
                'name': checked.texts.get(r, ('', ''))[1] or None,
                'status': 'refused', 'reason': e}
            for r, n, e in checked.refused[:PREVIEW_REFUSED]]
        others = sorted(
            [(r, 'new') for r, _ in checked.new]
            + [(r, 'updated') for r, _, _ in checked.updated]
            + [(r, 'unchanged') for r, _ in checked.unchanged])
        for row, status in others[:PREVIEW_ROWS]:
            rows.append({'row': row, 'number': checked.rows[row].account,
                    'name': checked.rows[row].name, 'status': status})
        rows.sort(key=lambda r: r['row'])
        return {
            'total': checked.total,
            'new': len(checked.new),
            'updated': len(checked.updated),
            'unchanged': len(checked.unchanged),
            'refused': len({r for r, _, _ in checked.refused}),
            'rows': rows,
            }

    def transition_import_(self):
        checked = AccountImport.import_file(
            self.start.file, self.start.filename)
        self._result = {
            'created': len(checked.new),
            'updated': len(checked.updated),
            'unchanged': len(checked.unchanged),
            'refused': len({r for r, _, _ in checked.refused}),
            'errors': '\n'.join(_row_error(r, e)
                for r, _, e in checked.refused),
            }
        return 'result'

    def default_result(self, fields):
        return self._result

    @staticmethod
    def import_file(data, filename):
        """Import the accounts of the file (the check again: the database
        may have changed since the preview) and return them Checked"""
        Account = Pool().get('meter.account')
        checked = check_file(data, filename)
        bulk_write.insert(Account, ('number',) + COLUMNS,
            _insert_numbers(checked))
        by_columns = {}
        for _, id_, changes in checked.updated:
            columns = tuple(sorted(changes))
            by_columns.setdefault(columns, []).append(
                [id_] + [changes[c] for c in columns])
        for columns, rows in by_columns.items():
            bulk_write.update(Account, columns, rows)
        return checked
