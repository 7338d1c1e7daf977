# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Find the counter window among the text lines of a photo and read it

A meter's dial carries many digit strings: the serial number, the year,
the flow rate, a seal number, the phone's time watermark.  The counter is
told from them by what the recogniser reads on the line and by its shape:

- the line reads as 5 to 8 digits, at most with one mark before them (the
  arrow printed beside the window) and the unit after them (m³, kWh, GJ);
  a line with other letters, a date or a time is not the counter;
- it is the tallest such line: the wheels are the biggest print of a dial.

Each line is read both ways up, and each character the recogniser reads
is placed on the line (CTC decoding keeps the column where it was read):

- the wheels of a counter are equally spaced: a 1 read between two of them
  (the edge of a wheel, a separator of the window) is dropped, and a line
  whose digits are still not equally spaced is not trusted;
- trailing red cells (red decimal wheels) or trailing cells of the other
  polarity (white on a black band) are decimals, left out of the integer,
  as are an LCD's digits after its decimal point (read, or seen as a dot
  on the baseline, see _lcd_point);
- a line read as a counter only against a sure vote of the print's way
  up is not believed, but kept as the window, the way up voted (only
  a match on it when it is not the tallest line).

A last wheel caught between two digits is read by the wheel reader of
``__init__``, which keeps the lower digit; the line read here must agree
with it.
"""
import math
import re
from collections import namedtuple

import cv2
import numpy as np

__all__ = ['Counter', 'find_counter', 'parse', 'warp']

# A counter reading: the integer digits with their leading zeros (the
# lower digit of a rolling last wheel), the decimals read after them, the
# lowest probability of an integer digit, the text read on the line, its
# box on the photo, whether the photo is upside down, the span of the
# digits along the line (left and right, as fractions of its width: the
# arrow before them and the unit after them left out) and whether the box
# is on the photo turned a quarter, the probability each integer digit
# was read with, and whether the line is taken for the window, whose
# wheels may be read blind and tell a mismatch (see _not_believed).
Counter = namedtuple('Counter',
    ['digits', 'decimals', 'confidence', 'text', 'box', 'flip', 'span',
        'quarter', 'probabilities', 'window'],
    defaults=[None, False, None, True])

# Wheels (or LCD digits) of a counter, decimals included: a line of 4
# digits is as often a 5-wheel window read short as a counter.
MIN_WHEELS, MAX_WHEELS = 5, 8
# Lines recognised when looking for the counter, tallest first
MAX_LINES = 24
# Shape of a counter line: wider than tall, but not a long line of print
# (the recogniser's time and memory grow with the width it reads)
MIN_ASPECT, MAX_ASPECT = 1.5, 14
# The unit printed after the window (the recogniser reads m³ as m² too)
UNIT = r'(?:m|m3|m³|m2|m²|kwh|gj)'
# The mark printed before the window, then the digits (wheel separators
# read as ':' or spaces), a decimal point, then the unit.
_COUNTER = re.compile(
    r'^[^\w\s]?[vV▼>]?'
    r'(?P<integer>\d[\d: ]*?)(?:[.,](?P<decimals>\d+))?'
    r'(?P<unit>' + UNIT + r')?$', re.IGNORECASE)
_TIME = re.compile(r'^\d{1,2}:\d{2}(:\d{2})?$')
# Fraction of a cell's pixels that must be red for a decimal wheel
RED_SHARE = 0.12
# Share of dark pixels (under the middle of the line's greys) of a wheel
# on a black band, and how many more than on the wheels before it (see
# _other_polarity): on the development photos' lines, a black digit on a
# light wheel had at most 0.67, a white one on a black wheel 0.72 to 0.94,
# and the cells of a black band after light wheels 0.83 to 0.89
OTHER_DARK = 0.75
OTHER_DARK_GAP = 0.25
# Gap between two digits, as a share of the wheel pitch, under which one of
# them is not a wheel
CROWDED = 0.55
# Largest difference of a gap between wheels from their pitch, as a share
# of the pitch: the wheels of a counter are equally spaced (the columns of
# the recogniser's output are a few pixels apart)
IRREGULAR = 0.4
# Confidence over which a line read both ways is ambiguous
AMBIGUOUS = 0.6
# Vote of the direction classifier (see engine.vote), and lines that must
# vote, for the vote to be sure: a line of digits read as a counter only
# the other way up is then not believed (the wheels of 00096 read 96000
# upside down, and 00001 10000).  On the development photos, as they are
# and turned upside down, the lines read so against a vote of 0.32 or more
# were wrong, but where they read the same either way up; against a vote
# of 0.05 or less they were right.
SURE_VOTE = 0.2
SURE_VOTERS = 3
# Digits a wheel shows upside down
_TURNED = str.maketrans('01869', '01896')
# Largest and smallest height and width of an LCD's decimal point, as a
# share of the line's height (see _lcd_point)
POINT_SIZE = 0.25
POINT_MIN = 0.05
# Margin added above and below the line to see the whole wheels
WIDE_MARGIN = 0.2


def warp(img, points, margin=0.):
    "Return the box straightened, grown vertically by margin of its height"
    points = np.asarray(points, dtype=np.float32).copy()
    if margin:
        up = (points[0] - points[3]) * margin
        points[:2] += up
        points[2:] -= up
    width = int(max(np.linalg.norm(points[0] - points[1]),
            np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]),
            np.linalg.norm(points[1] - points[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(points, target)
    return cv2.warpPerspective(img, matrix, (width, height),
        borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


def parse(text):
    """Return the integer and decimal digits of a line read as a counter

    Return None when the line is not a counter: other letters, a time, a
    date, or fewer than MIN_WHEELS or more than MAX_WHEELS digits.
    """
    text = text.strip()
    match = _COUNTER.match(text)
    if not match or _TIME.match(text):
        return None
    integer = match.group('integer').replace(':', '').replace(' ', '')
    decimals = match.group('decimals') or ''
    if not MIN_WHEELS <= len(integer) + len(decimals) <= MAX_WHEELS:
        return None
    if len(integer) < 2:
        return None
    return integer, decimals


def find_counter(eng, img, boxes, flip, sure=False):
    """Return the Counter of the tallest line that reads as a counter

    boxes are the detected text boxes of img, flip whether the photo is
    upside down, sure whether the print's vote on it is sure (see
    SURE_VOTE): then a line read as a counter only the other way up has
    no confidence, unless it reads the same either way up (see
    _same_turned).  Return None when no line reads as a counter.
    """
    lines = []
    for box in boxes:
        crop = warp(img, box)
        height, width = crop.shape[:2]
        if MIN_ASPECT * height <= width <= MAX_ASPECT * height:
            lines.append((height, box, crop))
    lines.sort(key=lambda l: -l[0])
    for height, box, crop in lines[:MAX_LINES]:
        readings = []
        # Both ways up: the vote of a photo with little print may be wrong
        # and a line of digits may read as digits upside down.
        for turn in (flip, not flip):
            turned = cv2.rotate(crop, cv2.ROTATE_180) if turn else crop
            characters = _drop_crowded(_zero_read_as_o(
                    read_line(eng, turned)))
            text = ''.join(c for c, _, _ in characters)
            parsed = parse(text)
            if parsed is None:
                continue
            if not parsed[1]:
                pointed = _lcd_point(turned, characters, parsed[0])
                if pointed is not None:
                    parsed, text = pointed
            wide = warp(img, box, WIDE_MARGIN)
            if turn:
                wide = cv2.rotate(wide, cv2.ROTATE_180)
            counter = _read_counter(wide, turned, characters, *parsed,
                text=text)
            if counter is not None:
                way = turn
                if turn != flip and sure and not _same_turned(counter):
                    # Not believed, but the line may still be the window
                    # whose wheels the typed value is checked on (see
                    # _not_believed)
                    counter, way = _not_believed(counter,
                        height >= lines[0][0]), flip
                readings.append(counter._replace(box=box, flip=way))
        if not readings:
            continue
        readings.sort(key=lambda c: -c.confidence)
        if (len(readings) > 1 and readings[1].confidence >= AMBIGUOUS
                and int(readings[1].digits) != int(readings[0].digits)):
            # Read both ways with confidence (an LCD's 0092.469 reads
            # 6962600 upside down; the direction classifier is as sure of
            # either): a decimal point, on the baseline, reads only upright;
            # without one, the vote of the photo's print decides.
            pointed = [c for c in readings if c.decimals]
            if len(pointed) == 1:
                return pointed[0]
            return next(c for c in readings if c.flip == flip)
        return readings[0]
    return None


def _zero_read_as_o(characters):
    """Return the characters with a single o read among digits as a 0

    The recogniser reads a wheel's 0 as the letter o now and then (the
    window 0000 turned read 600o0); a line of digits with one o between
    two of them is a line of digits.  Two o's or more, or an o beside a
    letter, are left: the line is print.
    """
    letters = [i for i, (c, _, _) in enumerate(characters) if c in 'oO']
    if len(letters) != 1:
        return characters
    index = letters[0]
    if not (0 < index < len(characters) - 1
            and characters[index - 1][0].isdigit()
            and characters[index + 1][0].isdigit()):
        return characters
    characters = list(characters)
    _, probability, column = characters[index]
    characters[index] = ('0', probability, column)
    return characters


def _lcd_point(crop, characters, integer):
    """Return the integer and decimals of a line split at the decimal
    point the recogniser did not read, and its text with the point, or
    None

    An LCD's point is a small dot on the baseline between two digits
    with nothing above it; the recogniser misses it next to the marks
    some registers draw over their decimals.  The line's ink (the darker
    or the lighter pixels, whichever are fewer) is cut in blobs: a
    blob POINT_SIZE high and wide at most, solid, in the bottom of the
    line, with no ink above it, between the digits of the integer
    (at least 3 before it), and the only one, is the point.  A wheel
    counter shows no such dot: its separators run the whole height of
    the window.
    """
    digits = [(c, x) for c, _, x in characters if c.isdigit()]
    if len(digits) != len(integer) or len(digits) < MIN_WHEELS:
        return None
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    height = gray.shape[0]
    _, ink = cv2.threshold(gray, 0, 255,
        cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if (ink > 0).mean() > 0.5:
        ink = 255 - ink
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, 8)
    band = ink[int(0.15 * height):int(0.7 * height)] > 0
    columns = [x for _, x in digits]
    found = []
    for left, top, width, tall, area in stats[1:count]:
        if not (POINT_MIN * height <= width <= POINT_SIZE * height
                and POINT_MIN * height <= tall <= POINT_SIZE * height):
            continue
        # On the baseline, and solid (a dot, not a stroke's corner)
        if (top < 0.55 * height or top + tall < 0.75 * height
                or area < 0.4 * width * tall):
            continue
        # Nothing above it in the body of the line
        if band[:, max(0, left - 1):left + width + 1].mean() > 0.02:
            continue
        found.append(int(np.searchsorted(columns, left + width / 2)))
    if len(found) != 1 or not 3 <= found[0] < len(digits):
        return None
    point = found[0]
    text = ''.join(c for c, _ in digits[:point]) + '.' + ''.join(
        c for c, _ in digits[point:])
    return (integer[:point], integer[point:]), text


def _not_believed(counter, tallest):
    """Return the counter of a line read only against a sure vote, as the
    window its wheels are checked on the way up the vote is sure of

    Its digits, read the other way up, are no reading of the wheels: they
    have no confidence and no probabilities (no reader compares its own
    digit with them), and are kept only as the count of the wheels; the
    span of the digits is turned with the window.  (The window of 0000
    and a last wheel rolling from 6 to 7 reads 60000 upside down; the
    wheels read upside down showed the classifier 50000.)  Unless it is
    the tallest line (the wheels are the biggest print of a dial), it may
    as well be a serial number whose digits, the right way up, the
    classifier reads with confidence: then only a 'match' of the typed
    value is believed on it, no blind reading nor 'mismatch' (window
    False).
    """
    left, right = counter.span
    return counter._replace(confidence=0., probabilities=(),
        span=(1. - right, 1. - left), window=tallest)


def _same_turned(counter):
    """Tell whether the counter's digits read the same upside down

    Wheels of 0, 1 and 8, or of a 6 and a 9 in each other's place, show
    the same integer either way up.
    """
    digits = counter.digits + counter.decimals
    return not counter.decimals and digits == digits.translate(
        _TURNED)[::-1]


def _confidence(characters):
    "Lowest probability of the digits read"
    return min((p for c, p, _ in characters if c.isdigit()), default=0.)


def _drop_crowded(characters):
    """Return the characters without those crowded between two wheels

    The edge of a wheel or a separator of the window is read as a 1 between
    two digits: a digit much closer to its neighbour than the wheels are to
    each other is dropped (the 1, else the less probable one).
    """
    characters = list(characters)
    while True:
        digits = [i for i, (c, _, _) in enumerate(characters) if c.isdigit()]
        if len(digits) < 5:
            return characters
        columns = [characters[i][2] for i in digits]
        gaps = np.diff(columns)
        pitch = float(np.median(gaps))
        crowded = [k for k, gap in enumerate(gaps) if gap < CROWDED * pitch]
        if not crowded:
            return characters
        k = crowded[0]
        pair = [digits[k], digits[k + 1]]
        ones = [i for i in pair if characters[i][0] == '1']
        if len(ones) == 1:
            drop = ones[0]
        else:
            drop = min(pair, key=lambda i: characters[i][1])
        del characters[drop]


def read_line(eng, crop):
    """Return the (character, probability, column) read on a line

    The recogniser's CTC output is decoded here rather than by RapidOCR so
    that each character keeps the column of the crop where it was read
    and its own probability.
    """
    rec = eng.recognizer
    _, height, base_width = rec.rec_image_shape
    # Widths in steps of half the base width, so that onnxruntime sees
    # few input shapes (it keeps memory for each)
    step = base_width / 2
    ratio = max(base_width, math.ceil(
            height * crop.shape[1] / crop.shape[0] / step) * step) / height
    batch = rec.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32)
    preds = rec.session(batch)[0][0]
    steps = preds.shape[0]
    resized = min(math.ceil(height * crop.shape[1] / crop.shape[0]),
        int(height * ratio))
    # Columns of the crop per time step of the recogniser
    scale = (int(height * ratio) / steps) * crop.shape[1] / resized
    best = preds.argmax(axis=1)
    characters = rec.postprocess_op.character
    result = []
    previous = 0
    for step, index in enumerate(best):
        if index and index != previous:
            result.append([characters[index], float(preds[step, index]),
                    [step]])
        elif index and result:
            result[-1][1] = max(result[-1][1], float(preds[step, index]))
            result[-1][2].append(step)
        previous = index
    return [(c, p, (np.mean(s) + 0.5) * scale) for c, p, s in result]


def _read_counter(wide, crop, characters, integer, decimals, text=''):
    "Return the Counter of a line that parsed as integer and decimals"
    digits = [(c, p, x) for c, p, x in characters if c.isdigit()]
    count = len(integer)
    cells = _cells([x for _, _, x in digits], crop.shape[1])
    int_cells = cells[:count]
    int_probs = [p for _, p, _ in digits[:count]]
    # Trailing wheels told apart by colour are decimals
    red = [_red_share(crop[:, a:b]) for a, b in int_cells]
    tail = 0
    while tail < count - 1 and red[count - 1 - tail] >= RED_SHARE:
        tail += 1
    if not tail and not decimals:
        # (an LCD's decimal point already tells its decimals)
        tail = _other_polarity(wide, int_cells)
    if tail:
        decimals = integer[count - tail:] + decimals
        integer = integer[:count - tail]
        int_cells = int_cells[:count - tail]
        int_probs = int_probs[:count - tail]
    if len(integer) < 3:
        return None
    probabilities = tuple(int_probs)
    columns = [x for _, _, x in digits[:len(integer)]]
    gaps = np.diff(columns)
    pitch = (columns[-1] - columns[0]) / (len(columns) - 1)
    if np.abs(gaps - pitch).max() > IRREGULAR * pitch:
        # Not equally spaced: a wheel was missed, split or added
        int_probs = [0.]
    every = [x for _, _, x in digits]
    half = (every[-1] - every[0]) / max(len(every) - 1, 1) / 2
    span = (max(0., (every[0] - half) / crop.shape[1]),
        min(1., (every[-1] + half) / crop.shape[1]))
    return Counter(integer, decimals, min(int_probs), text, None, False,
        span, probabilities=probabilities)


def _cells(centres, width):
    "Return the (left, right) column span of the characters at centres"
    if not centres:
        return []
    if len(centres) > 1:
        pitch = float(np.median(np.diff(centres)))
    else:
        pitch = width / 2
    half = max(pitch / 2, 2)
    return [(max(0, int(c - half)), min(width, int(math.ceil(c + half))))
        for c in centres]


def _red_share(cell):
    "Fraction of the middle of a cell that is clearly red"
    if not cell.size:
        return 0.
    height = cell.shape[0]
    middle = cell[int(height * 0.15):int(math.ceil(height * 0.85))]
    hsv = cv2.cvtColor(middle, cv2.COLOR_BGR2HSV)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = ((hue <= 8) | (hue >= 165)) & (saturation >= 100) & (value >= 60)
    return float(red.mean())


def _other_polarity(wide, cells):
    """Return how many trailing cells are of the other polarity

    A wheel printed white on a black band after black on white ones (or
    the reverse) is a decimal wheel.  At most two are taken so.  A cell
    is told by its mean grey, or, where the recogniser's columns cut
    across a black band, by its share of dark pixels: OTHER_DARK of them
    or more, at least OTHER_DARK_GAP more than on the wheels before (see
    _band).
    """
    if len(cells) < MIN_WHEELS:
        return 0
    gray = cv2.cvtColor(wide, cv2.COLOR_BGR2GRAY)
    height = gray.shape[0]
    middle = gray[int(height * 0.3):int(math.ceil(height * 0.7))]
    means = np.array([float(middle[:, a:b].mean()) if b > a else 0.
            for a, b in cells])
    low, high = np.percentile(middle, [5, 95])
    spread = float(high - low)
    if spread < 40:
        return 0
    dark = middle < (low + high) / 2
    shares = np.array([float(dark[:, a:b].mean()) if b > a else 0.
            for a, b in cells])
    tail = 0
    for size in (1, 2):
        lead, rest = means[:-size], means[-size:]
        if len(lead) < 3:
            break
        gap = abs(float(np.median(lead)) - float(rest.mean()))
        if (gap > 0.45 * spread
                and np.ptp(lead) < 0.25 * spread
                and np.ptp(rest) < 0.25 * spread
                and np.sign(float(np.median(lead)) - rest[0])
                == np.sign(float(np.median(lead)) - rest[-1])):
            tail = size
        elif _band(shares[:-size], shares[-size:]):
            tail = size
    return tail


def _band(lead, rest):
    """Tell whether the rest of the cells, by their share of dark pixels,
    are white wheels on a black band after black on white ones"""
    return bool(rest.min() >= OTHER_DARK
        and rest.min() - float(np.median(lead)) >= OTHER_DARK_GAP)
