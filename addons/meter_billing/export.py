# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import io

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import exchange


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
        period = self.start.period
        output = io.BytesIO()
        if self.start.what == 'bills':
            count = exchange.write_bills_xlsx(
                self.bill_rows(period), output)
        else:
            count = exchange.write_payments_xlsx(
                self.payment_rows(period), output)
        self._file = output.getvalue()
        self._count = count
        return 'result'

    def default_result(self, fields):
        return {
            'file': self._file,
            'filename': '%s-%s.xlsx' % (
                self.start.what, self.start.period.rec_name),
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
