"""Every menu of the back office, opened in the real web client by each
kind of staff user, on the demo's data.

A real trytond serves sao 8.0 to Debian's Chromium.  For each demo user
(administrator, manager, service desk, finance, field staff) the sweep
logs in, opens every window menu the user can see, clicks each domain tab
of each list, opens the list's first record in its form and looks at each
page of the form, walks the readings import wizard to its preview and
prints a campus's labels as a PDF.
It fails on any JavaScript error, on an error dialog, on a list that
holds records but renders no row or blank rows, and on a form that does
not render.  The views pass Tryton's own view checks whatever sao makes
of them: only this proves them.

On PostgreSQL every user is swept; on SQLite the administrator only.
Run by hand against `make demo`:

    SAO_SWEEP_URL=http://127.0.0.1:8000/ SAO_SWEEP_DATABASE=meter \\
        .venv/bin/python -m unittest tests.browser.test_sao_sweep
"""
import os
import re
import tempfile

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .sao import MENUS, OPEN_MENU, SaoCase
from .server import PASSWORD, ROOT, Server, sao_login

MODULES = ['meter_base', 'meter_service', 'meter_devices', 'meter_billing',
    'meter_wechat', 'meter_field']
LOAD_DEMO = f"""
import sys
sys.path.insert(0, {os.path.join(ROOT, 'scripts')!r})
import load_demo
load_demo.load_once(pool)
"""
# login, password on the test server (the demo's own passwords but the
# administrator's)
USERS = {
    'admin': PASSWORD,
    'manager': 'manager-demo',
    'desk': 'desk-demo',
    'finance': 'finance-demo',
    'field': 'field-demo',
    }
DEMO_PASSWORDS = dict(USERS, admin='admin')
IMPORT_CSV = "表号,读数,抄表时间\nH0000000,12,2026-11-30 09:00\n"

# A row of the current tab's list is shown
ROWS_SHOWN = """() => {
    const pane = document.querySelector('#tabcontent > .tab-pane.active');
    return Boolean(pane) && Array.from(pane.querySelectorAll(
        '.treeview > table > tbody > tr')).some(
        tr => tr.offsetParent !== null);
}"""
# What the current tab shows: its view type, the records loaded and the
# rows of its list.
CURRENT = """() => {
    const tab = Sao.Tab.tabs.get_current();
    if (tab && tab.board) {
        // A board: its actions, each with the view it shows
        const actions = tab.board.actions;
        return {
            view_type: 'board', records: 0, rows: 0, blank: 0,
            form: false, form_fields: 0, tabs: 0,
            actions: actions.length,
            shown: actions.filter(a => a.screen && a.screen.current_view
                && a.el[0].offsetParent !== null).length,
            loaded: actions.filter(a => a.screen).map(a => [
                a.screen.model_name,
                a.screen.group ? a.screen.group.length : 0]),
        };
    }
    if (!tab || !tab.screen) {
        return null;
    }
    const screen = tab.screen;
    const pane = document.querySelector('#tabcontent > .tab-pane.active');
    const rows = Array.from(pane.querySelectorAll(
        '.treeview > table > tbody > tr')).filter(
        tr => tr.offsetParent !== null);
    return {
        view_type: screen.current_view ? screen.current_view.view_type : null,
        records: screen.group ? screen.group.length : 0,
        rows: rows.length,
        blank: rows.filter(tr => !tr.innerText.trim()).length,
        form: !!pane.querySelector('.form') &&
            pane.querySelector('.form').offsetParent !== null,
        form_fields: pane.querySelectorAll(
            '.form .form-control, .form input, .form .field').length,
        tabs: pane.querySelectorAll('.tab-domain > ul.nav-tabs > li > a')
            .length,
    };
}"""
# The board panels the demo's year of readings fills (the dashboard's
# stored use of the last twelve months)
BOARD_FILLED = {'meter.dashboard.consumption', 'meter.dashboard.top_consumer'}
# The lists shown inside the current form (one2many and many2many)
INNER_LISTS = """() => {
    const pane = document.querySelector('#tabcontent > .tab-pane.active');
    return Array.from(pane.querySelectorAll('.form .treeview'))
        .filter(v => v.offsetParent !== null)
        .map(v => {
            const rows = Array.from(v.querySelectorAll(
                ':scope > table > tbody > tr'));
            return {
                rows: rows.length,
                blank: rows.filter(tr => !tr.innerText.trim()).length,
            };
        });
}"""
CLOSE_TAB = """() => new Promise(resolve => {
    const tab = Sao.Tab.tabs.get_current();
    if (!tab) {
        resolve(true);
        return;
    }
    tab.close().always(() => resolve(true));
})"""


