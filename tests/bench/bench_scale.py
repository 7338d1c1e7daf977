"""Benchmark the pages, lists and runs on five years of history (PostgreSQL)

Generates with tests/bench/scale_data.py (set-based, see its docstring for
the shape of the data) the database a large university holds after five
years: 30,000 accounts, 60,000 meters, 3.6 million readings with their
photos, 1.77 million bills with their usages, their payments, receipts
and prepaid ledger, 30,000 residents with their bindings and 150,000 work
orders.  BENCH_SCALE_ACCOUNTS and BENCH_SCALE_MONTHS set a smaller size
(e.g. 3000 accounts for development; the months stay 60 so that a meter's
history is as deep).

Before the history is generated, the same accounts and meters give the
baselines: a copy of the database while its reading table is still empty
(``<database>_empty``), for the import of 100,000 readings into an empty
table, and the billing run of a database holding one month of readings.
Then, on the five-year database, prints::

    BENCH scale_readings_list_ms   sao's readings list as it opens
    BENCH scale_review_list_ms     the readings to review
    BENCH scale_meter_form_ms      a meter's form with its readings
    BENCH scale_bill_list_ms       the open bills with their totals
    BENCH scale_h5_usage_p95_ms    the residents' usage page, 50 residents
    BENCH scale_billing_run_s      the next month's run over all accounts
    BENCH scale_billing_run_ratio  … over the same run on one month
    BENCH scale_import_100k_s      100,000 readings on top of the history
    BENCH scale_import_ratio       … over the import into an empty table
    BENCH scale_dashboard_ms       the managers' dashboard (when it exists)
    BENCH scale_dashboard_refresh_s  the daily cron's stored use of it

The dashboard's use of the last twelve months is kept stored
(meter_field's dashboard_usage): after the history is generated (or a
previous run's readings removed) the benchmark runs what the daily cron
runs, and times it.

The lists and the form are what sao asks over JSON-RPC of a real
`trytond` (``search`` of the action's first tab with its order and its
limit, the client's 1000 when it has none, ``search_count`` up to 100
times the limit for the pager when the page is full, ``search_count`` of
the tabs that show a count, and
``read`` of the first 100 records with the fields of the view and their
``rec_name``), as a manager of two of the four campuses (finance and
service desk, whose record rules limit them to their campuses); each
figure is the median of 5 openings after one to warm up.  The usage page
is bench_wechat.py's load model: 50 residents with their session cookie,
each thinking 0.5 to 1.5 s between requests, for BENCH_SECONDS (20 s).
The billing run and the import run in process as in bench_billing.py and
bench_import.py.  The two imports of the ratio run in turn, into the empty
copy then on the history, BENCH_SCALE_IMPORT_RUNS (2) times, the readings
of the previous one removed and the tables vacuumed before each; each
figure is the best of its runs.  So the ratio compares the imports' own
costs at the same moments of a shared machine, whose speed was seen to
change by a quarter within minutes.  Uses the PostgreSQL of
TRYTOND_DATABASE__URI when it points at one, otherwise a throwaway
cluster (tests/pgcluster.py) given the shared buffers of a server that
holds such a database (SERVER_SETTINGS, as the README's production
section says): with PostgreSQL's default of 128 MB, a third of the
import's index pages on five years were written out by the import itself
to make room for the next ones (1.6-1.9 s for its INSERT against 1.4 s
with 1 GB, an empty table's 1.3 s either way).

To iterate on one generated database, point TRYTOND_DATABASE__URI at a
cluster that outlives the run, name the database BENCH_SCALE_DATABASE
and its filestore directory BENCH_SCALE_WORKDIR (all kept, the empty copy
too): the first run generates it and saves the baselines in the workdir;
the next runs find it, update the modules of both databases when
BENCH_SCALE_UPDATE is set (so that they follow the code), remove what a
previous run billed and imported, and measure again.
BENCH_SCALE_STEPS (``pages,billing,import``) chooses what they measure.
"""
import csv
import datetime as dt
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

from pgcluster import postgresql  # noqa: E402

import scale_data  # noqa: E402
from tests.rpc import Client  # noqa: E402

