# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, sequence_ordered)
from trytond.modules.meter_base.meter import KINDS
from trytond.pyson import Eval

from .exceptions import TariffError, TariffValidationError
from .rules import pricing

CATEGORIES = [
    ('resident', "Resident"),
    ('unit', "Unit"),
    ('dormitory', "Dormitory"),
    ]
MONTHS = [(m, str(m)) for m in range(1, 13)]


class Tariff(DeactivableMixin, ModelSQL, ModelView):
    """A tariff (收费标准) for one account category and one meter kind.

    Its versions hold the prices with the dates they are in force; the
    tariff keeps the rules that do not change with the prices: how tiers
    count (per month or per tier year) and whether unused free quota is
    carried over.
    """
    __name__ = 'meter.tariff'
    name = fields.Char("Name", required=True, translate=True)
    category = fields.Selection(CATEGORIES, "Account Category", required=True)
    kind = fields.Selection(KINDS, "Meter Kind", required=True)
    tier_basis = fields.Selection([
            ('month', "Per Billing Period"),
            ('year', "Per Tier Year"),
            ], "Tier Basis", required=True,
        help="Whether tier bounds apply to the usage of each period or to "
        "the usage accumulated since the start of the tier year.")
    tier_year_month = fields.Integer(
        "Tier Year Start Month", required=True,
        domain=[('tier_year_month', '>=', 1), ('tier_year_month', '<=', 12)],
        states={'invisible': Eval('tier_basis') != 'year'})
    tier_year_day = fields.Integer(
        "Tier Year Start Day", required=True,
        domain=[('tier_year_day', '>=', 1), ('tier_year_day', '<=', 28)],
        states={'invisible': Eval('tier_basis') != 'year'})
    carry_over = fields.Boolean(
        "Carry Over Free Quota",
        help="Unused free quota is added to the next period's quota.")
    versions = fields.One2Many(
        'meter.tariff.version', 'tariff', "Versions")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('category_kind_unique', Unique(t, t.category, t.kind),
                'meter_billing.msg_tariff_category_kind_unique'),
            ]
        cls._order.insert(0, ('category', 'ASC'))
        cls._order.insert(1, ('kind', 'ASC'))

    @classmethod
    def default_tier_basis(cls):
        return 'month'

    @classmethod
    def default_tier_year_month(cls):
        return 1

    @classmethod
    def default_tier_year_day(cls):
        return 1

    @classmethod
    def default_carry_over(cls):
        return False

    @classmethod
    def validate(cls, tariffs):
        super().validate(tariffs)
        for tariff in tariffs:
            if tariff.versions:
                tariff.get_pricing()

    def get_pricing(self):
        "Return the pricing.Tariff of the record"
        try:
            return pricing.Tariff(
                versions=[v.get_pricing() for v in self.versions],
                tier_basis=self.tier_basis,
                tier_year_start=(self.tier_year_month, self.tier_year_day),
                carry_over=bool(self.carry_over))
        except pricing.PricingError as exception:
            raise TariffValidationError(gettext(
                    'meter_billing.msg_tariff_invalid',
                    tariff=self.rec_name, error=str(exception))
                ) from exception

    @staticmethod
    def raise_pricing_error(tariff, exception):
        "Raise the translated error of a PricingError met while billing"
        if exception.code == 'version_missing':
            raise TariffError(gettext(
                    'meter_billing.msg_tariff_version_missing',
                    tariff=tariff.rec_name,
                    date=exception.params.get('date'))) from exception
        raise TariffError(gettext(
                'meter_billing.msg_tariff_invalid',
                tariff=tariff.rec_name, error=str(exception))
            ) from exception


