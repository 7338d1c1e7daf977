"""Run the suite's tests on the backend configured by the environment.

The addons' tests are loaded by their dotted names under trytond.modules
(so that Tryton's load_tests protocol collects the scenarios) and the
cross-addon tests by their names under the top-level ``tests`` package.
Prints the usual unittest report and writes the counts as JSON.
"""
import argparse
import json
import os
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ['meter_base', 'meter_service', 'meter_devices', 'meter_billing',
    'meter_wechat', 'meter_field']


def test_names(kinds):
    if 'unit' in kinds:
        for module in MODULES:
            directory = os.path.join(ROOT, 'addons', module, 'tests')
            for name in sorted(os.listdir(directory)):
                if name.startswith('test_') and name.endswith('.py'):
                    yield f'trytond.modules.{module}.tests.{name[:-3]}'
        for name in sorted(os.listdir(os.path.join(ROOT, 'tests'))):
            if name.startswith('test_') and name.endswith('.py'):
                yield f'tests.{name[:-3]}'
    if 'browser' in kinds:
        directory = os.path.join(ROOT, 'tests', 'browser')
        for name in sorted(os.listdir(directory)):
            if name.startswith('test_') and name.endswith('.py'):
                yield f'tests.browser.{name[:-3]}'


class CountingResult(unittest.TextTestResult):
    "Count passed tests too, sub-tests included"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def drop_forcibly():
    """Drop test databases on PostgreSQL even while a connection lingers.

    Tryton's test tools drop and re-create the test database for each test
    case; a connection left open by a finished test (a task run after
    commit, a cache listener) then makes DROP DATABASE fail and the next
    test with it.  The databases are throwaway, so force the drop.
    """
    from psycopg.sql import SQL, Identifier

    from trytond.backend.postgresql.database import Database

    def drop(cls, connection, database_name):
        cursor = connection.cursor()
        cursor.execute(SQL("DROP DATABASE {} WITH (FORCE)")
            .format(Identifier(database_name)))
        cls.clear_cache()
    Database.drop = classmethod(drop)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--kind', action='append', choices=['unit', 'browser'])
    parser.add_argument('--json', help="write the counts to this file")
    parser.add_argument('-k', dest='patterns', action='append',
        help="only tests matching this pattern (unittest -k)")
    parser.add_argument('-v', dest='verbosity', action='count', default=1)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    if os.environ.get('TRYTOND_DATABASE__URI', '').startswith('postgresql'):
        drop_forcibly()
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [
            p if '*' in p else f'*{p}*' for p in args.patterns]
    suite = unittest.TestSuite()
    for name in test_names(args.kind or ['unit']):
        suite.addTests(loader.loadTestsFromName(name))
    runner = unittest.TextTestRunner(
        verbosity=args.verbosity, resultclass=CountingResult)
    start = time.monotonic()
    result = runner.run(suite)
    counts = {
        'passed': result.passed,
        'failed': len(result.failures) + len(result.errors)
        + len(result.unexpectedSuccesses),
        'skipped': len(result.skipped),
        'seconds': round(time.monotonic() - start, 1),
        }
    if args.json:
        with open(args.json, 'w') as fp:
            json.dump(counts, fp)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
