"""A submitted photo's evidence arrives through a real trytond-worker.

In production (``[queue] worker = True``) the submitter gets the anomaly
result at once and the photo's checks, OCR included, run in a
``trytond-worker`` process.  This test does as production does, on
PostgreSQL (the queue's worker needs its LISTEN/NOTIFY and row locks):
a reading with a shared meter photo is committed by one process, whose
evidence stays pending, then a worker started on the database records the
checks and the counter it read.

The dashboard's stored use follows a reading the worker confirms: the
task runs in its own transaction, with the context of the one that queued
it, and tells the change itself.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import ROUND_FLOOR, Decimal

from tests.processes import stop_group

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
URI = os.environ.get('TRYTOND_DATABASE__URI', '')
PHOTOS = os.path.normpath(os.environ.get('METER_TESTDATA') and os.path.join(
        os.environ['METER_TESTDATA'], 'meter-photos') or os.path.join(
        ROOT, '..', 'shared', 'testdata', 'meter-photos'))
# A whole photo whose counter is read right (its reading is in the manifest)
PHOTO = 'wmsc_2020-04-21_c629f60.jpg'
# Another (the same photo again would fail its check of reuse)
OTHER_PHOTO = 'wmsc_2019-11-25_6e36054.jpg'
TIMEOUT = 60

SUBMIT = """
import datetime as dt, json, sys
from decimal import Decimal
from trytond.modules.meter_base import photo as photos
from trytond.pool import Pool
from trytond.transaction import Transaction
Pool.start()
pool = Pool(sys.argv[1])
pool.init()
with Transaction().start(sys.argv[1], 0, readonly=False) as transaction:
    Campus = pool.get('meter.campus')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    campus, = Campus.create([{'name': "东校区", 'code': 'E'}])
    meter, = Meter.create([{'number': 'S-001', 'kind': 'water',
        'campus': campus.id, 'digits': 6, 'decimals': 0}])
    with open(sys.argv[2], 'rb') as f:
        photo = f.read()
    reading, = Reading.create([{'meter': meter.id, 'source': 'self',
        'value': Decimal(sys.argv[3]), 'photo': photo,
        'taken_at': photos.exif_time(photo) or dt.datetime.now()}])
    transaction.commit()
with Transaction().start(sys.argv[1], 0) as transaction:
    reading = Reading(reading.id)
    print(json.dumps({'id': reading.id, 'evidence': reading.evidence,
        'ocr_result': reading.ocr_result}))
"""
# A reading of today with the photo, on a meter of an account, the
# dashboard's use of the twelve months stored before (as the daily cron)
SUBMIT_TODAY = """
import datetime as dt, json, sys
from decimal import Decimal
from trytond.pool import Pool
from tests.transactions import run_in_transaction
Pool.start()
pool = Pool(sys.argv[1])
pool.init()


def submit():
    Campus = pool.get('meter.campus')
    Account = pool.get('meter.account')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    Configuration = pool.get('meter.configuration')
    # The photo was taken years ago: its time is no check here
    Configuration.write([Configuration(1)], {'photo_time_window': 1000000})
    campus, = Campus.create([{'name': "西校区", 'code': 'W'}])
    account, = Account.create([{'number': 'W-1', 'name': "西一",
        'campus': campus.id, 'category': 'resident'}])
    meter, = Meter.create([{'number': 'W-001', 'kind': 'water',
        'campus': campus.id, 'account': account.id,
        'digits': 6, 'decimals': 0}])
    pool.get('meter.dashboard').refresh_usage()
    with open(sys.argv[2], 'rb') as f:
        photo = f.read()
    reading, = Reading.create([{'meter': meter.id, 'source': 'self',
        'value': Decimal(sys.argv[3]), 'photo': photo,
        'taken_at': dt.datetime.now() - dt.timedelta(hours=1)}])
    return {'id': reading.id, 'account': account.id,
        'state': reading.state, 'evidence': reading.evidence}