class TariffVersion(ModelSQL, ModelView):
    """The prices of a tariff from a start date to an end date.

    A price change inside a billing period is prorated by days between
    the versions (see pricing).
    """
    __name__ = 'meter.tariff.version'
    tariff = fields.Many2One(
        'meter.tariff', "Tariff", required=True, ondelete='CASCADE')
    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date(
        "End Date",
        domain=['OR', ('end_date', '=', None),
            ('end_date', '>=', Eval('start_date', None))])
    free_quota = fields.Numeric(
        "Free Quota", digits=(16, 3), required=True,
        domain=[('free_quota', '>=', 0)],
        help="Units free of charge in each billing period.")
    minimum_charge = fields.Numeric(
        "Minimum Charge", digits=(16, 2), required=True,
        domain=[('minimum_charge', '>=', 0)],
        help="The usage charge of a period is raised to this amount.")
    components = fields.One2Many(
        'meter.tariff.component', 'version', "Components")
    fixed_charges = fields.One2Many(
        'meter.tariff.fixed_charge', 'version', "Fixed Monthly Charges")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('start_date', 'ASC'))

    @classmethod
    def default_free_quota(cls):
        return Decimal(0)

    @classmethod
    def default_minimum_charge(cls):
        return Decimal(0)

    def get_rec_name(self, name):
        return f'{self.tariff.rec_name} @ {self.start_date}'

    @classmethod
    def validate(cls, versions):
        super().validate(versions)
        for tariff in {v.tariff for v in versions}:
            tariff.get_pricing()

    def get_pricing(self):
        return pricing.TariffVersion(
            valid_from=self.start_date, valid_to=self.end_date,
            components=[c.get_pricing() for c in self.components],
            free_quota=self.free_quota or 0,
            minimum_charge=self.minimum_charge or 0,
            fixed_charges=[f.get_pricing() for f in self.fixed_charges])


class TariffComponent(sequence_ordered(), ModelSQL, ModelView):
    """A priced part of the usage, e.g. water fee (水费) and sewage fee
    (污水处理费), each billed on its own lines; flat or tiered (阶梯)."""
    __name__ = 'meter.tariff.component'
    version = fields.Many2One(
        'meter.tariff.version', "Version", required=True, ondelete='CASCADE')
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True, translate=True)
    pricing = fields.Selection([
            ('flat', "Flat"),
            ('tiered', "Tiered"),
            ], "Pricing", required=True)
    unit_price = fields.Numeric(
        "Unit Price", digits=(16, 4),
        domain=['OR', ('unit_price', '=', None), ('unit_price', '>=', 0)],
        states={
            'invisible': Eval('pricing') != 'flat',
            'required': Eval('pricing') == 'flat',
            })
    tiers = fields.One2Many(
        'meter.tariff.tier', 'component', "Tiers",
        states={'invisible': Eval('pricing') != 'tiered'})

    @classmethod
    def default_pricing(cls):
        return 'flat'

    def get_pricing(self):
        if self.pricing == 'flat':
            return pricing.Component(
                self.code, self.name, unit_price=self.unit_price)
        return pricing.Component(
            self.code, self.name,
            tiers=[(t.upper, t.unit_price) for t in self.tiers])


class TariffTier(ModelSQL, ModelView):
    "A tier (阶梯) of a tiered component: its unit price up to its bound"
    __name__ = 'meter.tariff.tier'
    component = fields.Many2One(
        'meter.tariff.component', "Component", required=True,
        ondelete='CASCADE')
    upper = fields.Numeric(
        "Up To", digits=(16, 3),
        help="The cumulative usage where the tier ends; empty on the last.")
    unit_price = fields.Numeric(
        "Unit Price", digits=(16, 4), required=True,
        domain=[('unit_price', '>=', 0)])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('upper', 'ASC NULLS LAST'), ('id', 'ASC')]


class TariffFixedCharge(ModelSQL, ModelView):
    "A fixed amount per calendar month, prorated by days"
    __name__ = 'meter.tariff.fixed_charge'
    version = fields.Many2One(
        'meter.tariff.version', "Version", required=True, ondelete='CASCADE')
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True, translate=True)
    amount = fields.Numeric(
        "Monthly Amount", digits=(16, 2), required=True,
        domain=[('amount', '>=', 0)])

    def get_pricing(self):
        return pricing.FixedCharge(self.code, self.name, self.amount)