ACCOUNTS = int(os.environ.get('BENCH_SCALE_ACCOUNTS', 30000))
MONTHS = int(os.environ.get('BENCH_SCALE_MONTHS', 60))
CLIENTS = int(os.environ.get('BENCH_CLIENTS', 50))
DURATION = float(os.environ.get('BENCH_SECONDS', 20))
IMPORT_ROWS = int(os.environ.get('BENCH_SCALE_IMPORT_ROWS', 100000))
IMPORT_RUNS = int(os.environ.get('BENCH_SCALE_IMPORT_RUNS', 2))
# The throwaway cluster's memory as a server's for a database of 3 GB
# (PostgreSQL's own advice is a quarter of a dedicated server's memory;
# this is a 24th of these machines')
SERVER_SETTINGS = {'shared_buffers': '1GB'}
LOGIN, PASSWORD = 'scale_manager', 'Scale-Manager-2026!'
SESSION_SECRET = secrets.token_hex(32)
REPEAT = 5
BIN = os.path.dirname(sys.executable)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def create_tariffs(pool, start):
    "One tariff per category and kind, valid over the whole history"
    Tariff = pool.get('meter.tariff')
    tariffs = []
    for category in ['resident', 'unit', 'dormitory']:
        tariffs.append({
                'name': f'{category} electricity',
                'category': category, 'kind': 'electricity',
                'tier_basis': 'month',
                'versions': [('create', [{
                                'start_date': start,
                                'minimum_charge': Decimal(5),
                                'components': [('create', [{
                                                'code': 'energy',
                                                'name': '电费',
                                                'pricing': 'tiered',
                                                'tiers': [('create', [
                                                            {'upper': Decimal(200), 'unit_price': Decimal('0.5283')},
                                                            {'upper': None, 'unit_price': Decimal('0.8283')},
                                                            ])],
                                                }])],
                                }])],
                })
        tariffs.append({
                'name': f'{category} water',
                'category': category, 'kind': 'water',
                'carry_over': True,
                'versions': [('create', [{
                                'start_date': start,
                                'free_quota': Decimal(2),
                                'components': [('create', [
                                                {'code': 'water', 'name': '水费', 'pricing': 'flat', 'unit_price': Decimal('2.90')},
                                                {'code': 'sewage', 'name': '污水处理费', 'pricing': 'flat', 'unit_price': Decimal('0.95')},
                                                ])],
                                }])],
                })
    Tariff.create(tariffs)


