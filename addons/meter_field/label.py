"""Meter labels (条码标签): their settings, formats and printers and the
log of prints; the batch print wizard is label_print.py.

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
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

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
