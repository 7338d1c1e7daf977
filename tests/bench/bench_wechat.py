"""Benchmark the WeChat service with 50 concurrent clients on PostgreSQL

A real `trytond` serves a database of 2,000 accounts with two meters each
and a year of monthly readings (48,000 readings), 50 residents each with
an approved binding.  Fifty clients, each in its own thread of a separate
load process, then send on loopback for a while:

- signed text messages "用量" to the message callback, each with a fresh
  nonce (a replayed one is refused), answered with the sender's latest
  readings: ``BENCH wechat_callback_p95_ms`` (goal: under 100 ms);
- requests of the 12-month usage page of one of their meters, with their
  session cookie: ``BENCH h5_usage_page_p95_ms`` (goal: under 300 ms).

Each client is a resident: it sends a request, reads the answer and
thinks a moment (0.5 to 1.5 s, 1 s on average) before the next, so that
50 clients offer about 50 requests a second, more than the busiest hour
of a campus of 10,000 households.  The p95 of these answers are the
BENCH figures.  The same clients without thinking time then saturate the
server: ``BENCH wechat_callback_saturated_rps`` and
``h5_usage_page_saturated_rps`` tell its capacity, with the p95 at
saturation, which is 50 divided by that capacity.

Every answer is checked (status and content), so that a fast error can
not pass for a fast page.  As the README's production path says, several
`trytond` processes serve one database (one per core, BENCH_PROCESSES),
the clients spread over them as a reverse proxy would.  Uses the
PostgreSQL of TRYTOND_DATABASE__URI when it points at one, otherwise a
throwaway cluster (tests/pgcluster.py).
"""
import hashlib
import http.client
import os
import random
import subprocess
import secrets
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, REPO)

from pgcluster import postgresql  # noqa: E402

from tests.browser.server import BIN, Server, _free_port  # noqa: E402
from trytond.modules.meter_wechat.tests.test_callback import (  # noqa: E402
    TEXT)

CLIENTS = int(os.environ.get('BENCH_CLIENTS', 50))
DURATION = float(os.environ.get('BENCH_SECONDS', 20))
THINK = (0.5, 1.5)
ACCOUNTS = 2000
APPID = 'wxbench0123456789'
TOKEN = 'benchToken2026'
SESSION_SECRET = secrets.token_hex(32)

SETUP = f"""
import datetime as dt
from trytond.transaction import Transaction
cursor = Transaction().connection.cursor()
Configuration = pool.get('meter.wechat.configuration')
Configuration.write([Configuration(1)], {{
        'appid': {APPID!r}, 'token': {TOKEN!r}, 'mode': 'plain'}})
cursor.execute(
    "INSERT INTO meter_campus (name, code, active, create_uid, create_date) "
    "VALUES ('主校区', 'MAIN', true, 0, now()) RETURNING id")
campus, = cursor.fetchone()
cursor.execute(
    "INSERT INTO meter_account (number, name, category, billing_mode, "
    "campus, active, create_uid, create_date) "
    "SELECT 'A' || lpad(n::text, 6, '0'), '住户' || n, 'resident', "
    "'postpaid', %s, true, 0, now() FROM generate_series(1, {ACCOUNTS}) n",
    (campus,))
cursor.execute(
    "INSERT INTO meter_meter (number, kind, account, campus, "
    "reading_method, multiplier, digits, decimals, initial_value, state, "
    "create_uid, create_date) "
    "SELECT CASE k WHEN 1 THEN 'E' ELSE 'W' END || a.number, "
    "CASE k WHEN 1 THEN 'electricity' ELSE 'water' END, a.id, a.campus, "
    "'self', 1, 6, 1, 0, 'active', 0, now() "
    "FROM meter_account a, generate_series(1, 2) k")
today = dt.date.today()
first = dt.datetime(today.year, today.month, 1) - dt.timedelta(days=365)
cursor.execute(
    "INSERT INTO meter_reading (meter, taken_at, value, source, "
    "previous_value, previous_taken_at, consumption, rollover, "
    "anomaly_count, state, create_uid, create_date) "
    "SELECT m.id, %s + (i || ' months')::interval, "
    "i * (20 + m.id %% 50), 'self', (i - 1) * (20 + m.id %% 50), "
    "%s + ((i - 1) || ' months')::interval, 20 + m.id %% 50, false, 0, "
    "'confirmed', 0, now() "
    "FROM meter_meter m, generate_series(1, 12) i", (first, first))
cursor.execute(
    "INSERT INTO meter_wechat_user (openid, phone, registered_at, blocked, "
    "create_uid, create_date) "
    "SELECT 'o-bench-' || n, '1380000' || lpad(n::text, 4, '0'), now(), "
    "false, 0, now() FROM generate_series(1, {CLIENTS}) n")
cursor.execute(
    "INSERT INTO meter_wechat_binding (\\"user\\", account, state, "
    "requested_at, reviewed_at, create_uid, create_date) "
    "SELECT u.id, a.id, 'approved', now(), now(), 0, now() "
    "FROM meter_wechat_user u JOIN meter_account a "
    "ON a.number = 'A' || lpad((substr(u.openid, 9)::int * 37)::text, 6, '0')")
cursor.execute("ANALYZE")
"""

