"""Meter labels (条码标签): their settings, formats and printers, the
batch print wizard and the log of prints.

The drawing is plain Python in labels/; this file gathers what a label
says from the meters and the configuration, and keeps who printed which
labels when and, for a reprint, why.
"""
import datetime as dt
import io
from urllib.parse import quote, urlsplit

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSingleton, ModelSQL, ModelView, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import labels
from .exceptions import LabelError, LabelPrinterError
from .labels import image, printer, tspl, zpl
from .labels.fonts import FontError

OUTPUTS = [
    ('pdf', "PDF"),
    ('zpl', "ZPL (Zebra)"),
    ('tspl', "TSPL (TSC)"),
    ('printer', "Send to Printer"),
    ]
LANGUAGES = [
    ('zpl', "ZPL (Zebra)"),
    ('tspl', "TSPL (TSC)"),
    ]
EXTENSIONS = {'pdf': 'pdf', 'zpl': 'zpl', 'tspl': 'prn'}
# Labels (meters × copies) of one batch: a campus is printed building by
# building
MAX_LABELS = 5000


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Settings of meter labels: their title and the address of the cards"
    __name__ = 'meter.label.configuration'
    title = fields.Char(
        "Title", translate=True,
        help="The centre's name at the top of every label; the issuer of "
        "the payment notices when empty.")
    public_url = fields.Char(
        "Public Base URL",
        help="The address of this server as the phones reach it, e.g. "
        "https://meter.example.edu.cn: the QR code of a label carries it "
        "followed by /<database>/field/m/<code>, the meter's card.")
    default_format = fields.Many2One(
        'meter.label.format', "Default Format", ondelete='SET NULL')

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if 'public_url' in field_names:
            for configuration in configurations:
                if configuration.public_url:
                    check_public_url(configuration.public_url)

    def get_title(self):
        "The title of the labels: this one's, else the notices' issuer"
        if self.title:
            return self.title
        BillingConfiguration = Pool().get('meter.billing.configuration')
        return BillingConfiguration(1).issuer or ''

    def card_url(self, code):
        "The absolute address of the field pages' card of the meter code"
        if not self.public_url:
            raise LabelError(gettext('meter_field.msg_label_public_url'))
        database = Transaction().database.name
        return '%s/%s/field/m/%s' % (self.public_url.rstrip('/'),
            quote(database, safe=''), quote(code, safe=''))


def check_public_url(url):
    """Refuse an address a phone can not open or that would print a secret
    on every label: http(s), a host, no user, password, query or
    fragment"""
    try:
        parts = urlsplit(url)
        valid = (parts.scheme in {'http', 'https'} and parts.hostname
            and not parts.username and not parts.password
            and not parts.query and not parts.fragment
            and not set(url) & set(' ^~"\\'))
        parts.port
    except ValueError:
        valid = False
    if not valid:
        raise LabelError(gettext(
                'meter_field.msg_label_public_url_invalid', url=url))


