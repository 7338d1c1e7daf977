# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import csv
import io
import os
import subprocess
import sys
import textwrap
import unittest
from decimal import Decimal

import numpy as np
from PIL import Image

from trytond.modules.meter_base import ocr

from . import tools
from .tools import testdata

PHOTOS = os.path.join(testdata(), 'meter-photos')


def photo_rows():
    "Return the manifest rows joined with their reading details"
    with open(os.path.join(PHOTOS, 'manifest.csv'), newline='') as f:
        rows = {r['file']: r for r in csv.DictReader(f)}
    with open(os.path.join(PHOTOS, 'readings-detail.csv'), newline='') as f:
        for detail in csv.DictReader(f):
            for key, value in detail.items():
                rows[detail['file']].setdefault(key, value)
    return list(rows.values())


def read_photo(name):
    with open(os.path.join(PHOTOS, name), 'rb') as f:
        return f.read()


class OcrCompareTestCase(unittest.TestCase):
    "Test the comparison of the wheels with the typed value"

    def test_match(self):
        "Test the integer part is compared, leading zeros dropped"
        self.assertEqual(ocr.compare('00442', Decimal('442.2072')), 'match')
        self.assertEqual(ocr.compare('00442', 442), 'match')
        self.assertEqual(ocr.compare('00000', '0.3014'), 'match')

    def test_mismatch(self):
        "Test another integer part is a mismatch"
        self.assertEqual(ocr.compare('00442', Decimal('443.0001')), 'mismatch')
        self.assertEqual(ocr.compare('00442', 441.9999), 'mismatch')
        self.assertEqual(ocr.compare('00442', None), 'mismatch')

    def test_unreadable(self):
        "Test nothing read is unreadable"
        self.assertEqual(ocr.compare(None, 442), 'unreadable')
        self.assertEqual(ocr.compare('', 442), 'unreadable')
        self.assertEqual(ocr.compare('44?2', 442), 'unreadable')

    def test_decimal_wheels(self):
        "Test decimal wheels are left out of the comparison"
        self.assertEqual(
            ocr.compare('0044220', Decimal('442.2072'), decimals=2), 'match')
        self.assertEqual(
            ocr.compare('0044220', Decimal('4422.07'), decimals=2),
            'mismatch')

    def test_not_an_image(self):
        "Test a file that is no image is unreadable"
        result = ocr.read_counter(b"no photo here")
        self.assertIsNone(result.digits)
        self.assertEqual(result.confidence, 0)


