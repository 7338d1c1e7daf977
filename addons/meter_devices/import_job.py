# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import hashlib
import io
import logging
import pickle
import tempfile
import time
from collections import namedtuple
from itertools import islice

from sql import Literal

from trytond.exceptions import UserError
from trytond.filestore import FileStore, filestore
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from . import parsing
from .exceptions import ImportFileError, ImportFileWarning

logger = logging.getLogger(__name__)

# Rows of the preview checked at once against the stored readings.
CHUNK = 20000
# Rejected rows kept in memory before they go to a temporary file, and
# written at once.
SPOOL_SIZE = 4 * 1024 * 1024
LINES_CHUNK = 1000
PREVIEW_ROWS = 100
PREVIEW_REJECTED = 1000
_AMBIGUOUS = -1
_STATE_RANK = {'active': 2, 'draft': 1}

Checked = namedtuple('Checked', ['row', 'meter', 'reason'])


def file_error(error):
    "Return the ImportFileError of a parsing.FileError"
    return ImportFileError(
        gettext('meter_devices.msg_file_%s' % error.code, **error.params))


class RowChecker:
    """Read the rows of a file and find their meter.

    Meters are matched by the handheld id or the platform id of the
    format; an identifier of no meter, of a removed meter, of a meter not
    confirmed yet (draft) or of several meters rejects the row with its
    reason, and so does a value the register of its meter cannot show (the rule of meter.reading, checked
    here so that the row is rejected alone).
    """

    def __init__(self, format_):
        self.format = format_
        self.meters = self._meters(format_.match_field)
        # The identifiers of a single active meter: the rows to import.
        self.active = {i: m[0] for i, m in self.meters.items()
            if m[0] != _AMBIGUOUS and m[2] == 'active'}
        # The number and register digits of the active meters.
        self.registers = {m[0]: (m[1], m[3]) for m in self.meters.values()
            if m[0] != _AMBIGUOUS and m[2] == 'active'}

    @staticmethod
    def _meters(field_name):
        pool = Pool()
        Meter = pool.get('meter.meter')
        meter = Meter.__table__()
        cursor = Transaction().connection.cursor()
        column = getattr(meter, field_name)
        cursor.execute(*meter.select(
                meter.id, column, meter.number, meter.state, meter.digits,
                where=column != None))  # noqa: E711
        found = {}
        for id_, identifier, number, state, digits in cursor:
            identifier = identifier.strip()
            active = state == 'active'
            previous = found.get(identifier)
            # An active meter is the one to import to; a draft tells
            # better than a removed one why a row is rejected
            if previous is None or (
                    _STATE_RANK.get(state, 0)
                    > _STATE_RANK.get(previous[2], 0)):
                found[identifier] = (id_, number, state, digits)
            elif active and previous[2] == 'active':
                found[identifier] = (_AMBIGUOUS, number, state, digits)
        return found

    def rows(self, data):
        "Yield a Checked per row of data (bytes or a binary file object)"
        active = self.active
        try:
            for row in parsing.read(data, self.format.layout):
                meter = active.get(row.identifier) if not row.error else None
                if meter is not None:
                    out_of_range = self.value_message(row, meter)
                    if out_of_range:
                        message, params = out_of_range
                        yield Checked(row, None, gettext(message, **params))
                    else:
                        yield Checked(row, meter, None)
                else:
                    yield Checked(row, None, self.reason(row))
        except parsing.FileError as error:
            raise file_error(error) from error

    def value_message(self, row, meter):
        """Return the message id and parameters when the value of row does
        not fit in the register of meter, None otherwise (no query)"""
        number, digits = self.registers[meter]
        if row.value < 10 ** digits:
            return None
        return ('meter_base.msg_reading_value_digits', {
                'value': str(row.value), 'meter': number, 'digits': digits})

    def reason(self, row):
        "Return why row cannot be imported"
        message, params = self.reason_message(row)
        return gettext(message, **params)

    def reason_message(self, row):
        """Return the message id and parameters of why row cannot be
        imported (without a query: it runs while the rows are copied)"""
        if row.error:
            return ('meter_devices.msg_row_%s' % row.error.code,
                row.error.params)
        found = self.meters.get(row.identifier)
        if found is None:
            return ('meter_devices.msg_row_unknown_meter',
                {'identifier': row.identifier})
        elif found[0] == _AMBIGUOUS:
            return ('meter_devices.msg_row_ambiguous_meter',
                {'identifier': row.identifier})
        elif found[2] == 'draft':
            return ('meter_devices.msg_row_draft_meter',
                {'identifier': row.identifier, 'meter': found[1]})
        else:
            return ('meter_devices.msg_row_removed_meter',
                {'identifier': row.identifier, 'meter': found[1]})


