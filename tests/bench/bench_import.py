"""Benchmark the import of a 100,000-row handheld export on PostgreSQL

Creates 20,000 meters in a fresh database with meter_devices activated,
writes a handheld CSV of 100,000 rows (five rounds of every meter), imports
it through the import job and prints on stdout::

    BENCH import_100k_readings_s=<seconds>
    BENCH copy_100k_rows_s=<seconds>     (plain COPY of the file: the floor)
    BENCH import_copy_ratio=<import / copy>
    BENCH import_peak_rss_mb=<peak resident memory during the import>

PostgreSQL is the one of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster (tests/pgcluster.py).
"""
import csv
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

METERS = int(os.environ.get('BENCH_METERS', 20000))
ROUNDS = 5


def rss_mb(field):
    "Return a memory figure of /proc/self/status in MB (VmRSS, VmHWM)"
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    return 0.


def reset_peak():
    "Reset VmHWM so that it measures the peak from now on (Linux)"
    try:
        with open('/proc/self/clear_refs', 'w') as clear:
            clear.write('5')
        return True
    except OSError:
        return False


def write_csv(path):
    start = dt.datetime(2026, 1, 1, 8)
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['meter', 'date', 'reading'])
        for round_ in range(ROUNDS):
            for index in range(METERS):
                taken_at = start + dt.timedelta(
                    days=30 * round_, seconds=index)
                value = Decimal(index % 500) + Decimal('37.5') * (round_ + 1)
                writer.writerow(['H%05d' % index,
                        taken_at.strftime('%Y-%m-%d %H:%M:%S'), value])


def main():
    cluster = None
    uri = os.environ.get('TRYTOND_DATABASE__URI', '')
    if not uri.startswith('postgresql'):
        from pgcluster import Cluster
        cluster = Cluster().start()
        os.environ['TRYTOND_DATABASE__URI'] = cluster.uri
    os.environ['DB_NAME'] = 'bench_import_%d' % int(time.time())
    os.environ.pop('DB_CACHE', None)
    workdir = tempfile.mkdtemp(prefix='meter-bench-')
    os.environ['TRYTOND_DATABASE__PATH'] = workdir
    sys.path.insert(0, REPO)
    try:
        run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if cluster:
            cluster.stop()


def run(workdir):
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    if os.environ.get('BENCH_DEBUG'):
        import logging
        logging.basicConfig(stream=sys.stderr)
        logging.getLogger('trytond.modules.meter_base.reading_bulk').setLevel(
            logging.DEBUG)
    start = time.perf_counter()
    activate_module('meter_devices')
    print("activated in %.1fs" % (time.perf_counter() - start),
        file=sys.stderr)

    with Transaction().start(DB_NAME, 1, context={}) as transaction:
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        Format = pool.get('meter.import.format')
        start = time.perf_counter()
        campus, = Campus.create([{'name': "Bench", 'code': 'BENCH'}])
        # The ORM creates one meter to check the defaults, SQL the others.
        template, = Meter.create([{
                    'number': 'M00000', 'campus': campus.id,
                    'handheld_id': 'H00000', 'digits': 6, 'decimals': 1}])
        cursor = transaction.connection.cursor()
        cursor.execute(
            'INSERT INTO meter_meter (number, handheld_id, campus, kind, '
            'reading_method, multiplier, digits, decimals, initial_value, '
            'state, create_uid, create_date) '
            "SELECT 'M' || LPAD(i::text, 5, '0'), "
            "'H' || LPAD(i::text, 5, '0'), campus, kind, reading_method, "
            'multiplier, digits, decimals, initial_value, state, '
            'create_uid, create_date '
            'FROM meter_meter, generate_series(1, %s) AS i WHERE id = %s',
            (METERS - 1, template.id))
        format_, = Format.create([{
                    'name': "Bench handheld",
                    'source': 'handheld',
                    'file_type': 'csv',
                    'identifier_column': 'meter',
                    'value_column': 'reading',
                    'date_column': 'date',
                    'date_format': '%Y-%m-%d %H:%M:%S',
                    }])
        transaction.commit()
        print("%s meters in %.1fs" % (METERS, time.perf_counter() - start),
            file=sys.stderr)

    path = os.path.join(workdir, 'handheld.csv')
    write_csv(path)
    size = os.path.getsize(path)
    print("CSV of %s rows, %.1f MB" % (METERS * ROUNDS, size / 2 ** 20),
        file=sys.stderr)

    with Transaction().start(DB_NAME, 1, context={}) as transaction:
        pool = Pool()
        Job = pool.get('meter.import.job')
        with open(path, 'rb') as file:
            job, = Job.create([{
                        'format': format_.id,
                        'file': file.read(),
                        'filename': 'handheld.csv',
                        }])
        transaction.commit()
        job_id = job.id

    before = rss_mb('VmRSS')
    peak_reset = reset_peak()
    with Transaction().start(DB_NAME, 1, context={}) as transaction:
        pool = Pool()
        Job = pool.get('meter.import.job')
        start = time.perf_counter()
        job = Job(job_id)
        Job.process([job])
        transaction.commit()
        elapsed = time.perf_counter() - start
    peak = rss_mb('VmHWM') if peak_reset else rss_mb('VmHWM')
    with Transaction().start(DB_NAME, 1, readonly=True):
        job = Pool().get('meter.import.job')(job_id)
        counts = (job.total, job.created, job.confirmed, job.duplicates,
            job.rejected)
    print("job rows=%s created=%s confirmed=%s duplicates=%s rejected=%s"
        % counts, file=sys.stderr)
    assert counts[1] == METERS * ROUNDS, counts

    copy = copy_floor(DB_NAME, path)
    print('BENCH import_100k_readings_s=%.2f' % elapsed)
    print('BENCH copy_100k_rows_s=%.2f' % copy)
    print('BENCH import_copy_ratio=%.1f' % (elapsed / copy))
    print('BENCH import_peak_rss_mb=%.0f' % peak)
    print('rss before import %.0f MB, peak during import %.0f MB'
        % (before, peak), file=sys.stderr)


def copy_floor(database, path):
    "Return the seconds of a plain COPY of the CSV into a bare table"
    from trytond.transaction import Transaction
    with Transaction().start(database, 1) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute('CREATE TABLE bench_copy '
            '(meter VARCHAR, taken_at TIMESTAMP, value NUMERIC)')
        transaction.commit()
        start = time.perf_counter()
        with open(path, 'rb') as file:
            with cursor.copy('COPY bench_copy FROM STDIN '
                    'WITH (FORMAT csv, HEADER true)') as copy:
                while data := file.read(1 << 20):
                    copy.write(data)
        transaction.commit()
        elapsed = time.perf_counter() - start
        cursor.execute('DROP TABLE bench_copy')
        transaction.commit()
    return elapsed


if __name__ == '__main__':
    main()
