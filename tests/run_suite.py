"""The whole test suite: every addon and cross-addon test, the browser
tests included, on SQLite and on PostgreSQL; the unit tests of both side
by side, then the browser tests of one after the other.  Ends with
`N passed, N failed`.

The browser tests' template databases (the demo loaded for the sao
sweep, the modules activated) are made while the unit tests still run:
on the core the first backend's unit tests leave idle.

PostgreSQL is the one of TRYTOND_DATABASE__URI when it points at one,
otherwise a throwaway cluster on a loopback port.

    python tests/run_suite.py [--backend sqlite|postgresql] [--no-browser]
        [-k PATTERN]
"""
import argparse
import json
import os
import subprocess
import sys
import shutil
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from pgcluster import Cluster  # noqa: E402
from processes import stop_group  # noqa: E402


def start(label, env, kinds, patterns):
    "Start the tests of one backend; their report goes to a file"
    out = tempfile.NamedTemporaryFile(suffix='.json', delete=False)
    log = tempfile.NamedTemporaryFile(suffix='.log', delete=False)
    cmd = [sys.executable, os.path.join(HERE, 'unit_runner.py'),
        '--json', out.name]
    for kind in kinds:
        cmd += ['--kind', kind]
    for pattern in patterns or []:
        cmd += ['-k', pattern]
    print(f'=== {label}: started', flush=True)
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT)
    return label, process, out.name, log.name


def finish(label, process, out, log):
    "Wait for the tests of one backend, print their report and counts"
    process.wait()
    print(f'=== {label} ===', flush=True)
    with open(log, 'rb') as fp:
        sys.stdout.buffer.write(fp.read())
    sys.stdout.flush()
    try:
        with open(out) as fp:
            counts = json.load(fp)
    except (OSError, ValueError):
        counts = {'passed': 0, 'failed': 1, 'skipped': 0}
    if process.returncode and not counts['failed']:
        counts['failed'] = 1
    for name in (out, log):
        os.unlink(name)
    print(f"--- {label}: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped",
        flush=True)
    return counts


def prepare(envs, patterns):
    """Start making the browser tests' templates of each backend, the
    backends side by side; return the processes doing it and their logs"""
    preparations = []
    for backend, env in envs:
        log = tempfile.NamedTemporaryFile(suffix='.log', delete=False)
        cmd = [sys.executable, os.path.join(HERE, 'browser', 'prepare.py')]
        for pattern in patterns or []:
            cmd += ['-k', pattern]
        # In a session of its own, to be stopped with what it started
        preparations.append((backend, subprocess.Popen(cmd, env=env,
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True),
                log.name))
    return preparations


def prepared(preparations):
    "Wait for the templates; show the log of a preparation that failed"
    for backend, process, name in preparations:
        process.wait()
        with open(name, 'rb') as fp:
            text = fp.read()
        os.unlink(name)
        if process.returncode:
            # A template not made is made by the test that needs it
            print(f'=== {backend} (browser templates) ===', flush=True)
            sys.stdout.buffer.write(text)
            sys.stdout.flush()


def add(totals, counts):
    for key in totals:
        totals[key] += counts.get(key, 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'],
        action='append')
    parser.add_argument('--no-browser', action='store_true')
    parser.add_argument('-k', dest='patterns', action='append')
    args = parser.parse_args()
    backends = args.backend or ['sqlite', 'postgresql']

    base = os.environ.copy()
    base.setdefault('TRYTOND_WEB__ROOT', os.path.join(ROOT, 'build', 'sao'))
    base['PYTHONPATH'] = ROOT
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    cluster = None
    runs = []
    envs = []
    caches = []
    preparations = []
    try:
        for backend in backends:
            env = base.copy()
            cache = tempfile.mkdtemp(prefix='meter-dbcache-')
            if backend == 'sqlite':
                env['TRYTOND_DATABASE__URI'] = 'sqlite://'
                env['DB_NAME'] = ':memory:'
                env['DB_CACHE'] = cache
                env['TRYTOND_DATABASE__PATH'] = cache
            else:
                uri = base.get('TRYTOND_DATABASE__URI', '')
                if not uri.startswith('postgresql'):
                    cluster = Cluster().start()
                    uri = cluster.uri
                    # Activated databases are kept as templates.
                    env['DB_CACHE'] = 'postgresql://'
                env['TRYTOND_DATABASE__URI'] = uri
                env['DB_NAME'] = 'test_meter'
                env['TRYTOND_DATABASE__PATH'] = cache
            # The browser tests' templates, made ahead
            env['BROWSER_TEMPLATES'] = os.path.join(cache, 'browser')
            os.makedirs(env['BROWSER_TEMPLATES'])
            caches.append(cache)
            envs.append((backend, env))
            # The backends' unit tests run side by side: each is mostly
            # one core.
            runs.append(start(backend, env, ['unit'], args.patterns))
        pending = list(runs)
        while pending:
            # The first to finish leaves a core to make the templates with
            done = next((r for r in pending if r[1].poll() is not None),
                None)
            if not done:
                time.sleep(1)
                continue
            pending.remove(done)
            add(totals, finish(*done))
            if not args.no_browser and not preparations:
                preparations = prepare(envs, args.patterns)
        prepared(preparations)
        if not args.no_browser:
            # A browser test is a browser and a server at once: one
            # backend after the other, so that a loaded machine does not
            # make their timings fail.
            for backend, env in envs:
                runs.append(start(f'{backend} (browser)', env, ['browser'],
                        args.patterns))
                add(totals, finish(*runs[-1]))
    finally:
        for _, process, _, _ in runs:
            if process.poll() is None:
                process.kill()
        for _, process, _ in preparations:
            if process.poll() is None:
                stop_group(process)
        if cluster:
            cluster.stop()
        elif 'postgresql' in dict(envs):
            # Each template has a folder of its name
            from browser.server import drop_templates
            env = dict(envs)['postgresql']
            drop_templates(env['TRYTOND_DATABASE__URI'],
                os.listdir(env['BROWSER_TEMPLATES']))
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
    if totals['skipped']:
        print(f"({totals['skipped']} skipped)")
    print(f"{totals['passed']} passed, {totals['failed']} failed")
    return 1 if totals['failed'] or not totals['passed'] else 0


if __name__ == '__main__':
    sys.exit(main())
