"""Tests of the residents' session cookie and of the photo checks,
without database."""
import io
import unittest

from PIL import Image

from trytond.modules.meter_wechat import session as sessions
from trytond.modules.meter_wechat.photo import PhotoError, check_photo

SECRET = 'b5c0e8f5d2a74e6c9b1f'


def image(kind, size=(16, 16)):
    data = io.BytesIO()
    Image.new('RGB', size).save(data, kind)
    return data.getvalue()


class SessionTestCase(unittest.TestCase):

    def test_round_trip(self):
        session, cookie = sessions.encode(SECRET, 42, now=1000)
        decoded = sessions.decode(SECRET, cookie, now=2000)
        self.assertEqual(
            (decoded.user, decoded.nonce), (42, session.nonce))

    def test_refused(self):
        _, cookie = sessions.encode(SECRET, 42, max_age=60, now=1000)
        payload, signature = cookie.split('.')
        for value in [None, '', 'x', cookie + '.x', payload + '.' + 'A' * 43,
                '€.€']:
            with self.subTest(value=value):
                with self.assertRaises(sessions.SessionError):
                    sessions.decode(SECRET, value, now=1000)
        with self.assertRaises(sessions.SessionError):
            sessions.decode('other secret', cookie, now=1000)
        with self.assertRaises(sessions.SessionError):
            sessions.decode(SECRET, cookie, now=1061)

    def test_csrf_bound_to_session(self):
        first, _ = sessions.encode(SECRET, 42)
        second, _ = sessions.encode(SECRET, 42)
        token = first.csrf_token(SECRET)
        self.assertTrue(first.check_csrf(SECRET, token))
        self.assertFalse(second.check_csrf(SECRET, token))
        self.assertFalse(first.check_csrf(SECRET, None))
        self.assertFalse(first.check_csrf('other', token))


class PhotoTestCase(unittest.TestCase):

    def test_accepted(self):
        self.assertEqual(check_photo(image('JPEG')), 'image/jpeg')
        self.assertEqual(check_photo(image('PNG')), 'image/png')

    def test_refused(self):
        png = image('PNG')
        for data in [b'', None, b'GIF89a', image('GIF'), image('BMP'),
                png[:40]]:
            with self.subTest(data=data[:8] if data else data):
                with self.assertRaises(PhotoError):
                    check_photo(data)
        with self.assertRaises(PhotoError):
            check_photo(png, max_size=len(png) - 1)
