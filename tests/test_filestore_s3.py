"""Two application machines share their files through an S3 bucket.

With ``[database] class = trytond.modules.meter_base.filestore.S3FileStore``
every ``trytond`` keeps its photos in one bucket instead of its local disk.
This test does as two machines do: two ``trytond`` servers on one database
(the PostgreSQL of the suite, or one SQLite file) with a local filestore
directory each and one bucket of a local S3 server (moto in server mode).
A reading with a meter photo is created through the first server, whose
task queue only records the evidence check; the photo is read back through
the second server, and the check is run by the second machine (a
``trytond-worker`` on PostgreSQL, the queued task run by a process of that
machine on SQLite, where there is no worker): its OCR reads the counter.
"""
import base64
import datetime as dt
import csv
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import ROUND_FLOOR, Decimal

from tests.processes import stop_group
from tests.rpc import Client

try:
    from moto.server import ThreadedMotoServer
except ImportError:
    ThreadedMotoServer = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
URI = os.environ.get('TRYTOND_DATABASE__URI', 'sqlite://')
PHOTOS = os.path.normpath(os.environ.get('METER_TESTDATA') and os.path.join(
        os.environ['METER_TESTDATA'], 'meter-photos') or os.path.join(
        ROOT, '..', 'shared', 'testdata', 'meter-photos'))
# A whole photo whose counter is read right (its reading is in the manifest)
PHOTO = 'wmsc_2020-04-21_c629f60.jpg'
BUCKET = 'meter-files'
PASSWORD = 'admin-s3'
TIMEOUT = 60