def setup(database):
    """Create the accounts and meters, tariffs, the manager, the import
    format; return (campus ids, photo ids, format id)"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, context={'active_test': False}
            ) as transaction:
        pool = Pool()
        cursor = transaction.connection.cursor()
        campuses = scale_data.populate_accounts(cursor, ACCOUNTS)
        create_tariffs(pool, scale_data.history_start(MONTHS + 1))
        photo_ids = scale_data.store_photos()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        User.create([{
                    'name': "Scale Manager",
                    'login': LOGIN,
                    'password': PASSWORD,
                    'groups': [('add', [
                                ModelData.get_id('meter_base', 'group_finance'),
                                ModelData.get_id(
                                    'meter_base', 'group_service_desk'),
                                ])],
                    'meter_campuses': [('add', campuses[:2])],
                    }])
        Configuration = pool.get('meter.wechat.configuration')
        Configuration.write([Configuration(1)], {
                'appid': 'wxscale0123456789', 'token': 'scaleToken2026',
                'mode': 'plain'})
        Format = pool.get('meter.import.format')
        format_, = Format.create([{
                    'name': "Scale handheld",
                    'source': 'handheld',
                    'file_type': 'csv',
                    'identifier_column': 'meter',
                    'value_column': 'reading',
                    'date_column': 'date',
                    'date_format': '%Y-%m-%d %H:%M:%S',
                    }])
        transaction.commit()
        return campuses, photo_ids, format_.id


def write_csv(database, path, rows=IMPORT_ROWS):
    """Write rows readings of the meters, a round a day from the 2nd of the
    previous month (after its reading of the 1st), at most 25 rounds so
    that none is in the future; return (rows, rounds)"""
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute('SELECT id, handheld_id FROM meter_meter ORDER BY id')
        meters = cursor.fetchall()
    rows = min(rows, 25 * len(meters))
    start = dt.datetime.combine(
        scale_data.billed_month(MONTHS) + dt.timedelta(days=1), dt.time(9))
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['meter', 'date', 'reading'])
        count, round_ = 0, 0
        while count < rows:
            for index, (meter, handheld) in enumerate(meters):
                if count >= rows:
                    break
                taken_at = start + dt.timedelta(days=round_, seconds=index)
                value = (MONTHS * (20 + meter % 50) + round_ + 1)
                writer.writerow([handheld,
                        taken_at.strftime('%Y-%m-%d %H:%M:%S'), value])
                count += 1
            round_ += 1
    return rows, round_


def import_file(database, format_id, path, rows):
    "Import the file of rows as a job, return the seconds of its processing"
    from bench_import import import_file as import_job
    elapsed, _, _, _, counts = import_job(database, format_id, path)
    assert counts[1] == rows, counts
    return elapsed


def import_turns(uri, databases, format_id, path, rows):
    """Import the file into each database in turn, IMPORT_RUNS times, the
    readings and jobs of the previous import removed before each (then the
    tables vacuumed, as after rerun's removal), and return the best
    seconds of each: the imports compared are measured at the same
    moments, and a moment another process took the machine is left out"""
    times = {database: [] for database in databases}
    for run_ in range(IMPORT_RUNS):
        for database in databases:
            remove_imported(uri, database)
            times[database].append(
                import_file(database, format_id, path, rows))
    for database in databases:
        log('imports into %s: %s s' % (database,
                ', '.join('%.2f' % t for t in times[database])))
    return [min(times[database]) for database in databases]


def copy_empty(uri, database):
    """Copy the database, whose reading table is empty, as the import's
    baseline; return the copy's name, its pool loaded"""
    import psycopg
    from trytond.backend import Database
    from trytond.pool import Pool
    name = database + '_empty'
    # CREATE DATABASE … TEMPLATE wants no other connection to the template
    Database(database).close()
    with psycopg.connect(uri + 'postgres', autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database}"')
    Pool(name).init()
    log('empty copy %s made' % name)
    return name


def remove_imported(uri, database):
    "Remove the readings the CSV imports (after the month billed), its jobs"
    from trytond.transaction import Transaction
    with Transaction().start(database, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute(
            'DELETE FROM meter_reading WHERE taken_at >= %s',
            (scale_data.billed_month(MONTHS) + dt.timedelta(days=1),))
        clear_imports(cursor)
        transaction.commit()
    vacuum(uri, database)


def billing_run(database, start, campuses):
    "Process and post the run of the month of start, return the seconds"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0) as transaction:
        pool = Pool()
        Period = pool.get('meter.billing.period')
        Run = pool.get('meter.billing.run')
        Bill = pool.get('meter.bill')
        period, = Period.search([('start_date', '=', start)])
        run, = Run.create([{
                    'period': period.id,
                    'campuses': [('add', campuses)],
                    }])
        transaction.commit()
        begin = time.perf_counter()
        Run.process([run])
        Run.post([run])
        transaction.commit()
        elapsed = time.perf_counter() - begin
        bills = Bill.search_count([('run', '=', run.id)])
        log('billing run of %s: %d bills in %.1fs' % (
                start, bills, elapsed))
        assert bills >= ACCOUNTS * 0.95, bills
        return elapsed, run.id


def clear_baseline(database, run_id):
    "Remove the readings, import jobs and the bills of the baseline run"
    from trytond.transaction import Transaction
    with Transaction().start(database, 0) as transaction:
        cursor = transaction.connection.cursor()
        bills = 'SELECT id FROM meter_bill WHERE run = %s'
        give_back(cursor, bills, run_id)
        for table in ['meter_bill_line', 'meter_bill_usage',
                'meter_bill_meter', 'meter_prepaid_line']:
            cursor.execute(
                f'DELETE FROM {table} WHERE bill IN ({bills})', (run_id,))
        cursor.execute('DELETE FROM meter_bill WHERE run = %s', (run_id,))
        cursor.execute('DELETE FROM meter_billing_run_missing')
        cursor.execute('DELETE FROM "meter_billing_run-meter_campus"')
        cursor.execute('DELETE FROM meter_billing_run')
        cursor.execute('DELETE FROM meter_billing_period')
        cursor.execute('DELETE FROM meter_reading_check')
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE "
            "'meter_import_job%%' ORDER BY tablename DESC")
        for table, in cursor.fetchall():
            cursor.execute(f'DELETE FROM "{table}"')
        cursor.execute('DELETE FROM meter_reading')
        transaction.commit()


