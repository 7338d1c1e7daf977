"""Checks of the photos residents upload (self readings, reports).

Only JPEG and PNG of a bounded size and resolution are accepted; the
image is fully decoded by Pillow so that a file which only looks like an
image is refused.
"""
import io

from PIL import Image, UnidentifiedImageError

# Photos of phones' 48 and 50 MP modes are taken, as for readings
from trytond.modules.meter_base.photo import MAX_PIXELS

__all__ = ['MAX_PHOTO_SIZE', 'PhotoError', 'check_photo']

MAX_PHOTO_SIZE = 8 * 1024 * 1024
FORMATS = {'JPEG': 'image/jpeg', 'PNG': 'image/png'}


class PhotoError(Exception):
    """A refused upload.  ``code`` says why ('missing', 'too_large',
    'format', 'resolution', 'invalid') and ``params`` its figures; the
    model layer turns them into the translated message
    ``meter_wechat.msg_photo_<code>``."""

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code = code
        self.params = params


def check_photo(data, max_size=MAX_PHOTO_SIZE):
    "Return the MIME type of the photo data or raise PhotoError"
    if not data:
        raise PhotoError('missing', "No photo.")
    if len(data) > max_size:
        raise PhotoError(
            'too_large', "The photo is over %d bytes." % max_size,
            size=max_size // (1024 * 1024))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in FORMATS:
                raise PhotoError(
                    'format', "The photo is %s, not JPEG or PNG." % kind)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError(
                    'resolution', "The photo has too many pixels.")
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError,
            Image.DecompressionBombError, SyntaxError):
        raise PhotoError('invalid', "The file is not a valid image.")
    return FORMATS[kind]
