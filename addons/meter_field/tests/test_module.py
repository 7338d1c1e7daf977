from trytond.tests.test_tryton import ModuleTestCase


class MeterFieldTestCase(ModuleTestCase):
    "Test Field Work module"
    module = 'meter_field'


del ModuleTestCase
