"""Benchmark the import of the billing system's accounts on PostgreSQL

Creates two campuses with 40 buildings in a fresh database with
meter_billing activated (and its Chinese loaded, as the billing system's
headers are Chinese), writes a CSV of 30,000 accounts (户号, 户名, 类别,
校区, 楼栋, 电话), imports it through AccountImport.import_file (what the
wizard's import button runs: the check of every row then the bulk writes),
imports it again, then a file where every name changed, and prints::

    BENCH accounts_import_30k_s=<seconds, 30,000 new accounts>
    BENCH accounts_reimport_30k_s=<seconds, the same file: nothing written>
    BENCH accounts_update_30k_s=<seconds, 30,000 accounts updated>

PostgreSQL is the one of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster (tests/pgcluster.py).  BENCH_ACCOUNTS sets
the number of accounts.
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

ACCOUNTS = int(os.environ.get('BENCH_ACCOUNTS', 30000))
BUILDINGS = 20


def progress(message):
    print(message, file=sys.stderr, flush=True)


def write_csv(path, suffix=''):
    "Write the accounts' export as the billing system does (GBK)"
    categories = ['居民', '单位', '集体宿舍']
    with open(path, 'w', encoding='gb18030', newline='') as fp:
        fp.write('户号,户名,类别,校区,楼栋,联系电话\r\n')
        for i in range(ACCOUNTS):
            campus = 'E' if i % 2 else 'W'
            fp.write('%08d,用户%d%s,%s,%s,%s-%d号楼,1380000%04d\r\n' % (
                    i, i, suffix, categories[i % 3], campus, campus,
                    i % BUILDINGS, i % 10000))


def setup(database):
    from trytond.modules.meter_billing.tests.test_account_import import (
        load_chinese)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 1, context={}):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        load_chinese()
        campuses = Campus.create([
                {'name': "东校区", 'code': 'E'},
                {'name': "西校区", 'code': 'W'}])
        Location.create([{
                    'name': '%s-%d号楼' % (c.code, i), 'campus': c.id,
                    } for c in campuses for i in range(BUILDINGS)])


def import_file(database, path):
    from trytond.modules.meter_billing.account_import import AccountImport
    from trytond.transaction import Transaction

    with open(path, 'rb') as fp:
        data = fp.read()
    profile = None
    if os.environ.get('BENCH_PROFILE'):
        import cProfile
        profile = cProfile.Profile()
    start = time.perf_counter()
    with Transaction().start(database, 1, context={'language': 'zh_CN'}):
        if profile:
            profile.enable()
        checked = AccountImport.import_file(data, os.path.basename(path))
        if profile:
            profile.disable()
            profile.dump_stats('%s-%s' % (os.environ['BENCH_PROFILE'],
                    os.path.basename(path)))
    elapsed = time.perf_counter() - start
    counts = (len(checked.new), len(checked.updated), len(checked.unchanged),
        len(checked.refused))
    progress("%s: new %d, updated %d, unchanged %d, refused %d in %.2fs" % (
            os.path.basename(path), *counts, elapsed))
    return elapsed, counts


def run(workdir):
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.transaction import Transaction

    start = time.perf_counter()
    progress("activating meter_billing…")
    activate_module('meter_billing')
    progress("activated in %.1fs" % (time.perf_counter() - start))
    setup(DB_NAME)
    path = os.path.join(workdir, 'accounts.csv')
    write_csv(path)
    progress("CSV of %d accounts, %.1f MB" % (
            ACCOUNTS, os.path.getsize(path) / 2 ** 20))
    elapsed, counts = import_file(DB_NAME, path)
    assert counts == (ACCOUNTS, 0, 0, 0), counts
    print('BENCH accounts_import_30k_s=%.2f' % elapsed, flush=True)
    elapsed, counts = import_file(DB_NAME, path)
    assert counts == (0, 0, ACCOUNTS, 0), counts
    print('BENCH accounts_reimport_30k_s=%.2f' % elapsed, flush=True)
    renamed = os.path.join(workdir, 'accounts-renamed.csv')
    write_csv(renamed, suffix='A')
    elapsed, counts = import_file(DB_NAME, renamed)
    assert counts == (0, ACCOUNTS, 0, 0), counts
    print('BENCH accounts_update_30k_s=%.2f' % elapsed, flush=True)
    with Transaction().start(DB_NAME, 1, readonly=True):
        from trytond.pool import Pool
        Account = Pool().get('meter.account')
        assert Account.search([('name', 'like', '%A')], count=True) == (
            ACCOUNTS)


def main():
    from pgcluster import postgresql
    os.environ['DB_NAME'] = 'bench_accounts_%d' % int(time.time())
    os.environ.pop('DB_CACHE', None)
    workdir = tempfile.mkdtemp(prefix='meter-bench-')
    os.environ['TRYTOND_DATABASE__PATH'] = workdir
    sys.path.insert(0, REPO)
    try:
        with postgresql():
            run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
