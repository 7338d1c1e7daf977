"""Benchmark the management centre's dashboard on PostgreSQL

Creates (bulk SQL, not the ORM) 20,000 accounts over four campuses with
an electricity and a water meter each, a year of monthly confirmed
readings (480,000), three months of bills with some left to pay,
payments, work orders and a main water meter over every 100 water
meters, then times Dashboard.figures() (every query of the board, as the
administrator and as finance staff of one campus) and the losses of a
period.  Prints ``BENCH dashboard_20k_accounts_ms=<milliseconds>`` (the
goal is under 1,000 ms), ``BENCH dashboard_20k_accounts_campus_ms=``,
``BENCH loss_compute_20k_accounts_ms=`` and
``BENCH dashboard_usage_refresh_20k_ms=`` (what the daily cron runs
before: the use of the last twelve months stored, which the board reads).

Uses the PostgreSQL of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster (tests/pgcluster.py).
"""
import datetime as dt
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, HERE)

from pgcluster import postgresql  # noqa: E402

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", 20000))
CAMPUSES = 4
MONTHS = 12
# The best of so many runs is reported (the first warms the caches)
RUNS = 3


def populate(cursor, today):
    "Insert campuses, accounts, meters, readings, bills and payments"
    cursor.execute(
        "INSERT INTO meter_campus (name, code, active, create_uid, "
        "create_date) SELECT 'Campus ' || n, 'C' || n, true, 0, now() "
        "FROM generate_series(1, %s) AS n", (CAMPUSES,))
    cursor.execute("SELECT id FROM meter_campus ORDER BY code")
    campuses = [r[0] for r in cursor]
    # Ten buildings per campus
    cursor.execute(
        "INSERT INTO meter_location (name, campus, kind, active, "
        "create_uid, create_date) "
        "SELECT 'B' || c.id || '-' || n, c.id, 'building', true, 0, now() "
        "FROM meter_campus AS c, generate_series(1, 10) AS n")
    cursor.execute(
        "INSERT INTO meter_account (number, name, category, billing_mode, "
        "campus, location, active, create_uid, create_date) "
        "SELECT lpad(n::text, 8, '0'), 'Account ' || n, "
        "CASE WHEN n %% 10 = 0 THEN 'unit' WHEN n %% 10 = 1 "
        "THEN 'dormitory' ELSE 'resident' END, 'postpaid', "
        "(%s::int[])[n %% %s + 1], NULL, true, 0, now() "
        "FROM generate_series(1, %s) AS n",
        (campuses, CAMPUSES, ACCOUNTS))
    cursor.execute(
        "UPDATE meter_account AS a SET location = ("
        "SELECT l.id FROM meter_location AS l WHERE l.campus = a.campus "
        "ORDER BY l.id OFFSET a.id % 10 LIMIT 1)")
    cursor.execute(
        "INSERT INTO meter_meter (number, kind, account, campus, location, "
        "reading_method, multiplier, digits, decimals, initial_value, "
        "state, create_uid, create_date) "
        "SELECT CASE k WHEN 1 THEN 'E' ELSE 'W' END || a.number, "
        "CASE k WHEN 1 THEN 'electricity' ELSE 'water' END, a.id, a.campus, "
        "a.location, CASE a.id % 3 WHEN 0 THEN 'manual' WHEN 1 THEN 'self' "
        "ELSE 'handheld' END, 1, 6, 1, 0, 'active', 0, now() "
        "FROM meter_account AS a, generate_series(1, 2) AS k")
    # A main water meter over every 100 water meters of a campus
    cursor.execute(
        "INSERT INTO meter_meter (number, kind, campus, location, "
        "reading_method, multiplier, digits, decimals, initial_value, "
        "state, create_uid, create_date) "
        "SELECT 'M' || lpad(n::text, 5, '0'), 'water', "
        "(%s::int[])[n %% %s + 1], NULL, 'manual', 1, 8, 0, 0, 'active', 0, "
        "now() FROM generate_series(0, %s) AS n",
        (campuses, CAMPUSES, ACCOUNTS // 100 - 1))
    cursor.execute(
        "UPDATE meter_meter AS m SET parent_meter = p.id "
        "FROM meter_account AS a, meter_meter AS p "
        "WHERE m.account = a.id AND m.kind = 'water' "
        "AND p.number = 'M' || lpad(((a.id / 100) * %s + "
        "a.campus %% %s)::text, 5, '0')",
        (CAMPUSES, CAMPUSES))
    # A reading a month for a year: value = month * (use of the meter)
    first = dt.date(today.year, today.month, 1)
    for month in range(MONTHS, 0, -1):
        year_month = first.year * 12 + first.month - 1 - month
        day = dt.datetime(year_month // 12, year_month % 12 + 1, 20, 9)
        rank = MONTHS - month + 1
        cursor.execute(
            "INSERT INTO meter_reading (meter, taken_at, value, source, "
            "previous_value, consumption, rollover, anomaly_count, state, "
            "create_uid, create_date) "
            "SELECT m.id, %s, %s * ((m.id %% 50) + 10), 'import', "
            "%s * ((m.id %% 50) + 10), (m.id %% 50) + 10, false, 0, "
            "'confirmed', 0, now() FROM meter_meter AS m",
            (day, rank, rank - 1))
    # Waiting readings with anomalies
    cursor.execute(
        "INSERT INTO meter_reading (meter, taken_at, value, source, "
        "rollover, anomaly_count, anomalies, state, create_uid, "
        "create_date) SELECT m.id, now(), 1, 'import', false, 1, "
        "'[\"lower\"]', 'draft', 0, now() FROM meter_meter AS m "
        "WHERE m.id % 97 = 0")
    # Three billing periods, a bill per account and period
    periods = []
    for back in (3, 2, 1):
        year_month = first.year * 12 + first.month - 1 - back
        start = dt.date(year_month // 12, year_month % 12 + 1, 1)
        end = dt.date((year_month + 1) // 12, (year_month + 1) % 12 + 1, 1
            ) - dt.timedelta(days=1)
        cursor.execute(
            "INSERT INTO meter_billing_period (name, start_date, end_date, "
            "due_date, state, create_uid, create_date) "
            "VALUES (%s, %s, %s, %s, 'open', 0, now()) RETURNING id",
            (start.strftime('%Y-%m'), start, end,
                end + dt.timedelta(days=15)))
        period = cursor.fetchone()[0]
        periods.append(period)
        cursor.execute(
            "INSERT INTO meter_bill (number, account, campus, category, "
            "billing_mode, period, start_date, end_date, due_date, amount, "
            "paid_amount, state, create_uid, create_date) "
            "SELECT %s || a.id, a.id, a.campus, a.category, 'postpaid', "
            "%s, %s, %s, %s, 50 + (a.id %% 200), "
            "CASE WHEN a.id %% 5 = 0 THEN 0 ELSE 50 + (a.id %% 200) END, "
            "CASE WHEN a.id %% 5 = 0 THEN 'posted' ELSE 'paid' END, "
            "0, now() FROM meter_account AS a",
            (f'B{period}-', period, start, end, end + dt.timedelta(days=15)))
        cursor.execute(
            "INSERT INTO meter_payment (receipt_number, account, campus, "
            "date, method, amount, state, create_uid, create_date) "
            "SELECT %s || a.id, a.id, a.campus, %s, "
            "CASE a.id %% 3 WHEN 0 THEN 'cash' WHEN 1 THEN 'transfer' "
            "ELSE 'cheque' END, 50 + (a.id %% 200), 'posted', 0, now() "
            "FROM meter_account AS a WHERE a.id %% 5 != 0",
            (f'R{period}-', end + dt.timedelta(days=5)))
    cursor.execute(
        "INSERT INTO meter_work_order (number, kind, subject, campus, "
        "submitted_at, deadline, state, create_uid, create_date) "
        "SELECT 'W' || n, CASE n %% 3 WHEN 0 THEN 'repair' WHEN 1 "
        "THEN 'request' ELSE 'complaint' END, 'Order ' || n, "
        "(%s::int[])[n %% %s + 1], now() - n * interval '1 hour', "
        "now() - n * interval '1 hour' + interval '2 hours', "
        "CASE n %% 4 WHEN 0 THEN 'done' WHEN 1 THEN 'processing' "
        "ELSE 'open' END, 0, now() FROM generate_series(1, 2000) AS n",
        (campuses, CAMPUSES))
    cursor.execute("ANALYZE")
    return campuses, periods


def best(function):
    "The best time of RUNS calls of function, in milliseconds"
    times = []
    for _ in range(RUNS):
        begin = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - begin) * 1000)
    return min(times), result


def main():
    os.environ['DB_NAME'] = 'bench_dashboard_%d' % int(time.time())
    with postgresql():
        from trytond.pool import Pool
        from trytond.tests.test_tryton import DB_NAME, activate_module
        from trytond.transaction import Transaction
        start = time.perf_counter()
        activate_module(['meter_field'])
        print('activation %.1fs' % (time.perf_counter() - start),
            file=sys.stderr)
        pool = Pool(DB_NAME)
        today = dt.date.today()
        with Transaction().start(DB_NAME, 0, context={'active_test': False}):
            start = time.perf_counter()
            campuses, periods = populate(
                Transaction().connection.cursor(), today)
            Transaction().commit()
            print('populate %.1fs' % (time.perf_counter() - start),
                file=sys.stderr)
        with Transaction().start(DB_NAME, 0):
            Loss = pool.get('meter.loss')
            Period = pool.get('meter.billing.period')
            loss_ms, _ = best(lambda: Loss.compute([Period(periods[-1])]))
            Transaction().commit()
            print('losses: %d flagged of %d' % (
                    Loss.search_count([('flagged', '=', True)]),
                    Loss.search_count([])), file=sys.stderr)
        # The use of the last twelve months stored, as the daily cron does
        from bench_scale import nightly
        refresh_ms = nightly(DB_NAME) * 1000
        with Transaction().start(DB_NAME, 0):
            User = pool.get('res.user')
            ModelData = pool.get('ir.model.data')
            Dashboard = pool.get('meter.dashboard')
            user, = User.create([{'login': 'finance-one', 'name': "Finance",
                        'groups': [('add', [ModelData.get_id(
                                        'meter_base', 'group_finance')])],
                        'meter_campuses': [('add', [campuses[0]])]}])
            Transaction().commit()
            admin_ms, figures = best(Dashboard.figures)
            sizes = {k: len(v) for k, v in figures.items()}
            print('figures: %s' % sizes, file=sys.stderr)
            assert sizes['coverage'] and sizes['consumption'], sizes
            assert sizes['arrears'] and sizes['collections'], sizes
            assert sum(r['meters'] for r in figures['coverage']) == (
                ACCOUNTS * 2 + ACCOUNTS // 100), figures['coverage'][:3]
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                campus_ms, figures = best(Dashboard.figures)
            assert {r['campus'] for r in figures['coverage']} == {
                campuses[0]}
        print('BENCH dashboard_20k_accounts_ms=%.0f' % admin_ms)
        print('BENCH dashboard_20k_accounts_campus_ms=%.0f' % campus_ms)
        print('BENCH loss_compute_20k_accounts_ms=%.0f' % loss_ms)
        print('BENCH dashboard_usage_refresh_20k_ms=%.0f' % refresh_ms)


if __name__ == '__main__':
    main()
