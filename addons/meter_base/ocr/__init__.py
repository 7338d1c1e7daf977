# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Read the counter of a meter photo, or verify a typed value on it.

Engine: RapidOCR (``rapidocr-onnxruntime``), i.e. the PP-OCR text detector,
the 0/180 degree direction classifier and the text recogniser run by
onnxruntime on the CPU (``engine.py``).  Its three models ship inside the
wheel, so nothing is downloaded at run time, and onnxruntime's telemetry is
switched off before the first session is created: the server must make no
outbound connection.  Tesseract with Pillow preprocessing read the integer
part right on 0 to 2 of the 17 shared photos, and RapidOCR run on the whole
photo on 5: both read the year, a dial label or the upside-down wheels.

RapidOCR is used in pieces rather than as a whole-image OCR, because a dial
carries many digit strings (year, serial number, dial labels, the phone's
time watermark) and the counter is often upside down:

1. the detector finds every text box once, on the photo as it is, and
   again a quarter turned only when no counter is found (``_Views``);
2. the direction classifier votes over all boxes whether the photo is
   upside down (the dial print is the majority of the text);
3. the counter line is the tallest line that reads as 5 to 8 equally
   spaced digits, at most with an arrow before and the unit after them,
   read both ways up; red or other-polarity trailing wheels and an LCD's
   digits after its point are its decimals (``counter.py``);
4. ``verify_counter`` compares its integer with the typed value when every
   digit was read with confidence; the last wheel is checked for a roll
   against the wheel reader below, which keeps the lower digit;
5. the wheel reader (``read_counter``'s second way, when the line is not
   read with confidence): the tallest mostly-digit line of 4 to 8
   characters is cut into equally spaced wheels, each still wheel read on
   its own with the recogniser restricted to the ten digits; a wheel
   caught between two digits shows the bottom of the lower digit above
   the top of the next one, both halves are matched against digit
   templates drawn from the font bundled with Pillow and, like the meter
   itself, the lower digit is kept.

The engine is created once per process (see ``engine``) so that a reading
costs only the inference.

