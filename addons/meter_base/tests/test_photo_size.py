# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Photos of every size a phone takes are read, larger ones refused.

A photo's cost must not grow with its size: a 50 MP photo is read at
reduced scale, and an image of more pixels is refused from its header,
before any pixel is decoded.  The images are made here: a grey PNG is
written row by row, so that a 100 MP one takes a few kilobytes and no
memory to make (the 38 KB grey PNG that held a server for minutes).
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import unittest
import zlib
from unittest import mock

from PIL import Image, ImageFile

from trytond.modules.meter_base import ocr, photo

from .tools import phone_sized, testdata

# The largest photo read: the 50 MP mode of phones
LARGEST = (8192, 6144)
# Peak resident memory allowed to a process reading a 50 MP photo, engine
# included: a whole decode and detection would take several times more.
MAX_RSS_MB = 800


def grey_png(width, height, rows=None):
    """Return a grey 8-bit PNG, compressed row by row

    With rows, only so many rows are written: a file cut short, which only
    its header tells from a whole one.
    """
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data)))
    compressor = zlib.compressobj(9)
    row = b'\x00' + b'\x80' * width
    idat = b''.join(compressor.compress(row)
        for _ in range(height if rows is None else rows))
    idat += compressor.flush()
    return (b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
        + chunk(b'IDAT', idat) + chunk(b'IEND', b''))


def grey_jpeg(width, height):
    "Return a grey JPEG with a few dark bars"
    image = Image.new('L', (width, height), 200)
    for x in range(0, width, width // 16):
        image.paste(30, (x, 0, x + width // 64, height))
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=80)
    return output.getvalue()


def refuse_decoding():
    "Patch the decoding of any image to fail the test"
    def load(self):
        raise AssertionError("%dx%d image decoded" % self.size)
    return mock.patch.object(ImageFile.ImageFile, 'load', load)


class PhotoSizeTestCase(unittest.TestCase):
    "Test photos up to 50 MP are taken and larger ones refused undecoded"

    def test_limit_is_pillows(self):
        "Test Pillow's decompression-bomb limit is the suite's"
        self.assertEqual(Image.MAX_IMAGE_PIXELS, photo.MAX_PIXELS)
        self.assertGreaterEqual(photo.MAX_PIXELS, 50_000_000)

    def test_largest_accepted(self):
        "Test a 50 MP JPEG and PNG pass the intake checks"
        for data, format in [
                (grey_jpeg(*LARGEST), 'JPEG'),
                (grey_png(*LARGEST), 'PNG')]:
            with self.subTest(format=format):
                self.assertEqual(photo.validate(data, max_size=len(data)),
                    (format, *LARGEST))

    def test_larger_refused_undecoded(self):
        "Test an image over 50 MP is refused from its header"
        width, height = LARGEST
        for size, rows in [((width + 1, height), None),
                ((10_000, 10_000), 1), ((100_000, 100_000), 1)]:
            data = grey_png(*size, rows=rows)
            with self.subTest(size=size), refuse_decoding():
                with self.assertRaises(photo.PhotoError) as cm:
                    photo.validate(data, max_size=len(data))
                self.assertEqual(cm.exception.code, 'too_many_pixels')
                with self.assertRaises(photo.PhotoError):
                    photo.open_image(data, truncated=True)
                self.assertEqual(ocr.read_counter(data), (None, 0.))

    def test_jpeg_decoded_at_reduced_scale(self):
        "Test a 50 MP JPEG is decoded at an eighth for the intake checks"
        data = grey_jpeg(*LARGEST)
        sizes = []
        load = ImageFile.ImageFile.load

        def spy(image):
            sizes.append(image.size)
            return load(image)
        with mock.patch.object(ImageFile.ImageFile, 'load', spy):
            photo.validate(data, max_size=len(data))
            photo.thumbnail(data)
            photo.phash(data)
        self.assertTrue(sizes)
        self.assertTrue(all(w * h <= 1024 * 768 for w, h in sizes), sizes)

    @unittest.skipUnless(
        os.path.isdir(os.path.join(testdata(), 'meter-photos-cn')),
        "no shared meter photos")
    def test_phone_sized_like_own_size(self):
        "Test a photo scaled up to 12 MP verifies as at its own size"
        with open(os.path.join(testdata(), 'meter-photos-cn',
                    'cn_train_8.jpg'), 'rb') as f:
            data = f.read()
        large = phone_sized(data)
        self.assertEqual(
            max(ocr._load(large, None).shape[:2]), ocr.WORK_SIDE)
        # At its own size (under DETECT_PIXELS) it is not brought down
        own = Image.open(io.BytesIO(data))
        self.assertEqual(ocr._load(data, None).shape[:2],
            (own.height, own.width))
        # The last wheel rolls from 0 to 1: the lower digit only
        for photo_data in [data, large]:
            verdict = ocr.verify_counter(photo_data, 720)
            self.assertEqual(verdict.result, 'match', msg=verdict)
            for wrong in [721, 719, 7200, 72]:
                with self.subTest(wrong=wrong):
                    self.assertNotEqual(
                        ocr.verify_counter(photo_data, wrong).result,
                        'match')

    def test_read_in_bounded_memory(self):
        """Test a fresh process reads 50 MP photos in bounded memory

        The grey PNG of 6300 x 6300 pixels is the one that held the demo
        server for minutes; a PNG cannot be decoded at reduced scale.
        """
        # VmHWM is the peak of this process's own memory.  Not ru_maxrss:
        # Linux carries it over exec from the process that started it, so
        # a child of a test process that has grown to 850 MB reports 850.
        script = textwrap.dedent('''
            import json, sys
            from trytond.modules.meter_base import ocr
            # The images the detector runs on: the photos are read
            detected = []
            resize = ocr._DetectResize.resize
            def spy(self, img):
                img = resize(self, img)
                detected.append(img.shape[:2])
                return img
            ocr._DetectResize.resize = spy
            results = []
            for name in sys.argv[1:]:
                with open(name, 'rb') as f:
                    results.append(list(ocr.read_counter(f.read())))
            with open('/proc/self/status') as f:
                peak = next(int(line.split()[1]) for line in f
                    if line.startswith('VmHWM:'))
            print(json.dumps({'results': results, 'detected': detected,
                'rss_mb': peak / 1024}))
            ''')
        with tempfile.TemporaryDirectory() as folder:
            names = []
            for name, data in [
                    ('largest.jpg', grey_jpeg(*LARGEST)),
                    ('grey.png', grey_png(6300, 6300))]:
                names.append(os.path.join(folder, name))
                with open(names[-1], 'wb') as f:
                    f.write(data)
            process = subprocess.run(
                [sys.executable, '-c', script] + names,
                stdout=subprocess.PIPE, check=True, text=True, timeout=600)
        figures = json.loads(process.stdout.splitlines()[-1])
        self.assertEqual(len(figures['results']), 2)
        # Unreadable, each is read at WORK_SIDE, again at RETRY_SIDE and at
        # ENLARGE times WORK_SIDE
        self.assertEqual(len(figures['detected']), 2 * 3)
        for height, width in figures['detected']:
            self.assertLessEqual(height * width, ocr.DETECT_PIXELS)
        self.assertLess(figures['rss_mb'], MAX_RSS_MB)