# The settings' first record locks its table: again with it, as the
# server does
result = run_in_transaction(sys.argv[1], submit)
print(json.dumps(result))
"""


@unittest.skipUnless(URI.startswith('postgresql'),
    "the queue's worker runs on PostgreSQL")
@unittest.skipUnless(os.path.isdir(PHOTOS), "no shared meter photos")
class WorkerCase(unittest.TestCase):
    """A database with the suite activated and a worker to start on it;
    each test case its own: a photo of the same meter already in the
    database would fail the check of reuse"""
    prefix = 'worker_meter'

    @classmethod
    def setUpClass(cls):
        import psycopg
        cls.name = '%s_%d' % (cls.prefix, os.getpid())
        cls.directory = tempfile.mkdtemp(prefix='meter-worker-')
        cls.env = dict(os.environ,
            TRYTOND_DATABASE__PATH=cls.directory,
            TRYTOND_QUEUE__WORKER='True',
            PYTHONPATH=ROOT)
        for name in ['TRYTOND_CONFIG', 'DB_NAME', 'DB_CACHE']:
            cls.env.pop(name, None)
        with psycopg.connect(URI + 'postgres', autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{cls.name}"')
            conn.execute(f'CREATE DATABASE "{cls.name}"')
        passfile = os.path.join(cls.directory, 'password')
        with open(passfile, 'w') as f:
            f.write('admin-worker')
        subprocess.run([os.path.join(BIN, 'trytond-admin'), '-d', cls.name,
                '--email', 'admin@example.com', '--activate-dependencies',
                '-u', 'meter_field'],
            env=dict(cls.env, TRYTONPASSFILE=passfile), check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        import psycopg
        with psycopg.connect(URI + 'postgres', autocommit=True) as conn:
            conn.execute(
                f'DROP DATABASE IF EXISTS "{cls.name}" WITH (FORCE)')
        shutil.rmtree(cls.directory, ignore_errors=True)

    def reading_row(self, reading_id):
        import psycopg
        with psycopg.connect(URI + self.name) as conn:
            row = conn.execute('SELECT evidence, ocr_result, ocr_digits '
                'FROM meter_reading WHERE id = %s', (reading_id,)).fetchone()
            checks = dict(conn.execute('SELECT "check", outcome '
                    'FROM meter_reading_check WHERE reading = %s',
                    (reading_id,)).fetchall())
        return row, checks

    def run_worker(self, reading_id):
        """Run a worker until the reading's evidence is examined, return
        its row, its checks and the worker's output"""
        log = open(os.path.join(self.directory, 'worker.log'), 'wb')
        worker = subprocess.Popen(
            [os.path.join(BIN, 'trytond-worker'), '-d', self.name, '-n', '1'],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                row, checks = self.reading_row(reading_id)
                if row[0] != 'pending' or worker.poll() is not None:
                    break
                time.sleep(0.5)
        finally:
            stop_group(worker)
            log.close()
        with open(log.name, 'rb') as f:
            output = f.read().decode('utf-8', 'replace')[-3000:]
        return row, checks, output

class WorkerTestCase(WorkerCase):
    "Test the evidence of a photo is examined by trytond-worker"

    def test_evidence_through_worker(self):
        "Test the OCR result of a submitted photo arrives through a worker"
        with open(os.path.join(PHOTOS, 'manifest.csv'), newline='') as f:
            reading = {r['file']: r['reading'] for r in csv.DictReader(f)}
        value = Decimal(reading[PHOTO]).to_integral_value(ROUND_FLOOR)

        submitted = subprocess.run([sys.executable, '-c', SUBMIT, self.name,
                os.path.join(PHOTOS, PHOTO), str(value)],
            env=self.env, check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(submitted.stdout.splitlines()[-1])
        # The submitter has the anomaly result; the evidence waits.
        self.assertEqual(result['evidence'], 'pending')
        self.assertIsNone(result['ocr_result'])

        (evidence, ocr_result, digits), checks, output = self.run_worker(
            result['id'])
        self.assertEqual(evidence, 'passed', output)
        self.assertEqual(ocr_result, 'match')
        self.assertEqual(int(digits), value)
        self.assertEqual(checks['ocr'], 'passed')


class DashboardWorkerTestCase(WorkerCase):
    "Test the dashboard's stored use follows what a worker confirms"
    prefix = 'worker_dashboard'

    def test_dashboard_use_through_worker(self):
        "Test the dashboard's stored use counts a reading a worker confirms"
        import psycopg
        with open(os.path.join(PHOTOS, 'manifest.csv'), newline='') as f:
            reading = {r['file']: r['reading'] for r in csv.DictReader(f)}
        value = Decimal(reading[OTHER_PHOTO]).to_integral_value(ROUND_FLOOR)
        submitted = subprocess.run([sys.executable, '-c', SUBMIT_TODAY,
                self.name, os.path.join(PHOTOS, OTHER_PHOTO), str(value)],
            env=self.env, check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(submitted.stdout.splitlines()[-1])
        self.assertEqual((result['state'], result['evidence']),
            ('draft', 'pending'))

        (evidence, _, _), _, output = self.run_worker(result['id'])
        self.assertEqual(evidence, 'passed', output)
        with psycopg.connect(URI + self.name) as conn:
            state, consumption = conn.execute('SELECT state, consumption '
                'FROM meter_reading WHERE id = %s',
                (result['id'],)).fetchone()
            usage = conn.execute('SELECT kind, usage '
                'FROM meter_dashboard_account_usage WHERE account = %s',
                (result['account'],)).fetchall()
        self.assertEqual(state, 'confirmed')
        self.assertEqual(consumption, value)
        self.assertEqual(usage, [('water', value)])
