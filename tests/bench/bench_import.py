"""Benchmark the import of handheld exports on PostgreSQL

Creates 20,000 meters in a fresh database with meter_devices activated,
writes a handheld CSV of 100,000 rows (five rounds of every meter), imports
it through the import job, then a CSV of 300,000 rows (fifteen more rounds)
and prints on stdout::

    BENCH import_100k_readings_s=<seconds>
    BENCH copy_100k_rows_s=<seconds>
    BENCH import_copy_ratio=<import / copy>
    BENCH import_100k_peak_rss_mb=<peak resident memory of the import>
    BENCH import_100k_rss_growth_mb=<peak less the memory before>
    BENCH import_300k_readings_s=<seconds>
    BENCH import_300k_peak_rss_mb=<peak resident memory of the import>
    BENCH import_300k_rss_growth_mb=<peak less the memory before>
    BENCH copy_100k_csv_bare_s=<seconds>
    BENCH import_copy_bare_ratio=<import / bare copy>

The floor (copy_100k_rows_s) is a plain ``COPY`` of the same 100,000
readings, as the import stored them (the columns it fills), into an empty
table equivalent to ``meter_reading``: same columns, defaults, indexes,
check and foreign key constraints.  It is what storing the rows costs at
least, whatever computed them.  copy_100k_csv_bare_s is the COPY of the raw
CSV file into a bare table of three columns without index nor constraint,
for reference.

The peak memory is the peak resident set size of the process during the
import (VmHWM reset just before it), the growth is that peak less the
resident size when the import starts: neither must grow with the file.

PostgreSQL is the one of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster (tests/pgcluster.py).  BENCH_PROFILE=<file>
writes a cProfile of the 100k import.
"""
import csv
import datetime as dt
import gc
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
BIG_ROUNDS = 15
# The columns of meter_reading an import fills, copied by the floor.
READING_COLUMNS = ('meter', 'taken_at', 'value', 'source', 'submitter',
    'reader', 'previous_value', 'previous_taken_at', 'consumption',
    'rollover', 'anomalies', 'anomaly_count', 'state', 'create_uid',
    'create_date')


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


def write_csv(path, rounds=ROUNDS, first=0):
    "Write rounds of readings of every meter, from round first"
    # Every round in the past: a reading in the future is an anomaly.
    start = dt.datetime.combine(
        dt.date.today() - dt.timedelta(days=30 * (ROUNDS + BIG_ROUNDS + 1)),
        dt.time(8))
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['meter', 'date', 'reading'])
        for round_ in range(first, first + rounds):
            for index in range(METERS):
                taken_at = start + dt.timedelta(
                    days=30 * round_, seconds=index)
                value = Decimal(index % 500) + Decimal('37.5') * (round_ + 1)
                writer.writerow(['H%05d' % index,
                        taken_at.strftime('%Y-%m-%d %H:%M:%S'), value])


def main():
    from pgcluster import postgresql
    os.environ['DB_NAME'] = 'bench_import_%d' % int(time.time())
    if not os.environ.get('BENCH_DB_CACHE'):
        os.environ.pop('DB_CACHE', None)
    workdir = tempfile.mkdtemp(prefix='meter-bench-')
    os.environ['TRYTOND_DATABASE__PATH'] = workdir
    sys.path.insert(0, REPO)
    try:
        with postgresql():
            run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def setup(database):
    "Create the meters and the handheld format, return the format id"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 1, context={}) as transaction:
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
        return format_.id


def import_file(database, format_id, path, profile=None):
    """Import the file at path as a job, return (seconds, peak MB, job id)

    The job is created (its file stored) before the clock starts, as the
    upload of sao would.
    """
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 1, context={}) as transaction:
        Job = Pool().get('meter.import.job')
        with open(path, 'rb') as file:
            job, = Job.create([{
                        'format': format_id,
                        'file': file.read(),
                        'filename': os.path.basename(path),
                        }])
        transaction.commit()
        job_id = job.id

    gc.collect()
    before = rss_mb('VmRSS')
    peak_reset = reset_peak()
    with Transaction().start(database, 1, context={}) as transaction:
        pool = Pool()
        Job = pool.get('meter.import.job')
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        job = Job(job_id)
        Job.process([job])
        transaction.commit()
        elapsed = time.perf_counter() - start
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)
    peak = rss_mb('VmHWM') if peak_reset else float('nan')
    with Transaction().start(database, 1, readonly=True):
        job = Pool().get('meter.import.job')(job_id)
        counts = (job.total, job.created, job.confirmed, job.duplicates,
            job.rejected)
    print("%s: rows=%s created=%s confirmed=%s duplicates=%s rejected=%s"
        % ((os.path.basename(path),) + counts), file=sys.stderr)
    print("%s: %.2fs, resident memory %.0f MB before, peak %.0f MB"
        % (os.path.basename(path), elapsed, before, peak), file=sys.stderr)
    return elapsed, peak, peak - before, job_id, counts


