"""What the tests of sao's import wizards share: opening a wizard's menu
and choosing a file in it as a user does (see sao.SaoCase for the server
and the page)"""
import os
import re
import tempfile
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .sao import MENUS, OPEN_MENU, SaoCase
from .server import PASSWORD, sao_login

# The size sao shows of a file it has read (e.g. 156B, 4.9 KB)
SIZE = re.compile(r'^[1-9][0-9.,]*\s*[kKMG]?i?B$')


class WizardCase(SaoCase):
    """A server of MODULES set up by SETUP (a script run with the pool) as
    the database NAME, and a page of Chromium for each test"""

    def run_as_admin(self, function):
        "Sign in sao as the administrator and call function(page)"
        sao_login(self.page, self.url, self.database, 'admin', PASSWORD)
        self.page.wait_for_function(
            '() => window.Sao && Sao.main_menu_screen')
        self.settle()
        function(self.page)

    def open_wizard(self, suffix):
        "Open the wizard of the menu whose name ends with suffix"
        menus = self.page.evaluate(MENUS)
        menu, = [m for m in menus if m['complete_name'].endswith(suffix)]
        self.page.evaluate(OPEN_MENU, menu['id'])
        self.settle()
        dialog = self.page.locator('.modal-dialog', has_text=suffix)
        dialog.locator('input[type=file]').wait_for(state='attached')
        return dialog

    def upload(self, dialog, name, data):
        """Choose the file in the wizard's file field and wait until sao
        has read it (its size shown); a choice made while sao was still
        drawing the dialog is not taken, so it is made again"""
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, name)
            with open(path, 'wb') as fp:
                fp.write(data)
            for attempt in range(3):
                self.settle()
                dialog.locator('input[type=file]').set_input_files(path)
                if self.size_shown(dialog):
                    break
            else:
                self.fail(f"sao did not take the file {name}")
        self.settle()

    def leave(self, dialog, text, timeout=60):
        """Click the wizard's button of text until the dialog is gone: on a
        loaded machine sao may still be drawing the state and ignore a
        click (one made while it waits for the server is ignored too)"""
        end = time.monotonic() + timeout
        while True:
            dialog.locator('button', has_text=text).click()
            try:
                dialog.wait_for(state='hidden', timeout=5000)
                break
            except PlaywrightTimeoutError:
                if time.monotonic() > end:
                    self.fail(f"the wizard stays open after {text}")
        self.settle()

    def size_shown(self, dialog, timeout=20):
        "Wait until the dialog shows the size of a file read, tell if it did"
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            values = dialog.locator('input').evaluate_all(
                'inputs => inputs.map(i => i.value)')
            if any(SIZE.match(v or '') for v in values):
                return True
            time.sleep(0.5)
        return False
