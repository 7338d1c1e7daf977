"""A Tryton server with the web client, on a fresh database, for the
browser tests.

The database lives on the backend of the environment (SQLite in a
temporary folder or the PostgreSQL of TRYTOND_DATABASE__URI); the modules
are activated with Chinese loaded and the admin's language set to zh_CN,
then `trytond` serves sao on a free loopback port.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import expect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
# The suite runs both backends' browser tests side by side on two cores:
# wait up to 15 s for what a page should show, not Playwright's 5 s.
expect.set_options(timeout=15000)
BIN = os.path.dirname(sys.executable)
PASSWORD = 'admin-browser'

SET_UP = """
import sys
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError
Pool.start()
pool = Pool(sys.argv[1])
pool.init()
extras = {}
while True:
    # Started again with the tables to lock, e.g. to write a singleton
    try:
        with Transaction().start(
                sys.argv[1], 0, readonly=False, **extras) as transaction:
            User = pool.get('res.user')
            Lang = pool.get('ir.lang')
            Item = pool.get('ir.module.config_wizard.item')
            zh, = Lang.search([('code', '=', 'zh_CN')])
            User.write(User.search([('login', '=', 'admin')]),
                {'language': zh.id})
            Item.write(Item.search([]), {'state': 'done'})
            exec(sys.argv[2], {'pool': pool})
            transaction.commit()
        break
    except TransactionError as error:
        error.fix(extras)
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Server:

    def __init__(self, modules, name='browser_meter', setup='', env=None):
        self.modules = modules
        self.setup = setup
        self.name = name
        self.directory = tempfile.mkdtemp(prefix='meter-browser-')
        self.port = _free_port()
        self.process = None
        self.env = os.environ.copy()
        self.env.pop('TRYTOND_CONFIG', None)
        self.env.pop('DB_NAME', None)
        self.env.pop('DB_CACHE', None)
        self.env['TRYTOND_DATABASE__PATH'] = self.directory
        self.env['TRYTOND_WEB__LISTEN'] = f'127.0.0.1:{self.port}'
        self.env['TRYTOND_WEB__ROOT'] = os.path.join(ROOT, 'build', 'sao')
        self.env.setdefault('TRYTOND_DATABASE__URI', 'sqlite://')
        # e.g. TRYTOND_<SECTION>__<OPTION> settings of the test
        self.env.update(env or {})

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}/'

    @property
    def postgresql(self):
        return self.env['TRYTOND_DATABASE__URI'].startswith('postgresql')

    def _create_database(self):
        if self.postgresql:
            import psycopg
            with psycopg.connect(self.env['TRYTOND_DATABASE__URI']
                    .replace('postgresql://', 'postgresql://', 1)
                    + 'postgres', autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                conn.execute(f'CREATE DATABASE "{self.name}"')
        else:
            open(os.path.join(self.directory, self.name + '.sqlite'),
                'w').close()

    def start(self):
        self._create_database()
        passfile = os.path.join(self.directory, 'password')
        with open(passfile, 'w') as fp:
            fp.write(PASSWORD)
        env = dict(self.env, TRYTONPASSFILE=passfile)
        subprocess.run([os.path.join(BIN, 'trytond-admin'), '-d', self.name,
                '--email', 'admin@example.com', '--activate-dependencies',
                '-l', 'zh_CN', '-u', *self.modules], env=env, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([sys.executable, '-c', SET_UP, self.name, self.setup],
            env=env, check=True)
        self.log = open(os.path.join(self.directory, 'server.log'), 'wb')
        self.process = subprocess.Popen(
            [os.path.join(BIN, 'trytond'), '-d', self.name], env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.3)
        raise RuntimeError(f"trytond did not start: {self.read_log()}")

    def read_log(self, tail=4000):
        "Return the end of the server's log (all of it when tail is None)"
        with open(os.path.join(self.directory, 'server.log'), 'rb') as fp:
            text = fp.read().decode('utf-8', 'replace')
        return text[-tail:] if tail else text

    def stop(self):
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.log.close()
        if self.postgresql:
            import psycopg
            with psycopg.connect(self.env['TRYTOND_DATABASE__URI']
                    + 'postgres', autocommit=True) as conn:
                conn.execute(
                    f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.directory, ignore_errors=True)


def launch_browser(playwright):
    "Debian's Chromium, with no call home"
    return playwright.chromium.launch(
        executable_path=os.environ.get('CHROMIUM', '/usr/bin/chromium'),
        args=['--no-sandbox', '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
            '--no-first-run'])


def sao_login(page, url, database, login, password):
    """Log in to sao at url as a user does: the database, the login, then
    the password asked in a dialog"""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    # A freshly started server may answer the very first login with an
    # error while its pool loads: try again as a user would.
    for attempt in range(3):
        page.goto(url)
        # With several databases on the server, sao lists them.
        page.wait_for_function('''() => {
            const s = document.querySelector('select#database');
            const i = document.querySelector('input#database');
            return (s && s.options.length) || (i && i.value); }''')
        choice = page.locator('select#database')
        if choice.is_visible():
            choice.select_option(value=database)
        elif not page.locator('input#database').input_value():
            page.fill('input#database', database)
        page.fill('#login', login)
        page.click('button[type=submit]')
        field = page.locator('.modal input[type=password]')
        try:
            field.wait_for(timeout=10000)
            break
        except PlaywrightTimeoutError:
            continue
    field.fill(password)
    page.keyboard.press('Enter')
