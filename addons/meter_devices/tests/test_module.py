from trytond.tests.test_tryton import ModuleTestCase


class MeterDevicesTestCase(ModuleTestCase):
    "Test Devices module"
    module = 'meter_devices'


del ModuleTestCase