def residents(server):
    "Return (openid, user id, meter id) of the bench's residents"
    import psycopg
    uri = server.env['TRYTOND_DATABASE__URI'] + server.name
    with psycopg.connect(uri) as conn:
        return conn.execute(
            'SELECT u.openid, u.id, min(m.id) '
            'FROM meter_wechat_user u '
            'JOIN meter_wechat_binding b ON b."user" = u.id '
            'JOIN meter_meter m ON m.account = b.account '
            'GROUP BY u.openid, u.id ORDER BY u.id').fetchall()


def callback_request(server, openid):
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(8)
    signature = hashlib.sha1(
        ''.join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    path = (f'/{server.name}/wechat/callback?signature={signature}'
        f'&timestamp={timestamp}&nonce={nonce}&openid={openid}')
    body = TEXT.format(to='gh_bench', openid=openid, content='用量').encode()
    return 'POST', path, body, {'Content-Type': 'text/xml'}, '最新读数'


def usage_request(server, meter, cookie):
    path = f'/{server.name}/wechat/usage/{meter}'
    headers = {'Cookie': f'meter_wechat={cookie}'}
    return 'GET', path, None, headers, 'echarts'


def load(ports, make_request, clients, duration, think=None):
    """Run the clients for duration seconds, each thinking a random time
    in the think range between its requests when given; return the
    latencies (ms) of the checked answers and the errors"""
    latencies, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(index):
        port = ports[index % len(ports)]
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        own, wrong = [], []
        rng = random.Random(index)
        start.wait()
        if think:
            # Residents do not all arrive at the same instant
            time.sleep(rng.uniform(0, think[1]))
        end = time.monotonic() + duration
        while time.monotonic() < end:
            method, path, body, headers, expected = make_request(index)
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read().decode('utf-8', 'replace')
            except (OSError, http.client.HTTPException) as exception:
                wrong.append(repr(exception))
                connection.close()
                connection = http.client.HTTPConnection(
                    '127.0.0.1', port, timeout=30)
                continue
            elapsed = (time.perf_counter() - began) * 1000
            if response.status != 200 or expected not in content:
                wrong.append(f'{response.status} {content[:200]}')
            else:
                own.append(elapsed)
            if response.getheader('Connection', '').lower() == 'close':
                connection.close()
            if think:
                time.sleep(rng.uniform(*think))
        connection.close()
        with lock:
            latencies.extend(own)
            errors.extend(wrong)

    threads = [threading.Thread(target=client, args=(i,))
        for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def p95(values):
    return statistics.quantiles(values, n=100)[94]


def measure(server, ports, users):
    from trytond.modules.meter_wechat import session as sessions
    cookies = [sessions.encode(SESSION_SECRET, user)[1]
        for _, user, _ in users]
    figures = {}
    for name, make_request in [
            ('wechat_callback', lambda i: callback_request(
                    server, users[i % len(users)][0])),
            ('h5_usage_page', lambda i: usage_request(
                    server, users[i % len(users)][2],
                    cookies[i % len(users)])),
            ]:
        # Warm the processes up: pool, caches, connections
        load(ports, make_request, CLIENTS, 3)
        for mode, think in [('', THINK), ('_saturated', None)]:
            latencies, errors = load(
                ports, make_request, CLIENTS, DURATION, think=think)
            if errors:
                print(f'{name}{mode}: {len(errors)} errors, '
                    f'e.g. {errors[0]}', file=sys.stderr)
            if not latencies:
                raise SystemExit(f'{name}{mode}: no successful answer')
            if len(errors) > len(latencies) / 100:
                raise SystemExit(f'{name}{mode}: too many errors')
            rate = len(latencies) / DURATION
            figures[f'{name}{mode}_p95_ms'] = p95(latencies)
            figures[f'{name}{mode}_rps'] = rate
            print(f'{name}{mode}: {len(latencies)} answers in '
                f'{DURATION:.0f}s ({rate:.0f}/s), '
                f'median {statistics.median(latencies):.1f} ms, '
                f'p95 {p95(latencies):.1f} ms, errors {len(errors)}',
                file=sys.stderr)
    return figures


def start_more(server, count):
    "Start count more trytond processes on the database of server"
    processes, ports = [], []
    for _ in range(count):
        port = _free_port()
        env = dict(server.env, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
        processes.append(subprocess.Popen(
                [os.path.join(BIN, 'trytond'), '-d', server.name], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    for port in ports:
        deadline = time.monotonic() + 60
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


def main():
    os.environ['TRYTOND_WECHAT__SESSION_SECRET'] = SESSION_SECRET
    count = int(os.environ.get('BENCH_PROCESSES', os.cpu_count() or 1))
    with postgresql():
        server = Server(['meter_wechat'], name='bench_wechat', setup=SETUP)
        others = []
        try:
            server.start()
            others, ports = start_more(server, count - 1)
            users = residents(server)
            assert len(users) == CLIENTS, len(users)
            print(f'{CLIENTS} clients, {count} trytond process(es)',
                file=sys.stderr)
            figures = measure(server, [server.port] + ports, users)
        finally:
            for process in others:
                process.terminate()
                process.wait(10)
            server.stop()
    for name in ['wechat_callback', 'h5_usage_page']:
        print('BENCH %s_p95_ms=%.1f' % (name, figures[f'{name}_p95_ms']))
    for name in ['wechat_callback', 'h5_usage_page']:
        print('BENCH %s_saturated_rps=%.0f' % (
                name, figures[f'{name}_saturated_rps']))
        print('BENCH %s_saturated_p95_ms=%.1f' % (
                name, figures[f'{name}_saturated_p95_ms']))


if __name__ == '__main__':
    main()
