"""A member of the field staff works a reading round (抄表任务) on a phone,
then the manager sees it in the web client, in Chinese.

On a phone of 390×844 the field user opens 抄表任务 from the home page,
their round of three meters in route order, reads the first with a real
photo of a meter from its card and comes back to the round (1/3), skips
the second because nobody is home and closes the round with a note.  In
sao, on a desktop, the administrator finds the round closed with its
progress and the skipped meter in the unread list (未抄表计清单).
"""
import os
import re
import unittest

from playwright.sync_api import expect, sync_playwright

from .phone import PhoneMixin, field_round_setup
from .sao import open_menu
from .server import PASSWORD as ADMIN_PASSWORD
from .server import Server, launch_browser, sao_login
from .test_wechat_phone import PHONE_UA, meter_photo

LOGIN, PASSWORD = 'field', 'field-demo'
PHOTO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__))))),
    'shared', 'testdata', 'meter-photos', 'wmsc_2019-09-18_e824b12.jpg')

SETUP = field_round_setup(LOGIN, PASSWORD, ['R-001', 'R-002', 'R-003'])


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class FieldRoundTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.server = Server(MODULES, name='browser_round',
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

    def test_work_a_round(self):
        "Read one meter with a photo, skip one, close; sao shows it"
        if os.path.exists(PHOTO):
            with open(PHOTO, 'rb') as fp:
                photo = fp.read()
        else:
            photo = meter_photo()
        page = self.phone(PHONE_UA)
        try:
            self.open_first(page, self.url(), page.locator('#login'))
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")
            page.get_by_role('link', name="抄表任务").click()
            expect(page.locator('.page__title')).to_have_text("我的抄表任务")
            expect(page.locator('.rounds')).to_contain_text('已计划')
            page.locator('.rounds a.round').first.click()
            expect(page.locator('.round-progress')).to_have_text('0/3')
            lines = page.locator('.round-line')
            expect(lines).to_have_count(3)
            expect(lines.nth(0)).to_contain_text('R-001')
            expect(lines.nth(2)).to_contain_text('R-003')

            # The first meter: its card, its reading with a real photo
            lines.nth(0).locator('a.round-read').click()
            expect(page.locator('.page__title')).to_have_text("水表 R-001")
            # The uploader's script is at the end of the page
            page.wait_for_load_state('load')
            page.locator('#value').fill('112')
            page.locator('input[type=file][name=photo]').set_input_files(
                files=[{'name': 'meter.jpg', 'mimeType': 'image/jpeg',
                        'buffer': photo}])
            expect(page.locator('.photo-status')).to_have_text("已选择 1 张")
            page.get_by_role('button', name="提交读数").click()
            # Back on the round, the meter read
            expect(page.locator('.reading-done')).to_contain_text(
                '读数已提交')
            expect(page.locator('.round-progress')).to_have_text('1/3')
            expect(lines.nth(0)).to_have_class(re.compile(r'\bread\b'))
            expect(lines.nth(0)).to_contain_text('读数 112')
            expect(page.locator('.page__desc')).to_contain_text('进行中')

            # The second: nobody home; other needs a note first
            lines.nth(1).locator('a.round-skip').click()
            expect(page.locator('.page__title')).to_have_text("未抄原因")
            for reason in ['无法进入', '用户不在', '表计损坏', '表被遮挡',
                    '读数不清', '其他']:
                expect(page.locator('#skip-form')).to_contain_text(reason)
            page.get_by_text('用户不在').click()
            page.locator('#note').fill('敲门无人应答')
            page.get_by_role('button', name="提交").click()
            expect(lines.nth(1)).to_have_class(re.compile(r'\bskipped\b'))
            expect(lines.nth(1).locator('.skip-reason')).to_have_text(
                '用户不在：敲门无人应答')
            expect(page.locator('.round-skipped')).to_have_text('1')
            expect(page.locator('.round-left')).to_have_text('1')

            # Closed with its notes, one meter left: asked first
            page.locator('#notes').fill('3号表下周再抄')
            page.once('dialog', lambda dialog: dialog.accept())
            page.locator('#round-close').click()
            expect(page.locator('.round-closed')).to_contain_text('关闭于')
            expect(page.locator('.round-notes')).to_have_text('3号表下周再抄')
            expect(page.locator('.page__desc')).to_contain_text('已关闭')
            expect(page.locator('a.round-skip')).to_have_count(0)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

        # The manager's view in sao, on a desktop
        sao = self.browser.new_page(
            viewport={'width': 1400, 'height': 900}, locale='zh-CN')
        self.addCleanup(sao.close)
        sao_errors = []
        sao.on('pageerror', lambda e: sao_errors.append(str(e)))
        try:
            sao_login(sao, self.server.url, self.server.name, 'admin',
                ADMIN_PASSWORD)
            expect(sao.locator('.treeview')).to_contain_text("计量管理")
            open_menu(sao, "计量管理", "外勤工作", "抄表任务")
            tab = sao.locator('#tabcontent > .tab-pane.active')
            tab.locator('.tab-domain > ul.nav-tabs > li > a',
                has_text='已关闭').click()
            row = tab.locator('.treeview tbody tr').first
            expect(row).to_contain_text('外线人员 (东校区)')
            expect(row).to_contain_text('1/3')
            expect(row).to_contain_text('已关闭')

            open_menu(sao, "计量管理", "外勤工作", "未抄表计清单")
            tab = sao.locator('#tabcontent > .tab-pane.active')
            rows = tab.locator('.treeview tbody tr')
            # To read first, then skipped; the meter read is in neither
            expect(rows.filter(has_text='R-003')).to_contain_text('待抄')
            expect(rows.filter(has_text='R-001')).to_have_count(0)
            tab.locator('.tab-domain > ul.nav-tabs > li > a',
                has_text='未抄').click()
            expect(rows.filter(has_text='R-002')).to_contain_text('用户不在')
            expect(rows.filter(has_text='R-002')).to_contain_text(
                '敲门无人应答')
            expect(rows.filter(has_text='R-003')).to_have_count(0)
            expect(rows.filter(has_text='R-001')).to_have_count(0)
        except Exception:
            sao.screenshot(path=self.screenshot.replace('.png', '-sao.png'),
                full_page=True)
            raise
        self.assertEqual(sao_errors, [])
