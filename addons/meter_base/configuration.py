from decimal import Decimal

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Settings of meter reading: automatic confirmation and anomaly limits"
    __name__ = 'meter.configuration'
    auto_confirm = fields.Boolean(
        "Confirm Automatically",
        help="Confirm a reading at once when it shows no anomaly.")
    high_usage_factor = fields.Numeric(
        "High Usage Factor", digits=(16, 2), required=True,
        help="A use per day above this multiple of the meter's recent "
        "median is flagged.")
    median_window = fields.Integer(
        "Median Window", required=True,
        help="How many earlier readings make the meter's recent median.")
    zero_usage_days = fields.Integer(
        "Zero Usage Days", required=True,
        help="No use at all over at least this many days is flagged.")

    @classmethod
    def default_auto_confirm(cls):
        return True

    @classmethod
    def default_high_usage_factor(cls):
        return Decimal(3)

    @classmethod
    def default_median_window(cls):
        return 6

    @classmethod
    def default_zero_usage_days(cls):
        return 20