def server():
    "The server of the sweep: the demo loaded, kept as a template"
    return Server(MODULES, name='sao_sweep', setup=LOAD_DEMO, template=True)


def prepare():
    "Load the demo into its template ahead (tests/browser/prepare.py)"
    server().prepare()


class SaoSweepTestCase(SaoCase):
    "Each staff user opens every menu they can see, on the demo's data"

    @classmethod
    def start_server(cls):
        url = os.environ.get('SAO_SWEEP_URL')
        if url:
            cls.url = url
            cls.database = os.environ.get('SAO_SWEEP_DATABASE', 'meter')
            cls.passwords = DEMO_PASSWORDS
            cls.logins = list(USERS)
            return None
        started = server().start()
        cls.passwords = USERS
        # The browser sweeps take minutes: every user once, on the
        # production database; the administrator on SQLite as well.
        cls.logins = list(USERS) if started.postgresql else ['admin']
        return started

    def setUp(self):
        super().setUp()
        self.page.on('console', self._console)

    def _console(self, message):
        if message.type == 'error' and 'favicon' not in message.text:
            self.errors.append(message.text)

    def login(self, login):
        sao_login(self.page, self.url, self.database, login,
            self.passwords[login])
        self.page.wait_for_function(
            '() => window.Sao && Sao.main_menu_screen && '
            'document.querySelector(".treeview tbody tr")',
            timeout=60000)
        self.settle()

    def error_dialog(self):
        "Return the text of the error or warning dialog shown, and close it"
        dialog = self.page.locator('.modal.in .modal-dialog')
        if not dialog.count():
            return None
        text = ' '.join(dialog.all_inner_texts()).strip()
        self.page.keyboard.press('Escape')
        self.settle()
        return text or 'dialog'

    def check(self, failures, where, what):
        "Collect the failures of the step just taken"
        if self.errors:
            failures.append(f"{where}: JavaScript error: {self.errors[:2]}")
            self.errors.clear()
        dialog = self.error_dialog()
        if dialog:
            failures.append(f"{where}: dialog: {dialog[:200]}")
        if what is None:
            failures.append(f"{where}: no tab opened")
            return
        if what['view_type'] == 'tree':
            if what['records'] and not what['rows']:
                failures.append(f"{where}: {what['records']} records, "
                    "no row shown")
            elif what['blank']:
                failures.append(f"{where}: {what['blank']} of "
                    f"{what['rows']} rows blank")
        elif what['view_type'] == 'form':
            if not what['form'] or not what['form_fields']:
                failures.append(f"{where}: the form does not render")
        elif what['view_type'] == 'board':
            if not what['actions'] or what['shown'] < what['actions']:
                failures.append(f"{where}: {what['shown']} of "
                    f"{what['actions']} board actions shown")
            for model, records in what['loaded']:
                if model in BOARD_FILLED and not records:
                    failures.append(f"{where}: {model} shows no record")

    def current(self):
        self.settle()
        what = self.page.evaluate(CURRENT)
        if (what and what['view_type'] == 'tree' and what['records']
                and not what['rows']):
            # The records are loaded, the list drawn after them: on a
            # loaded machine give the drawing time before calling it empty
            try:
                self.page.wait_for_function(ROWS_SHOWN, timeout=15000)
            except PlaywrightTimeoutError:
                pass
            what = self.page.evaluate(CURRENT)
        return what

    def check_form_pages(self, failures, where):
        "Look at each page of the form and the lists on it"
        page = self.page
        pane = page.locator('#tabcontent > .tab-pane.active')
        notebook = pane.locator('.form .nav-tabs > li > a:visible')
        pages = notebook.count()
        for index in range(max(pages, 1)):
            if pages:
                notebook.nth(index).click()
                self.settle()
            for inner in page.evaluate(INNER_LISTS):
                if inner['blank']:
                    failures.append(f"{where} (page {index + 1}): "
                        f"{inner['blank']} of {inner['rows']} rows blank "
                        "in a list of the form")
            self.check(failures, f"{where} (page {index + 1})",
                self.page.evaluate(CURRENT))

    def sweep_menu(self, failures, menu):
        page = self.page
        where = menu['complete_name']
        page.evaluate(OPEN_MENU, menu['id'])
        what = self.current()
        self.check(failures, where, what)
        if what is None:
            return
        pane = page.locator('#tabcontent > .tab-pane.active')
        if what['view_type'] == 'tree':
            tabs = pane.locator('.tab-domain > ul.nav-tabs > li > a')
            for index in range(what['tabs']):
                name = tabs.nth(index).inner_text().strip()
                tabs.nth(index).click()
                self.check(failures, f"{where} › {name}", self.current())
            # The first record of the list (the last tab's) in its form
            if what['tabs']:
                tabs.first.click()
                self.settle()
            first = pane.locator('.treeview > table > tbody > tr').first
            # Lists edited in place, hierarchies (a double click unfolds)
            # and actions without a form do not switch to a form
            opens = page.evaluate('''() => {
                const screen = Sao.Tab.tabs.get_current().screen;
                const view = screen.current_view;
                const types = screen.views.map(v => v.view_type)
                    .concat(screen.view_to_load);
                return !view.editable && !view.children_field
                    && types.includes('form'); }''')
            if self.page.evaluate(CURRENT)['rows'] and opens:
                # A cell of the record, not its selection box
                first.locator('td[data-title]:visible').filter(
                    has_text=re.compile(r'\S')).first.dblclick()
                try:
                    page.wait_for_function(
                        '() => Sao.Tab.tabs.get_current().screen'
                        '.current_view.view_type === "form"', timeout=10000)
                except PlaywrightTimeoutError:
                    failures.append(f"{where}: the first record does not "
                        "open in its form")
                else:
                    what = self.current()
                    self.check(failures, f"{where} › form", what)
                    self.check_form_pages(failures, f"{where} › form")
        elif what['view_type'] == 'form':
            self.check_form_pages(failures, where)
        page.evaluate(CLOSE_TAB)
        self.settle()
        # A form left modified asks before closing: leave it unsaved.
        dialog = page.locator('.modal.in .modal-dialog')
        if dialog.count():
            failures.append(f"{where}: closing asks: "
                f"{' '.join(dialog.all_inner_texts())[:200]}")
            page.keyboard.press('Escape')
            self.settle()
            page.evaluate(CLOSE_TAB)
        self.errors.clear()

    def walk_import_wizard(self, failures, menu):
        "Upload a handheld export and see its preview"
        page = self.page
        where = menu['complete_name']
        page.evaluate(OPEN_MENU, menu['id'])
        self.settle()
        dialog = page.locator('.modal-dialog', has_text=where.split(' / ')[-1])
        format_ = dialog.locator('input[name="format"]')
        format_.wait_for(timeout=10000)
        # On a loaded machine the text may be typed before the widget
        # listens, and is then wiped: type it again.
        for attempt in range(3):
            format_.fill("HT-200")
            format_.press('Tab')
            self.settle()
            search = page.locator('.modal-dialog', has_text="搜索")
            if search.count():
                search.locator('tbody tr').first.dblclick()
                self.settle()
            if "HT-200" in (format_.input_value() or ''):
                break
        else:
            failures.append(f"{where}: the format cannot be chosen")
        with tempfile.NamedTemporaryFile(
                'w', suffix='.csv', encoding='utf-8', delete=False) as fp:
            fp.write(IMPORT_CSV)
        # sao reads the chosen file asynchronously and shows its size in
        # the field's box once it holds it: previewing before that finds
        # the file missing, so wait for the size (and choose it again).
        size = dialog.locator('input[name="file"]')
        try:
            for attempt in range(3):
                dialog.locator('input[type=file]').set_input_files(fp.name)
                self.settle()
                try:
                    page.wait_for_function(
                        'el => Boolean(el.value)', arg=size.element_handle(),
                        timeout=15000)
                    break
                except PlaywrightTimeoutError:
                    continue
        finally:
            os.unlink(fp.name)
        dialog.locator('button', has_text="预览").click()
        self.settle()
        rows = dialog.locator('.treeview > table > tbody > tr')
        try:
            rows.first.wait_for(timeout=30000)
        except PlaywrightTimeoutError:
            failures.append(f"{where}: the preview shows no row "
                f"({self.error_dialog()})")
        else:
            text = rows.first.inner_text()
            if 'H0000000' not in text:
                failures.append(f"{where}: preview row reads {text!r}")
        if self.errors:
            failures.append(f"{where}: JavaScript error: {self.errors[:2]}")
            self.errors.clear()
        self.close_wizard(dialog)

    def close_wizard(self, dialog):
        """Cancel the wizard of dialog (its 取消 button, else Escape) and
        wait until it is gone: a wizard left open under the next one hides
        that one's answer"""
        cancel = dialog.locator('button:visible', has_text="取消").first
        try:
            cancel.click(timeout=10000)
        except PlaywrightTimeoutError:
            self.page.keyboard.press('Escape')
        try:
            dialog.first.wait_for(state='hidden', timeout=15000)
        except PlaywrightTimeoutError:
            self.page.keyboard.press('Escape')
        self.settle()

    def walk_label_wizard(self, failures, menu):
        """Print the labels of a campus as a PDF, with a reason for those
        printed before, and save the file"""
        page = self.page
        where = menu['complete_name']
        page.evaluate(OPEN_MENU, menu['id'])
        self.settle()
        dialog = page.locator('.modal-dialog', has_text="打印条码标签")
        source = dialog.locator('select').first
        source.wait_for(timeout=10000)
        source.select_option(label="校区")
        self.settle()
        campus = dialog.locator('input[name="campus"]')
        # The campus is shown once sao has the new source's answer, which
        # takes a while on a loaded machine
        try:
            campus.wait_for(state='visible', timeout=60000)
        except PlaywrightTimeoutError:
            pass
        for attempt in range(3):
            campus.fill("西校区")
            campus.press('Tab')
            self.settle()
            search = page.locator('.modal-dialog', has_text="搜索")
            if search.count():
                search.locator('tbody tr').first.dblclick()
                self.settle()
            if "西校区" in (campus.input_value() or ''):
                break
        else:
            failures.append(f"{where}: the campus cannot be chosen")
        dialog.locator('button', has_text="打印").click()
        self.settle()
        reason = dialog.locator('textarea')
        save = dialog.locator('button[title="另存为..."]')
        # Either the reprint's reason is asked or the file is there: wait
        # for whichever sao renders, it may come after the answer.  The
        # reason is typed again when sao had not taken it before 打印 (the
        # step stays): on a loaded machine the change may come late.
        for attempt in range(3):
            try:
                reason.or_(save).first.wait_for(timeout=60000)
            except PlaywrightTimeoutError:
                break
            if not (reason.count() and reason.is_visible()):
                break
            reason.fill("标签损坏，重新打印")
            # sao takes the text into the record on change: leave the field
            reason.press('Tab')
            self.settle()
            dialog.locator('button', has_text="打印").click()
            self.settle()
            try:
                reason.wait_for(state='hidden', timeout=30000)
                break
            except PlaywrightTimeoutError:
                # A warning over the wizard (the reason missing): close it
                warning = page.locator('.modal.in .modal-dialog').filter(
                    has_not_text="打印条码标签")
                if warning.count():
                    warning.locator('button:visible').last.click()
                    self.settle()
        try:
            save.wait_for(timeout=60000)
            with page.expect_download() as download:
                save.click()
            path = download.value.path()
            with open(path, 'rb') as fp:
                pdf = fp.read()
            if not pdf.startswith(b'%PDF-'):
                failures.append(f"{where}: the file is not a PDF")
            elif not download.value.suggested_filename.endswith('.pdf'):
                failures.append(f"{where}: the file is named "
                    f"{download.value.suggested_filename}")
        except PlaywrightTimeoutError:
            failures.append(f"{where}: no file to save "
                f"({self.error_dialog()})")
        if self.errors:
            failures.append(f"{where}: JavaScript error: {self.errors[:2]}")
            self.errors.clear()
        close = dialog.locator('button', has_text="关闭")
        if close.count():
            close.click()
        else:
            page.keyboard.press('Escape')
        self.settle()

    def sweep(self, login):
        if login not in self.logins:
            self.skipTest(f"{login} is swept on PostgreSQL")
        self.login(login)
        failures = []
        self.check(failures, "login", {'view_type': None})
        title = self.page.title()
        if not title.endswith("水电计量收费平台"):
            failures.append(f"browser tab titled {title!r}")
        menus = self.page.evaluate(MENUS)
        # A menu the user may read under one they may not is not shown
        ids = {m['id'] for m in menus}
        by_id = {m['id']: m for m in menus}

        def shown(menu):
            while menu['parent']:
                if menu['parent'] not in ids:
                    return False
                menu = by_id[menu['parent']]
            return True
        menus = [m for m in menus if shown(m)]
        # Every menu in Chinese, and no two alike
        names = [m['complete_name'] for m in menus]
        for name in sorted(set(names)):
            if not re.search(r'[\u4e00-\u9fff]', name.split(' / ')[-1]):
                failures.append(f"menu not in Chinese: {name}")
            if names.count(name) > 1:
                failures.append(f"menu twice: {name}")
        windows = [m for m in menus
            if (m['action'] or '').startswith('ir.action.act_window,')]
        wizards = [m for m in menus
            if (m['action'] or '').startswith('ir.action.wizard,')]
        self.assertTrue(windows, f"{login} sees no menu")
        for menu in windows:
            try:
                self.sweep_menu(failures, menu)
            except Exception as exception:
                failures.append(f"{menu['complete_name']}: {exception}")
                self.page.screenshot(path=os.path.join(
                        tempfile.gettempdir(), f'sao-sweep-{login}.png'))
                self.page.keyboard.press('Escape')
                self.page.evaluate(CLOSE_TAB)
        for menu in wizards:
            if menu['complete_name'].endswith("导入读数"):
                self.walk_import_wizard(failures, menu)
            elif menu['complete_name'].endswith("打印条码标签"):
                self.walk_label_wizard(failures, menu)
        print(f"\n{login}: {len(windows)} menus swept, "
            f"{len(failures)} failures", flush=True)
        self.assertEqual(failures, [], '\n'.join(failures))

    def test_admin(self):
        "The administrator's menus all open with their records"
        self.sweep('admin')

    def test_manager(self):
        "The manager's menus all open with their records"
        self.sweep('manager')

    def test_desk(self):
        "The service desk's menus all open with their records"
        self.sweep('desk')

    def test_finance(self):
        "Finance's menus all open with their records"
        self.sweep('finance')

    def test_field(self):
        "Field staff's menus all open with their records"
        self.sweep('field')