@unittest.skipUnless(os.path.isdir(PHOTOS), "no shared meter photos")
class OcrPhotoTestCase(unittest.TestCase):
    "Test reading the counter of the shared meter photos"

    @classmethod
    def setUpClass(cls):
        cls.rows = photo_rows()

    def first(self, **criteria):
        for row in self.rows:
            if all(c(row[k]) if callable(c) else row[k] == c
                    for k, c in criteria.items()):
                return row
        self.fail("no photo for %s" % criteria)

    def assertReads(self, row):
        result = ocr.read_counter(read_photo(row['file']))
        self.assertEqual(
            ocr.compare(result.digits, Decimal(row['reading'])), 'match',
            msg="%s read %s" % (row['file'], result.digits))
        self.assertTrue(0 < result.confidence <= 1)
        return result

    def test_upside_down_photo(self):
        "Test an upside-down frame with its right reading matches"
        row = self.first(orientation='rotated_180', jpeg_truncated='no',
            last_wheel_state='clean')
        result = self.assertReads(row)
        self.assertEqual(len(result.digits), 5)
        wrong = Decimal(row['reading']) + 1
        self.assertEqual(ocr.compare(result.digits, wrong), 'mismatch')

    def test_upright_photo(self):
        "Test an upright frame with its right reading matches"
        self.assertReads(self.first(orientation='upright',
                jpeg_truncated='no', meter=lambda m: m.startswith('ZR')))

    def test_rolling_wheel(self):
        "Test a last wheel caught mid-roll reads as its lower digit"
        self.assertReads(self.first(
                last_wheel_state=lambda s: s.startswith('last wheel mid-roll'),
                jpeg_truncated='no'))

    def test_sideways_photo(self):
        "Test a frame turned a quarter without EXIF orientation is read"
        import io

        from PIL import Image
        row = self.first(orientation='rotated_180', jpeg_truncated='no',
            last_wheel_state='clean')
        image = Image.open(io.BytesIO(read_photo(row['file'])))
        for angle in [90, 270]:
            with self.subTest(angle=angle):
                turned = io.BytesIO()
                image.rotate(angle, expand=True).save(turned, 'JPEG',
                    quality=95)
                result = ocr.read_counter(turned.getvalue())
                self.assertEqual(
                    ocr.compare(result.digits, Decimal(row['reading'])),
                    'match', msg="%s° read %s" % (angle, result.digits))

    def test_phone_sized_guess(self):
        "Test the wheel reader's unsure guess is no blind reading at 12 MP"
        import io

        from PIL import Image

        from trytond.modules.meter_base import photo
        # The camera cut the photo short
        image = photo.open_image(read_photo('wmsc_2020-06-19_11-42-16.jpg'),
            truncated=True).convert('RGB')
        large = io.BytesIO()
        image.resize((4000, 3000), Image.Resampling.LANCZOS).save(
            large, 'JPEG', quality=90)
        # No line reads as its counter (0000 and its decimals); the wheels
        # read one by one gave 10111 with a confidence of 0.29
        result = ocr.read_counter(large.getvalue())
        self.assertNotEqual(ocr.compare(result.digits, 0), 'mismatch',
            msg=result)

    def test_truncated_photo(self):
        "Test a frame the camera cut short is still read"
        self.assertReads(self.first(jpeg_truncated='yes',
                meter=lambda m: m.startswith('ZR')))

    def test_region(self):
        "Test the crop region restricts the reading to that part"
        data = read_photo(self.first(jpeg_truncated='no')['file'])
        result = ocr.read_counter(data, region=(0, 0, 0.05, 0.05))
        self.assertIsNone(result.digits)

    def test_no_network(self):
        "Test importing the engine and reading a photo open no socket"
        row = self.first(orientation='rotated_180', jpeg_truncated='no',
            last_wheel_state='clean')
        script = textwrap.dedent('''
            import socket
            import sys

            def refuse(*args, **kwargs):
                sys.stderr.write('network access: %r\\n' % (args,))
                sys.exit(3)

            socket.socket.connect = refuse
            socket.socket.connect_ex = refuse
            socket.getaddrinfo = refuse
            socket.create_connection = refuse

            from trytond.modules.meter_base import ocr

            with open(sys.argv[1], 'rb') as f:
                print(ocr.read_counter(f.read()).digits)
            ''')
        process = subprocess.run(
            [sys.executable, '-c', script,
                os.path.join(PHOTOS, row['file'])],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(process.returncode, 0, msg=process.stderr)
        self.assertEqual(
            ocr.compare(process.stdout.strip(), Decimal(row['reading'])),
            'match')


def set_photo(folder, name):
    with open(os.path.join(testdata(), folder, name), 'rb') as f:
        return f.read()


def turned_photo(folder, name, angle=180, quality=95):
    """Return the photo of the set turned by angle degrees anticlockwise,
    upside down by default (its pixels, no EXIF), as a JPEG of quality"""
    return tools.turned(set_photo(folder, name), angle, quality)


def dark_photo(folder, name, brightness=0.25):
    "Return the photo of the set darkened to brightness times its own"
    return tools.darkened(set_photo(folder, name), brightness)


def phone_sized(folder, name):
    "Return the photo of the set scaled up to 4000 px long, as a phone's"
    return tools.phone_sized(set_photo(folder, name))


def wrong_values(value):
    "Return value with a digit changed, plus and minus one and times ten"
    text = str(value)
    changed = text[:-1] + str((int(text[-1]) + 5) % 10)
    first = str((int(text[0]) + 5) % 10 or 1) + text[1:]
    return sorted({int(changed), int(first), value + 1, value - 1,
            value * 10} - {value})


@unittest.skipUnless(os.path.isdir(os.path.join(testdata(), 'meter-photos-cn')),
    "no shared meter photos")
class OcrVerifyTestCase(unittest.TestCase):
    "Test verifying the typed value on real photos of several meters"

    def assertVerifies(self, folder, name, value, read):
        data = set_photo(folder, name)
        verdict = ocr.verify_counter(data, Decimal(value))
        self.assertEqual(verdict.result, 'match', msg=verdict)
        self.assertEqual(verdict.digits, read)
        self.assertTrue(0 < verdict.confidence <= 1)
        integer = int(Decimal(value))
        for wrong in wrong_values(integer):
            with self.subTest(name=name, wrong=wrong):
                verdict = ocr.verify_counter(data, Decimal(wrong))
                self.assertEqual(verdict.result, 'mismatch', msg=verdict)
        return data

    def assertReadsOnly(self, data, value, read, others=()):
        "Assert the photo reads and verifies value, and no wrong value"
        verdict = ocr.verify_counter(data, value)
        self.assertEqual((verdict.result, verdict.digits), ('match', read))
        self.assertEqual(ocr.read_counter(data).digits, read)
        for wrong in wrong_values(value) + list(others):
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')

    def test_wheels(self):
        "Test the shared meter's wheels verify its value and no other"
        self.assertVerifies('meter-photos', 'wmsc_2020-03-14_1ef7f13.jpg',
            '442.2072', '00442')

    def test_rolling_wheel(self):
        "Test a last wheel between 8 and 9 verifies the lower digit only"
        # The recogniser reads the line as 00339.
        self.assertVerifies('meter-photos-cn', 'cn_train_17.jpg', '338',
            '00338')

    def test_lcd_decimals(self):
        "Test an LCD's decimals are left out of the integer"
        self.assertVerifies('meter-photos-more', 'xcray_readings-2.jpg',
            '92.469', '0092')

    def test_other_numbers(self):
        "Test a time, a date or a serial number elsewhere never matches"
        data = self.assertVerifies('meter-photos-cn', 'cn_train_1.jpg',
            '141', '00141')
        # The photo shows "2019-08-16 14:50:00" and "Z160604185"
        for value in [2019, 201908, 20190816, 1450, 145000, 160604185]:
            with self.subTest(value=value):
                self.assertEqual(
                    ocr.verify_counter(data, value).result, 'mismatch')

    def test_arrow_line(self):
        "Test a window whose first wheel reads as a letter still verifies"
        # The recogniser reads the line as vp0257: no line reads as a
        # counter, the wheels after the arrow show 00257
        data = set_photo('meter-photos-cn', 'cn_train_4.jpg')
        verdict = ocr.verify_counter(data, 257)
        self.assertEqual(verdict.result, 'match', msg=verdict)
        self.assertEqual(verdict.digits, '00257')
        for wrong in wrong_values(257) + [2570, 25]:
            with self.subTest(wrong=wrong):
                self.assertEqual(
                    ocr.verify_counter(data, wrong).result, 'unreadable')
        self.assertEqual(ocr.read_counter(data).digits, '00257')

    def test_arrow_line_with_unit(self):
        "Test a window read with its unit on the arrow's line verifies"
        # Tilted 4 degrees, the window of 00257 and its unit are one box,
        # read as vp0257m²: the unit read as m² (for m³) and its column
        # cut as a wheel left the photo unreadable
        self.assertReadsOnly(turned_photo('meter-photos-cn',
                'cn_train_4.jpg', 4), 257, '00257', [2570, 25])

    def test_wheels_cut_two_ways(self):
        "Test wheels cut two ways into two readings are not read"
        # Saved again at quality 90, the line of 00007 reads 20000, and its
        # last wheel seems to roll from 6.  Cut into 4, the wheels read
        # 1007 as surely, the separators read as 1s: it was the blind
        # reading, and a mismatch of the right value
        data = turned_photo('meter-photos-cn', 'cn_train_35.jpg', 0, 90)
        # Read again enlarged (see ocr.ENLARGE), its wheels read right
        self.assertIn(ocr.read_counter(data).digits, {None, '00007'})
        self.assertNotEqual(ocr.verify_counter(data, 7).result, 'mismatch')
        for wrong in wrong_values(7) + [1007]:
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')

    def test_read_again_at_other_scales(self):
        "Test a photo unreadable at its own size is read at other scales"
        # Saved again at quality 90, no line of its own size reads as a
        # counter; enlarged (ocr.ENLARGE), the window reads 00338
        self.assertReadsOnly(turned_photo('meter-photos-cn',
                'cn_train_12.jpg', 0, 90), 338, '00338')

    def test_other_scales_disagree(self):
        "Test two other scales that read two integers are not believed"
        # Unreadable at its own size; enlarged, the line of 0001 and its
        # two red decimal wheels reads 000110 surely, shrunk 0001: the
        # first read blind was a wrong reading, and 110 a false match
        data = set_photo('meter-photos-more', 'junal_sample_water-2.jpg')
        self.assertIsNone(ocr.read_counter(data).digits)
        self.assertNotEqual(ocr.verify_counter(data, 1).result, 'mismatch')
        for wrong in wrong_values(1) + [110]:
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')

    def test_dark_photo_stretched(self):
        "Test a dark photo is read with its levels stretched"
        # Darkened to a quarter, the last wheel between 3 and 4 read 4
        # surely: 574 was read blind and made a 'match'
        self.assertReadsOnly(dark_photo('meter-photos-cn', 'cn_train_56.jpg'),
            573, '00573', [574])

    def test_dark_photo_last_wheel(self):
        "Test a dark photo's last wheel is not lost"
        # Darkened to a quarter, the last wheel of 00001 read 0000 surely:
        # 0 made a 'match'
        self.assertReadsOnly(dark_photo('meter-photos-cn', 'cn_train_55.jpg'),
            1, '00001', [0])

    def test_levels_kept(self):
        "Test only a photo of a narrow span of grey levels is stretched"
        for data, kept in [
                (set_photo('meter-photos-cn', 'cn_train_56.jpg'), True),
                (dark_photo('meter-photos-cn', 'cn_train_56.jpg'), False)]:
            with self.subTest(kept=kept):
                img = np.ascontiguousarray(np.asarray(
                        Image.open(io.BytesIO(data)).convert('RGB'))[
                        :, :, ::-1])
                stretched = ocr._stretched(img)
                self.assertEqual(stretched is img, kept)
                low, high = np.percentile(stretched, [1, 99])
                self.assertGreater(high - low, ocr.MIN_LEVELS)

    def test_decimal_wheels_on_black_band(self):
        "Test white wheels on a black band after the integer are decimals"
        # Tilted 4 degrees, the recogniser's columns cut across the band
        # of the two decimal wheels of 0001: its mean grey did not tell
        # them, and the line read 000110
        data = turned_photo('meter-photos-more', 'junal_sample_water-2.jpg',
            4)
        verdict = ocr.verify_counter(data, 1)
        self.assertEqual((verdict.result, verdict.digits), ('match', '0001'))
        for wrong in wrong_values(1) + [110]:
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')

    def test_decimal_wheel_in_dark_pit(self):
        "Test the decimal wheel of a meter in a dark pit is left out"
        # Dark (its levels stretched) and turned about 120 degrees: the
        # white decimal wheel on its black band after 02806 was read as
        # an integer wheel, 028064 a mismatch
        data = set_photo('meter-photos-more', 'junal_sample_water-rotate.jpg')
        verdict = ocr.verify_counter(data, 2806)
        self.assertEqual((verdict.result, verdict.digits), ('match', '02806'))
        for wrong in wrong_values(2806) + [28064, 28065]:
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')

    def test_rolling_wheel_seen_by_classifier(self):
        "Test a rolling last wheel the classifier sees counts its lower digit"
        # Tilted 3 degrees clockwise, the line reads 00574 with 0.62 on a
        # last wheel between 3 and 4 that the template reader sees
        # standing: 574 was read blind, and 573 a mismatch
        self.assertReadsOnly(turned_photo('meter-photos-cn',
                'cn_train_56.jpg', -3), 573, '00573', [574])

    def test_turned_line_against_the_vote(self):
        "Test a window upside down is not read the other way up"
        # Turned, the recogniser reads the window 00096 as 96000 with
        # more confidence than the right way up the print votes for
        data = turned_photo('meter-photos-cn', 'cn_train_38.jpg')
        self.assertEqual(ocr.read_counter(data).digits, '00096')
        self.assertEqual(ocr.verify_counter(data, 96).result, 'match')
        self.assertNotEqual(ocr.verify_counter(data, 96000).result, 'match')

    def test_lcd_point_not_read(self):
        "Test an LCD's point the recogniser misses next to marked decimals"
        # The register marks its decimals with bars above them: the line
        # reads 0093270, no point
        data = self.assertVerifies('meter-photos-more',
            'xcray_readings-10.jpg', '93.270', '0093')
        self.assertEqual(ocr.read_counter(data).digits, '0093')

    def test_not_believed_checked_upright(self):
        "Test a window read only against a sure vote is checked upright"
        # The window 0000 with its last wheel rolling from 6 to 7 reads as
        # a counter only upside down: 60000 at 12 MP, 600o0 as taken.
        # At 12 MP its wheels read upside down showed the classifier
        # 50000, a mismatch; as taken no line read as a counter, and the
        # label of a dial (x0.0001) was taken for it.
        for data in [set_photo('meter-photos-cn', 'cn_train_18.jpg'),
                phone_sized('meter-photos-cn', 'cn_train_18.jpg')]:
            self.assertReadsOnly(data, 6, '00006')

    def test_not_believed_serial_number(self):
        "Test a serial number read against a sure vote reads nothing"
        # Turned a quarter, the serial number Z181218466 (not the tallest
        # line) reads as a counter only against the vote, 981181; the
        # classifier read its digits the right way up as 08280 with 0.93,
        # a blind reading and a mismatch
        data = turned_photo('meter-photos-cn', 'cn_train_19.jpg', 90)
        self.assertIsNone(ocr.read_counter(data).digits)
        self.assertEqual(ocr.verify_counter(data, 69),
            ocr.Verdict('unreadable', 0., None))

    def test_upside_down_detected_upright(self):
        "Test a photo upside down is detected again turned upright"
        from unittest import mock

        # Upside down, the detector boxed the window of 00014 not at all,
        # and that of 00027 so that no line read as a counter (its arrow
        # line, its unit left out, reads it)
        for name, value in [('cn_train_20.jpg', 27), ('cn_train_23.jpg', 14)]:
            with self.subTest(name=name):
                data = turned_photo('meter-photos-cn', name)
                self.assertReadsOnly(data, value, '%05d' % value)
        # Detected as it is, 00014 is unreadable at the photo's size (read
        # again at other scales, it reads)
        img = ocr._load(turned_photo('meter-photos-cn', 'cn_train_23.jpg'),
            None)
        eng = ocr.engine()
        with mock.patch.object(ocr._Views, '_upright',
                lambda self, img, boxes: boxes):
            self.assertIsNone(ocr._read(eng, img).digits)
            self.assertEqual(
                ocr._verify(eng, img, 14, None, 0).result, 'unreadable')

    def test_quarter_turned_voted_upside_down(self):
        "Test a photo turned a quarter is read on its upright view"
        # Turned a quarter anticlockwise, the photo's sideways print is
        # voted upside down and detected again turned; a sideways line
        # read there as 100000 without confidence must not end the search
        # before the view where the window stands upright: it gave a
        # blind reading of 200001 and a mismatch
        self.assertReadsOnly(turned_photo('meter-photos-cn', 'cn_train_41.jpg',
                90), 15, '00015')

    def test_phone_sized_faded_zero(self):
        "Test the classifier overrules a line's unsure digit at 12 MP"
        # At 12 MP the recogniser reads the faded first wheel of 00242 as
        # a 5 with 0.61, just sure enough; the classifier reads a 0
        self.assertReadsOnly(phone_sized('meter-photos-cn', 'cn_train_9.jpg'),
            242, '00242', others=[50242])

    def test_digits_given(self):
        "Test the meter's digits and decimals do not make a wrong match"
        data = set_photo('meter-photos-cn', 'cn_train_57.jpg')
        self.assertEqual(ocr.verify_counter(data, 465, digits=5).result,
            'match')
        # With a decimal wheel after four integer ones, 00465 is 46.5
        self.assertEqual(
            ocr.verify_counter(data, 46, digits=4, decimals=1).result,
            'match')
        for wrong in [464, 466, 4650, 46]:
            self.assertNotEqual(
                ocr.verify_counter(data, wrong, digits=5).result, 'match')

    def test_not_an_image(self):
        "Test a file that is no image is a clear error"
        from trytond.modules.meter_base import photo
        with self.assertRaises(photo.PhotoError) as cm:
            ocr.verify_counter(b"no photo here", 442)
        self.assertEqual(cm.exception.code, 'not_image')
        with self.assertRaises(ValueError):
            ocr.verify_counter(set_photo('meter-photos-cn', 'cn_train_1.jpg'),
                None)

    def test_no_counter(self):
        "Test a photo without a counter is unreadable"
        data = set_photo('meter-photos-cn', 'cn_train_1.jpg')
        verdict = ocr.verify_counter(data, 141, region=(0, 0, 0.05, 0.05))
        self.assertEqual(verdict.result, 'unreadable')


@unittest.skipUnless(os.path.isdir(os.path.join(testdata(), 'meter-photos-cn')),
    "no shared meter photos")
def misreading(shift, wheels):
    """Return a digits.probabilities that reads the last wheel of a window
    of at least wheels crops shift digits up"""
    import numpy as np

    from trytond.modules.meter_base.ocr import digits
    probabilities = digits.probabilities

    def misread(crops):
        result = probabilities(crops).copy()
        if len(crops) >= wheels:
            last = result[-1]
            for start in [0, digits.ROLL]:
                last[start:start + 10] = np.roll(
                    last[start:start + 10], shift)
        return result
    return misread


class OcrGuardTestCase(unittest.TestCase):
    """Test a reader confidently wrong on the last wheel makes no match

    Each case makes one reader wrong as the photo sets showed them wrong
    (the recogniser's line or the digit classifier reading another digit
    with confidence) on a real photo, and checks that the other reader,
    left as it is, keeps the wrong value from a 'match'; with the guard
    switched off the same case is a false match.
    """

    def assertGuarded(self, data, wrong):
        "Assert wrong is no match, but is one without the guard"
        from unittest import mock
        self.assertNotEqual(
            ocr.verify_counter(data, wrong).result, 'match')
        with mock.patch.object(ocr, '_contradicts', return_value=False):
            self.assertEqual(
                ocr.verify_counter(data, wrong).result, 'match')

    def test_line_read_wrong(self):
        "Test the classifier keeps a line read wrong from a match"
        from unittest import mock

        from trytond.modules.meter_base.ocr import counter
        data = set_photo('meter-photos-cn', 'cn_train_1.jpg')
        read = ocr._counter(ocr.engine(), ocr._load(data, None))
        self.assertEqual(read.digits, '00141')
        self.assertGreaterEqual(read.confidence, ocr.VERIFY_CONFIDENCE)
        read_line = counter.read_line

        def misread(eng, crop):
            "Read the counter's last wheel 5 digits off, as confidently"
            characters = read_line(eng, crop)
            digits = [i for i, (c, _, _) in enumerate(characters)
                if c.isdigit()]
            text = ''.join(characters[i][0] for i in digits)
            if text.endswith('0141'):
                c, p, x = characters[digits[-1]]
                characters[digits[-1]] = (str((int(c) + 5) % 10), p, x)
            return characters

        with mock.patch.object(counter, 'read_line', misread):
            self.assertGuarded(data, 146)
        # Without the misreading, the right value only
        self.assertEqual(ocr.verify_counter(data, 141).result, 'match')

    def test_wheels_read_wrong(self):
        "Test the line keeps the classifier's wrong wheel from a match"
        from unittest import mock

        from trytond.modules.meter_base.ocr import digits
        data = set_photo('meter-photos-cn', 'cn_train_20.jpg')
        read = ocr._counter(ocr.engine(), ocr._load(data, None))
        # The line is read without confidence (its first wheel), its last
        # digit with it: the wheels are checked by the classifier
        self.assertLess(read.confidence, ocr.VERIFY_CONFIDENCE)
        self.assertEqual(read.digits[-1], '7')
        self.assertGreaterEqual(read.probabilities[-1], ocr.LINE_CONTRADICT)
        # The last wheel given 5 digits off
        with mock.patch.object(digits, 'probabilities', misreading(5, 4)):
            self.assertGuarded(data, 22)
        self.assertEqual(ocr.verify_counter(data, 27).result, 'match')

    def test_wheel_sure_line_unsure(self):
        """Test a wrong last wheel the classifier is sure of on one cut and
        the line unsure of makes no match"""
        from unittest import mock

        from trytond.modules.meter_base.ocr import counter, digits
        data = set_photo('meter-photos-cn', 'cn_train_20.jpg')
        read_line = counter.read_line

        def unsure(eng, crop):
            "Read the counter's last digit, 7, with little probability"
            characters = read_line(eng, crop)
            numbers = [i for i, (c, _, _) in enumerate(characters)
                if c.isdigit()]
            if numbers and characters[numbers[-1]][0] == '7':
                c, _, x = characters[numbers[-1]]
                characters[numbers[-1]] = (c, 0.29, x)
            return characters

        # The last wheel of the window read one digit up
        with mock.patch.object(counter, 'read_line', unsure), \
                mock.patch.object(digits, 'probabilities', misreading(1, 5)):
            read = ocr._counter(ocr.engine(), ocr._load(data, None))
            self.assertEqual(read.digits, '00027')
            self.assertLess(read.probabilities[-1], ocr.LINE_CONTRADICT)
            self.assertNotEqual(ocr.verify_counter(data, 28).result, 'match')
            with mock.patch.object(ocr, '_wheel_unsteady',
                    return_value=False):
                self.assertEqual(
                    ocr.verify_counter(data, 28).result, 'match')
        self.assertEqual(ocr.verify_counter(data, 27).result, 'match')

    def test_turned_tight_rolling_wheel(self):
        """Test a rolling last wheel cut tight on a photo turned upside
        down, which the classifier reads as another digit, makes no
        match where the template reader sees it rolling from its digit"""
        from unittest import mock

        # cn_train_45 shows 00742 rolling to 3; turned, its window is cut
        # tight, the line reads the last digit 6 unsure and the classifier
        # is sure of 7 on the 2 whose 3 is cut off
        # (as the detector boxes it upside down: turned upright first, it
        # reads 00742, see test_upside_down_detected_upright)
        data = turned_photo('meter-photos-cn', 'cn_train_45.jpg')
        with mock.patch.object(ocr._Views, '_upright',
                lambda self, img, boxes: boxes):
            self.assertNotEqual(
                ocr.verify_counter(data, 747).result, 'match')
            with mock.patch.object(ocr, '_other_last_digits',
                    lambda gray, cells, counter, expected: {
                        int(counter.digits[-1])} - {int(expected[-1])}):
                self.assertEqual(
                    ocr.verify_counter(data, 747).result, 'match')
        verdict = ocr.verify_counter(data, 742)
        self.assertEqual((verdict.result, verdict.digits), ('match', '00742'))

    def test_rolling_agrees(self):
        "Test readers one digit apart agree only on the lower digit"
        self.assertFalse(ocr._contradicts(5, 5))
        self.assertFalse(ocr._contradicts(5, 6))
        self.assertFalse(ocr._contradicts(9, 0))
        self.assertTrue(ocr._contradicts(6, 5))
        self.assertTrue(ocr._contradicts(6, 1))


@unittest.skipUnless(os.path.isdir(os.path.join(testdata(), 'meter-photos-cn')),
    "no shared meter photos")
class OcrDigitClassifierTestCase(unittest.TestCase):
    "Test the wheel digit classifier and the check wheel by wheel"

    def window_wheels(self, name):
        "Return the five wheel crops of a cn photo's labelled window"
        import cv2
        import numpy as np

        from trytond.modules.meter_base.ocr import counter
        folder = os.path.join(testdata(), 'meter-photos-cn')
        with open(os.path.join(folder, 'manifest.csv'), newline='') as f:
            row = next(r for r in csv.DictReader(f) if r['file'] == name)
        img = cv2.imread(os.path.join(folder, name))
        quad = np.float32(row['window_quad'].split()).reshape(4, 2)
        gray = cv2.cvtColor(counter.warp(img, quad, 0.1), cv2.COLOR_BGR2GRAY)
        pitch = gray.shape[1] / 5
        return row, [gray[:, int(i * pitch):int((i + 1) * pitch)]
            for i in range(5)]

    def test_still_wheels(self):
        "Test the classifier reads the still wheels of a window"
        from trytond.modules.meter_base.ocr import digits
        row, crops = self.window_wheels('cn_train_57.jpg')
        probabilities = digits.probabilities(crops)
        self.assertEqual(probabilities.shape, (5, digits.CLASSES))
        read = ''.join(str(int(p.argmax()))
            for p in digits.lower_digit(probabilities))
        self.assertEqual(read, row['window_digits'])

    def test_rolling_wheel(self):
        "Test a wheel between two digits counts the lower one"
        from trytond.modules.meter_base.ocr import digits
        row, crops = self.window_wheels('cn_train_8.jpg')
        self.assertEqual((row['window_digits'], row['rolling_to']),
            ('00720', '00721'))
        probabilities = digits.probabilities(crops[-1:])[0]
        self.assertEqual(int(digits.lower_digit(probabilities).argmax()), 0)
        self.assertNotEqual(int(probabilities[:10].argmax()), 1)

    def test_unsure_line_verified_by_wheels(self):
        "Test a line read without confidence is verified wheel by wheel"
        data = set_photo('meter-photos-cn', 'cn_train_35.jpg')
        eng = ocr.engine()
        counter = ocr._counter(eng, ocr._load(data, None))
        # The recogniser reads the first wheel, beside the arrow, as an 8
        self.assertLess(counter.confidence, ocr.VERIFY_CONFIDENCE)
        verdict = ocr.verify_counter(data, 7)
        self.assertEqual(verdict.result, 'match', msg=verdict)
        self.assertEqual(verdict.digits, '00007')
        for wrong in wrong_values(7) + [80007, 8007]:
            with self.subTest(wrong=wrong):
                self.assertNotEqual(
                    ocr.verify_counter(data, wrong).result, 'match')
        self.assertEqual(ocr.read_counter(data).digits, '00007')


class OcrCounterLineTestCase(unittest.TestCase):
    "Test which recognised lines are taken for a counter"

    def test_parse(self):
        from trytond.modules.meter_base.ocr import counter
        self.assertEqual(counter.parse('v00141m'), ('00141', ''))
        self.assertEqual(counter.parse('00:2:531'), ('002531', ''))
        self.assertEqual(counter.parse('0092.469'), ('0092', '469'))
        for text in ['Z160604185', '2019-08-16', '14:50:00', 'Q=2.5m3/h',
                'X0.0001', 'MC渝制00000668号', '2019', '0001', '123456789']:
            with self.subTest(text=text):
                self.assertIsNone(counter.parse(text))

    def wheels(self, text, red):
        "Return a line of wheels, the last red ones white on red"
        import cv2
        import numpy as np
        pitch, height = 40, 60
        line = np.full((height, pitch * len(text), 3), 255, dtype=np.uint8)
        characters = []
        for index, digit in enumerate(text):
            left = index * pitch
            colour = (0, 0, 0)
            if index >= len(text) - red:
                line[:, left + 2:left + pitch - 2] = (30, 30, 210)
                colour = (255, 255, 255)
            cv2.putText(line, digit, (left + 8, 45),
                cv2.FONT_HERSHEY_SIMPLEX, 1.4, colour, 3)
            characters.append((digit, 0.99, left + pitch / 2))
        return line, characters

    def test_red_decimal_wheels(self):
        "Test trailing red wheels are decimals, black ones the integer"
        from trytond.modules.meter_base.ocr import counter
        line, characters = self.wheels('011890', red=2)
        read = counter._read_counter(line, line, characters, '011890', '')
        self.assertEqual((read.digits, read.decimals), ('0118', '90'))
        line, characters = self.wheels('011890', red=0)
        read = counter._read_counter(line, line, characters, '011890', '')
        self.assertEqual((read.digits, read.decimals), ('011890', ''))

    def point_line(self, text, dots=(), bars=()):
        """Return a line of dark digits on a light panel, a dot on the
        baseline before each index of dots and a bar the height of the
        line before each index of bars, and its characters"""
        import cv2
        import numpy as np
        pitch, height = 40, 60
        line = np.full((height, pitch * len(text), 3), 200, dtype=np.uint8)
        characters = []
        for index, digit in enumerate(text):
            left = index * pitch
            cv2.putText(line, digit, (left + 8, 50),
                cv2.FONT_HERSHEY_SIMPLEX, 1.4, (40, 40, 40), 3)
            characters.append((digit, 0.99, left + pitch / 2))
        for index in dots:
            left = index * pitch
            line[44:52, left - 4:left + 4] = 40
        for index in bars:
            left = index * pitch
            line[2:58, left - 2:left + 2] = 40
        return line, characters

    def test_lcd_point(self):
        "Test an LCD's decimal point the recogniser did not read"
        from trytond.modules.meter_base.ocr import counter
        line, characters = self.point_line('0093270', dots=[4])
        self.assertEqual(counter._lcd_point(line, characters, '0093270'),
            (('0093', '270'), '0093.270'))
        for dots, bars in [((), ()), ((), (4,)), ((4, 5), ()), ((2,), ())]:
            # No dot, a separator of wheels, two dots, a dot with fewer
            # than 3 digits before it
            with self.subTest(dots=dots, bars=bars):
                line, characters = self.point_line('0093270', dots, bars)
                self.assertIsNone(
                    counter._lcd_point(line, characters, '0093270'))

    def test_zero_read_as_o(self):
        "Test a single o read between digits is a 0, not a word's o"
        from trytond.modules.meter_base.ocr import counter

        def text(read):
            characters = [(c, 0.9, 10 * i) for i, c in enumerate(read)]
            return ''.join(
                c for c, _, _ in counter._zero_read_as_o(characters))
        self.assertEqual(text('600o0'), '60000')
        self.assertEqual(text('6O000'), '60000')
        for read in ['6oo00', 'o6000', '6000o', 'No1234', '60o00o']:
            with self.subTest(read=read):
                self.assertEqual(text(read), read)

    def test_crowded_one(self):
        "Test a 1 read on a wheel's edge between two wheels is dropped"
        from trytond.modules.meter_base.ocr import counter
        characters = [(c, 0.9, x) for c, x in [('0', 29), ('0', 100),
                    (':', 123), ('2', 159), ('5', 218), ('3', 277),
                    ('1', 300)]]
        kept = counter._drop_crowded(characters)
        self.assertEqual(''.join(c for c, _, _ in kept), '00:253')


@unittest.skipUnless(
    os.path.isdir(os.path.join(testdata(), 'meter-photos-more')),
    "no shared meter photos")
class OcrDisplayTestCase(unittest.TestCase):
    "Test reading the LCD register of an electronic meter"

    def test_lcd_register(self):
        "Test an LCD no counter line is read on is read and verified"
        # A Landis+Gyr meter's grey-on-grey LCD shows 018364 kWh
        data = set_photo('meter-photos-more', 'ephec_04.jpg')
        eng = ocr.engine()
        img = ocr._load(data, None)
        # Brought down to WORK_SIDE, a line of its print reads as digits,
        # without confidence
        counter = ocr._counter(eng, img)
        self.assertTrue(counter is None
            or counter.confidence < ocr.VERIFY_CONFIDENCE, counter)
        display = ocr.lcd.read(eng, img)
        self.assertEqual((display.digits, display.decimals), ('018364', ''))
        self.assertGreaterEqual(display.confidence, ocr.VERIFY_CONFIDENCE)
        verdict = ocr.verify_counter(data, Decimal('18364.2'))
        self.assertEqual(verdict.result, 'match', msg=verdict)
        self.assertEqual(verdict.digits, '018364')
        for wrong in wrong_values(18364) + [1836, 18]:
            with self.subTest(wrong=wrong):
                self.assertEqual(
                    ocr.verify_counter(data, wrong).result, 'mismatch')
        self.assertEqual(ocr.read_counter(data).digits, '018364')

    def test_wheels_no_display(self):
        "Test a wheel window, a wheel caught between two digits, is no LCD"
        # An earlier version read these windows as a display of four
        # digits, the rolling last wheel left out
        eng = ocr.engine()
        for name in ['cn_train_6.jpg', 'cn_train_13.jpg']:
            with self.subTest(name=name):
                img = ocr._load(set_photo('meter-photos-cn', name), None)
                self.assertIsNone(ocr.lcd.read(eng, img))


class OcrDisplayDrawnTestCase(unittest.TestCase):
    "Test reading 7-segment registers drawn on a display panel"

    # Segments (a: top, b: top right, c: bottom right, d: bottom, e:
    # bottom left, f: top left, g: middle) of each digit
    segments = {'0': 'abcdef', '1': 'bc', '2': 'abdeg', '3': 'abcdg',
        '4': 'bcfg', '5': 'acdfg', '6': 'acdefg', '7': 'abc', '8': 'abcdefg',
        '9': 'abcdfg'}

    def display(self, text, point=None, light=False, shift=None, slant=0.):
        """Return a photo of a meter's display showing text

        point is the index of the digit followed by the decimal point,
        light draws light segments on a dark panel, shift moves digits
        down by pixels (a wheel caught between two digits), slant leans
        the digits.
        """
        import cv2
        import numpy as np
        img = np.full((600, 800, 3), (70, 80, 75), dtype=np.uint8)
        if light:
            ground, ink = (40, 40, 40), (80, 230, 120)
        else:
            ground, ink = (175, 200, 190), (40, 45, 40)
        cv2.rectangle(img, (150, 220), (650, 380), (230, 230, 230), -1)
        cv2.rectangle(img, (165, 235), (635, 365), ground, -1)
        width, height, stroke, gap = 44, 80, 9, 2
        left = 400 - len(text) * 30
        for index, digit in enumerate(text):
            x = left + index * 60
            y = 260 + (shift or {}).get(index, 0)
            middle = y + height // 2
            boxes = {
                'a': (x + gap, y, x + width - gap, y + stroke),
                'd': (x + gap, y + height - stroke, x + width - gap,
                    y + height),
                'g': (x + gap, middle - stroke // 2, x + width - gap,
                    middle + stroke - stroke // 2),
                'f': (x, y + gap, x + stroke, middle - gap),
                'b': (x + width - stroke, y + gap, x + width, middle - gap),
                'e': (x, middle + gap, x + stroke, y + height - gap),
                'c': (x + width - stroke, middle + gap, x + width,
                    y + height - gap),
                }
            for segment in self.segments[digit]:
                x0, y0, x1, y1 = boxes[segment]
                cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), ink, -1)
            if index == point:
                cv2.rectangle(img, (x + width + 4, y + height - stroke),
                    (x + width + 4 + stroke, y + height), ink, -1)
        if slant:
            matrix = np.float32([[1, -slant, slant * 300], [0, 1, 0]])
            img = cv2.warpAffine(img, matrix, (800, 600),
                borderMode=cv2.BORDER_REPLICATE)
        return img

    def assertDisplays(self, img, digits, decimals=''):
        from trytond.modules.meter_base.ocr import lcd
        display = lcd.read(ocr.engine(), img)
        self.assertIsNotNone(display)
        self.assertEqual((display.digits, display.decimals),
            (digits, decimals))
        self.assertGreaterEqual(display.confidence, ocr.VERIFY_CONFIDENCE)

    def test_dark_segments(self):
        "Test dark segments on a light panel, 7-segment 1s included"
        self.assertDisplays(self.display('0123456'), '0123456')
        self.assertDisplays(self.display('7777185'), '7777185')

    def test_light_segments(self):
        "Test light segments on a dark panel"
        self.assertDisplays(self.display('41890', light=True), '41890')

    def test_decimal_point(self):
        "Test the digits after the decimal point are decimals"
        self.assertDisplays(self.display('0092469', point=3), '0092', '469')

    def test_slanted(self):
        "Test leaning digits"
        self.assertDisplays(self.display('31415', slant=0.2), '31415')

    def test_upside_down_and_sideways(self):
        "Test a display photographed upside down or sideways"
        import cv2
        img = self.display('0092469', point=3)
        for turn in [cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE,
                cv2.ROTATE_90_COUNTERCLOCKWISE]:
            with self.subTest(turn=turn):
                self.assertDisplays(cv2.rotate(img, turn), '0092', '469')

    def test_either_way_up(self):
        "Test a register that reads as another one upside down is not read"
        import cv2

        from trytond.modules.meter_base.ocr import lcd
        # 00692 upside down is 26900: either could be the register
        for img in [self.display('00692'),
                cv2.rotate(self.display('00692'), cv2.ROTATE_180)]:
            self.assertIsNone(lcd.read(ocr.engine(), img))
        # A decimal point, or a 1 at the right of its cell, tells the way up
        for text, point, read in [('00692', 2, ('006', '92')),
                ('01692', None, ('01692', ''))]:
            img = self.display(text, point=point)
            with self.subTest(text=text):
                self.assertDisplays(img, *read)
                self.assertDisplays(cv2.rotate(img, cv2.ROTATE_180), *read)

    def test_digit_out_of_line(self):
        "Test a row with a digit out of line is no display"
        from trytond.modules.meter_base.ocr import lcd
        img = self.display('0092469', shift={6: 25})
        self.assertIsNone(lcd.read(ocr.engine(), img))

    def test_glare_on_point(self):
        "Test a glare where a decimal point may be is no reading"
        import cv2

        from trytond.modules.meter_base.ocr import lcd
        img = self.display('0092469')
        self.assertDisplays(img, '0092469')
        # The meter's LED shining on the baseline after the fourth digit
        cv2.circle(img, (400 - 7 * 30 + 3 * 60 + 51, 335), 6,
            (255, 255, 255), -1)
        self.assertIsNone(lcd.read(ocr.engine(), img))

    def test_no_panel(self):
        "Test a photo without a display's shape has no panel"
        import numpy as np

        from trytond.modules.meter_base.ocr import lcd
        self.assertEqual(list(lcd.panels(
                    np.full((480, 640, 3), 128, dtype=np.uint8))), [])
        self.assertIsNone(lcd.read(ocr.engine(),
                np.full((480, 640, 3), 128, dtype=np.uint8)))
