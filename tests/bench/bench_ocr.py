"""Benchmark the counter OCR on the shared meter photos

Prints on stdout, and a table per photo on stderr:

- ``BENCH ocr_exact_integer_pct`` and ``BENCH ocr_s_per_photo``: the
  photos as they are (800x600 and smaller);
- ``BENCH ocr_12mp_s_per_photo``: the median time of reading the same
  photos scaled up to a 4000 px long side (12 MP) and saved as JPEG, read
  end to end from the JPEG bytes, the engine already loaded;
- ``BENCH ocr_12mp_peak_rss_mb``: the peak resident memory of a fresh
  process that loads the engine and reads those 12 MP photos; it also
  gives the time of that process's first photo
  (``ocr_12mp_first_s``).

The photos and their readings come from ``manifest.csv`` of
``../shared/testdata/meter-photos`` beside the checkout, or of
``$METER_TESTDATA/meter-photos``.
"""
import csv
import importlib
import importlib.machinery
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BASE = os.path.join(REPO, 'addons', 'meter_base')
# Long side of the phone-sized photos
LONG_SIDE = 4000


def plain_module(name):
    """Import a plain module of meter_base without the Tryton module

    ocr.py and photo.py import no trytond: they are loaded as members of a
    bare package, so that meter_base/__init__.py is not run and no module
    of meter_base shadows one of the standard library.
    """
    package = 'meter_base_plain'
    if package not in sys.modules:
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [BASE]
        sys.modules[package] = module
    return importlib.import_module('%s.%s' % (package, name))


def testdata():
    "Return the folder of the shared test data"
    return os.environ.get('METER_TESTDATA') or os.path.normpath(
        os.path.join(REPO, '..', 'shared', 'testdata'))


def photos():
    "Return the (file, reading, data) of the shared photos"
    folder = os.path.join(testdata(), 'meter-photos')
    with open(os.path.join(folder, 'manifest.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    result = []
    for row in rows:
        with open(os.path.join(folder, row['file']), 'rb') as f:
            result.append((row['file'], row['reading'], f.read()))
    return result


def phone_sized(data):
    "Return the photo scaled up to a LONG_SIDE px long side, as a JPEG"
    from PIL import Image
    photo = plain_module('photo')
    image = photo.open_image(data, truncated=True).convert('RGB')
    scale = LONG_SIDE / max(image.size)
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)),
        Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=90)
    return output.getvalue()


def read(ocr, rows, label):
    "Read each photo, print its line and return the exact count and times"
    exact, times, cpu = 0, [], 0.
    for name, reading, data in rows:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = ocr.read_counter(data)
        seconds = time.perf_counter() - start
        times.append(seconds)
        cpu += time.process_time() - start_cpu
        integer = int(Decimal(reading))
        outcome = ocr.compare(result.digits, integer)
        exact += outcome == 'match'
        print('%-32s %5s %10s %8s %6.2f %6.2f %s' % (
                name, label, reading, result.digits,
                result.confidence, seconds, outcome),
            file=sys.stderr)
    return exact, times, cpu


def fresh_process(folder):
    """Read the phone-sized photos of folder in this script, as a fresh
    process, and print the time of the first and the peak memory"""
    start = time.perf_counter()
    ocr = plain_module('ocr')
    ocr.engine()
    first = None
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            data = f.read()
        start = time.perf_counter()
        ocr.read_counter(data)
        if first is None:
            first = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'first_s': first, 'peak_rss_mb': peak}))


def main():
    rows = photos()
    start = time.perf_counter()
    ocr = plain_module('ocr')
    ocr.engine()
    load = time.perf_counter() - start
    print('%-32s %5s %10s %8s %6s %6s %s' % (
            'file', 'size', 'reading', 'read', 'conf', 's', 'result'),
        file=sys.stderr)
    exact, times, cpu = read(ocr, rows, 'photo')
    print('BENCH ocr_engine_load_s=%.2f' % load)
    print('BENCH ocr_exact_integer_pct=%.1f' % (100. * exact / len(rows)))
    print('BENCH ocr_s_per_photo=%.2f' % (sum(times) / len(rows)))
    # CPU time shows the cost when other processes share the cores.
    print('BENCH ocr_cpu_s_per_photo=%.2f' % (cpu / len(rows)))

    large = [(n, r, phone_sized(d)) for n, r, d in rows]
    exact, times, _ = read(ocr, large, '12mp')
    print('BENCH ocr_12mp_exact_integer_pct=%.1f'
        % (100. * exact / len(rows)))
    print('BENCH ocr_12mp_s_per_photo=%.2f' % statistics.median(times))

    with tempfile.TemporaryDirectory() as folder:
        for index, (_, _, data) in enumerate(large):
            with open(os.path.join(folder, '%02d.jpg' % index), 'wb') as f:
                f.write(data)
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--fresh', folder],
            check=True, stdout=subprocess.PIPE, text=True).stdout
    figures = json.loads(output.splitlines()[-1])
    print('BENCH ocr_12mp_first_s=%.2f' % figures['first_s'])
    print('BENCH ocr_12mp_peak_rss_mb=%.0f' % figures['peak_rss_mb'])


if __name__ == '__main__':
    if sys.argv[1:2] == ['--fresh']:
        fresh_process(sys.argv[2])
    else:
        main()
