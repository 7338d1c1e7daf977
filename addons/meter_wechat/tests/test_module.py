from trytond.tests.test_tryton import ModuleTestCase


class MeterWechatTestCase(ModuleTestCase):
    "Test WeChat Service module"
    module = 'meter_wechat'


del ModuleTestCase
