# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Intake checks and evidence helpers for meter reading photos.

Photos come from phones and from field cameras; they are evidence for a
reading, so only real, whole JPEG or PNG images are accepted, and what the
camera recorded (time, place) is read from the EXIF data.  The perceptual
hash lets the server notice the same photo being submitted for several
readings, even re-encoded or resized.
"""
import datetime as dt
import io
import math
import warnings
from collections import namedtuple

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

__all__ = ['PhotoError', 'PhotoInfo', 'validate', 'open_image', 'exif_time',
    'exif_gps', 'distance_m', 'thumbnail', 'phash', 'hash_distance']

FORMATS = {'JPEG', 'PNG'}
MAX_SIZE = 10 * 1024 * 1024
MIN_WIDTH, MIN_HEIGHT = 320, 240
# Mean Earth radius (IUGG), in metres
EARTH_RADIUS = 6371008.8
JPEG_EOI = b'\xff\xd9'


class PhotoError(ValueError):
    "A photo is refused; code is stable, message is for people"

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return '%s: %s' % (self.code, self.message)


# The format and the EXIF-oriented size of an accepted photo
PhotoInfo = namedtuple('PhotoInfo', ['format', 'width', 'height'])


def validate(data, max_size=MAX_SIZE, min_width=MIN_WIDTH,
        min_height=MIN_HEIGHT):
    """Check that data is a whole JPEG or PNG photo and return its PhotoInfo

    The minimum size is checked on the EXIF-oriented image, whichever way
    the camera was held: the long side against the larger minimum and the
    short side against the smaller one.
    Raise PhotoError with code 'not_image', 'too_large', 'too_small' or
    'format'.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PhotoError('not_image', "The photo is not binary data.")
    data = bytes(data)
    if len(data) > max_size:
        raise PhotoError('too_large', "The photo is %d bytes, over %d."
            % (len(data), max_size))
    image = _decode(data)
    width, height = ImageOps.exif_transpose(image).size
    long_side, short_side = max(width, height), min(width, height)
    if (long_side < max(min_width, min_height)
            or short_side < min(min_width, min_height)):
        raise PhotoError('too_small', "The photo is %dx%d pixels, under "
            "%dx%d." % (width, height, min_width, min_height))
    return PhotoInfo(image.format, width, height)


def _decode(data):
    "Return the image after verifying the file and decoding all of it"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', Image.DecompressionBombWarning)
            image = _open(data)
            format = image.format
            if format not in FORMATS:
                raise PhotoError('format', "The photo is %s, not JPEG or "
                    "PNG." % (format or "of an unknown format"))
            image.verify()
            # verify() does not decode the pixels: a truncated JPEG passes it.
            image = _open(data)
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError('too_large', "The photo has too many pixels.")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            EOFError) as exception:
        raise PhotoError('not_image', "The file is not a whole image (%s)."
            % exception)
    return image


def _open(data):
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise PhotoError('not_image', "The file is not an image.")


def open_image(data, truncated=False):
    """Return the decoded, EXIF-oriented image

    With truncated, a JPEG cut short (as field cameras send them) is
    decoded as far as it goes, the rest grey.  This is done by ending the
    stream with an EOI marker, not by setting the process-wide
    ImageFile.LOAD_TRUNCATED_IMAGES, so other code keeps Pillow's checks.
    """
    image = Image.open(io.BytesIO(data))
    try:
        image.load()
    except OSError:
        if not truncated or image.format != 'JPEG':
            raise
        image = Image.open(io.BytesIO(data + JPEG_EOI))
        image.load()
    return ImageOps.exif_transpose(image)


def _exif(data):
    try:
        return Image.open(io.BytesIO(data)).getexif()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def exif_time(data):
    "Return the DateTimeOriginal of the photo as a naive datetime or None"
    exif = _exif(data)
    if exif is None:
        return None
    value = exif.get_ifd(ExifTags.IFD.Exif).get(
        ExifTags.Base.DateTimeOriginal)
    if isinstance(value, bytes):
        value = value.decode('ascii', 'replace')
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value.strip('\x00 ')[:19],
            '%Y:%m:%d %H:%M:%S')
    except ValueError:
        return None


def exif_gps(data):
    "Return the (latitude, longitude) of the photo in degrees or None"
    exif = _exif(data)
    if exif is None:
        return None
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude],
            gps.get(ExifTags.GPS.GPSLatitudeRef, 'N'), 'S')
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude],
            gps.get(ExifTags.GPS.GPSLongitudeRef, 'E'), 'W')
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def _degrees(value, reference, negative):
    "Convert EXIF degrees, minutes, seconds to signed decimal degrees"
    degrees, minutes, seconds = (float(v) for v in value)
    if any(math.isnan(v) for v in (degrees, minutes, seconds)):
        raise ValueError
    if isinstance(reference, bytes):
        reference = reference.decode('ascii', 'replace')
    sign = -1 if str(reference).strip('\x00 ').upper() == negative else 1
    return sign * (degrees + minutes / 60 + seconds / 3600)


def distance_m(lat1, lon1, lat2, lon2):
    "Return the great-circle distance in metres between two points (haversine)"
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = (math.sin(dphi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2)
    return 2 * EARTH_RADIUS * math.asin(min(1., math.sqrt(a)))


def thumbnail(data, size=256):
    "Return a JPEG of the photo, upright per EXIF, fitting in size x size"
    image = open_image(data, truncated=True)
    image = _rgb(image)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=85, optimize=True)
    return output.getvalue()


def _rgb(image):
    "Flatten transparency on white, as JPEG has no alpha"
    if image.mode in {'RGBA', 'LA', 'P', 'PA'}:
        image = image.convert('RGBA')
        background = Image.new('RGB', image.size, 'white')
        background.paste(image, mask=image.getchannel('A'))
        return background
    return image.convert('RGB')


def phash(data):
    """Return the perceptual hash of the upright photo as a hex string

    The hash survives re-encoding and resizing, so a photo submitted again
    for another reading can be found by hash_distance.  A camera fixed in
    front of one meter takes near-identical frames from day to day (0 to 2
    bits apart on the shared frames), so a small distance is a reason to
    look, not a proof of re-use.
    """
    import imagehash
    image = open_image(data, truncated=True)
    return str(imagehash.phash(image.convert('L')))


def hash_distance(a, b):
    "Return the number of differing bits between two phash hex strings"
    return bin(int(a, 16) ^ int(b, 16)).count('1')