A reading costs about the same whatever the size of the photo: a photo of
more than WORK_PIXELS is decoded at reduced scale and scaled down to them
(the wheel window is cut from this image), the detector never runs on more
than DETECT_PIXELS, and a photo over photo.MAX_PIXELS is not decoded at
all.  A 12 MP phone photo is read in about the time of a 1 MP one.
"""
import math
from collections import namedtuple
from decimal import ROUND_FLOOR, Decimal

import cv2
import numpy as np
from PIL import Image

from .. import photo as photos
from .counter import find_counter, warp as _warp
from .engine import (
    DETECT_PIXELS, DETECT_SIDE, THREADS, _DetectResize, _read_lock, engine)

__all__ = ['OcrResult', 'Verdict', 'read_counter', 'verify_counter',
    'compare', 'engine', 'DETECT_PIXELS', 'DETECT_SIDE', 'THREADS']

OcrResult = namedtuple('OcrResult', ['digits', 'confidence'])
# result: 'match', 'mismatch' or 'unreadable'; confidence 0 to 1; digits the
# integer wheels read, or None
Verdict = namedtuple('Verdict', ['result', 'confidence', 'digits'])

MIN_WHEELS, MAX_WHEELS = 4, 8
# Fraction of the window height added above and below the detected line so
# that the halves of a rolling digit stay in the crop.
WINDOW_MARGIN = 0.2
# Height in pixels over which the window is scaled down: the wheels are
# read at about the size photos of 1 MP show them, whatever the photo.
WINDOW_HEIGHT = 128
# Pixels the photo (or its counter region) is decoded and scaled down to;
# the wheel window is cut from them.
WORK_PIXELS = 1600 * 1200
# Share of the contrast of a wheel cell under which a pixel is print; the
# grey frame of the window lies above it.
FRAME_CUT = 0.45
# Lines recognised when looking for the window, tallest first
MAX_LINES = 4
# Digit probability under which a cell is taken for no wheel at all
NO_DIGIT = 0.01
# Confidence under which the reading is reported as unreadable
MIN_CONFIDENCE = 0.15
# Probability every integer digit of the counter must have been read with
# for verify_counter to say 'match' or 'mismatch'
VERIFY_CONFIDENCE = 0.6
# Share of the ink another wheel count must add to overrule the text
CELL_FIT_MARGIN = 0.05


def read_counter(image, region=None):
    """Return the OcrResult of the counter on the photo, read blind

    image is the photo as bytes, region an optional (left, top, right,
    bottom) crop box given as fractions of the EXIF-oriented photo.  digits
    is the integer part with its leading zeros (red or other decimal wheels
    left out, the lower digit of a rolling last wheel); it is None when no
    counter could be read with some confidence (0 to 1).  A photo of more
    than photo.MAX_PIXELS is unreadable without being decoded.
    """
    try:
        img = _load(image, region)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return OcrResult(None, 0.)
    eng = engine()
    with _read_lock:
        views = _Views(eng, img)
        counter = _counter(eng, img, views)
        # The line read as a whole when sure of every digit, else the
        # wheels read one by one
        if counter is not None and counter.confidence >= VERIFY_CONFIDENCE:
            digits, confidence = counter.digits, counter.confidence
        else:
            digits, confidence = _read(eng, views)
    confidence = round(confidence, 3)
    if digits is None or confidence < MIN_CONFIDENCE:
        return OcrResult(None, confidence)
    return OcrResult(digits, confidence)


def verify_counter(image, typed_value, digits=None, decimals=0,
        region=None):
    """Return the Verdict of the typed value against the photo's counter

    The counter is the tallest line of the photo that reads as a row of
    5 to 8 digits (see counter.py): a year, a serial number or a note is
    never taken for it.  The integer part of typed_value is compared with
    the integer wheels read there: 'match' or 'mismatch' when every one of
    them was read with a probability of at least VERIFY_CONFIDENCE, else
    'unreadable'.  A last wheel caught between two digits counts the lower
    one, as the meter does.

    digits is the meter's number of integer wheels and decimals the number
    of its decimal wheels, when known: wheels read beyond them are taken
    for decimals when their colour did not tell.  Raise photo.PhotoError
    when image is not a photo that can be read.
    """
    typed = _integer(typed_value)
    try:
        img = _load(image, region)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exception:
        raise photos.PhotoError('not_image',
            "The file is not an image (%s)." % exception) from exception
    eng = engine()
    with _read_lock:
        counter = _counter(eng, img)
    return _verdict(counter, typed, digits, decimals)


def _verdict(counter, typed, digits, decimals):
    "Return the Verdict of the typed integer against the Counter read"
    if counter is None:
        return Verdict('unreadable', 0., None)
    integer = _fit_meter(counter.digits, digits, decimals,
        bool(counter.decimals))
    confidence = round(counter.confidence, 3)
    if integer is None or confidence < VERIFY_CONFIDENCE:
        return Verdict('unreadable', confidence, counter.digits)
    result = 'match' if int(integer) == typed else 'mismatch'
    return Verdict(result, confidence, integer)


def _integer(value):
    "Return the integer part of a typed value"
    if value is None:
        raise ValueError("no typed value")
    value = Decimal(str(value))
    if not value.is_finite() or value < 0:
        raise ValueError("typed value %s is not a reading" % value)
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _fit_meter(integer, digits, decimals, decimals_seen):
    """Return the integer wheels read, fitted to the meter's wheels

    Wheels read beyond the meter's integer digits are its decimal wheels
    when there are as many of them, leading zeros when they are zeros; any
    other surplus means the line was misread: None.
    """
    if not digits or len(integer) <= digits:
        if decimals and not decimals_seen and not digits:
            return None if len(integer) <= decimals else integer[:-decimals]
        return integer
    surplus = len(integer) - digits
    if decimals and not decimals_seen and surplus == decimals:
        return integer[:digits]
    if not integer[:surplus].strip('0'):
        return integer[surplus:]
    return None


class _Views:
    """The photo as it is and a quarter turned, each detected once

    A photo taken sideways without EXIF orientation shows its text
    upright a quarter turned; the direction classifier tells upside down
    from upright, so two detections cover four orientations.  A photo
    without any text is not turned.
    """

    def __init__(self, eng, img):
        self.engine = eng
        self._views = [(img, eng.detect(img))]

    def __iter__(self):
        yield self._views[0]
        if not self._views[0][1]:
            return
        if len(self._views) == 1:
            img = cv2.rotate(self._views[0][0], cv2.ROTATE_90_CLOCKWISE)
            self._views.append((img, self.engine.detect(img)))
        yield self._views[1]


def _counter(eng, img, views=None):
    "Return the Counter of the photo, or None"
    for img, boxes in views or _Views(eng, img):
        if not boxes:
            continue
        counter = find_counter(eng, img, boxes,
            eng.upside_down([_warp(img, b) for b in boxes]))
        if counter is not None:
            return _cross_check(eng, img, counter)
    return None


def _cross_check(eng, img, counter):
    """Return the Counter checked against its wheels read one by one

    The recogniser reads the line as a whole and may read a wheel caught
    between two digits as the upper one; the wheels read one by one keep
    the lower digit (see _read_wheels).  When the last wheel rolls and its
    lower digit is neither the one read on the line nor the one before,
    the counter is not trusted: its confidence is 0.  A line read with
    less confidence is trusted when the wheels give the same integer.
    """
    window = _warp(img, counter.box, WINDOW_MARGIN)
    height, width = window.shape[:2]
    if height > WINDOW_HEIGHT:
        window = cv2.resize(window,
            (max(1, round(width * WINDOW_HEIGHT / height)), WINDOW_HEIGHT),
            interpolation=cv2.INTER_AREA)
    if counter.flip:
        window = cv2.rotate(window, cv2.ROTATE_180)
    gray = cv2.cvtColor(window, cv2.COLOR_BGR2GRAY)
    if np.median(gray) < np.mean(np.percentile(gray, [5, 95])):
        # White digits on black wheels: the wheel reader reads dark print
        gray = 255 - gray
    count = len(counter.digits) + len(counter.decimals)
    if 0 < counter.confidence < VERIFY_CONFIDENCE:
        # Not sure of every digit of the line: trusted when the wheels read
        # one by one give the same integer
        wheels, _ = _read_wheels(eng, gray, count)
        if len(counter.decimals) and len(wheels) > len(counter.decimals):
            wheels = wheels[:-len(counter.decimals)]
        if wheels and int(wheels) == int(counter.digits):
            return counter._replace(confidence=VERIFY_CONFIDENCE)
        return counter
    lower = _rolling_last(gray, count - len(counter.decimals))
    if lower is None:
        return counter
    last = int(counter.digits[-1])
    if lower == last:
        return counter
    if lower == (last - 1) % 10 and last:
        # The line was read with the upper digit of the rolling wheel
        return counter._replace(digits='%0*d' % (
                len(counter.digits), int(counter.digits) - 1))
    return counter._replace(confidence=0.)


def _read(eng, views):
    "Return the digits and confidence read on the wheels one by one"
    for img, boxes in views:
        window = _window(eng, img, boxes)
        if window is not None:
            gray, count, line_score = window
            digits, confidence = _read_wheels(eng, gray, count)
            return digits, float(confidence * line_score)
    return None, 0.


def _window(eng, img, boxes):
    "Return the window found on the image as it is or upside down, or None"
    if not boxes:
        return None
    crops = [_warp(img, b) for b in boxes]
    flip = eng.upside_down(crops)
    return _find_window(eng, img, boxes, crops, flip)


def compare(digits, typed_value, decimals=0):
    """Compare the integer part read on the wheels with the typed value

    Return 'unreadable' when nothing was read, else 'match' or 'mismatch'.
    decimals is the number of wheels that show decimals (read, not
    compared), so meters with red decimal wheels compare the same way.
    """
    if not digits or not str(digits).isdigit():
        return 'unreadable'
    if typed_value is None:
        return 'mismatch'
    digits = str(digits)
    if decimals:
        digits = digits[:-decimals]
    read = int(digits or '0')
    typed = Decimal(str(typed_value)).to_integral_value(rounding=ROUND_FLOOR)
    return 'match' if read == typed else 'mismatch'


def _load(data, region):
    """Decode the photo, or its region, to an oriented BGR array

    The photo is refused from its header when it has too many pixels.  A
    large JPEG is decoded at the smallest scale that keeps WORK_PIXELS in
    the region, then scaled down to them.  Field cameras send JPEGs cut
    short: what arrived is decoded, the rest grey (see photo.open_image).
    """
    fraction = 1.
    if region:
        left, top, right, bottom = (min(max(float(v), 0.), 1.)
            for v in region)
        fraction = max((right - left) * (bottom - top), 1e-4)
    image = photos.open_image(data, truncated=True,
        pixels=int(WORK_PIXELS / fraction))
    if image.mode not in {'RGB', 'L'}:
        image = image.convert('RGB')
    if region:
        image = image.crop(_crop_box(region, image.size))
    width, height = image.size
    scale = math.sqrt(WORK_PIXELS / (width * height))
    if scale < 1:
        image = image.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))),
            Image.Resampling.LANCZOS, reducing_gap=3.)
    image = image.convert('RGB')
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def _crop_box(region, size):
    "Return the pixel box of a region given as fractions, or ValueError"
    left, top, right, bottom = (min(max(float(v), 0.), 1.) for v in region)
    width, height = size
    box = (int(left * width), int(top * height),
        int(math.ceil(right * width)), int(math.ceil(bottom * height)))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        raise ValueError("empty region %r" % (region,))
    return box


def _find_window(eng, img, boxes, crops, flip):
    """Return the gray wheel window, its wheel count and line score

    The window is the tallest line that reads as 4 to 8 characters that are
    mostly digits; the serial number and the year are printed smaller.
    """
    lines = []
    for box, crop in zip(boxes, crops):
        height, width = crop.shape[:2]
        if 2 < width / height < 10:
            if flip:
                crop = cv2.rotate(crop, cv2.ROTATE_180)
            lines.append((height, box, crop))
    lines.sort(key=lambda l: -l[0])
    lines = lines[:MAX_LINES]
    if not lines:
        return None
    best = None
    results = eng.recognize([l[2] for l in lines])
    for (height, box, crop), (text, score) in zip(lines, results):
        text = ''.join(c for c in text if c not in ' .,:')
        digits = sum(c.isdigit() for c in text)
        if (MIN_WHEELS <= len(text) <= MAX_WHEELS
                and digits >= max(MIN_WHEELS - 1, 0.75 * len(text))):
            if best is None or height > best[0]:
                best = (height, box, len(text), float(score))
    if best is None:
        return None
    _, box, count, score = best
    window = _warp(img, box, WINDOW_MARGIN)
    height, width = window.shape[:2]
    if height > WINDOW_HEIGHT:
        window = cv2.resize(window,
            (max(1, round(width * WINDOW_HEIGHT / height)), WINDOW_HEIGHT),
            interpolation=cv2.INTER_AREA)
    if flip:
        window = cv2.rotate(window, cv2.ROTATE_180)
    return cv2.cvtColor(window, cv2.COLOR_BGR2GRAY), count, score


def _read_wheels(eng, gray, count):
    "Return the digits of the count wheels of the window and a confidence"
    cells = _cells(gray, count)
    count = len(cells)
    masks = [_ink_mask(gray[:, left:right]) for left, right in cells]
    digit_height, digit_width = _digit_size(masks, gray.shape[0])
    bright = int(np.percentile(gray, 95))
    digits, scores = [None] * count, [0.] * count
    stills = []
    carry = True
    # Only the last wheel turns all the time; a higher one turns only while
    # the wheel on its right rolls from 9 to 0.
    for index in reversed(range(count)):
        mask = masks[index]
        plan = _plan(mask, digit_height, carry)
        carry = False
        if plan[0] == 'roll':
            _, top, gap_start, gap_end, bottom = plan
            digit, score = _rolling_digit(mask[top:gap_start],
                mask[gap_end:bottom], digit_height, digit_width)
            digits[index], scores[index] = digit, score
            carry = digit == 9
        else:
            left, right = cells[index]
            cell = gray[:, left:right]
            masked = np.where(mask > 0, cell, bright)
            stills.append((index, _canvas(masked[plan[1]:plan[2]],
                        digit_height, bright)))
    if stills:
        probabilities = eng.digit_probabilities(
            [cv2.cvtColor(i, cv2.COLOR_GRAY2BGR) for _, i in stills])
        for (index, _), p in zip(stills, probabilities):
            digits[index] = int(p.argmax())
            scores[index] = float(p.max())
    digits, scores = _trim(digits, scores)
    return ''.join(map(str, digits)), float(np.mean(scores))


def _rolling_last(gray, count):
    """Return the lower digit of the last of count wheels caught between
    two digits, or None when it stands still"""
    cells = _cells(gray, count)
    masks = [_ink_mask(gray[:, left:right]) for left, right in cells]
    digit_height, digit_width = _digit_size(masks, gray.shape[0])
    plan = _plan(masks[-1], digit_height, True)
    if plan[0] != 'roll':
        return None
    _, top, gap_start, gap_end, bottom = plan
    digit, _ = _rolling_digit(masks[-1][top:gap_start],
        masks[-1][gap_end:bottom], digit_height, digit_width)
    return digit


def _trim(digits, scores):
    """Drop leading cells that read as no digit at all

    The detected line may take in a logo printed beside the window; such a
    cell gets almost no digit probability, unlike a wheel.  A leading 0 is
    kept whatever its score: it cannot change the value.
    """
    while (len(digits) > MIN_WHEELS and scores[0] < NO_DIGIT
            and digits[0] != 0):
        digits, scores = digits[1:], scores[1:]
    return digits, scores


def _cells(gray, count):
    """Return the (left, right) column span of each wheel

    Wheels are equally spaced, so the pitch and offset that put the most
    dark ink inside equal slots are searched.  The recognised line may miss
    or add a character, so one wheel more or less is tried too and kept
    when it holds clearly more of the ink.
    """
    height, width = gray.shape
    ink = _ink(gray)
    column = ink[int(height * 0.3):int(height * 0.7)].sum(axis=0)
    total = column.sum() or 1.
    fits = {}
    for n in (count - 1, count, count + 1):
        if MIN_WHEELS <= n <= MAX_WHEELS:
            fits[n] = _fit(column, n)
    best = max(fits, key=lambda n: fits[n][0] + (
            CELL_FIT_MARGIN * total if n == count else 0))
    return fits[best][1]


def _fit(column, count):
    "Return the ink inside the best count equal slots and the slot spans"
    width = len(column)
    cumulated = np.concatenate([[0.], np.cumsum(column)])
    best = None
    for pitch in np.linspace(width / (count + 0.6), width / (count - 0.2), 30):
        slot = int(pitch * 0.5)
        offsets = np.arange(0, max(1, int(width - pitch * (count - 1) - slot)))
        starts = offsets[:, None] + (np.arange(count) * pitch)[None, :]
        starts = np.minimum(starts.astype(int), width)
        ends = np.minimum(starts + slot, width)
        inside = (cumulated[ends] - cumulated[starts]).sum(axis=1)
        index = int(inside.argmax())
        if best is None or inside[index] > best[0]:
            best = (inside[index], pitch, offsets[index], slot)
    inside, pitch, offset, slot = best
    grow = int(slot * 0.15)
    return inside, [(max(0, int(offset + i * pitch) - grow),
            min(width, int(offset + i * pitch) + slot + grow))
        for i in range(count)]


def _ink(gray):
    "Dark print of the window as 0/1 floats"
    low, high = np.percentile(gray, 2), np.percentile(gray, 98)
    return (gray < low + 0.3 * (high - low)).astype(np.float32)


def _ink_mask(cell):
    """Return the 0/1 mask of the digit ink of a wheel cell

    The tick marks printed on the wheel edge and specks are dropped: only
    blobs centred in the cell and of some size are kept.
    """
    otsu, _ = cv2.threshold(cell, 0, 1, cv2.THRESH_BINARY_INV
        + cv2.THRESH_OTSU)
    # The grey frame of the window is lighter than the print: cut below
    # Otsu's threshold when the cell has much contrast.
    low, high = np.percentile(cell, 2), np.percentile(cell, 98)
    threshold = min(otsu, low + FRAME_CUT * (high - low))
    mask = (cell < threshold).astype(np.uint8)
    height, width = mask.shape
    mask -= _frame_lines(mask)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, 8)
    keep = np.zeros(count, dtype=bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        centre = x + w / 2
        keep[i] = (0.2 * width <= centre <= 0.8 * width
            and area >= 0.004 * height * width
            and min(w, h) > 2)
    return keep[labels].astype(np.uint8)


def _frame_lines(mask):
    """Return the straight lines of the window frame found in the mask

    They run across the whole cell, or over most of the window height:
    longer than any stroke of a digit.
    """
    height, width = mask.shape
    across = cv2.getStructuringElement(cv2.MORPH_RECT,
        (max(3, int(width * 0.9)), 1))
    upright = cv2.getStructuringElement(cv2.MORPH_RECT,
        (1, max(3, int(height * 0.7))))
    return (cv2.morphologyEx(mask, cv2.MORPH_OPEN, across)
        | cv2.morphologyEx(mask, cv2.MORPH_OPEN, upright))


def _digit_size(masks, height):
    "Height and width of a whole digit, from the biggest blob of each cell"
    heights, widths = [], []
    for mask in masks:
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, 8)
        if count > 1:
            biggest = 1 + int(stats[1:, 4].argmax())
            heights.append(stats[biggest, 3])
            widths.append(stats[biggest, 2])
    if not heights:
        return int(height * 0.4), int(height * 0.25)
    return (max(int(np.median(heights)), 8),
        max(int(np.percentile(widths, 75)), 4))


def _plan(mask, digit_height, may_roll):
    """Tell how to read a wheel cell

    Return ('still', top, bottom) for the rows of a digit standing in the
    window, or ('roll', top, gap_start, gap_end, bottom) when the wheel is
    between two digits: the bottom of one above a blank gap above the top of
    the next.  Marks under a quarter of a digit (the edge of the previous
    or next digit) do not count.
    """
    rows = np.nonzero(mask.sum(axis=1) >= 2)[0]
    if not len(rows):
        return ('still', 0, mask.shape[0])
    runs = np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1)
    runs = [(int(r[0]), int(r[-1]) + 1) for r in runs]
    big = [r for r in runs if r[1] - r[0] >= 0.25 * digit_height]
    if not big:
        return ('still',) + _digit_rows(mask, digit_height)
    tallest = max(big, key=lambda r: r[1] - r[0])
    if may_roll and len(big) >= 2 and (
            tallest[1] - tallest[0] < 0.95 * digit_height):
        index = big.index(tallest)
        upper, lower = (big[index - 1], tallest) if index else (
            tallest, big[1])
        return ('roll', upper[0], upper[1], lower[0], lower[1])
    return ('still',) + _digit_rows(mask, digit_height)


def _digit_rows(mask, digit_height):
    """Rows of the digit of a still wheel

    They are the rows of the biggest blob and of the blobs beside it, so a
    digit broken by glare stays whole and the edges of the previous and next
    digits are left out.  When a frame edge sticks to the digit, the span
    is too tall: the end whose rows carry the denser line is cut.
    """
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, 8)
    if count < 2:
        return 0, mask.shape[0]
    biggest = 1 + int(stats[1:, 4].argmax())
    top = stats[biggest, 1]
    bottom = top + stats[biggest, 3]
    first, last = top, bottom
    for i in range(1, count):
        y, h = stats[i, 1], stats[i, 3]
        if min(bottom, y + h) - max(top, y) >= 0.5 * h:
            first, last = min(first, y), max(last, y + h)
    rows = mask.sum(axis=1)
    edge = max(1, digit_height // 8)
    while last - first > 1.1 * digit_height:
        if rows[first:first + edge].mean() >= rows[last - edge:last].mean():
            first += 1
        else:
            last -= 1
    return int(first), int(last)


def _canvas(piece, digit_height, bright):
    "Centre a digit on a blank cell, as the recogniser expects a text line"
    piece = piece[:2 * digit_height]
    height, width = piece.shape
    pad = max(3, digit_height // 5)
    canvas = np.full((height + 2 * pad, width + 2 * pad), bright,
        dtype=np.uint8)
    canvas[pad:pad + height, pad:pad + width] = piece
    return canvas


def _rolling_digit(leaving, coming, digit_height, digit_width):
    """Return the lower digit of a wheel caught between two and its score

    The bottom of the leaving digit d is above the top of d + 1.  Both
    halves are matched against the same parts of digit templates and, as on
    the meter, the lower digit is kept.  The templates are drawn from the
    font bundled with Pillow, so no font file is needed.
    """
    templates = _templates(digit_height, digit_width)
    scores = []
    for d in range(10):
        total = weight = 0.
        for piece, template, side in (
                (leaving, templates[d], 'bottom'),
                (coming, templates[(d + 1) % 10], 'top')):
            rows = min(piece.shape[0], digit_height)
            if side == 'bottom':
                piece, template = piece[-rows:], template[-rows:]
            else:
                piece, template = piece[:rows], template[:rows]
            total += _match(piece.astype(np.float32), template) * rows
            weight += rows
        scores.append(total / weight)
    digit = int(np.argmax(scores))
    return digit, max(0., float(scores[digit]))


def _match(piece, template):
    "Best normalised correlation of the template slid across the piece"
    height, width = piece.shape
    t_width = template.shape[1]
    if t_width > width:
        piece = np.pad(piece, ((0, 0), (0, t_width - width)))
        width = t_width
    piece = cv2.GaussianBlur(piece, (0, 0), 1.5)
    best = -1.
    for x in range(0, width - t_width + 1):
        placed = np.zeros_like(piece)
        placed[:, x:x + t_width] = template
        best = max(best, _correlation(piece, placed))
    return best


def _correlation(a, b):
    a = a - a.mean()
    b = b - b.mean()
    norm = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm else 0.


_glyphs = None


def _templates(digit_height, digit_width):
    "Return the ten digit templates at the given size, blurred"
    global _glyphs
    if _glyphs is None:
        _glyphs = _draw_glyphs()
    return [cv2.GaussianBlur(
            cv2.resize(g, (digit_width, digit_height),
                interpolation=cv2.INTER_AREA), (0, 0), 1.5)
        for g in _glyphs]


def _draw_glyphs():
    "Draw the ten digits with Pillow's bundled font, on a common width"
    from PIL import ImageDraw, ImageFont
    font = ImageFont.load_default(size=96)
    glyphs = []
    for digit in range(10):
        image = Image.new('L', (120, 140), 0)
        ImageDraw.Draw(image).text((10, 10), str(digit), font=font, fill=255)
        glyphs.append(np.asarray(image, dtype=np.float32) / 255)
    columns = np.nonzero(np.max(glyphs, axis=0).max(axis=0))[0]
    result = []
    for glyph in glyphs:
        rows = np.nonzero(glyph.max(axis=1))[0]
        result.append(glyph[rows[0]:rows[-1] + 1,
                columns[0]:columns[-1] + 1].copy())
    return result