# The queued tasks of the database, run as trytond-worker runs each one
RUN_TASKS = """
import sys
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.worker import run_task
Pool.start()
pool = Pool(sys.argv[1])
with Transaction().start(sys.argv[1], 0, readonly=True):
    pool.init()
    Queue = pool.get('ir.queue')
    tasks = [t.id for t in Queue.search([('dequeued_at', '=', None)])]
for task in tasks:
    run_task(pool, task)
print(len(tasks))
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def as_bytes(value):
    "The bytes of a Binary value as JSON-RPC sends it"
    return base64.decodebytes(value['base64'].encode())


@unittest.skipIf(ThreadedMotoServer is None, "moto is not installed")
@unittest.skipUnless(os.path.isdir(PHOTOS), "no shared meter photos")
class S3FileStoreMachinesTestCase(unittest.TestCase):
    "Test two servers share a photo through the S3 filestore"

    @classmethod
    def setUpClass(cls):
        import boto3
        logging.getLogger('werkzeug').setLevel(logging.ERROR)
        port = free_port()
        cls.s3 = ThreadedMotoServer(ip_address='127.0.0.1', port=port)
        cls.s3.start()
        cls.addClassCleanup(cls.s3.stop)
        cls.client = boto3.client('s3',
            endpoint_url=f'http://127.0.0.1:{port}',
            region_name='us-east-1', aws_access_key_id='meter',
            aws_secret_access_key='meter-secret')
        cls.client.create_bucket(Bucket=BUCKET)

        cls.name = 's3_meter_%d' % os.getpid()
        cls.postgresql = URI.startswith('postgresql')
        cls.directory = tempfile.mkdtemp(prefix='meter-s3-')
        cls.addClassCleanup(shutil.rmtree, cls.directory, True)
        env = dict(os.environ, PYTHONPATH=ROOT,
            TRYTOND_DATABASE__URI=URI,
            TRYTOND_DATABASE__CLASS=(
                'trytond.modules.meter_base.filestore.S3FileStore'),
            TRYTOND_FILESTORE_S3__ENDPOINT_URL=f'http://127.0.0.1:{port}',
            TRYTOND_FILESTORE_S3__BUCKET=BUCKET,
            TRYTOND_FILESTORE_S3__REGION='us-east-1',
            TRYTOND_FILESTORE_S3__KEY_PREFIX='campus',
            # The keys as the standard AWS variables give them
            AWS_ACCESS_KEY_ID='meter',
            AWS_SECRET_ACCESS_KEY='meter-secret')
        for name in ['TRYTOND_CONFIG', 'DB_NAME', 'DB_CACHE']:
            env.pop(name, None)
        # Each machine has its own disk; the SQLite file is the one
        # database both see.
        cls.env = {}
        for machine in ['a', 'b']:
            path = os.path.join(cls.directory, machine)
            os.mkdir(path)
            cls.env[machine] = dict(env, TRYTOND_DATABASE__PATH=path)
        if cls.postgresql:
            import psycopg
            with psycopg.connect(URI + 'postgres', autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{cls.name}"')
                conn.execute(f'CREATE DATABASE "{cls.name}"')
            cls.addClassCleanup(cls.drop_database)
        else:
            path = os.path.join(cls.directory, 'db')
            os.mkdir(path)
            for machine in cls.env.values():
                machine['TRYTOND_DATABASE__PATH'] = path
            open(os.path.join(path, cls.name + '.sqlite'), 'w').close()
        passfile = os.path.join(cls.directory, 'password')
        with open(passfile, 'w') as f:
            f.write(PASSWORD)
        subprocess.run([os.path.join(BIN, 'trytond-admin'), '-d', cls.name,
                '--email', 'admin@example.com', '--activate-dependencies',
                '-u', 'meter_base'],
            env=dict(cls.env['a'], TRYTONPASSFILE=passfile), check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        # The first machine only queues the checks of the photos.
        cls.env['a']['TRYTOND_QUEUE__WORKER'] = 'True'
        cls.ports = {}
        for machine in ['a', 'b']:
            cls.ports[machine] = cls.start_server(machine)

    @classmethod
    def drop_database(cls):
        import psycopg
        with psycopg.connect(URI + 'postgres', autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{cls.name}" WITH (FORCE)')

    @classmethod
    def start_server(cls, machine):
        port = free_port()
        log = open(os.path.join(cls.directory, f'{machine}.log'), 'wb')
        cls.addClassCleanup(log.close)
        process = subprocess.Popen(
            [os.path.join(BIN, 'trytond'), '-d', cls.name],
            env=dict(cls.env[machine],
                TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}'),
            stdout=log, stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls.stop_process, process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                return port
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.3)
        raise RuntimeError(f"trytond {machine} did not start")

    @staticmethod
    def stop_process(process):
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()

    def run_checks(self):
        "Run the queued checks on the second machine, return its log"
        env = dict(self.env['b'], TRYTOND_QUEUE__WORKER='True')
        if not self.postgresql:
            done = subprocess.run([sys.executable, '-c', RUN_TASKS, self.name],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, timeout=TIMEOUT)
            return done.stdout[-3000:]
        path = os.path.join(self.directory, 'worker.log')
        with open(path, 'wb') as log:
            worker = subprocess.Popen([os.path.join(BIN, 'trytond-worker'),
                    '-d', self.name, '-n', '1'],
                env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            try:
                deadline = time.monotonic() + TIMEOUT
                while time.monotonic() < deadline:
                    if self.reading('evidence')['evidence'] != 'pending':
                        break
                    time.sleep(0.5)
            finally:
                stop_group(worker)
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')[-3000:]

    def reading(self, *names):
        return self.b.model('meter.reading', 'read', [self.reading_id],
            list(names))[0]

    def test_photo_through_other_machine(self):
        "Test a photo uploaded on one machine is served and checked on other"
        from trytond.modules.meter_base import photo as photos
        with open(os.path.join(PHOTOS, 'manifest.csv'), newline='') as f:
            counter = {r['file']: r['reading'] for r in csv.DictReader(f)}
        value = Decimal(counter[PHOTO]).to_integral_value(ROUND_FLOOR)
        with open(os.path.join(PHOTOS, PHOTO), 'rb') as f:
            photo = f.read()
        taken_at = photos.exif_time(photo) or dt.datetime.now()

        a = Client(self.ports['a'], self.name)
        a.login('admin', PASSWORD)
        self.b = Client(self.ports['b'], self.name)
        self.b.login('admin', PASSWORD)
        campus, = a.model('meter.campus', 'create',
            [{'name': "东校区", 'code': 'E'}])
        meter, = a.model('meter.meter', 'create', [{'number': 'S3-001',
                    'kind': 'water', 'campus': campus, 'digits': 6,
                    'decimals': 0}])
        self.reading_id, = a.model('meter.reading', 'create', [{
                    'meter': meter, 'source': 'self',
                    'value': {'__class__': 'Decimal', 'decimal': str(value)},
                    'photo': {'__class__': 'bytes',
                        'base64': base64.encodebytes(photo).decode()},
                    'taken_at': {'__class__': 'datetime',
                        'year': taken_at.year, 'month': taken_at.month,
                        'day': taken_at.day, 'hour': taken_at.hour,
                        'minute': taken_at.minute,
                        'second': taken_at.second, 'microsecond': 0},
                    }])

        # Served by the other machine, from the bucket
        reading = self.reading('photo', 'photo_id', 'evidence')
        self.assertEqual(as_bytes(reading['photo']), photo)
        self.assertEqual(reading['evidence'], 'pending')
        id = reading['photo_id']
        keys = {o['Key'] for o in self.client.list_objects_v2(
                Bucket=BUCKET)['Contents']}
        self.assertIn(f'campus/meter_reading/{id[0:2]}/{id[2:4]}/{id}', keys)
        self.assertEqual(self.client.get_object(Bucket=BUCKET,
                Key=f'campus/meter_reading/{id[0:2]}/{id[2:4]}/{id}'
                )['Body'].read(), photo)
        # Nothing went to a local disk
        for env in self.env.values():
            self.assertFalse(os.path.exists(os.path.join(
                        env['TRYTOND_DATABASE__PATH'], 'meter_reading')))

        # Checked by the other machine: its OCR read the photo
        output = self.run_checks()
        reading = self.reading('evidence', 'ocr_result', 'ocr_digits')
        self.assertEqual(reading['evidence'], 'passed', output)
        self.assertEqual(reading['ocr_result'], 'match')
        self.assertEqual(int(reading['ocr_digits']), value)
        checks = self.b.model('meter.reading.check', 'search_read',
            [('reading', '=', self.reading_id)], 0, None, None,
            ['check', 'outcome'])
        self.assertEqual(
            {c['check']: c['outcome'] for c in checks}['ocr'], 'passed')
