"""The accounts and the usage history imported from the billing system's
exports in the real web client (sao in Chromium): an XLSX of accounts and
a CSV of history with good and bad rows are uploaded, previewed with the
reason of each refused row, imported, and the history is on the
account's tab."""
import io
import re

import openpyxl
from playwright.sync_api import expect

from .wizard import WizardCase

SETUP = """
from decimal import Decimal
Campus = pool.get('meter.campus')
Location = pool.get('meter.location')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
campus = Campus(code='E', name="东校区")
campus.save()
Location.create([{'name': "7号楼", 'campus': campus.id, 'kind': 'building'}])
account = Account(number='E30002', name="旧户名", campus=campus)
account.save()
Meter.create([{'number': 'DB-30002', 'kind': 'electricity',
            'account': account.id, 'campus': campus.id,
            'initial_value': Decimal(0)}])
"""
HISTORY_CSV = (
    "户号,表号,月份,用量,金额\n"
    "E30002,DB-30002,2025-10,120,60.00\n"
    "E30002,DB-30002,2025-11,abc,60.00\n"
    "E39999,,2025-11,10,5.00\n")


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_billing']


class AccountImportSaoTestCase(WizardCase):
    "Import accounts and history in sao"
    MODULES = MODULES
    NAME = 'browser_accounts'
    SETUP = SETUP

    def test_import(self):
        "Accounts from an XLSX, then history from a CSV, with their errors"
        self.run_as_admin(self._test_import)

    def _test_import(self, page):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(['户号', '户名', '用户类别', '校区', '楼栋', '联系电话'])
        sheet.append(['E30001', '张三', '居民', '东校区', '7号楼', '13800001111'])
        sheet.append(['E30002', '李四', '单位', 'E', None, None])
        sheet.append(['E30003', '王五', '学生', 'E', None, None])
        sheet.append(['E30004', '赵六', '居民', '北校区', None, None])
        output = io.BytesIO()
        workbook.save(output)

        dialog = self.open_wizard("导入户号")
        self.upload(dialog, 'accounts.xlsx', output.getvalue())
        dialog.locator('button', has_text="预览").click()
        self.settle()
        rows = dialog.locator('.treeview > table > tbody > tr')
        expect(rows).to_have_count(4)
        expect(rows.nth(0)).to_contain_text("E30001")
        expect(rows.nth(0)).to_contain_text("新增")
        expect(rows.nth(1)).to_contain_text("更新")
        expect(rows.nth(2)).to_contain_text("用户类别“学生”无法识别")
        expect(rows.nth(3)).to_contain_text("校区“北校区”不存在")
        expect(dialog.locator(
            'input[type=text][name="refused"]')).to_have_value('2')
        dialog.locator('button', has_text="导入").click()
        self.settle()
        expect(dialog.locator(
            'input[type=text][name="created"]')).to_have_value('1')
        expect(dialog.locator(
            'input[type=text][name="updated"]')).to_have_value('1')
        expect(dialog.locator('textarea')).to_have_value(
            re.compile("第 4 行"))
        dialog.locator('button', has_text="关闭").click()
        self.settle()

        dialog = self.open_wizard("导入历史用量")
        self.upload(dialog, 'history.csv', HISTORY_CSV.encode('utf-8'))
        dialog.locator('button', has_text="预览").click()
        self.settle()
        expect(dialog.locator(
            'input[type=text][name="new"]')).to_have_value('1')
        expect(dialog.locator(
            'input[type=text][name="skipped"]')).to_have_value('2')
        errors = dialog.locator('textarea')
        expect(errors).to_have_value(re.compile("第 3 行"))
        expect(errors).to_have_value(re.compile("户号“E39999”不存在"))
        dialog.locator('button', has_text="导入").click()
        self.settle()
        expect(dialog.locator(
            'input[type=text][name="imported"]')).to_have_value('1')
        dialog.locator('button', has_text="关闭").click()
        self.settle()

        # The account with its history on its tab
        pane = self.open_window("户号")
        row = pane.locator('.treeview > table > tbody > tr',
            has_text="E30002")
        expect(row).to_contain_text("李四")
        row.dblclick()
        self.settle()
        pane.get_by_role('tab', name="历史用量").click()
        # Below the meters: sao fills the list once it is scrolled to
        pane.locator('.tab-content .tab-pane.active').last \
            .scroll_into_view_if_needed()
        history = pane.locator(
            '.tab-pane.active .treeview tbody tr:not(.more-row)')
        expect(history).to_have_count(1)
        expect(history.first).to_contain_text("2025-10")
        expect(history.first).to_contain_text("120")
        self.assertEqual(self.errors, [])
