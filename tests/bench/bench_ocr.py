"""Benchmark the counter OCR on the shared meter photos

Prints ``BENCH ocr_exact_integer_pct=<percent>`` and
``BENCH ocr_s_per_photo=<seconds>`` on stdout and a table per photo on
stderr.  The photos and their readings come from ``manifest.csv`` of
``../shared/testdata/meter-photos`` beside the checkout, or of
``$METER_TESTDATA/meter-photos``.
"""
import csv
import os
import sys
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# ocr.py is plain Python: load it alone, without the Tryton module around it.
sys.path.insert(0, os.path.join(REPO, 'addons', 'meter_base'))

import ocr  # noqa: E402


def testdata():
    "Return the folder of the shared test data"
    return os.environ.get('METER_TESTDATA') or os.path.normpath(
        os.path.join(REPO, '..', 'shared', 'testdata'))


def main():
    folder = os.path.join(testdata(), 'meter-photos')
    with open(os.path.join(folder, 'manifest.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    start = time.perf_counter()
    ocr.engine()
    load = time.perf_counter() - start
    exact, elapsed, cpu = 0, 0., 0.
    print('%-32s %10s %8s %6s %6s %s' % (
            'file', 'reading', 'read', 'conf', 's', 'result'), file=sys.stderr)
    for row in rows:
        with open(os.path.join(folder, row['file']), 'rb') as f:
            data = f.read()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = ocr.read_counter(data)
        seconds = time.perf_counter() - start
        elapsed += seconds
        cpu += time.process_time() - start_cpu
        integer = int(Decimal(row['reading']))
        outcome = ocr.compare(result.digits, integer)
        exact += outcome == 'match'
        print('%-32s %10s %8s %6.2f %6.2f %s' % (
                row['file'], row['reading'], result.digits,
                result.confidence, seconds, outcome),
            file=sys.stderr)
    print('BENCH ocr_engine_load_s=%.2f' % load)
    print('BENCH ocr_exact_integer_pct=%.1f' % (100. * exact / len(rows)))
    print('BENCH ocr_s_per_photo=%.2f' % (elapsed / len(rows)))
    # CPU time shows the cost when other processes share the cores.
    print('BENCH ocr_cpu_s_per_photo=%.2f' % (cpu / len(rows)))


if __name__ == '__main__':
    main()