class RejectedRows:
    """The rejected rows of a job, kept in a temporary file while the rows
    are streamed to the database, then written as job lines.

    Their reason is a message id and its parameters: the database cannot
    be queried for the translation while the rows are copied to it.
    """

    def __init__(self, job):
        self.job = job
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)
        self.count = 0

    def add(self, row, message, params):
        pickle.dump((row.number, row.identifier, row.raw, message, params),
            self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def _read(self):
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def save(self):
        "Write the rows as lines of the job, return their number"
        pool = Pool()
        Line = pool.get('meter.import.job.line')
        line = Line.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        user, now = transaction.user, dt.datetime.now()
        columns = [line.job, line.number, line.identifier, line.raw,
            line.reason, line.create_uid, line.create_date]
        rows = self._read()
        while values := [[Literal(self.job.id), number, identifier, raw,
                    gettext(message, **params), Literal(user), now]
                for number, identifier, raw, message, params in islice(
                    rows, LINES_CHUNK)]:
            cursor.execute(*line.insert(columns, values))
        self.file.close()
        return self.count


def existing_readings(rows):
    "Return the set of (meter, taken_at, value) of rows already stored"
    pool = Pool()
    Reading = pool.get('meter.reading')
    reading = Reading.__table__()
    cursor = Transaction().connection.cursor()
    found = set()
    if not rows:
        return found
    start = min(r[1] for r in rows)
    end = max(r[1] for r in rows)
    meters = sorted({r[0] for r in rows})
    for sub_ids in grouped_slice(meters, 1000):
        cursor.execute(*reading.select(
                reading.meter, reading.taken_at, reading.value,
                where=reading.meter.in_(list(sub_ids))
                & (reading.taken_at >= start)
                & (reading.taken_at <= end)))
        for meter, taken_at, value in cursor:
            found.add((meter, taken_at, value))
    return found


class ImportJob(ModelSQL, ModelView):
    """An import of readings (导入任务) from a handheld export or an energy
    platform file.

    The file stays attached to the job; the rows become readings through
    the bulk path, checked as any other reading.  A row already imported
    (same meter, date and value) is counted as a duplicate, not created
    again; a row that cannot be imported is kept as a line with its
    reason.  The whole job runs in one transaction: a file that cannot be
    read leaves nothing half-written and fails the job with the reason in
    its error; reset to draft, the job can be corrected and run again.
    """
    __name__ = 'meter.import.job'
    _states = {
        'readonly': Eval('state') != 'draft',
        }
    format = fields.Many2One(
        'meter.import.format', "Format", required=True,
        ondelete='RESTRICT', states=_states)
    source = fields.Function(
        fields.Selection('get_sources', "Source"), 'on_change_with_source',
        searcher='search_source')
    platform = fields.Many2One(
        'meter.platform', "Energy Platform", ondelete='SET NULL',
        readonly=True)
    file = fields.Binary(
        "File", file_id='file_id', store_prefix='meter_import',
        filename='filename',
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') == 'draft',
            })
    file_id = fields.Char("File ID", readonly=True)
    filename = fields.Char("File Name", states=_states)
    file_hash = fields.Char("File Hash", readonly=True,
        help="The SHA-256 of the file, to tell a file imported twice.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", readonly=True, required=True, sort=False)
    imported_at = fields.DateTime("Imported At", readonly=True)
    imported_by = fields.Many2One('res.user', "Imported By", readonly=True)
    total = fields.Integer("Rows", readonly=True)
    created = fields.Integer("Created", readonly=True)
    confirmed = fields.Integer("Confirmed", readonly=True)
    duplicates = fields.Integer("Duplicates", readonly=True)
    rejected = fields.Integer("Rejected", readonly=True)
    error = fields.Text("Error", readonly=True,
        states={'invisible': ~Eval('error')})
    lines = fields.One2Many(
        'meter.import.job.line', 'job', "Rejected Rows", readonly=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
                'run': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'failed',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def get_sources(cls):
        pool = Pool()
        Format = pool.get('meter.import.format')
        return Format.fields_get(['source'])['source']['selection']

    @fields.depends('format')
    def on_change_with_source(self, name=None):
        return self.format.source if self.format else None

    @classmethod
    def search_source(cls, name, clause):
        return [('format.source',) + tuple(clause[1:])]

    def get_rec_name(self, name):
        return '%s #%s' % (self.format.rec_name, self.id)

    @classmethod
    def copy(cls, jobs, default=None):
        default = default.copy() if default is not None else {}
        for name in ['lines', 'platform', 'imported_at', 'imported_by',
                'total', 'created', 'confirmed', 'duplicates', 'rejected',
                'error', 'file_hash']:
            default.setdefault(name, None)
        default.setdefault('state', 'draft')
        return super().copy(jobs, default=default)

    @classmethod
    @ModelView.button
    def run(cls, jobs):
        "Queue the import of the jobs (run at once without a worker)"
        for job in jobs:
            job.check_same_file()
        cls.__queue__.process(jobs)

    @classmethod
    @ModelView.button
    def draft(cls, jobs):
        "Reset failed jobs to draft, to correct their file or format"
        cls.write([j for j in jobs if j.state == 'failed'], {
                'state': 'draft',
                'error': None,
                })

    @classmethod
    def process(cls, jobs):
        "Import the rows of the files of the draft jobs"
        jobs = [j for j in jobs if j.state == 'draft']
        for job in jobs:
            job.run_import()
        cls.save(jobs)

    def run_import(self):
        """Import the file; when it cannot be, fail the job with the reason
        instead of raising: the queue runs it after the request, so the
        job is where the operator reads why."""
        try:
            self.import_file()
        except UserError as error:
            logger.info("import job %s failed: %s", self.id, error.message)
            self.state = 'failed'
            self.error = error.message
            self.imported_at = dt.datetime.now()
            self.imported_by = Transaction().user
        else:
            self.error = None

    def check_same_file(self):
        "Warn when the same file was already imported"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        digest = self.file_digest()
        others = self.search([
                ('file_hash', '=', digest),
                ('state', '=', 'done'),
                ('id', '!=', self.id),
                ], limit=1)
        if others:
            other, = others
            key = Warning.format('meter_import_same_file', [self])
            if Warning.check(key):
                raise ImportFileWarning(key, gettext(
                        'meter_devices.msg_import_same_file',
                        filename=self.filename or '', job=other.rec_name))

    def open_file(self):
        """Return a binary file object of the file.

        A stored file is read from the filestore as a stream, not loaded
        whole: the memory of an import does not grow with its file.
        """
        values = self._values or {}
        if 'file' not in values and self.id is not None and self.id >= 0:
            file_id = self.file_id
            if file_id and type(filestore) is FileStore:
                prefix = (self.__class__.file.store_prefix
                    or Transaction().database.name)
                try:
                    return open(filestore._filename(file_id, prefix), 'rb')
                except (OSError, ValueError):
                    pass
        return io.BytesIO(self.file or b'')

    def has_file(self):
        values = self._values or {}
        if 'file' not in values and self.id is not None and self.id >= 0:
            if self.file_id:
                return True
        return bool(self.file)

    def file_digest(self):
        digest = hashlib.sha256()
        with self.open_file() as file:
            while block := file.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()

    def import_file(self):
        """Create the readings of the file and keep the rejected rows with
        their reason.

        The rows are read from the file as a stream and sent as they come to
        the bulk creation of readings (Reading.create_bulk, which modules
        extending meter.reading extend too), which stages them in the
        database and checks them there all together.  A failure undoes the
        work of the job, the transaction goes on.
        """
        Reading = Pool().get('meter.reading')
        if not self.has_file():
            raise ImportFileError(gettext(
                    'meter_devices.msg_import_no_file', job=self.rec_name))
        start = time.perf_counter()
        self.file_hash = self.file_digest()
        source = 'platform' if self.format.source == 'platform' else (
            'handheld')
        submitter = (self.filename or self.format.name)[:100]
        checker = RowChecker(self.format)
        rejected = RejectedRows(self)
        total = 0

        def readings(file):
            # No query here: the rows are being copied to the database.
            nonlocal total
            active = checker.active
            add = rejected.add
            value_message = checker.value_message
            for row in parsing.read(file, self.format.layout):
                total += 1
                meter = (active.get(row.identifier)
                    if row.error is None else None)
                if meter is None:
                    add(row, *checker.reason_message(row))
                elif (out_of_range := value_message(row, meter)):
                    add(row, *out_of_range)
                else:
                    yield row.number, meter, row.taken_at, row.value

        cursor = Transaction().connection.cursor()
        cursor.execute('SAVEPOINT meter_import_job')
        try:
            with self.open_file() as file:
                result = Reading.create_bulk(readings(file), source,
                    submitter=submitter, numbered=True,
                    duplicate_keys=False)
            lines = rejected.save()
        except parsing.FileError as error:
            cursor.execute('ROLLBACK TO SAVEPOINT meter_import_job')
            raise file_error(error) from error
        except BaseException:
            cursor.execute('ROLLBACK TO SAVEPOINT meter_import_job')
            raise
        else:
            cursor.execute('RELEASE SAVEPOINT meter_import_job')
        self.total = total
        self.created = result.created
        self.confirmed = result.confirmed
        self.duplicates = result.duplicate_count
        self.rejected = lines
        logger.debug("%s rows imported in %.2fs", total,
            time.perf_counter() - start)
        self.imported_at = dt.datetime.now()
        self.imported_by = Transaction().user
        self.state = 'done'


class ImportJobLine(ModelSQL, ModelView):
    "A row of an import file that was not imported, with its reason"
    __name__ = 'meter.import.job.line'
    job = fields.Many2One(
        'meter.import.job', "Job", required=True, ondelete='CASCADE',
        readonly=True)
    number = fields.Integer("Row", readonly=True)
    identifier = fields.Char("Identifier", readonly=True)
    raw = fields.Text("Raw Data", readonly=True)
    reason = fields.Char("Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('job', 'DESC'), ('number', 'ASC'), ('id', 'ASC')]


class ImportStart(ModelView):
    "Import readings: the file"
    __name__ = 'meter.import.start'
    format = fields.Many2One(
        'meter.import.format', "Format", required=True,
        help="The handheld model or energy platform of the file.")
    file = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name")


class ImportPreview(ModelView):
    "Import readings: what the file holds"
    __name__ = 'meter.import.preview'
    total = fields.Integer("Rows", readonly=True)
    new = fields.Integer("New", readonly=True)
    duplicates = fields.Integer("Duplicates", readonly=True)
    rejected = fields.Integer("Rejected", readonly=True)
    rows = fields.One2Many(
        'meter.import.preview.row', None, "Rows", readonly=True,
        help="The first rows and the rejected ones.")
    job = fields.Many2One('meter.import.job', "Job", readonly=True)


class ImportPreviewRow(ModelView):
    "A row of the file to import with its status"
    __name__ = 'meter.import.preview.row'
    number = fields.Integer("Row", readonly=True)
    identifier = fields.Char("Identifier", readonly=True)
    meter = fields.Many2One('meter.meter', "Meter", readonly=True)
    taken_at = fields.DateTime("Taken At", readonly=True)
    value = fields.Numeric("Value", digits=(16, 3), readonly=True)
    status = fields.Selection([
            ('new', "New"),
            ('duplicate', "Duplicate"),
            ('rejected', "Rejected"),
            ], "Status", readonly=True)
    reason = fields.Char("Reason", readonly=True)
    raw = fields.Text("Raw Data", readonly=True)


class ImportReadings(Wizard):
    """Import readings from a file: upload, preview the rows with their
    status, then import them as a job."""
    __name__ = 'meter.import'
    start = StateView('meter.import.start',
        'meter_devices.import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView('meter.import.preview',
        'meter_devices.import_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    open_ = StateAction('meter_devices.act_import_job_form')

    def default_preview(self, fields):
        checker = RowChecker(self.start.format)
        total = new = duplicates = rejected = shown = 0
        rows = []
        seen = set()
        chunk = []

        def flush():
            nonlocal new, duplicates, shown
            existing = existing_readings(
                [(c.meter, c.row.taken_at) for c in chunk])
            for checked in chunk:
                row = checked.row
                key = (checked.meter, row.taken_at, row.value)
                duplicate = key in existing or key in seen
                seen.add(key)
                if duplicate:
                    duplicates += 1
                else:
                    new += 1
                if shown < PREVIEW_ROWS:
                    shown += 1
                    rows.append(self._preview_row(checked,
                            'duplicate' if duplicate else 'new'))
            chunk.clear()

        for checked in checker.rows(self.start.file):
            total += 1
            if checked.reason:
                rejected += 1
                if rejected <= PREVIEW_REJECTED:
                    rows.append(self._preview_row(checked, 'rejected'))
            else:
                chunk.append(checked)
                if len(chunk) >= CHUNK:
                    flush()
        flush()
        rows.sort(key=lambda r: r['number'])
        return {
            'total': total,
            'new': new,
            'duplicates': duplicates,
            'rejected': rejected,
            'rows': rows,
            }

    @staticmethod
    def _preview_row(checked, status):
        row = checked.row
        return {
            'number': row.number,
            'identifier': row.identifier,
            'meter': checked.meter,
            'taken_at': row.taken_at,
            'value': row.value,
            'status': status,
            'reason': checked.reason,
            'raw': row.raw,
            }

    def transition_import_(self):
        pool = Pool()
        Job = pool.get('meter.import.job')
        job = Job(format=self.start.format, file=self.start.file,
            filename=self.start.filename)
        job.save()
        job.check_same_file()
        job.run_import()
        job.save()
        self.preview.job = job
        return 'open_'

    def do_open_(self, action):
        action['res_id'] = [self.preview.job.id]
        action['views'].reverse()
        return action, {}
