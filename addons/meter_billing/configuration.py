# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Settings of billing: numbering, due dates and prepaid threshold"
    __name__ = 'meter.billing.configuration'
    bill_sequence = fields.Many2One(
        'ir.sequence', "Bill Sequence", required=True,
        domain=[('sequence_type', '=',
                Id('meter_billing', 'sequence_type_bill'))])
    receipt_sequence = fields.Many2One(
        'ir.sequence', "Receipt Sequence", required=True,
        domain=[('sequence_type', '=',
                Id('meter_billing', 'sequence_type_receipt'))],
        help="Used by the campuses without their own receipt sequence.")
    payment_term_days = fields.Integer(
        "Payment Term (days)", required=True,
        domain=[('payment_term_days', '>=', 0)],
        help="Days after the end of the period when a bill falls due.")
    low_balance_threshold = fields.Numeric(
        "Low Balance Threshold", digits=(16, 2), required=True,
        help="A prepaid account whose balance falls below this amount "
        "raises the low-balance event.")

    issuer = fields.Char(
        "Issuer", translate=True,
        help="The service printed at the top of payment notices.")
    payee = fields.Char(
        "Payee", help="The name to write cheques and transfers to.")
    bank_name = fields.Char("Bank")
    bank_account = fields.Char("Bank Account Number")

    @classmethod
    def default_bill_sequence(cls):
        return cls._default_sequence('sequence_bill')

    @classmethod
    def default_receipt_sequence(cls):
        return cls._default_sequence('sequence_receipt')

    @staticmethod
    def _default_sequence(xml_id):
        ModelData = Pool().get('ir.model.data')
        try:
            return ModelData.get_id('meter_billing', xml_id)
        except KeyError:
            return None

    @classmethod
    def default_payment_term_days(cls):
        return 15

    @classmethod
    def default_low_balance_threshold(cls):
        return Decimal(20)
