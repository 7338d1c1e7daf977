# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import csv
import datetime as dt
import io
import os
import unittest

from PIL import Image

from trytond.modules.meter_base import photo
from trytond.modules.meter_base.photo import PhotoError

from .tools import testdata

PHOTOS = os.path.join(testdata(), 'meter-photos')


def photo_rows():
    "Return the rows of readings-detail.csv of the shared photos"
    with open(os.path.join(PHOTOS, 'readings-detail.csv'), newline='') as f:
        return list(csv.DictReader(f))


def read_photo(name):
    with open(os.path.join(PHOTOS, name), 'rb') as f:
        return f.read()


def make_image(size=(640, 480), format='JPEG', **params):
    image = Image.new('RGB', size, (200, 210, 220))
    for x in range(0, size[0], 40):
        image.paste((20, 20, 20), (x, 0, x + 10, size[1]))
    output = io.BytesIO()
    image.save(output, format, **params)
    return output.getvalue()


def reencode(data, scale=0.9, quality=70):
    image = photo.open_image(data, truncated=True).convert('RGB')
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=quality)
    return output.getvalue()


class PhotoValidateTestCase(unittest.TestCase):
    "Test the intake checks on generated files"

    def assertPhotoError(self, code, data, **kwargs):
        with self.assertRaises(PhotoError) as cm:
            photo.validate(data, **kwargs)
        self.assertEqual(cm.exception.code, code)
        self.assertTrue(cm.exception.message)

    def test_jpeg_and_png_accepted(self):
        "Test whole JPEG and PNG are accepted"
        self.assertEqual(photo.validate(make_image()), ('JPEG', 640, 480))
        self.assertEqual(
            photo.validate(make_image(format='PNG')), ('PNG', 640, 480))

    def test_not_image(self):
        "Test a text file is not an image"
        self.assertPhotoError('not_image', b"reading: 442.2072\n" * 100)
        self.assertPhotoError('not_image', b'')
        self.assertPhotoError('not_image', "not bytes")

    def test_truncated_jpeg(self):
        "Test a JPEG cut short is refused although it opens"
        data = make_image(quality=95)
        self.assertPhotoError('not_image', data[:len(data) * 2 // 3])

    def test_truncated_png(self):
        "Test a PNG cut short is refused"
        data = make_image(format='PNG')
        self.assertPhotoError('not_image', data[:len(data) // 2])

    def test_too_large(self):
        "Test a file over the size limit is refused before decoding"
        data = make_image()
        self.assertPhotoError('too_large', data, max_size=len(data) - 1)
        self.assertPhotoError(
            'too_large', b'\xff\xd8\xff' + bytes(photo.MAX_SIZE))

    def test_too_small(self):
        "Test a tiny image is refused"
        self.assertPhotoError('too_small', make_image((32, 24)))
        self.assertPhotoError('too_small', make_image(format='PNG'),
            min_width=1024, min_height=768)

    def test_portrait_accepted(self):
        "Test the minimum size does not depend on how the phone was held"
        self.assertEqual(
            photo.validate(make_image((480, 640))), ('JPEG', 480, 640))

    def test_other_format(self):
        "Test a real image of another format is refused"
        self.assertPhotoError('format', make_image(format='BMP'))
        self.assertPhotoError('format', make_image(format='GIF'))


class PhotoExifTestCase(unittest.TestCase):
    "Test the EXIF time and place"

    def exif_jpeg(self):
        image = Image.new('RGB', (400, 300), 'white')
        exif = Image.Exif()
        exif[0x0132] = '2025:01:01 00:00:00'
        exif.get_ifd(0x8769)[0x9003] = '2025:03:14 22:26:12'
        gps = exif.get_ifd(0x8825)
        gps[1] = 'N'
        gps[2] = (31.0, 1.0, 30.0)
        gps[3] = 'E'
        gps[4] = (121.0, 26.0, 24.0)
        output = io.BytesIO()
        image.save(output, 'JPEG', exif=exif)
        return output.getvalue()

    def test_exif_time(self):
        "Test DateTimeOriginal is read as a naive datetime"
        self.assertEqual(photo.exif_time(self.exif_jpeg()),
            dt.datetime(2025, 3, 14, 22, 26, 12))

    def test_exif_gps(self):
        "Test the GPS position is read as signed decimal degrees"
        latitude, longitude = photo.exif_gps(self.exif_jpeg())
        self.assertAlmostEqual(latitude, 31.025, places=6)
        self.assertAlmostEqual(longitude, 121.44, places=6)

    def test_exif_gps_south_west(self):
        "Test southern and western references give negative degrees"
        image = Image.new('RGB', (400, 300), 'white')
        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps.update({1: 'S', 2: (33.0, 52.0, 4.0), 3: 'W', 4: (70.0, 0.0, 0.0)})
        output = io.BytesIO()
        image.save(output, 'JPEG', exif=exif)
        latitude, longitude = photo.exif_gps(output.getvalue())
        self.assertAlmostEqual(latitude, -(33 + 52 / 60 + 4 / 3600))
        self.assertAlmostEqual(longitude, -70.)

    def test_no_exif(self):
        "Test a photo without EXIF has no time nor place"
        data = make_image(format='PNG')
        self.assertIsNone(photo.exif_time(data))
        self.assertIsNone(photo.exif_gps(data))
        self.assertIsNone(photo.exif_time(b'not an image'))
        self.assertIsNone(photo.exif_gps(b'not an image'))

    def test_distance(self):
        "Test the haversine distance"
        self.assertEqual(photo.distance_m(31.2, 121.4, 31.2, 121.4), 0)
        self.assertAlmostEqual(
            photo.distance_m(0, 0, 1, 0), 111195, delta=1)
        # Paris - London
        self.assertAlmostEqual(
            photo.distance_m(48.8566, 2.3522, 51.5074, -0.1278) / 1000,
            343.6, delta=0.5)


class PhotoThumbnailTestCase(unittest.TestCase):
    "Test the thumbnail"

    def test_thumbnail_oriented(self):
        "Test the thumbnail is a JPEG turned upright per EXIF"
        image = Image.new('RGBA', (400, 200), (255, 0, 0, 128))
        exif = Image.Exif()
        exif[0x0112] = 6
        output = io.BytesIO()
        image.save(output, 'PNG', exif=exif)
        thumbnail = Image.open(io.BytesIO(photo.thumbnail(output.getvalue())))
        self.assertEqual(thumbnail.format, 'JPEG')
        self.assertEqual(thumbnail.size, (128, 256))

    def test_thumbnail_size(self):
        "Test the thumbnail fits the requested size"
        thumbnail = Image.open(io.BytesIO(
                photo.thumbnail(make_image((1000, 500)), size=100)))
        self.assertEqual(thumbnail.size, (100, 50))


@unittest.skipUnless(os.path.isdir(PHOTOS), "no shared meter photos")
class PhotoSharedTestCase(unittest.TestCase):
    "Test the checks and hashes on the shared meter photos"

    @classmethod
    def setUpClass(cls):
        cls.rows = photo_rows()

    def first(self, **criteria):
        return next(r['file'] for r in self.rows
            if all(r[k] == v for k, v in criteria.items()))

    def test_whole_photo_accepted(self):
        "Test a whole camera frame is accepted"
        data = read_photo(self.first(jpeg_truncated='no'))
        self.assertEqual(photo.validate(data).format, 'JPEG')

    def test_truncated_photo_refused(self):
        "Test a frame the camera cut short is refused"
        data = read_photo(self.first(jpeg_truncated='yes'))
        with self.assertRaises(PhotoError) as cm:
            photo.validate(data)
        self.assertEqual(cm.exception.code, 'not_image')

    def test_truncated_photo_thumbnail(self):
        "Test a frame cut short still gets a thumbnail"
        data = read_photo(self.first(jpeg_truncated='yes'))
        thumbnail = Image.open(io.BytesIO(photo.thumbnail(data)))
        self.assertEqual(max(thumbnail.size), 256)

    def test_reused_photo(self):
        "Test the same photo, even re-encoded and resized, hashes close"
        data = read_photo(self.first(jpeg_truncated='no'))
        digest = photo.phash(data)
        self.assertEqual(photo.hash_distance(digest, photo.phash(data)), 0)
        self.assertLessEqual(
            photo.hash_distance(digest, photo.phash(reencode(data))), 4)
        self.assertLessEqual(photo.hash_distance(
                digest, photo.phash(reencode(data, 1.25, 85))), 4)

    def test_different_meters(self):
        "Test photos of two different meters hash far apart"
        meters = {}
        for row in self.rows:
            meters.setdefault(row['meter'], row['file'])
        self.assertGreaterEqual(len(meters), 2)
        first, second = list(meters.values())[:2]
        distance = photo.hash_distance(
            photo.phash(read_photo(first)), photo.phash(read_photo(second)))
        self.assertGreaterEqual(distance, 10)
