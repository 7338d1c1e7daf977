"""Make ahead the template databases of the browser tests of the backend
configured by the environment, into BROWSER_TEMPLATES: the suite runs it
while the unit tests of the other backend still run, on the core they
leave idle.

A browser test module tells what to make by its MODULES (the modules
its server activates) or by a `prepare()` function of its own (the sao
sweep's demo); a template not made ahead is made by the first test that
needs it.

    python tests/browser/prepare.py [-k PATTERN]
"""
import argparse
import importlib
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-k', dest='patterns', action='append')
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from tests.browser.server import Server
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [
            p if '*' in p else f'*{p}*' for p in args.patterns]
    directory = os.path.join(ROOT, 'tests', 'browser')
    for name in sorted(os.listdir(directory)):
        if not (name.startswith('test_') and name.endswith('.py')):
            continue
        module = importlib.import_module(f'tests.browser.{name[:-3]}')
        # Only for the tests that run
        if not loader.loadTestsFromModule(module).countTestCases():
            continue
        if hasattr(module, 'prepare'):
            module.prepare()
        elif hasattr(module, 'MODULES'):
            Server(module.MODULES).prepare()
    return 0


if __name__ == '__main__':
    sys.exit(main())
