# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Intake checks and evidence helpers for meter reading photos.

Photos come from phones and from field cameras; they are evidence for a
reading, so only real, whole JPEG or PNG images are accepted, and what the
camera recorded (time, place) is read from the EXIF data.  The perceptual
hash lets the server notice the same photo being submitted for several
readings, even re-encoded or resized.

Phones take photos of 12 to 50 MP.  Their size is read from the header
before anything is decoded, and a JPEG is decoded only at the scale its use
needs (``Image.draft`` lets the decoder skip to 1/2, 1/4 or 1/8 of it), so
that a photo costs about the same time and memory whatever its size.
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
# The largest photo taken: phones have 48 and 50 MP modes, the largest of
# which is 8192 x 6144.  A bigger image is refused from its header.
MAX_PIXELS = 8192 * 6144
# Pillow's decompression-bomb limit follows: it warns over MAX_PIXELS and
# refuses to open an image of twice as many, whoever opens it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Pixels kept of a photo for a thumbnail or a perceptual hash
THUMBNAIL_PIXELS = 512 * 512
# EXIF orientations of a photo taken sideways: width and height swap
SIDEWAYS = {5, 6, 7, 8}
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
    short side against the smaller one.  The size is read from the header
    and checked before the image is decoded; a JPEG is then decoded at an
    eighth of its scale, which reads its whole stream all the same.
    Raise PhotoError with code 'not_image', 'too_large', 'too_many_pixels',
    'too_small' or 'format'.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PhotoError('not_image', "The photo is not binary data.")
    data = bytes(data)
    if len(data) > max_size:
        raise PhotoError('too_large', "The photo is %d bytes, over %d."
            % (len(data), max_size))
    image = open_header(data)
    format = image.format
    if format not in FORMATS:
        raise PhotoError('format', "The photo is %s, not JPEG or PNG."
            % (format or "of an unknown format"))
    width, height = _oriented_size(image)
    long_side, short_side = max(width, height), min(width, height)
    if (long_side < max(min_width, min_height)
            or short_side < min(min_width, min_height)):
        raise PhotoError('too_small', "The photo is %dx%d pixels, under "
            "%dx%d." % (width, height, min_width, min_height))
    _verify(data)
    return PhotoInfo(format, width, height)


def open_header(data):
    """Return the image with only its header read, not decoded

    Raise PhotoError 'not_image' when it is no image and 'too_many_pixels'
    when it has more than MAX_PIXELS.
    """
    try:
        with warnings.catch_warnings():
            # Refused below, with the suite's own error
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise PhotoError('too_many_pixels', "The photo has too many pixels.")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            EOFError) as exception:
        raise PhotoError('not_image', "The file is not an image (%s)."
            % exception)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise PhotoError('too_many_pixels', "The photo is %dx%d pixels, "
            "over %d." % (width, height, MAX_PIXELS))
    return image


def _oriented_size(image):
    "Return the size of the image once turned upright per its EXIF"
    width, height = image.size
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except (OSError, SyntaxError, ValueError, EOFError):
        orientation = None
    if orientation in SIDEWAYS:
        return height, width
    return width, height


def _verify(data):
    "Verify the file and decode all of its stream, or raise PhotoError"
    try:
        image = open_header(data)
        image.verify()
        # verify() does not decode the pixels: a truncated JPEG passes it.
        image = open_header(data)
        _draft(image, 1)
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exception:
        raise PhotoError('not_image', "The file is not a whole image (%s)."
            % exception)


def _draft(image, pixels):
    """Let a JPEG decode at the smallest scale keeping at least pixels

    The decoder of a JPEG can scale by 1/2, 1/4 or 1/8 as it decodes, which
    costs a fraction of the time and memory of a whole decode.
    """
    if image.format != 'JPEG':
        return
    width, height = image.size
    for scale in (8, 4, 2):
        if -(-width // scale) * -(-height // scale) >= pixels:
            image.draft(None, (width // scale, height // scale))
            return


def open_image(data, truncated=False, pixels=None):
    """Return the decoded, EXIF-oriented image

    With pixels, a JPEG is decoded at the smallest scale that keeps at
    least that many pixels, when it has more (see _draft).
    With truncated, a JPEG cut short (as field cameras send them) is
    decoded as far as it goes, the rest grey.  This is done by ending the
    stream with an EOI marker, not by setting the process-wide
    ImageFile.LOAD_TRUNCATED_IMAGES, so other code keeps Pillow's checks.
    Raise PhotoError when the image has more than MAX_PIXELS, before
    decoding it.
    """
    image = open_header(data)
    if pixels:
        _draft(image, pixels)
    try:
        image.load()
    except OSError:
        if not truncated or image.format != 'JPEG':
            raise
        image = open_header(data + JPEG_EOI)
        if pixels:
            _draft(image, pixels)
        image.load()
    # In place: a copy of a 50 MP image would double the memory it takes
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _exif(data):
    try:
        return open_header(data).getexif()
    except (PhotoError, OSError, SyntaxError, ValueError):
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
    image = open_image(data, truncated=True,
        pixels=max(size * size, THUMBNAIL_PIXELS))
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
    image = open_image(data, truncated=True, pixels=THUMBNAIL_PIXELS)
    return str(imagehash.phash(image.convert('L')))


def hash_distance(a, b):
    "Return the number of differing bits between two phash hex strings"
    return bin(int(a, 16) ^ int(b, 16)).count('1')