def run(workdir):
    from trytond.tests.test_tryton import DB_NAME, activate_module

    if os.environ.get('BENCH_DEBUG'):
        import logging
        logging.basicConfig(stream=sys.stderr)
        for name in ['trytond.modules.meter_base.reading_bulk',
                'trytond.modules.meter_devices.import_job']:
            logging.getLogger(name).setLevel(logging.DEBUG)
    start = time.perf_counter()
    activate_module('meter_devices')
    print("activated in %.1fs" % (time.perf_counter() - start),
        file=sys.stderr)
    format_id = setup(DB_NAME)

    path = os.path.join(workdir, 'handheld.csv')
    write_csv(path)
    print("CSV of %s rows, %.1f MB" % (METERS * ROUNDS,
            os.path.getsize(path) / 2 ** 20), file=sys.stderr)
    elapsed, peak, growth, job_id, counts = import_file(
        DB_NAME, format_id, path, os.environ.get('BENCH_PROFILE'))
    assert counts[1] == counts[2] == METERS * ROUNDS, counts
    copy = copy_floor(DB_NAME)
    bare = copy_bare(DB_NAME, path)

    big = os.path.join(workdir, 'handheld_big.csv')
    write_csv(big, BIG_ROUNDS, ROUNDS)
    os.unlink(path)
    print("CSV of %s rows, %.1f MB" % (METERS * BIG_ROUNDS,
            os.path.getsize(big) / 2 ** 20), file=sys.stderr)
    big_elapsed, big_peak, big_growth, _, big_counts = import_file(
        DB_NAME, format_id, big)
    assert big_counts[1] == big_counts[2] == METERS * BIG_ROUNDS, big_counts

    print('BENCH import_100k_readings_s=%.2f' % elapsed)
    print('BENCH copy_100k_rows_s=%.2f' % copy)
    print('BENCH import_copy_ratio=%.1f' % (elapsed / copy))
    print('BENCH import_100k_peak_rss_mb=%.0f' % peak)
    print('BENCH import_100k_rss_growth_mb=%.0f' % growth)
    print('BENCH import_300k_readings_s=%.2f' % big_elapsed)
    print('BENCH import_300k_peak_rss_mb=%.0f' % big_peak)
    print('BENCH import_300k_rss_growth_mb=%.0f' % big_growth)
    print('BENCH copy_100k_csv_bare_s=%.2f' % bare)
    print('BENCH import_copy_bare_ratio=%.1f' % (elapsed / bare))


def copy_floor(database):
    """Return the seconds of a plain COPY of the readings created by the
    import into an empty table equivalent to meter_reading."""
    import io

    from trytond.transaction import Transaction
    columns = ', '.join(READING_COLUMNS)
    with Transaction().start(database, 1) as transaction:
        cursor = transaction.connection.cursor()
        data = io.BytesIO()
        with cursor.copy('COPY (SELECT %s FROM meter_reading ORDER BY id) '
                'TO STDOUT' % columns) as copy:
            for block in copy:
                data.write(block)
        cursor.execute('CREATE TABLE bench_floor '
            '(LIKE meter_reading INCLUDING ALL)')
        cursor.execute('SELECT conname, pg_get_constraintdef(oid) '
            'FROM pg_constraint '
            "WHERE conrelid = 'meter_reading'::regclass AND contype = 'f'")
        for name, definition in cursor.fetchall():
            cursor.execute('ALTER TABLE bench_floor ADD CONSTRAINT '
                '"bench_%s" %s' % (name, definition))
        transaction.commit()
        start = time.perf_counter()
        data.seek(0)
        with cursor.copy('COPY bench_floor (%s) FROM STDIN' % columns
                ) as copy:
            while block := data.read(1 << 20):
                copy.write(block)
        transaction.commit()
        elapsed = time.perf_counter() - start
        cursor.execute('SELECT COUNT(*) FROM bench_floor')
        count, = cursor.fetchone()
        assert count == METERS * ROUNDS, count
        cursor.execute('DROP TABLE bench_floor')
        transaction.commit()
    return elapsed


def copy_bare(database, path):
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
