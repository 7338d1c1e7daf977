"""A Tryton server with the web client, on a fresh database, for the
browser tests.

The database lives on the backend of the environment (SQLite in a
temporary folder or the PostgreSQL of TRYTOND_DATABASE__URI); the modules
are activated with Chinese loaded and the admin's language set to zh_CN,
then `trytond` serves sao on a free loopback port.

Activating the modules is the longest part of a start and gives the same
database each time: it is done once per set of modules in a run and kept
as a template (a file on SQLite, a template database on PostgreSQL) that
each server's database is copied from.
"""
import atexit
import configparser
import hashlib
import os
import shutil
import socket
import sqlite3
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


def _activated(modules):
    """The suite's addons that activating modules activates, sorted: the
    same set gives the same database"""
    found = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        cfg = os.path.join(ROOT, 'addons', module, 'tryton.cfg')
        if module in found or not os.path.exists(cfg):
            continue
        found.add(module)
        config = configparser.ConfigParser()
        config.read(cfg)
        todo.extend(config.get('tryton', 'depends', fallback='').split())
    return sorted(found)


class _Templates:
    """The template databases of this run, by set of modules (and set-up
    script for a server that keeps its own): each in a folder of its own
    (its SQLite file and the files of its filestore), the PostgreSQL
    database of the same name on PostgreSQL.

    The folder of all is BROWSER_TEMPLATES when the suite prepares them
    for every browser test (tests/run_suite.py, which removes them), else
    a temporary folder of this process, removed at its exit."""
    prefix = 'browser_template_'

    def __init__(self):
        self._directory = os.environ.get('BROWSER_TEMPLATES')
        self.made = set()

    @property
    def directory(self):
        if not self._directory:
            self._directory = tempfile.mkdtemp(prefix='meter-templates-')
            atexit.register(shutil.rmtree, self._directory, True)
        return self._directory

    def name(self, *keys):
        # The folder in the name: no two runs share a PostgreSQL template
        digest = hashlib.sha1(
            repr((self.directory,) + keys).encode()).hexdigest()
        return self.prefix + digest[:12]

    def path(self, name):
        "The folder of the template name"
        return os.path.join(self.directory, name)

    def drop_at_exit(self, uri, name):
        if os.environ.get('BROWSER_TEMPLATES'):
            # Dropped by the suite
            return
        atexit.register(drop_templates, uri, [name])


def drop_templates(uri, names):
    "Drop the template databases names at uri"
    import psycopg
    try:
        with psycopg.connect(uri + 'postgres', autocommit=True) as conn:
            for name in names:
                conn.execute(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        # The throwaway cluster is gone already
        pass


TEMPLATES = _Templates()


class Server:

    def __init__(self, modules, name='browser_meter', setup='', env=None,
            template=False):
        """template: the setup script gives the same database each time
        (it holds no address of this run): keep the database set up as a
        template too, for the next server and for prepare()"""
        self.modules = modules
        self.setup = setup
        self.template = template
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

    def _connect(self):
        import psycopg
        return psycopg.connect(self.env['TRYTOND_DATABASE__URI']
            + 'postgres', autocommit=True)

    def _exists(self, template):
        if self.postgresql:
            with self._connect() as conn:
                return bool(conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s",
                        (template,)).fetchall())
        return os.path.exists(
            os.path.join(TEMPLATES.path(template), template + '.sqlite'))

    def _make(self, template, env, source=None, setup=None):
        """Make the template: a copy of the template source, else a new
        database with the modules activated; then set up by setup"""
        if template in TEMPLATES.made or self._exists(template):
            return
        # Made under another name and renamed once whole: a run stopped
        # half-way leaves no template that looks ready
        new = template + '_new'
        directory = TEMPLATES.path(template)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        env = dict(env, TRYTOND_DATABASE__PATH=directory)
        if source:
            self._copy(source, new, directory)
        elif self.postgresql:
            with self._connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{new}"')
        else:
            open(os.path.join(directory, new + '.sqlite'), 'w').close()
        if not source:
            subprocess.run([os.path.join(BIN, 'trytond-admin'), '-d', new,
                    '--email', 'admin@example.com',
                    '--activate-dependencies', '-l', 'zh_CN',
                    '-u', *_activated(self.modules)], env=env, check=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if setup is not None:
            subprocess.run([sys.executable, '-c', SET_UP, new, setup],
                env=env, check=True)
        self._rename(directory, new, template)
        if self.postgresql:
            TEMPLATES.drop_at_exit(self.env['TRYTOND_DATABASE__URI'], template)
        TEMPLATES.made.add(template)

    def _copy(self, template, name, directory):
        """Create the database name in directory as a copy of template,
        the files of its filestore with it"""
        for entry in os.listdir(TEMPLATES.path(template)):
            source = os.path.join(TEMPLATES.path(template), entry)
            if entry == template + '.sqlite':
                shutil.copyfile(source,
                    os.path.join(directory, name + '.sqlite'))
            elif os.path.isdir(source):
                shutil.copytree(source, os.path.join(directory,
                        name if entry == template else entry),
                    dirs_exist_ok=True)
        if self.postgresql:
            with self._connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def _rename(self, directory, old, new):
        if self.postgresql:
            import psycopg
            # The backend of the set-up script that just ended may not
            # be gone yet (CREATE DATABASE waits for such, RENAME not)
            deadline = time.monotonic() + 30
            with self._connect() as conn:
                while True:
                    try:
                        conn.execute(
                            f'ALTER DATABASE "{old}" RENAME TO "{new}"')
                        break
                    except psycopg.errors.ObjectInUse:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
        else:
            path = os.path.join(directory, old + '.sqlite')
            # All in the file, nothing left in a write-ahead log: the file
            # alone is copied
            connection = sqlite3.connect(path)
            try:
                connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')
            finally:
                connection.close()
            os.rename(path, os.path.join(directory, new + '.sqlite'))
        if os.path.isdir(os.path.join(directory, old)):
            os.rename(os.path.join(directory, old),
                os.path.join(directory, new))

    def _templates(self, env):
        """Make the templates of this server and return the one to copy:
        the modules activated (shared by every server of the same
        modules), then set up for a server that keeps its own"""
        activated = TEMPLATES.name(_activated(self.modules))
        self._make(activated, env)
        if not self.template:
            return activated
        set_up = TEMPLATES.name(_activated(self.modules), self.setup)
        self._make(set_up, env, source=activated, setup=self.setup)
        return set_up

    def prepare(self):
        """Make this server's templates ahead of its start (the suite does
        it while the unit tests run)"""
        try:
            self._templates(self._password_env())
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _password_env(self):
        passfile = os.path.join(self.directory, 'password')
        with open(passfile, 'w') as fp:
            fp.write(PASSWORD)
        return dict(self.env, TRYTONPASSFILE=passfile)

    def start(self):
        env = self._password_env()
        template = self._templates(env)
        self._copy(template, self.name, self.directory)
        if not self.template:
            subprocess.run(
                [sys.executable, '-c', SET_UP, self.name, self.setup],
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
            with self._connect() as conn:
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
