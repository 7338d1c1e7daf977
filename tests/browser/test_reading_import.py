"""A handheld's readings imported in the real web client (sao in Chromium)
on top of stored history: the file is previewed, imported in bulk, the job
gives its counts, and the readings list shows the new reading confirmed
and the one taken on the day of a stored reading left for review."""
import unittest

from playwright.sync_api import expect

from .wizard import WizardCase

SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Meter = pool.get('meter.meter')
Reading = pool.get('meter.reading')
Format = pool.get('meter.import.format')
campus = Campus(code='S', name="南校区")
campus.save()
meters = Meter.create([{
            'number': number, 'handheld_id': handheld, 'kind': 'water',
            'campus': campus.id, 'digits': 5, 'initial_value': Decimal(0),
            } for number, handheld in [('SB-01', 'HS-01'), ('SB-02', 'HS-02')]])
for meter, taken_at, value in [
        (meters[0], dt.datetime(2026, 9, 1, 1), 70),
        (meters[0], dt.datetime(2026, 10, 1, 1), 100),
        (meters[1], dt.datetime(2026, 10, 1, 1), 100),
        # Lower than the last: left for review
        (meters[1], dt.datetime(2026, 11, 1, 1), 90),
        ]:
    Reading.create([{'meter': meter.id, 'taken_at': taken_at,
                'value': Decimal(value), 'source': 'import'}])
Format.create([{
            'name': "手持抄表器 HS (CSV)", 'source': 'handheld',
            'file_type': 'csv', 'identifier_column': "表号",
            'value_column': "读数", 'date_column': "抄表时间",
            'date_format': '%Y-%m-%d %H:%M',
            }])
"""
# (the centre's time, Asia/Shanghai)
CSV = (
    "表号,读数,抄表时间\n"
    "HS-01,130,2026-11-01 09:00\n"
    "HS-02,120,2026-11-01 15:00\n"
    "HS-02,120,2026-11-01 15:00\n"
    "HS-99,5,2026-11-01 09:30\n")

# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class ReadingImportSaoTestCase(WizardCase):
    "Import a handheld's readings in sao"
    MODULES = MODULES
    NAME = 'browser_reading_import'
    SETUP = SETUP

    def test_import(self):
        "Preview, import, the job's counts and the readings with history"
        self.run_as_admin(self._test_import)
        self.assertEqual(self.errors, [])

    def choose_format(self, dialog):
        "Type the format's name and take it (again when sao wiped it)"
        field = dialog.locator('input[name="format"]')
        for attempt in range(3):
            field.fill("HS (CSV)")
            field.press('Tab')
            self.settle()
            search = self.page.locator('.modal-dialog', has_text="搜索")
            if search.count():
                search.locator('tbody tr').first.dblclick()
                self.settle()
            if "HS (CSV)" in (field.input_value() or ''):
                return
        self.fail("the format cannot be chosen")

    def _test_import(self, page):
        dialog = self.open_wizard("导入读数")
        self.choose_format(dialog)
        self.upload(dialog, 'hs.csv', CSV.encode('utf-8'))
        dialog.locator('button', has_text="预览").click()
        self.settle()
        for name, value in [('total', '4'), ('new', '2'),
                ('duplicates', '1'), ('rejected', '1')]:
            expect(dialog.locator(
                    f'input[type=text][name="{name}"]')).to_have_value(value)
        self.leave(dialog, "导入")

        # The job opens with its counts
        pane = page.locator('#tabcontent > .tab-pane.active')
        for name, value in [('total', '4'), ('created', '2'),
                ('confirmed', '1'), ('duplicates', '1'), ('rejected', '1')]:
            expect(pane.locator(
                    f'input[type=text][name="{name}"]')).to_have_value(value)
        expect(pane.locator('.treeview tbody tr',
                has_text="HS-99").first).to_be_visible()

        # The readings: the new one confirmed after the stored history,
        # the one of the day of a reading to review left for review
        pane = self.open_window("抄表读数")
        rows = pane.locator('.treeview > table > tbody > tr')
        # The list opens on the readings to review
        second = rows.filter(has_text="SB-02").filter(has_text="120")
        expect(second).to_have_count(1)
        expect(second).to_contain_text("同一天第二次抄表")
        expect(second).to_contain_text("草稿")
        pane.get_by_role('tab', name="已确认").click()
        self.settle()
        first = rows.filter(has_text="SB-01").filter(has_text="130")
        expect(first).to_have_count(1)
        expect(first).to_contain_text("30.000")
        expect(first).to_contain_text("已确认")
        expect(rows.filter(has_text="SB-02").filter(has_text="120")) \
            .to_have_count(0)

if __name__ == '__main__':
    unittest.main()
