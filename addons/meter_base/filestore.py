# This file is part of the metering suite.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""A filestore in S3-compatible object storage (MinIO, Ceph, a cloud bucket)

The photos, screenshots and PDFs of the suite sit in Tryton's filestore,
on the local disk by default.  Several application machines share them
when every ``trytond`` (web, worker, cron) is configured with::

    [database]
    class = trytond.modules.meter_base.filestore.S3FileStore

    [filestore_s3]
    bucket = meter-files
    endpoint_url = https://s3.example.edu.cn   (empty for AWS itself)
    region = us-east-1
    access_key_id = ...
    secret_access_key = ...
    key_prefix = production                    (optional)

The keys and the region may also come from the standard AWS environment
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) or
any source boto3 reads.  An object is keyed as the local filestore names
its file under ``[database] path``: ``<key_prefix>/<prefix>/ab/cd/<id>``,
so that a local filestore is moved into a bucket by copying its tree.  The
ids are made by Tryton's own filestore, which keeps its contract.

This module imports no ORM: trytond loads it while it starts, before any
pool.
"""
import logging
import posixpath
from functools import cached_property

import trytond.config as config
from trytond.filestore import FileStore

logger = logging.getLogger(__name__)

SECTION = 'filestore_s3'


class S3FileStoreError(Exception):
    """The bucket cannot be used: its message says which setting to check.

    Not an OSError: a misconfigured or unreachable storage must fail the
    request, not be shown as a missing file."""


class S3FileStore(FileStore):
    "A filestore in one bucket of an S3-compatible object storage"

    @cached_property
    def bucket(self):
        bucket = config.get(SECTION, 'bucket')
        if not bucket:
            raise S3FileStoreError(
                f"S3 filestore: set the bucket in [{SECTION}] bucket")
        return bucket

    @cached_property
    def key_prefix(self):
        return (config.get(SECTION, 'key_prefix') or '').strip('/')

    @cached_property
    def client(self):
        import boto3
        from botocore.config import Config
        options = {}
        for name in ['endpoint_url', 'region', 'access_key_id',
                'secret_access_key']:
            value = config.get(SECTION, name)
            if value:
                key = 'region_name' if name == 'region' else name
                if name in {'access_key_id', 'secret_access_key'}:
                    key = 'aws_' + name
                options[key] = value
        timeout = config.getint(SECTION, 'timeout', default=30)
        return boto3.session.Session().client('s3', config=Config(
                connect_timeout=timeout, read_timeout=timeout,
                retries={'max_attempts': 3, 'mode': 'standard'}),
            **options)

    def _key(self, id, prefix):
        key = posixpath.join(prefix or '', id[0:2], id[2:4], id)
        parts = key.split('/')
        if not id or '..' in parts or key.startswith('/') or '' in parts:
            raise ValueError('Bad prefix')
        if self.key_prefix:
            key = self.key_prefix + '/' + key
        return key

    def _error(self, exception, id=None):
        "Return the exception to raise for a failed call to the storage"
        from botocore.exceptions import (
            BotoCoreError, ClientError, EndpointConnectionError,
            NoCredentialsError)
        if isinstance(exception, ClientError):
            error = exception.response.get('Error', {})
            code = str(error.get('Code', ''))
            if code in {'NoSuchKey', '404', 'NotFound'}:
                return FileNotFoundError(
                    f"S3 filestore: no object {id!r} in bucket "
                    f"{self.bucket!r}")
            if code == 'NoSuchBucket':
                return S3FileStoreError(
                    f"S3 filestore: the bucket {self.bucket!r} does not "
                    f"exist; check [{SECTION}] bucket and endpoint_url or "
                    "create the bucket")
            if code in {'InvalidAccessKeyId', 'SignatureDoesNotMatch',
                    'AccessDenied', '403', 'Forbidden',
                    'ExpiredToken', 'InvalidToken'}:
                return S3FileStoreError(
                    f"S3 filestore: the storage refused the credentials "
                    f"({code}); check [{SECTION}] access_key_id and "
                    "secret_access_key (or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY) and the bucket's policy")
            return S3FileStoreError(
                f"S3 filestore: the storage answered {code or 'an error'} "
                f"for bucket {self.bucket!r}; check [{SECTION}]")
        if isinstance(exception, NoCredentialsError):
            return S3FileStoreError(
                f"S3 filestore: no credentials; set [{SECTION}] "
                "access_key_id and secret_access_key or AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY")
        if isinstance(exception, EndpointConnectionError):
            return S3FileStoreError(
                f"S3 filestore: cannot reach the storage; check [{SECTION}] "
                "endpoint_url and the network")
        if isinstance(exception, BotoCoreError):
            # The messages of botocore name no secret.
            return S3FileStoreError(
                f"S3 filestore: {exception}; check [{SECTION}]")
        return exception

    def _call(self, method, id=None, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exception:
            error = self._error(exception, id)
            if not isinstance(error, FileNotFoundError):
                logger.error("%s", error)
            raise error from exception

    def get(self, id, prefix=''):
        response = self._call(
            'get_object', id=id, Key=self._key(id, prefix))
        with response['Body'] as body:
            return body.read()

    def size(self, id, prefix=''):
        response = self._call(
            'head_object', id=id, Key=self._key(id, prefix))
        return response['ContentLength']

    def set(self, data, prefix=''):
        id = self._id(data)
        self._call('put_object', id=id, Key=self._key(id, prefix),
            Body=bytes(data))
        return id

    def delete(self, id, prefix=''):
        # As the local filestore: ids without a dash may be shared.
        if '-' not in id:
            return
        # Deleting a missing object is no error on S3.
        self._call('delete_object', id=id, Key=self._key(id, prefix))

    def delete_many(self, ids, prefix=''):
        ids = [i for i in ids if '-' in i]
        # DeleteObjects takes at most 1000 keys.
        for i in range(0, len(ids), 1000):
            keys = [{'Key': self._key(id, prefix)} for id in ids[i:i + 1000]]
            self._call('delete_objects',
                Delete={'Objects': keys, 'Quiet': True})
