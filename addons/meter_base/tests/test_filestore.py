# This file is part of the metering suite.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The S3 filestore against a local S3 server (moto in server mode)"""
import logging
import socket
import unittest
import uuid

import trytond.config as config
from trytond.filestore import FileStore

try:
    from moto.server import ThreadedMotoServer
except ImportError:
    ThreadedMotoServer = None

from ..filestore import SECTION, S3FileStore, S3FileStoreError

SECRET = 'never-in-a-log-3f9a'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@unittest.skipIf(ThreadedMotoServer is None, "moto is not installed")
class S3FileStoreTestCase(unittest.TestCase):
    "Test the S3 filestore"

    @classmethod
    def setUpClass(cls):
        # The local server's access log is no part of the test's report.
        logging.getLogger('werkzeug').setLevel(logging.ERROR)
        cls.port = free_port()
        cls.server = ThreadedMotoServer(ip_address='127.0.0.1', port=cls.port)
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)

    def setUp(self):
        if not config.has_section(SECTION):
            config.add_section(SECTION)
            self.addCleanup(config.remove_section, SECTION)
            self.addCleanup(config._cache_clear)
        self.configure(
            endpoint_url=f'http://127.0.0.1:{self.port}',
            bucket='meter-test', region='us-east-1',
            access_key_id='meter', secret_access_key=SECRET,
            key_prefix='suite', timeout='5')
        store = S3FileStore()
        store.client.create_bucket(Bucket='meter-test')
        self.addCleanup(self.empty_bucket, store)

    def configure(self, **values):
        for option, value in values.items():
            config.set(SECTION, option, value)

    def empty_bucket(self, store):
        for page in store.client.get_paginator('list_objects_v2').paginate(
                Bucket='meter-test'):
            for item in page.get('Contents', []):
                store.client.delete_object(
                    Bucket='meter-test', Key=item['Key'])
        store.client.delete_bucket(Bucket='meter-test')

    def test_set_get_size(self):
        "Test a file stored is read back with its size, keyed as on disk"
        store = S3FileStore()
        data = b'\xff\xd8 photo of a meter'
        id = store.set(data, prefix='meter_reading')

        self.assertEqual(store.get(id, prefix='meter_reading'), data)
        self.assertEqual(store.size(id, prefix='meter_reading'), len(data))
        keys = [o['Key'] for o in store.client.list_objects_v2(
                Bucket='meter-test')['Contents']]
        self.assertEqual(
            keys, [f'suite/meter_reading/{id[0:2]}/{id[2:4]}/{id}'])

    def test_many(self):
        "Test several files are stored and read at once, in order"
        store = S3FileStore()
        data = [b'one', b'two', b'three']
        ids = store.setmany(data, prefix='meter_payment')

        self.assertEqual(store.getmany(ids, prefix='meter_payment'), data)
        self.assertEqual(
            store.sizemany(ids, prefix='meter_payment'), [3, 3, 5])

    def test_ids_as_trytond(self):
        "Test the ids are made as Tryton's own filestore makes them"
        store = S3FileStore()
        first = store.set(b'same', prefix='db')
        second = store.set(b'same', prefix='db')

        # trytond 8.0 names each stored file anew (a uuid): the same data
        # twice is two files, each read back.
        self.assertIs(S3FileStore._id, FileStore._id)
        uuid.UUID(first)
        self.assertNotEqual(first, second)
        self.assertEqual(store.get(first, 'db'), b'same')
        self.assertEqual(store.get(second, 'db'), b'same')

    def test_prefix_is_not_a_path(self):
        "Test a prefix cannot climb out of the key prefix"
        store = S3FileStore()
        with self.assertRaises(ValueError):
            store.set(b'data', prefix='../other')

    def test_missing_object(self):
        "Test a missing object is a missing file, as on disk"
        store = S3FileStore()
        with self.assertRaises(FileNotFoundError):
            store.get('00000000-0000-0000-0000-000000000000', 'db')
        with self.assertRaises(FileNotFoundError):
            store.size('00000000-0000-0000-0000-000000000000', 'db')

    def test_delete(self):
        "Test files are deleted, ids without a dash kept as on disk"
        store = S3FileStore()
        ids = store.setmany([b'a', b'b'], prefix='db')
        store.delete_many(ids, prefix='db')
        for id in ids:
            with self.assertRaises(FileNotFoundError):
                store.get(id, 'db')
        store.delete(ids[0], prefix='db')

    def test_wrong_bucket(self):
        "Test a missing bucket says which setting to check, no secret"
        self.configure(bucket='no-such-bucket')
        store = S3FileStore()
        with self.assertLogs('trytond.modules.meter_base.filestore',
                logging.ERROR) as logs, \
                self.assertRaises(S3FileStoreError) as error:
            store.set(b'data', prefix='db')
        self.assertIn('[filestore_s3] bucket', str(error.exception))
        self.assertIn('no-such-bucket', str(error.exception))
        self.assertNotIn(SECRET, str(error.exception))
        self.assertNotIn(SECRET, '\n'.join(logs.output))

    def test_credentials_refused(self):
        "Test refused credentials say which settings to check, no secret"
        from moto.core.authorization import enable_iam_authentication
        store = S3FileStore()
        with enable_iam_authentication(), \
                self.assertLogs('trytond.modules.meter_base.filestore',
                    logging.ERROR) as logs, \
                self.assertRaises(S3FileStoreError) as error:
            store.set(b'data', prefix='db')
        self.assertIn('access_key_id', str(error.exception))
        self.assertIn('AWS_SECRET_ACCESS_KEY', str(error.exception))
        self.assertNotIn(SECRET, str(error.exception))
        self.assertNotIn(SECRET, '\n'.join(logs.output))

    def test_unreachable(self):
        "Test a storage that cannot be reached says endpoint_url"
        self.configure(endpoint_url=f'http://127.0.0.1:{free_port()}',
            timeout='2')
        store = S3FileStore()
        with self.assertLogs('trytond.modules.meter_base.filestore',
                logging.ERROR), \
                self.assertRaises(S3FileStoreError) as error:
            store.get('00000000-0000-0000-0000-000000000000', 'db')
        self.assertIn('endpoint_url', str(error.exception))
        self.assertNotIn(SECRET, str(error.exception))

    def test_no_bucket_setting(self):
        "Test a filestore without a bucket says to set it"
        self.configure(bucket='')
        with self.assertRaises(S3FileStoreError) as error:
            S3FileStore().get('00000000-0000', 'db')
        self.assertIn('[filestore_s3] bucket', str(error.exception))