class Format(DeactivableMixin, ModelSQL, ModelView):
    "A label stock: its size in mm, the gap between labels and the dpi"
    __name__ = 'meter.label.format'
    name = fields.Char("Name", required=True, translate=True)
    width = fields.Float(
        "Width", digits=(16, 1), required=True,
        domain=[('width', '>=', 20), ('width', '<=', 200)],
        help="In millimetres.")
    height = fields.Float(
        "Height", digits=(16, 1), required=True,
        domain=[('height', '>=', 15), ('height', '<=', 200)],
        help="In millimetres.")
    gap = fields.Float(
        "Gap", digits=(16, 1), required=True,
        domain=[('gap', '>=', 0), ('gap', '<=', 20)],
        help="The space between two labels on the roll, in millimetres.")
    dpi = fields.Selection([
            ('203', "203 dpi (8 dots/mm)"),
            ('300', "300 dpi (12 dots/mm)"),
            ], "Resolution", required=True, sort=False,
        help="The resolution of the label printer.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_gap(cls):
        return 2

    @classmethod
    def default_dpi(cls):
        return '203'

    @property
    def size(self):
        return labels.LabelSize(
            self.width, self.height, int(self.dpi), self.gap)

    @classmethod
    def validate(cls, formats):
        super().validate(formats)
        # A label with a code of 11 characters and an address of 46
        sample = labels.Label('X', 'M0000000001',
            'https://example.com/meter/field/m/M0000000001')
        for format_ in formats:
            try:
                labels.layout(sample, format_.size)
            except labels.LabelError:
                raise LabelError(gettext('meter_field.msg_label_size',
                        format=format_.rec_name))

    def render(self, labels_, output, copies=1):
        "Return the labels as the bytes of output: pdf, zpl or tspl"
        def layouts():
            for label in labels_:
                try:
                    yield labels.layout(label, self.size)
                except labels.LabelError as exception:
                    raise self._label_error(exception, label)
        data = io.BytesIO()
        writer = {
            'pdf': image.write_pdf,
            'zpl': zpl.write,
            'tspl': tspl.write,
            }[output]
        try:
            writer(layouts(), data, copies=copies)
        except FontError:
            raise LabelError(gettext('meter_field.msg_label_font'))
        return data.getvalue()

    def _label_error(self, exception, label):
        if exception.reason == 'code_width':
            return LabelError(gettext('meter_field.msg_label_code_width',
                    code=label.code, format=self.rec_name))
        elif exception.reason == 'size':
            return LabelError(gettext('meter_field.msg_label_size',
                    format=self.rec_name))
        elif exception.reason == 'url':
            return LabelError(gettext(
                    'meter_field.msg_label_public_url_invalid',
                    url=label.url))
        return LabelError(gettext('meter_field.msg_label_code_invalid',
                code=label.code))


class Printer(DeactivableMixin, ModelSQL, ModelView):
    """A network label printer taking ZPL or TSPL on its raw port (9100)

    The server connects to the printers set here and to nothing else."""
    __name__ = 'meter.label.printer'
    name = fields.Char("Name", required=True)
    language = fields.Selection(LANGUAGES, "Language", required=True)
    host = fields.Char("Host", required=True,
        help="The printer's IP address or host name on the network.")
    port = fields.Integer("Port", required=True,
        domain=[('port', '>=', 1), ('port', '<=', 65535)],
        help="The raw printing port, 9100 on most printers.")
    format = fields.Many2One(
        'meter.label.format', "Format", required=True, ondelete='RESTRICT',
        help="The labels loaded in the printer.")
    note = fields.Text("Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_language(cls):
        return 'tspl'

    @classmethod
    def default_port(cls):
        return printer.PORT

    def send(self, data):
        "Send data to the printer; raise LabelPrinterError if it fails"
        try:
            printer.send(self.host.strip(), self.port, data)
        except OSError as exception:
            raise LabelPrinterError(gettext(
                    'meter_field.msg_label_printer_unreachable',
                    printer=self.rec_name, host=self.host, port=self.port,
                    error=exception.strerror or str(exception)
                    or exception.__class__.__name__))


class Print(ModelSQL, ModelView):
    """A print of meter labels: who, when, which meters, how and, for a
    reprint, why

    A meter printed before is reprinted only with a reason: a second label
    on site is a label too many unless the first one is gone."""
    __name__ = 'meter.label.print'
    user = fields.Many2One('res.user', "User", required=True, readonly=True)
    date = fields.DateTime("Date", required=True, readonly=True)
    meters = fields.Many2Many(
        'meter.label.print-meter.meter', 'print_', 'meter', "Meters",
        readonly=True)
    meter_count = fields.Function(
        fields.Integer("Meters"), 'get_meter_count')
    format = fields.Many2One(
        'meter.label.format', "Format", required=True, readonly=True,
        ondelete='RESTRICT')
    output = fields.Selection(OUTPUTS, "Output", required=True,
        readonly=True)
    printer = fields.Many2One(
        'meter.label.printer', "Printer", readonly=True, ondelete='RESTRICT')
    copies = fields.Integer("Copies", required=True, readonly=True)
    reprint = fields.Boolean("Reprint", readonly=True)
    reason = fields.Text("Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))

    def get_meter_count(self, name):
        return len(self.meters)

    @classmethod
    def printed(cls, meters):
        "Return the ids of the meters whose label was printed before"
        pool = Pool()
        PrintMeter = pool.get('meter.label.print-meter.meter')
        table = PrintMeter.__table__()
        cursor = Transaction().connection.cursor()
        result = set()
        for sub_ids in grouped_slice([m.id for m in meters]):
            cursor.execute(*table.select(table.meter,
                    where=reduce_ids(table.meter, sub_ids),
                    group_by=[table.meter]))
            result.update(m for m, in cursor)
        return result

    @classmethod
    def log(cls, meters, format, output, copies=1, printer=None,
            reason=None):
        """Log a print of the labels of meters and return it; refuse a
        reprint without a reason"""
        printed = cls.printed(meters)
        reason = (reason or '').strip() or None
        if printed and not reason:
            names = [m.rec_name for m in meters if m.id in printed]
            raise LabelError(gettext('meter_field.msg_label_reason',
                    meters=', '.join(names[:5])
                    + (' …' if len(names) > 5 else ''),
                    count=len(names)))
        print_, = cls.create([{
                    'user': Transaction().user,
                    'date': dt.datetime.now(),
                    'meters': [('add', [m.id for m in meters])],
                    'format': format.id,
                    'output': output,
                    'printer': printer.id if printer else None,
                    'copies': copies,
                    'reprint': bool(printed),
                    'reason': reason,
                    }])
        return print_


class PrintMeter(ModelSQL):
    "A meter of a print of labels"
    __name__ = 'meter.label.print-meter.meter'
    print_ = fields.Many2One(
        'meter.label.print', "Print", required=True, ondelete='CASCADE')
    meter = fields.Many2One(
        'meter.meter', "Meter", required=True, ondelete='CASCADE')


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'

    @classmethod
    def get_labels(cls, meters):
        """Return the labels of meters: the centre's name, the code, the
        address of the card and the kind, campus and place, in the user's
        language"""
        pool = Pool()
        Configuration = pool.get('meter.label.configuration')
        configuration = Configuration(1)
        title = configuration.get_title()
        kinds = dict(cls.fields_get(['kind'])['kind']['selection'])
        result = []
        for meter in meters:
            code = meter.code
            result.append(labels.Label(
                    title=title, code=code,
                    url=configuration.card_url(code),
                    lines=(
                        ' · '.join(filter(None, [
                                    kinds.get(meter.kind),
                                    meter.campus.rec_name])),
                        meter.location.rec_name if meter.location else '',
                        meter.place or '',
                        )))
        return result


class PrintLabelsStart(ModelView):
    "Print meter labels: which meters, on which labels, to what"
    __name__ = 'meter.label.print_labels.start'
    source = fields.Selection([
            ('meters', "Selected Meters"),
            ('location', "Building"),
            ('campus', "Campus"),
            ], "Meters of", required=True, sort=False)
    meters = fields.Many2Many(
        'meter.meter', None, None, "Meters",
        domain=[('state', '=', 'active')],
        states={
            'invisible': Eval('source') != 'meters',
            'required': Eval('source') == 'meters',
            })
    location = fields.Many2One(
        'meter.location', "Building",
        states={
            'invisible': Eval('source') != 'location',
            'required': Eval('source') == 'location',
            },
        help="Its meters and those of the places under it.")
    campus = fields.Many2One(
        'meter.campus', "Campus",
        states={
            'invisible': Eval('source') != 'campus',
            'required': Eval('source') == 'campus',
            })
    format = fields.Many2One('meter.label.format', "Format", required=True,
        states={
            'readonly': Eval('output') == 'printer',
            })
    output = fields.Selection(OUTPUTS, "Output", required=True)
    printer = fields.Many2One('meter.label.printer', "Printer",
        states={
            'invisible': Eval('output') != 'printer',
            'required': Eval('output') == 'printer',
            })
    copies = fields.Integer("Copies", required=True,
        domain=[('copies', '>=', 1), ('copies', '<=', 10)])
    count = fields.Integer("Meters to Print", readonly=True)
    printed = fields.Integer("Printed Before", readonly=True,
        help="The meters of the batch whose label was printed before.")

    @classmethod
    def default_output(cls):
        return 'pdf'

    @classmethod
    def default_copies(cls):
        return 1

    @fields.depends('printer', 'format')
    def on_change_printer(self):
        if self.printer:
            self.format = self.printer.format

    @fields.depends('source', 'meters', 'location', 'campus')
    def on_change_with_count(self):
        return len(self.get_meters())

    @fields.depends('source', 'meters', 'location', 'campus')
    def on_change_with_printed(self):
        Print = Pool().get('meter.label.print')
        return len(Print.printed(self.get_meters()))

    @fields.depends('source', 'meters', 'location', 'campus')
    def get_meters(self):
        "Return the active meters to label, in the order of their numbers"
        Meter = Pool().get('meter.meter')
        if self.source == 'meters':
            return sorted((m for m in self.meters or []
                    if m.id and m.id >= 0 and m.state == 'active'),
                key=lambda m: m.number)
        elif self.source == 'location' and self.location:
            domain = [('location', 'child_of', [self.location.id], 'parent')]
        elif self.source == 'campus' and self.campus:
            domain = [('campus', '=', self.campus.id)]
        else:
            return []
        return Meter.search(domain + [('state', '=', 'active')],
            order=[('number', 'ASC')])


class PrintLabelsReprint(ModelView):
    "Print meter labels: why labels printed before are printed again"
    __name__ = 'meter.label.print_labels.reprint'
    meters = fields.Many2Many(
        'meter.meter', None, None, "Printed Before", readonly=True)
    reason = fields.Text("Reason for Reprint", required=True,
        help="Why labels printed before are printed again: lost, "
        "damaged, meter moved…")


class PrintLabelsResult(ModelView):
    "Print meter labels: the file or the printer's answer"
    __name__ = 'meter.label.print_labels.result'
    output = fields.Selection(OUTPUTS, "Output", readonly=True)
    file = fields.Binary("File", filename='filename', readonly=True,
        states={
            'invisible': Eval('output') == 'printer',
            })
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Labels", readonly=True)
    printer = fields.Many2One('meter.label.printer', "Printer",
        readonly=True,
        states={
            'invisible': Eval('output') != 'printer',
            })


class PrintLabels(Wizard):
    """Print the labels of a selection of meters, of a building or of a
    campus as a PDF, ZPL or TSPL file or straight to a network label
    printer, and log the print"""
    __name__ = 'meter.label.print_labels'
    start = StateView('meter.label.print_labels.start',
        'meter_field.label_print_labels_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Print", 'check', 'tryton-print', default=True),
            ])
    check = StateTransition()
    reprint = StateView('meter.label.print_labels.reprint',
        'meter_field.label_print_labels_reprint_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Print", 'print_', 'tryton-print', default=True),
            ])
    print_ = StateTransition()
    result = StateView('meter.label.print_labels.result',
        'meter_field.label_print_labels_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        pool = Pool()
        Configuration = pool.get('meter.label.configuration')
        configuration = Configuration(1)
        values = {
            'source': 'location',
            'copies': 1,
            'output': 'pdf',
            'count': 0,
            'printed': 0,
            }
        if configuration.default_format:
            values['format'] = configuration.default_format.id
        model = self.model.__name__ if self.model else None
        if model == 'meter.meter' and self.records:
            meters = [m for m in self.records if m.state == 'active']
            values.update({
                    'source': 'meters',
                    'meters': [m.id for m in meters],
                    })
        elif model == 'meter.location' and self.record:
            values.update(source='location', location=self.record.id)
        elif model == 'meter.campus' and self.record:
            values.update(source='campus', campus=self.record.id)
        return values

    def transition_check(self):
        "Refuse an empty or too big batch; ask why for a reprint"
        Print = Pool().get('meter.label.print')
        meters = self.get_meters()
        return 'reprint' if Print.printed(meters) else 'print_'

    def default_reprint(self, fields):
        Print = Pool().get('meter.label.print')
        meters = self.get_meters()
        printed = Print.printed(meters)
        return {
            'meters': [m.id for m in meters if m.id in printed],
            }

    def get_meters(self):
        "The meters of the batch, at most MAX_LABELS labels"
        start = self.start
        meters = start.get_meters()
        if not meters:
            raise LabelError(gettext('meter_field.msg_label_no_meters'))
        if len(meters) * start.copies > MAX_LABELS:
            raise LabelError(gettext('meter_field.msg_label_too_many',
                    count=len(meters) * start.copies, max=MAX_LABELS))
        return meters

    def transition_print_(self):
        pool = Pool()
        Meter = pool.get('meter.meter')
        Print = pool.get('meter.label.print')
        Date = pool.get('ir.date')
        start = self.start
        meters = self.get_meters()
        printer_ = start.printer if start.output == 'printer' else None
        format_ = printer_.format if printer_ else start.format
        Print.log(meters, format_, start.output, start.copies,
            printer=printer_, reason=getattr(self.reprint, 'reason', None))
        language = printer_.language if printer_ else start.output
        data = format_.render(
            Meter.get_labels(meters), language, copies=start.copies)
        if printer_:
            printer_.send(data)
            data = None
        # Kept for the result's defaults of this same call, out of the
        # wizard's stored session
        self._result = {
            'output': start.output,
            'file': data,
            'filename': 'labels-%s.%s' % (
                Date.today().strftime('%Y%m%d'), EXTENSIONS[language])
            if data is not None else None,
            'count': len(meters) * start.copies,
            'printer': printer_.id if printer_ else None,
            }
        return 'result'

    def default_result(self, fields):
        return self._result
