"""The field staff's phone app end to end (#13), then in sao.

A real trytond serves the field pages to Debian's Chromium in a phone's
viewport (390×844) with a phone's user agent and a GPS position, driven
by Playwright.  In one phone session the field user of the east campus
logs in, finds a meter by a stubbed barcode scan (the camera's photo is
answered by a stubbed BarcodeDetector), reads it with a real photo of a
meter, is warned of the anomaly and submits anyway; opens the meter's
management page, marks its position from the phone's GPS, replaces it
with two real photos (the old register at its final value, the new one
at its initial value), reports a fault on the new meter with a photo
from its card, finds it in 我的上报, and records a new installation.  The
admin then finds in sao the reading, the meter change, the new meter
waiting for confirmation and the fault's work order.  No request may
leave the loopback.
"""
import glob
import os
import re
import unittest

from playwright.sync_api import expect, sync_playwright

from .phone import PhoneMixin
from .sao import open_menu
from .server import PASSWORD as ADMIN_PASSWORD
from .server import Server, launch_browser, sao_login
from .test_wechat_phone import PHONE_UA, meter_photo

LOGIN, PASSWORD = 'field', 'field-demo'
PHOTOS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__))))),
    'shared', 'testdata', 'meter-photos')
# Where the phone is: beside the meter
POSITION = {'latitude': 31.0286, 'longitude': 121.4374, 'accuracy': 8}

SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Location = pool.get('meter.location')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
Reading = pool.get('meter.reading')
Configuration = pool.get('meter.configuration')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
if 'ocr' in Configuration._fields:
    Configuration.write([Configuration(1)], {'ocr': False})
east = Campus(code='E', name="东校区")
east.save()
building = Location(name="东1幢", campus=east)
building.save()
account = Account(number='AE00011', name="住户E00011", category='resident',
    campus=east, location=building)
account.save()
meter = Meter(number='E00011', barcode='6900000000118', kind='water',
    account=account, campus=east, location=building, digits=6, decimals=0,
    multiplier=Decimal(1), initial_value=Decimal(0), reading_method='self',
    comm_address='000000000011', seal='FY-0011')
meter.save()
Reading.create([{'meter': meter.id, 'value': Decimal(v), 'source': 'field',
            'taken_at': dt.datetime.now() - dt.timedelta(days=d)}
        for v, d in [(120, 60), (150, 30)]])
User.create([{
            'login': 'LOGIN', 'name': "外线人员 (东校区)",
            'password': 'PASSWORD',
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_field_staff')])],
            'meter_campuses': [('add', [east.id])],
            }])
