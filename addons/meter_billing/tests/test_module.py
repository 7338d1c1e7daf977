from trytond.tests.test_tryton import ModuleTestCase


class MeterBillingTestCase(ModuleTestCase):
    "Test Billing module"
    module = 'meter_billing'


del ModuleTestCase
