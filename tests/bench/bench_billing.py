"""Benchmark a billing run of 20,000 and of 5,000 accounts on PostgreSQL

Creates (bulk SQL, not the ORM) 20,000 accounts over four campuses with an
electricity and a water meter each and their confirmed readings of March
and April 2026, then times two billing runs, each processed and posted:
March for one campus (5,000 accounts) and April for all campuses (20,000
accounts, 5,000 of which have a bill of the month before).  Prints
``BENCH billing_run_5k_accounts_s=<seconds>`` and
``BENCH billing_run_20k_accounts_s=<seconds>``.

Uses the PostgreSQL of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster (tests/pgcluster.py).
"""
import datetime as dt
import os
import sys
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))

from pgcluster import postgresql  # noqa: E402

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", 20000))
CAMPUSES = 4


def populate(cursor):
    "Insert campuses, accounts, meters and confirmed readings in bulk"
    cursor.execute(
        "INSERT INTO meter_campus (name, code, active, create_uid, "
        "create_date) SELECT 'Campus ' || n, 'C' || n, true, 0, now() "
        "FROM generate_series(1, %s) AS n", (CAMPUSES,))
    cursor.execute("SELECT id FROM meter_campus ORDER BY code")
    campuses = [r[0] for r in cursor]
    # Campus i holds the accounts n with n %% CAMPUSES == i
    cursor.execute(
        "INSERT INTO meter_account (number, name, category, billing_mode, "
        "campus, active, create_uid, create_date) "
        "SELECT lpad(n::text, 8, '0'), 'Account ' || n, "
        "CASE WHEN n %% 10 = 0 THEN 'unit' ELSE 'resident' END, "
        "CASE WHEN n %% 7 = 0 THEN 'prepaid' ELSE 'postpaid' END, "
        "(%s::int[])[n %% %s + 1], true, 0, now() "
        "FROM generate_series(1, %s) AS n",
        (campuses, CAMPUSES, ACCOUNTS))
    cursor.execute(
        "INSERT INTO meter_meter (number, kind, account, campus, "
        "reading_method, multiplier, digits, decimals, initial_value, "
        "state, create_uid, create_date) "
        "SELECT CASE k WHEN 1 THEN 'E' ELSE 'W' END || a.number, "
        "CASE k WHEN 1 THEN 'electricity' ELSE 'water' END, a.id, a.campus, "
        "'manual', 1, 6, 1, 0, 'active', 0, now() "
        "FROM meter_account AS a, generate_series(1, 2) AS k")
    # March: 0 → v1, April: v1 → v2, with usages spread over the tiers
    for month, (day, previous, value) in enumerate([
                (dt.datetime(2026, 3, 31, 9),
                    "0", "(m.id %% 500) + 50.5"),
                (dt.datetime(2026, 4, 30, 9),
                    "(m.id %% 500) + 50.5", "(m.id %% 500) * 2 + 90.5"),
                ]):
        cursor.execute(
            "INSERT INTO meter_reading (meter, taken_at, value, source, "
            "previous_value, previous_taken_at, consumption, rollover, "
            "anomaly_count, state, create_uid, create_date) "
            f"SELECT m.id, %s, {value}, 'import', {previous}, NULL, "
            f"({value}) - ({previous}), false, 0, 'confirmed', 0, now() "
            "FROM meter_meter AS m", (day,))
    cursor.execute("ANALYZE")
    return campuses


def create_tariffs(pool):
    Tariff = pool.get('meter.tariff')
    tariffs = []
    for category in ['resident', 'unit', 'dormitory']:
        tariffs.append({
                'name': f'{category} electricity',
                'category': category, 'kind': 'electricity',
                'tier_basis': 'month',
                'versions': [('create', [{
                                'start_date': dt.date(2026, 1, 1),
                                'minimum_charge': Decimal(5),
                                'components': [('create', [{
                                                'code': 'energy',
                                                'name': '电费',
                                                'pricing': 'tiered',
                                                'tiers': [('create', [
                                                            {'upper': Decimal(200), 'unit_price': Decimal('0.5283')},
                                                            {'upper': Decimal(400), 'unit_price': Decimal('0.5783')},
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
                                'start_date': dt.date(2026, 1, 1),
                                'end_date': dt.date(2026, 4, 15),
                                'free_quota': Decimal(2),
                                'components': [('create', [
                                                {'code': 'water', 'name': '水费', 'pricing': 'flat', 'unit_price': Decimal('2.90')},
                                                {'code': 'sewage', 'name': '污水处理费', 'pricing': 'flat', 'unit_price': Decimal('0.95')},
                                                ])],
                                }, {
                                'start_date': dt.date(2026, 4, 16),
                                'free_quota': Decimal(2),
                                'components': [('create', [
                                                {'code': 'water', 'name': '水费', 'pricing': 'flat', 'unit_price': Decimal('3.10')},
                                                {'code': 'sewage', 'name': '污水处理费', 'pricing': 'flat', 'unit_price': Decimal('0.95')},
                                                ])],
                                }])],
                })
    Tariff.create(tariffs)


def billing_run(pool, start, campuses):
    "Process and post a run; return (seconds, bills, accounts not billed)"
    from trytond.transaction import Transaction
    Period = pool.get('meter.billing.period')
    Run = pool.get('meter.billing.run')
    period, = Period.create([{
                'name': start.strftime('%Y-%m'),
                'start_date': start,
                'end_date': (start + dt.timedelta(days=31)).replace(day=1)
                - dt.timedelta(days=1),
                }])
    run, = Run.create([{
                'period': period.id,
                'campuses': [('add', campuses)],
                }])
    Transaction().commit()
    begin = time.perf_counter()
    Run.process([run])
    Run.post([run])
    Transaction().commit()
    elapsed = time.perf_counter() - begin
    Bill = pool.get('meter.bill')
    Missing = pool.get('meter.billing.run.missing')
    return (elapsed, Bill.search_count([('run', '=', run.id)]),
        Missing.search_count([('run', '=', run.id)]))


def main():
    os.environ['DB_NAME'] = 'bench_billing_%d' % int(time.time())
    with postgresql():
        from trytond.pool import Pool
        from trytond.tests.test_tryton import DB_NAME, activate_module
        from trytond.transaction import Transaction
        start = time.perf_counter()
        activate_module(['meter_billing'])
        print('activation %.1fs' % (time.perf_counter() - start),
            file=sys.stderr)
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 0, context={'active_test': False}):
            start = time.perf_counter()
            campuses = populate(Transaction().connection.cursor())
            create_tariffs(pool)
            Transaction().commit()
            print('populate %.1fs' % (time.perf_counter() - start),
                file=sys.stderr)
        with Transaction().start(DB_NAME, 0):
            elapsed5, bills, missing = billing_run(
                pool, dt.date(2026, 3, 1), campuses[:1])
            print('5k run: %d bills, %d not billed' % (bills, missing),
                file=sys.stderr)
            assert bills == ACCOUNTS // CAMPUSES, bills
        with Transaction().start(DB_NAME, 0):
            elapsed20, bills, missing = billing_run(
                pool, dt.date(2026, 4, 1), campuses)
            print('20k run: %d bills, %d not billed' % (bills, missing),
                file=sys.stderr)
            assert bills == ACCOUNTS, bills
        print('BENCH billing_run_5k_accounts_s=%.2f' % elapsed5)
        print('BENCH billing_run_20k_accounts_s=%.2f' % elapsed20)

if __name__ == '__main__':
    main()
