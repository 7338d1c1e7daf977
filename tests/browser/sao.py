"""What the tests of the back office in sao share: a server of their own,
a desktop page of Chromium for each test, the scripts that wait for sao
and open its menus, and a user's ways of logging in, opening a menu,
typing into a field and saving"""
import os
import tempfile
import unittest

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect, sync_playwright

from .server import PASSWORD, Server, launch_browser, sao_login

# Wait until sao has no request running for a few ticks: its rendering
# follows the answers.
SETTLE = """() => new Promise(resolve => {
    let quiet = 0, ticks = 0;
    const timer = setInterval(() => {
        ticks += 1;
        quiet = (window.jQuery && jQuery.active) ? 0 : quiet + 1;
        if (quiet >= 4 || ticks > 400) {
            clearInterval(timer);
            resolve(quiet >= 4);
        }
    }, 50);
})"""
# The menus the user may read
MENUS = """() => new Promise((resolve, reject) => {
    const session = Sao.Session.current_session;
    Sao.rpc({
        method: 'model.ir.ui.menu.search_read',
        params: [[], 0, null, [['id', 'ASC']],
            ['complete_name', 'action', 'parent'], {}],
    }, session).then(resolve, reject);
})"""
# As a double click on the menu does (no ids: no suffix to the tab's name)
OPEN_MENU = """id => Sao.Action.exec_keyword(
    'tree_open', {model: 'ir.ui.menu', id: id})"""
# The current tab of sao
ACTIVE = '#tabcontent > .tab-pane.active'


def settle(page):
    """Wait until sao has no request running.  (Playwright's
    wait_for_load_state('networkidle') does not: it returns at once on a
    page that was idle once.)"""
    page.evaluate(SETTLE)


def open_menu(page, *path):
    """Open the menu of path (the names from the top) in sao's tree as a
    user does: each closed branch clicked open, the last double-clicked"""
    item = '.treeview div.column-char[title="%s"]'
    for name, child in zip(path[:-1], path[1:]):
        below = page.locator(item % child)
        # A branch opened before stays open; on a loaded machine sao may
        # draw the children seconds after the click, so they are waited
        # for before the branch is clicked again (a click sao ignored)
        for attempt in range(3):
            if below.is_visible():
                break
            page.click(item % name)
            try:
                below.wait_for(state='visible', timeout=10000)
                break
            except PlaywrightTimeoutError:
                continue
    # The rows move while sao draws a branch's children: a double-click
    # may land on the row above (a branch with its own action opens it),
    # so it is given again when the menu's tab did not come
    active = page.locator('#tablist li.active').first
    for attempt in range(2):
        page.dblclick(item % path[-1])
        try:
            expect(active).to_contain_text(path[-1],
                timeout=15000 if attempt else 7500)
            break
        except AssertionError:
            if attempt:
                raise
    expect(page.locator(ACTIVE)).to_have_count(1)
    # The tab's view is drawn again when its records come
    settle(page)


class SaoCase(unittest.TestCase):
    """A server of MODULES set up by SETUP (a script run with the pool) as
    the database NAME, and a desktop page of Chromium for each test; a
    failing test leaves a screenshot of its page in the temporary
    folder"""
    MODULES = []
    NAME = None
    SETUP = ''

    @classmethod
    def start_server(cls):
        "Return the started server of the tests, or None for one running"
        return Server(cls.MODULES, name=cls.NAME, setup=cls.SETUP).start()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_server()
        if cls.server:
            cls.url, cls.database = cls.server.url, cls.server.name
        try:
            cls.playwright = sync_playwright().start()
            cls.browser = launch_browser(cls.playwright)
        except Exception:
            cls.tearDownServer()
            raise

    @classmethod
    def tearDownServer(cls):
        if cls.server:
            cls.server.stop()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.tearDownServer()
        super().tearDownClass()

    def setUp(self):
        self.page = self.browser.new_page(
            viewport={'width': 1400, 'height': 900}, locale='zh-CN')
        self.errors = []
        self.page.on('pageerror', lambda e: self.errors.append(str(e)))

    def tearDown(self):
        # A JavaScript error in sao is a defect even when every assertion
        # of the test holds
        self.assertEqual(self.errors, [], "JavaScript errors in sao")
        super().tearDown()

    def run(self, result=None):
        """Run the test, keep the screenshot of its page when it failed,
        then close the page"""
        result = result if result is not None else self.defaultTestResult()
        failures = len(result.failures) + len(result.errors)
        self.page = None
        try:
            return super().run(result)
        finally:
            if self.page is not None:
                if len(result.failures) + len(result.errors) > failures:
                    try:
                        self.page.screenshot(
                            path=self.screenshot, full_page=True)
                        print(f"screenshot: {self.screenshot}")
                    except Exception as exception:
                        print(f"no screenshot: {exception}")
                self.page.close()

    @property
    def screenshot(self):
        return os.path.join(tempfile.gettempdir(),
            f'sao-failure-{self.database}-{self._testMethodName}.png')

    def settle(self):
        "Wait until sao has no request running"
        settle(self.page)

    def login(self, login='admin', password=PASSWORD):
        sao_login(self.page, self.url, self.database, login, password)
        expect(self.page.locator('.treeview')).to_contain_text("计量管理")

    def open_menu(self, *path):
        "Open the menu of path (the names from the top) as a user does"
        open_menu(self.page, *path)

    def open_window(self, suffix):
        """Open the window of the menu whose name ends with suffix, as a
        double click on it does; return the tab's pane"""
        menus = self.page.evaluate(MENUS)
        menu, = [m for m in menus
            if m['complete_name'].endswith(suffix)
            and (m['action'] or '').startswith('ir.action.act_window,')]
        self.page.evaluate(OPEN_MENU, menu['id'])
        self.settle()
        return self.page.locator(ACTIVE)

    def field(self, name, tag='input'):
        "The visible widget of the field in the current tab"
        return self.page.locator(f'{ACTIVE} {tag}[name="{name}"]:visible')

    def type_into(self, field, text):
        "Type as a user does, so that sao sees the change"
        # A record sao is still reloading (after a save or a button) is
        # drawn again when it comes, and what was typed before is lost
        self.settle()
        # On a loaded machine a keystroke may land before the widget
        # listens: type again until the field holds the text.
        for attempt in range(3):
            field.click()
            self.page.keyboard.press('Control+A')
            self.page.keyboard.type(text)
            field.press('Tab')
            if (field.input_value() or '').startswith(text):
                break

    def save(self):
        "Click the save button and wait for the server's answer"
        self.page.locator(
            f'{ACTIVE} button.navbar-btn[title="保存"]').click()
        self.settle()
