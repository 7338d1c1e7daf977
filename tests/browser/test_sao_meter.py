"""The meter manager's first steps in the web client, in Chinese.

A real trytond serves the real sao 8.0 to Debian's Chromium driven by
Playwright: log in, open the meters, create one with two readings and see
the consumption computed by the server.
"""
import datetime as dt
import re

from playwright.sync_api import expect

from .sao import SaoCase

SETUP = """
Campus = pool.get('meter.campus')
Campus.create([{'code': 'E', 'name': '东校区'}])
"""


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_base']


class SaoMeterTestCase(SaoCase):
    MODULES = MODULES
    NAME = 'browser_meter'
    SETUP = SETUP

    def new_record(self, first_field):
        "Click New until the form shows an empty, editable record"
        page = self.page
        button = page.locator(
            '#tabcontent > .tab-pane.active button.navbar-btn[title="新建"]')
        for _ in range(5):
            button.click()
            field = self.field(first_field)
            try:
                expect(field).to_be_editable(timeout=3000)
                expect(field).to_have_value('', timeout=1000)
                return
            except AssertionError:
                continue
        expect(self.field(first_field)).to_be_editable()

    def fill_many2one(self, name, text):
        page = self.page
        field = self.field(name)
        dialog = page.locator('.modal-dialog', has_text="搜索")
        # On a loaded machine the text may be typed before the new record's
        # widget listens, and is then wiped: type it again.
        for _ in range(3):
            field.fill(text)
            field.press('Tab')
            # sao completes a unique match or asks in a search dialog.
            for _ in range(50):
                if dialog.is_visible():
                    dialog.locator('tr', has_text=text).first.click()
                    dialog.locator('button', has_text="确定").click()
                    break
                value = field.input_value() or ''
                if text in value and not field.evaluate(
                        'e => e === document.activeElement'):
                    break
                page.wait_for_timeout(200)
            self.settle()
            if text in (field.input_value() or ''):
                break
        expect(field).to_have_value(re.compile(re.escape(text)))

    def test_meter_with_readings(self):
        "Create a meter and two readings; the consumption shows"
        page = self.page
        self.login()
        self.open_menu("计量管理", "表计")
        self.new_record('number')
        number = self.field('number')
        self.type_into(number, 'BT-0001')
        multiplier = self.field('multiplier')
        self.type_into(multiplier, '2')
        self.fill_many2one('campus', "东校区")
        self.save()
        expect(multiplier).to_have_value('2.0000')

        self.open_menu("抄表读数")
        earlier = dt.datetime.now() - dt.timedelta(days=30)
        for taken_at, value in [(earlier, '120'), (None, '200.5')]:
            self.new_record('meter')
            self.fill_many2one('meter', 'BT-0001')
            # Let the meter's on_change answer before typing on.
            self.settle()
            if taken_at:
                date = self.field('taken_at')
                text = taken_at.strftime('%Y-%m-%d %H:%M:%S')
                # On a loaded machine a keystroke may land before the
                # widget listens: type again until the form holds it.
                for _ in range(3):
                    self.type_into(date, text)
                    if date.input_value() == text:
                        break
                expect(date).to_have_value(text)
            self.type_into(self.field('value'), value)
            self.save()
            if taken_at:
                expect(date).to_have_value(text)
            state = self.field('state', 'select')
            expect(state).to_have_value('"confirmed"')

        consumption = self.field('consumption')
        # (200.5 - 120) × 2
        expect(consumption).to_have_value('161.000')
        previous = self.field('previous_value')
        expect(previous).to_have_value('120.000')
        self.assertEqual(self.errors, [])