def vacuum(uri, database):
    "VACUUM ANALYZE the database as its autovacuum would have"
    import psycopg
    start = time.perf_counter()
    with psycopg.connect(uri + database, autocommit=True) as connection:
        connection.execute('VACUUM ANALYZE')
    log('vacuum analyze in %.1fs' % (time.perf_counter() - start))


def view_fields(client, model, view_id, view_type):
    """Return the names sao reads of the records of a view: its fields,
    the rec_name of the relations, rec_name and the access flags"""
    view = client.model(model, 'fields_view_get', view_id, view_type)
    names = []
    for name, field in view['fields'].items():
        names.append(name)
        if field['type'] in {'many2one', 'one2one', 'reference'}:
            names.append(name + '.rec_name')
    return names + ['rec_name', '_timestamp', '_write', '_delete'], view


def open_list(client, model, action):
    """Open the list of action as sao does: search the first tab (by
    the action's limit or the client's 1000), count for the pager when
    the page is full and for the tabs that show a
    count, read the first 100 records; return the ids found"""
    domain = action['domain']
    if action['tabs']:
        domain = ['AND', domain, action['tabs'][0][1]]
    limit = action['limit'] or 1000
    ids = client.model(model, 'search', domain, 0, limit, action['order'])
    if len(ids) == limit:
        client.model(model, 'search_count', domain, 0, limit * 100)
    for _, tab_domain, count in action['tabs']:
        if count:
            client.model(model, 'search_count',
                ['AND', action['domain'], tab_domain], 0, 1000)
    if ids:
        client.model(model, 'read', ids[:100], action['fields'])
    return ids


def open_form(client, model, record_id, fields, o2m, o2m_model, o2m_fields):
    "Open a record in a form and read the first records of its one2many"
    record, = client.model(model, 'read', [record_id], fields)
    if record[o2m]:
        client.model(o2m_model, 'read', record[o2m][:100], o2m_fields)


def timed(function, *args):
    "Return the median milliseconds of REPEAT calls after a warm up"
    function(*args)
    values = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        function(*args)
        values.append((time.perf_counter() - start) * 1000)
    return statistics.median(values)


def actions(database):
    """Return what sao gets of the actions: {name: {'domain', 'order',
    'limit', 'tabs', 'views'}} decoded in the manager's context"""
    from trytond.pool import Pool
    from trytond.pyson import PYSONDecoder
    from trytond.transaction import Transaction
    result = {}
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Action = pool.get('ir.action.act_window')
        decoder = PYSONDecoder({})
        for name, (module, xml_id) in {
                'readings': ('meter_base', 'act_reading'),
                'review': ('meter_base', 'act_reading_review'),
                'meters': ('meter_base', 'act_meter'),
                'bills': ('meter_billing', 'act_bill'),
                }.items():
            action = Action(ModelData.get_id(module, xml_id))
            tabs = [(d.name, decoder.decode(d.domain or '[]'), d.count)
                for d in action.act_window_domains]
            order = decoder.decode(action.pyson_order)
            result[name] = {
                'model': action.res_model,
                'domain': decoder.decode(action.pyson_domain),
                'order': order or None,
                'limit': action.limit,
                'tabs': tabs,
                'views': action.views,
                }
        open_tab = ModelData.get_id('meter_billing', 'act_bill_domain_open')
        bills = result['bills']
        bills['tabs'] = sorted(bills['tabs'],
            key=lambda t: t[0] != pool.get('ir.action.act_window.domain')(
                open_tab).name)
    return result


def dashboard(client, database):
    """Time the managers' dashboard when the pool has one: every stored
    (or table query) model named meter.dashboard… opened as a board opens
    its lists (search of the first 1000, read of the first 100 with the
    fields of the list); return the sum of their medians, None when
    there is no such model"""
    from trytond.model import ModelSQL, ModelView
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        # The panels (the sums they read are no list of their own)
        names = sorted(n for n, m in pool.iterobject()
            if n.startswith('meter.dashboard') and issubclass(m, ModelSQL)
            and issubclass(m, ModelView))
    if not names:
        return None

    def open_board(lists):
        for name, fields in lists:
            ids = client.model(name, 'search', [], 0, 1000, None)
            if ids:
                client.model(name, 'read', ids[:100], fields)

    lists = []
    for name in names:
        try:
            fields, _ = view_fields(client, name, None, 'tree')
            client.model(name, 'search', [], 0, 1, None)
        except RuntimeError as error:
            log('dashboard %s not opened by the manager: %s' % (
                    name, str(error)[:200]))
            continue
        lists.append((name, fields))
    log('dashboard lists: %s' % ', '.join(n for n, _ in lists))
    if not lists:
        return None
    return timed(open_board, lists)


