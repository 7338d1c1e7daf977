"""A submitted photo's evidence arrives through a real trytond-worker.

In production (``[queue] worker = True``) the submitter gets the anomaly
result at once and the photo's checks, OCR included, run in a
``trytond-worker`` process.  This test does as production does, on
PostgreSQL (the queue's worker needs its LISTEN/NOTIFY and row locks):
a reading with a shared meter photo is committed by one process, whose
evidence stays pending, then a worker started on the database records the
checks and the counter it read.
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


@unittest.skipUnless(URI.startswith('postgresql'),
    "the queue's worker runs on PostgreSQL")
@unittest.skipUnless(os.path.isdir(PHOTOS), "no shared meter photos")
class WorkerTestCase(unittest.TestCase):
    "Test the evidence of a photo is examined by trytond-worker"

    @classmethod
    def setUpClass(cls):
        import psycopg
        cls.name = 'worker_meter_%d' % os.getpid()
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
                '-u', 'meter_base'],
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

        log = open(os.path.join(self.directory, 'worker.log'), 'wb')
        worker = subprocess.Popen(
            [os.path.join(BIN, 'trytond-worker'), '-d', self.name, '-n', '1'],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                (evidence, ocr_result, digits), checks = self.reading_row(
                    result['id'])
                if evidence != 'pending' or worker.poll() is not None:
                    break
                time.sleep(0.5)
        finally:
            stop_group(worker)
            log.close()
        with open(log.name, 'rb') as f:
            output = f.read().decode('utf-8', 'replace')[-3000:]
        self.assertEqual(evidence, 'passed', output)
        self.assertEqual(ocr_result, 'match')
        self.assertEqual(int(digits), value)
        self.assertEqual(checks['ocr'], 'passed')
