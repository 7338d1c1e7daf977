"""The batch print of meter labels (条码标签): which meters, on which
labels, to what (a PDF, a ZPL or TSPL file, a network printer), with the
reason of a reprint; the drawing is labels/, the settings and the log of
prints label.py."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import LabelError
from .label import EXTENSIONS, MAX_LABELS, OUTPUTS


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
