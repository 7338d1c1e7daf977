# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import datetime as dt
import logging
import os
from urllib.parse import urlsplit

import requests

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import PlatformError

logger = logging.getLogger(__name__)


class Platform(DeactivableMixin, ModelSQL, ModelView):
    """An energy platform (能耗平台) whose readings are pulled over HTTP.

    The platform answers a GET on its URL with a CSV or JSON file of
    readings, read with the format; the token is sent as a bearer token.
    Each pull is an import job, so a file pulled twice creates no
    duplicate readings.
    """
    __name__ = 'meter.platform'
    name = fields.Char("Name", required=True)
    url = fields.Char("URL", required=True)
    token = fields.Char("Token", strip=True)
    format = fields.Many2One(
        'meter.import.format', "Format", required=True,
        ondelete='RESTRICT',
        domain=[
            ('source', '=', 'platform'),
            ('file_type', 'in', ['csv', 'json']),
            ])
    timeout = fields.Integer(
        "Timeout", required=True, domain=[('timeout', '>', 0)],
        help="Seconds allowed to the platform to answer.")
    last_pull = fields.DateTime("Last Pull", readonly=True)
    jobs = fields.One2Many(
        'meter.import.job', 'platform', "Import Jobs", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'pull': {},
                })

    @classmethod
    def default_timeout(cls):
        return 60

    def fetch(self):
        "Return the file name and content of the platform's file"
        headers = {'Accept': 'application/json, text/csv'}
        if self.token:
            headers['Authorization'] = 'Bearer %s' % self.token
        try:
            response = requests.get(
                self.url, headers=headers, timeout=self.timeout)
            response.raise_for_status()
        except requests.RequestException as exception:
            raise PlatformError(gettext(
                    'meter_devices.msg_platform_http',
                    platform=self.rec_name, error=str(exception))
                ) from exception
        name = os.path.basename(urlsplit(self.url).path) or self.name
        return name, response.content

    @classmethod
    @ModelView.button
    def pull(cls, platforms):
        "Pull and import the file of each platform"
        for platform in platforms:
            platform.pull_file()

    def pull_file(self):
        pool = Pool()
        Job = pool.get('meter.import.job')
        filename, data = self.fetch()
        job = Job(format=self.format, platform=self, file=data,
            filename=filename)
        job.save()
        # A file that cannot be read fails its job, kept with the file.
        job.run_import()
        job.save()
        self.last_pull = dt.datetime.now()
        self.save()
        return job

    @classmethod
    def pull_all(cls):
        """Pull every active platform (ir.cron).

        A platform that fails is recorded as a failed job and the others
        are pulled all the same; the work of the failed one is undone.
        """
        pool = Pool()
        Job = pool.get('meter.import.job')
        cursor = Transaction().connection.cursor()
        for platform in cls.search([]):
            cursor.execute('SAVEPOINT meter_platform_pull')
            try:
                platform.pull_file()
            except UserError as exception:
                cursor.execute('ROLLBACK TO SAVEPOINT meter_platform_pull')
                logger.warning("pull of %s failed: %s",
                    platform.rec_name, exception.message)
                Job.save([Job(
                            format=platform.format, platform=platform,
                            file=b'', filename=platform.url,
                            state='failed', error=exception.message)])
            else:
                cursor.execute('RELEASE SAVEPOINT meter_platform_pull')