""".replace('LOGIN', LOGIN).replace('PASSWORD', PASSWORD)


def real_photos():
    "Two real photos of meters, different ones"
    paths = sorted(glob.glob(os.path.join(PHOTOS, 'wmsc_*.jpg')))
    photos = []
    for path in paths[:2]:
        with open(path, 'rb') as fp:
            photos.append(fp.read())
    while len(photos) < 2:
        photos.append(meter_photo())
    return photos


def file(name, data):
    return {'name': name, 'mimeType': 'image/jpeg', 'buffer': data}


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class FieldOnsiteTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.server = Server(MODULES, name='browser_onsite',
            setup=SETUP)
        try:
            cls.server.start()
            cls.playwright = sync_playwright().start()
            cls.browser = launch_browser(cls.playwright)
        except Exception:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.server.stop()

    def test_field_work_on_phone(self):
        """Scan, read with a photo, locate, replace, report a fault and
        install on the phone; sao shows the records"""
        page = self.phone(PHONE_UA)
        page.context.grant_permissions(['geolocation'])
        page.context.set_geolocation(POSITION)
        # The camera's photo holds the meter's barcode: the browser's
        # BarcodeDetector answers it
        page.add_init_script("""
            window.BarcodeDetector = class {
                detect(image) {
                    return Promise.resolve([{rawValue: '6900000000118'}]);
                }
            };""")
        old_photo, new_photo = real_photos()
        try:
            self.open_first(page, self.url(), page.locator('#login'))
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")
            # 扫码: the camera's photo of the label
            with page.expect_file_chooser() as chooser:
                page.get_by_role('button', name="扫码").click()
            chooser.value.set_files(files=[file('label.jpg', old_photo)])
            expect(page.locator('.page__title')).to_have_text("水表 E00011")

            # 现场抄录: lower than the last reading, warned, sent anyway
            page.locator('#value').fill('140')
            warning = page.locator('#reading-warning')
            expect(warning).to_contain_text('读数低于上次读数')
            page.locator('input[type=file][name=photo]').set_input_files(
                files=[file('meter.jpg', old_photo)])
            expect(page.locator('.photo-status')).to_have_text("已选择 1 张")
            page.get_by_role('button', name="提交读数").click()
            expect(page.locator('.weui-msg__title')).to_have_text(
                re.compile(r'^读数已提交'))
            expect(page.locator('.anomalies')).to_contain_text(
                '读数低于上次读数')
            page.get_by_role('link', name="返回表计").click()
            expect(page.locator('.readings')).to_contain_text('140')

            page.get_by_role('link', name=re.compile('^表计管理')).click()
            expect(page.locator('.page__title')).to_have_text(
                "表计管理 · E00011")
            expect(page.locator('.meter-record')).to_contain_text('FY-0011')
            expect(page.locator('.meter-position')).to_have_text('未标记')

            # 表计位置标记: the phone's GPS
            locate = page.get_by_role('button', name="用手机定位标记位置")
            self.assertGreaterEqual(locate.bounding_box()['height'], 48)
            locate.click()
            expect(page.locator('.done')).to_have_text('位置已更新。')
            expect(page.locator('.meter-position')).to_have_text(
                '31.028600, 121.437400')
            expect(page.locator('.located')).to_contain_text('精度 8 米')

            # 换表: the final reading, the new meter, a photo of each
            page.get_by_role('link', name=re.compile('^换表')).click()
            expect(page.locator('.page__title')).to_have_text("换表 · E00011")
            page.locator('#final_value').fill('163')
            page.locator('input[type=file][name=old_photo]').set_input_files(
                files=[file('old.jpg', old_photo)])
            page.locator('#number').fill('E00011N')
            page.locator('#barcode').fill('6900000000125')
            page.locator('#seal').fill('FY-0012')
            page.locator('#initial_value').fill('0')
            page.locator('input[type=file][name=new_photo]').set_input_files(
                files=[file('new.jpg', new_photo)])
            expect(page.locator('.photo-status')).to_have_text(
                ["已选择 1 张", "已选择 1 张"])
            page.locator('textarea[name=reason]').fill("表计走字不准")
            page.get_by_role('button', name="提交换表").click()
            expect(page.locator('.done')).to_contain_text(
                '换表完成：旧表 E00011 已拆除')
            expect(page.locator('.page__title')).to_have_text(
                "表计管理 · E00011N")
            expect(page.locator('.meter-state')).to_have_text('启用')

            # 故障上报 from the new meter's card, with a photo
            page.get_by_role('link', name="返回表计卡片").click()
            expect(page.locator('.page__title')).to_have_text("水表 E00011N")
            page.get_by_role('link', name="故障上报").click()
            expect(page.locator('.page__title')).to_have_text("故障上报")
            expect(page.locator('#where-meter')).to_be_checked()
            page.locator('.photo-input').last.set_input_files(
                files=[file('fault.jpg', new_photo)])
            expect(page.locator('.photo-count')).to_have_text(
                re.compile(r'^1/\d'))
            expect(page.locator('.photo-list li')).to_have_count(1)
            page.locator('#description').fill("新表表盘进水起雾，看不清读数")
            page.get_by_role('button', name="提交故障").click()
            expect(page.locator('.page__title')).to_have_text("我的上报")
            expect(page.locator('.reported')).to_contain_text('故障已上报')
            order = page.locator('.fault-order').first
            expect(order).to_contain_text('E00011N')
            expect(order).to_contain_text('照片 1 张')
            expect(order.locator('.order-state')).to_have_text('待处理')
            fault_number = order.locator('.order-number').inner_text()
            self.assertTrue(fault_number.startswith('GD'), fault_number)
            page.get_by_role('link', name="返回业务中心").click()
            page.goto(self.url('m/6900000000125/manage'))

            # 新装表计登记: in draft until the office confirms it
            page.get_by_role('link', name="登记新装表计").click()
            expect(page.locator('.page__title')).to_have_text("登记新装表计")
            page.locator('#number').fill('E-NEW-77')
            page.locator('#kind').select_option(label='电表')
            page.locator('#location').select_option(label='东1幢')
            page.locator('#place').fill("二楼配电箱")
            page.locator('#initial_value').fill('7')
            page.locator('input[type=file][name=photo]').set_input_files(
                files=[file('install.jpg', new_photo)])
            page.get_by_role('button', name="提交登记").click()
            expect(page.locator('.done')).to_contain_text('待办公室确认')
            expect(page.locator('.meter-state')).to_have_text('待确认')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])
        self.check_in_sao(fault_number)

    def check_in_sao(self, fault_number):
        """The admin finds the reading, the change, the meter to confirm
        and the fault's work order in sao"""
        page = self.browser.new_page(
            viewport={'width': 1400, 'height': 900}, locale='zh-CN')
        self.addCleanup(page.close)
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        try:
            sao_login(page, self.server.url, self.server.name, 'admin',
                ADMIN_PASSWORD)
            tree = page.locator('.treeview')
            expect(tree).to_contain_text("计量管理")
            open_menu(page, "计量管理", "换表记录")
            rows = page.locator('#tabcontent > .tab-pane.active tbody tr')
            expect(rows.filter(has_text='E00011N')).to_have_count(1)
            row = rows.filter(has_text='E00011N')
            expect(row).to_contain_text('E00011')
            expect(row).to_contain_text('表计走字不准')
            expect(row).to_contain_text('外线人员')

            open_menu(page, "计量管理", "表计", "待确认表计")
            rows = page.locator('#tabcontent > .tab-pane.active tbody tr')
            expect(rows.filter(has_text='E-NEW-77')).to_have_count(1)
            expect(rows.filter(has_text='E-NEW-77')).to_contain_text('待确认')
            expect(rows.filter(has_text='E00011N')).to_have_count(0)

            open_menu(page, "计量管理", "抄表读数")
            rows = page.locator('#tabcontent > .tab-pane.active tbody tr')
            row = rows.filter(has_text='E00011').filter(has_text='140')
            expect(row).to_have_count(1)
            expect(row).to_contain_text('外线人员')

            open_menu(page, "服务", "工单")
            rows = page.locator('#tabcontent > .tab-pane.active tbody tr')
            row = rows.filter(has_text=fault_number)
            expect(row).to_have_count(1)
            expect(row).to_contain_text('故障上报：E00011N')
        except Exception:
            page.screenshot(path=self.screenshot.replace(
                    '.png', '-sao.png'), full_page=True)
            raise
        self.assertEqual(errors, [])


if __name__ == '__main__':
    unittest.main()
