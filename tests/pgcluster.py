"""A throwaway PostgreSQL cluster on a loopback port, for the tests.

PostgreSQL refuses to run as root, so as root the cluster belongs to the
``postgres`` user and its commands run through runuser.
"""
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile


def _bindir():
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin'))
    if candidates:
        return candidates[-1]
    found = shutil.which('pg_ctl')
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found")
    return os.path.dirname(found)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Cluster:

    def __init__(self, settings=None):
        "settings: more server settings, {name: value}"
        self.settings = dict(settings or {})
        self.bindir = _bindir()
        self.directory = tempfile.mkdtemp(prefix='meter-pg-')
        self.data = os.path.join(self.directory, 'data')
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    @property
    def uri(self):
        return f'postgresql://postgres@127.0.0.1:{self.port}/'

    def _run(self, *args):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_root:
            cmd = ['runuser', '-u', 'postgres', '--', *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        if self.as_root:
            shutil.chown(self.directory, 'postgres')
        self._run('initdb', '-D', self.data, '-A', 'trust', '-U',
            'postgres', '-E', 'UTF8', '--locale=C.UTF-8')
        # Durability is worthless for a throwaway cluster: trade it for
        # speed.
        options = (f'-p {self.port} -k {self.directory} '
            '-c listen_addresses=127.0.0.1 -c fsync=off '
            '-c synchronous_commit=off -c full_page_writes=off '
            '-c max_connections=200')
        for name, value in self.settings.items():
            options += f' -c {name}={value}'
        self._run('pg_ctl', '-D', self.data, '-o', options, '-w',
            '-l', os.path.join(self.directory, 'log'), 'start')
        return self

    def stop(self):
        try:
            self._run('pg_ctl', '-D', self.data, '-m', 'immediate', 'stop')
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def postgresql(settings=None):
    """Point TRYTOND_DATABASE__URI at a PostgreSQL for the block: the one
    it names already or a throwaway cluster (with the server settings),
    stopped at the end."""
    uri = os.environ.get('TRYTOND_DATABASE__URI', '')
    if uri.startswith('postgresql'):
        yield uri
        return
    cluster = Cluster(settings).start()
    os.environ['TRYTOND_DATABASE__URI'] = cluster.uri
    try:
        yield cluster.uri
    finally:
        cluster.stop()