def nightly(database):
    """Run what the daily cron runs before the day's work: the dashboard's
    stored use of the last twelve months (when the pool has it); return
    its seconds"""
    from trytond.pool import Pool

    from tests.transactions import run_in_transaction
    Dashboard = Pool(database).get('meter.dashboard', type='model')
    if not hasattr(Dashboard, 'refresh_usage'):
        return None
    start = time.perf_counter()
    # As the cron: again with the lock of the settings' first record
    run_in_transaction(database, Dashboard.refresh_usage)
    elapsed = time.perf_counter() - start
    log('dashboard use stored (the daily cron) in %.1fs' % elapsed)
    return elapsed


def start_servers(database, count):
    "Start count trytond processes on database, return (processes, ports)"
    from bench_wechat import _free_port
    processes, ports = [], []
    for _ in range(count):
        port = _free_port()
        env = dict(os.environ, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
        env.pop('DB_NAME', None)
        processes.append(subprocess.Popen(
                [os.path.join(BIN, 'trytond'), '-d', database], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    for port in ports:
        deadline = time.monotonic() + 120
        while True:
            try:
                http.client.HTTPConnection(
                    '127.0.0.1', port, timeout=2).request('GET', '/')
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    return processes, ports


def measure_pages(database, ports):
    "Time the lists, the form, the dashboard and the usage page"
    import bench_wechat
    from trytond.modules.meter_wechat import session as sessions
    figures = {}
    sao = actions(database)
    client = Client(ports[0], database)
    client.login(LOGIN, PASSWORD)
    for name in ['readings', 'review', 'bills', 'meters']:
        action = sao[name]
        view_id = [v for v, t in action['views'] if t == 'tree'][0]
        action['fields'], _ = view_fields(
            client, action['model'], view_id, 'tree')
    for name, figure in [('readings', 'scale_readings_list_ms'),
            ('review', 'scale_review_list_ms'),
            ('bills', 'scale_bill_list_ms')]:
        action = sao[name]
        figures[figure] = timed(open_list, client, action['model'], action)
        log('%s: %.0f ms' % (figure, figures[figure]))

    meters = sao['meters']
    form_id = [v for v, t in meters['views'] if t == 'form'][0]
    form_fields, form = view_fields(client, 'meter.meter', form_id, 'form')
    readings = form['fields']['readings']
    o2m_fields = [n for n in readings.get('views', {}).get('tree', {}).get(
            'fields', {})] or sao['readings']['fields']
    meter_ids = client.model('meter.meter', 'search', [], 0, 5, None)
    assert meter_ids, "the manager sees no meter"
    figures['scale_meter_form_ms'] = statistics.median(
        timed(open_form, client, 'meter.meter', m, form_fields,
            'readings', 'meter.reading', o2m_fields) for m in meter_ids)
    log('scale_meter_form_ms: %.0f ms' % figures['scale_meter_form_ms'])
    figures['scale_dashboard_ms'] = dashboard(client, database)

    import psycopg
    with psycopg.connect(
            os.environ['TRYTOND_DATABASE__URI'] + database) as connection:
        users = connection.execute(
            'SELECT u.id, min(m.id) FROM meter_wechat_user u '
            'JOIN meter_wechat_binding b ON b."user" = u.id '
            'JOIN meter_meter m ON m.account = b.account '
            'GROUP BY u.id ORDER BY u.id LIMIT %s', (CLIENTS,)).fetchall()
    cookies = [sessions.encode(SESSION_SECRET, u)[1] for u, _ in users]

    class Server:
        name = database

    def usage(index):
        return bench_wechat.usage_request(
            Server, users[index % len(users)][1],
            cookies[index % len(users)])
    bench_wechat.load(ports, usage, CLIENTS, 3)
    latencies, errors = bench_wechat.load(
        ports, usage, CLIENTS, DURATION, think=bench_wechat.THINK)
    if errors:
        log('usage page: %d errors, e.g. %s' % (len(errors), errors[0]))
    assert latencies and len(errors) <= len(latencies) / 100, errors[:3]
    figures['scale_h5_usage_p95_ms'] = bench_wechat.p95(latencies)
    log('usage page: %d answers, median %.1f ms, p95 %.1f ms' % (
            len(latencies), statistics.median(latencies),
            figures['scale_h5_usage_p95_ms']))
    return figures


def main():
    os.environ['TRYTOND_WECHAT__SESSION_SECRET'] = SESSION_SECRET
    os.environ['DB_NAME'] = os.environ.get('BENCH_SCALE_DATABASE',
        'bench_scale_%d' % int(time.time()))
    if not os.environ.get('BENCH_DB_CACHE'):
        os.environ.pop('DB_CACHE', None)
    keep = os.environ.get('BENCH_SCALE_WORKDIR')
    if keep:
        os.makedirs(keep, exist_ok=True)
    workdir = keep or tempfile.mkdtemp(prefix='meter-scale-')
    os.environ['TRYTOND_DATABASE__PATH'] = workdir
    try:
        with postgresql(SERVER_SETTINGS) as uri:
            if keep and os.path.exists(os.path.join(workdir, BASELINES)):
                figures = rerun(uri, workdir)
            else:
                figures = run(uri, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for name, value in figures.items():
        if value is None:
            print(f'{name}: not measured yet (no dashboard model)')
        elif name.endswith('_s') or name.endswith('_ratio'):
            print('BENCH %s=%.2f' % (name, value))
        else:
            print('BENCH %s=%.1f' % (name, value))


BASELINES = 'bench_scale_baselines.json'


def rerun(uri, workdir):
    """Measure again on the database generated by a previous run of the
    same workdir: update its modules when asked, clear what the previous
    run billed and imported"""
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME
    from trytond.transaction import Transaction
    with open(os.path.join(workdir, BASELINES)) as file:
        saved = json.load(file)
    start = time.perf_counter()
    # meter_base and every module of the suite, which all depend on it
    update = ['meter_base'] if os.environ.get('BENCH_SCALE_UPDATE') else None
    empty = DB_NAME + '_empty'
    for database in [DB_NAME, empty]:
        Pool(database).init(update=update, activatedeps=bool(update))
    log('pools of %s ready in %.1fs' % (DB_NAME, time.perf_counter() - start))
    billed = scale_data.billed_month(MONTHS)
    with Transaction().start(DB_NAME, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute('SELECT id FROM meter_billing_run')
        for run_id, in cursor.fetchall():
            clear_run(cursor, run_id)
        cursor.execute(
            'DELETE FROM meter_reading WHERE taken_at >= %s',
            (billed + dt.timedelta(days=1),))
        clear_imports(cursor)
        transaction.commit()
    vacuum(uri, DB_NAME)
    steps = os.environ.get('BENCH_SCALE_STEPS', 'pages,billing,import')
    figures = {}
    figures['scale_dashboard_refresh_s'] = nightly(DB_NAME)
    if 'pages' in steps:
        count = int(os.environ.get(
                'BENCH_PROCESSES', os.cpu_count() or 1))
        processes, ports = start_servers(DB_NAME, count)
        try:
            figures.update(measure_pages(DB_NAME, ports))
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    if 'billing' in steps:
        elapsed, _ = billing_run(DB_NAME, billed, saved['campuses'])
        figures['scale_billing_run_s'] = elapsed
        figures['scale_billing_run_ratio'] = elapsed / saved['one_month_run']
    if 'import' in steps:
        path = os.path.join(workdir, 'handheld.csv')
        empty_import, elapsed = import_turns(uri, [empty, DB_NAME],
            saved['format'], path, saved['rows'])
        figures['scale_import_100k_s'] = elapsed
        figures['scale_import_ratio'] = elapsed / empty_import
        log('import into an empty table %.1fs' % empty_import)
    if 'scale_dashboard_ms' in figures:
        figures['scale_dashboard_ms'] = figures.pop('scale_dashboard_ms')
    return figures


def clear_run(cursor, run_id):
    """Remove the bills of the run, its missing meters and the run,
    without the checks of the foreign keys (the bills that could refer
    to them, by replaces, are years of rows without an index on it)"""
    cursor.execute("SET LOCAL session_replication_role = replica")
    bills = 'SELECT id FROM meter_bill WHERE run = %s'
    give_back(cursor, bills, run_id)
    for table in ['meter_bill_line', 'meter_bill_usage',
            'meter_bill_meter', 'meter_prepaid_line']:
        cursor.execute(
            f'DELETE FROM {table} WHERE bill IN ({bills})', (run_id,))
    cursor.execute('DELETE FROM meter_bill WHERE run = %s', (run_id,))
    cursor.execute(
        'DELETE FROM meter_billing_run_missing WHERE run = %s', (run_id,))
    cursor.execute(
        'DELETE FROM "meter_billing_run-meter_campus" WHERE run = %s',
        (run_id,))
    cursor.execute('DELETE FROM meter_billing_run WHERE id = %s', (run_id,))
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def give_back(cursor, bills, run_id):
    """Take the prepaid lines of the bills (a query of their ids) out of
    the balances the accounts store, before they are deleted"""
    cursor.execute(
        "UPDATE meter_account AS a SET ledger_total = a.ledger_total - l.amount "
        "FROM (SELECT account, sum(amount) AS amount "
        f"FROM meter_prepaid_line WHERE bill IN ({bills}) "
        "GROUP BY account) AS l WHERE a.id = l.account", (run_id,))


def clear_imports(cursor):
    "Remove the import jobs and their rows"
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE "
        "'meter_import_job%%' ORDER BY tablename DESC")
    for table, in cursor.fetchall():
        cursor.execute(f'DELETE FROM "{table}"')


def run(uri, workdir):
    from trytond.tests.test_tryton import DB_NAME, activate_module
    start = time.perf_counter()
    activate_module(['meter_field'])
    log('activated in %.1fs' % (time.perf_counter() - start))
    campuses, photo_ids, format_id = setup(DB_NAME)
    figures = {}

    # The baselines: an empty reading table, then one month of readings
    path = os.path.join(workdir, 'handheld.csv')
    rows, rounds = write_csv(DB_NAME, path)
    log('%d accounts, %d months; CSV of %d rows in %d rounds' % (
            ACCOUNTS, MONTHS, rows, rounds))
    # The dashboard's use kept as on a database in use: the import adds
    # to it in both
    nightly(DB_NAME)
    empty = copy_empty(uri, DB_NAME)
    billed = scale_data.billed_month(MONTHS)
    clear_baseline(DB_NAME, None)
    from trytond.transaction import Transaction
    with Transaction().start(DB_NAME, 0) as transaction:
        cursor = transaction.connection.cursor()
        scale_data.insert_readings(cursor, billed, 1, photo_ids, 0)
        scale_data.insert_periods(cursor, billed, 1)
        transaction.commit()
    vacuum(uri, DB_NAME)
    one_month_run, run_id = billing_run(DB_NAME, billed, campuses)
    clear_baseline(DB_NAME, run_id)

    # Five years
    start = time.perf_counter()
    with Transaction().start(DB_NAME, 0) as transaction:
        cursor = transaction.connection.cursor()
        counts = scale_data.generate(cursor, MONTHS, photo_ids, log=log)
        transaction.commit()
    vacuum(uri, DB_NAME)
    log('history generated in %.1fs: %s' % (
            time.perf_counter() - start, counts))
    figures['scale_dashboard_refresh_s'] = nightly(DB_NAME)

    count = int(os.environ.get('BENCH_PROCESSES', os.cpu_count() or 1))
    processes, ports = start_servers(DB_NAME, count)
    try:
        figures.update(measure_pages(DB_NAME, ports))
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)

    elapsed, _ = billing_run(DB_NAME, billed, campuses)
    figures['scale_billing_run_s'] = elapsed
    figures['scale_billing_run_ratio'] = elapsed / one_month_run
    log('one month run %.1fs' % one_month_run)
    empty_import, elapsed = import_turns(
        uri, [empty, DB_NAME], format_id, path, rows)
    figures['scale_import_100k_s'] = elapsed
    figures['scale_import_ratio'] = elapsed / empty_import
    log('import into an empty table %.1fs' % empty_import)
    dashboard_ms = figures.pop('scale_dashboard_ms')
    figures['scale_dashboard_ms'] = dashboard_ms
    with open(os.path.join(workdir, BASELINES), 'w') as file:
        json.dump({'campuses': campuses, 'format': format_id, 'rows': rows,
                'one_month_run': one_month_run}, file)
    return figures


if __name__ == '__main__':
    main()
