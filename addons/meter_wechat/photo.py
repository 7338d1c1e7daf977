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
    "A refused upload; the message is meant for the resident"


def check_photo(data, max_size=MAX_PHOTO_SIZE):
    "Return the MIME type of the photo data or raise PhotoError"
    if not data:
        raise PhotoError("请上传照片")
    if len(data) > max_size:
        raise PhotoError(
            "照片不能超过 %d MB" % (max_size // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in FORMATS:
                raise PhotoError("只能上传 JPEG 或 PNG 格式的照片")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError("照片分辨率过大")
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError,
            Image.DecompressionBombError, SyntaxError):
        raise PhotoError("文件不是有效的图片")
    return FORMATS[kind]
