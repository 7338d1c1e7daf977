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
   again a quarter turned only when no counter is found; a view the
   direction classifier is sure is upside down is detected again turned
   upright, and its boxes as first detected are read only when those
   give no counter read with confidence (``_Views``, ``_counter``);
2. the direction classifier votes over all boxes whether the photo is
   upside down (the dial print is the majority of the text);
3. the counter line is the tallest line that reads as 5 to 8 equally
   spaced digits, at most with an arrow before and the unit after them,
   read both ways up, but a line read so only against a sure vote is not
   believed (00096 reads 96000 upside down) unless it reads the same
   either way up, and its wheels are checked the way up voted; red or
   other-polarity trailing wheels and an LCD's digits after its point
   (read, or seen as a dot on the baseline) are its decimals
   (``counter.py``); a line is not believed either where it read a
   wheel before the last unsure and the digit classifier reads another
   digit there with confidence (``_unsure_digit_contradicted``);
4. ``verify_counter`` compares its integer with the typed value when every
   digit was read with confidence; the last wheel is checked for a roll
   against the wheel reader below, which keeps the lower digit, and a
   'match' needs the digit classifier not to read another digit on the
   last integer wheel with confidence (``_wheels_contradict``); otherwise
   the digit classifier checks the expected digit on each wheel of the
   window, or, when no line reads as a counter, of the tallest line that
   reads as the window's arrow before digits (a wheel read as a letter),
   where only a match is believed, as on a line but the tallest read as
   a counter only against a sure vote (no blind reading either: it may
   be a serial number the classifier reads right), and a match needs the
   line's last digit, when read with confidence, not to contradict it
   (``_line_contradicts``), and when read without confidence but
   another, the classifier to read its digit on the last wheel cut a
   little otherwise too, and not the line's digit nor the lower digit
   the template reader (see 5) sees that wheel rolling from
   (``_wheel_unsteady``): each reader guards the other's 'match';
5. the wheel reader (``read_counter``'s last way, when no line reads as
   a counter and the classifier is not sure of the wheels of the window's
   arrow line, see 4): the tallest mostly-digit line of 4 to 8
   characters is cut into equally spaced wheels, each still wheel read on
   its own with the recogniser restricted to the ten digits; a wheel
   caught between two digits shows the bottom of the lower digit above
   the top of the next one, both halves are matched against digit
   templates drawn from the font bundled with Pillow and, like the meter
   itself, the lower digit is kept.  Its reading is believed only with a
   confidence of GUESS_CONFIDENCE: under it, it never read a counter
   right;
6. the LCD reader (``lcd.py``), only when the ways above left the photo
   unreadable (no blind reading, or an 'unreadable' verdict): a panel of
   a display's shape whose row of 7-segment digits the recogniser reads
   the same on its contrast-stretched and on its binarised crop, every
   digit one the segments do not contradict.  It reads the LCDs whose
   grey-on-grey digits the detector finds no text on; it never overrules
   a 'match' or a 'mismatch' of the counter lines.

The engine is created once per process (see ``engine``) so that a reading
costs only the inference.

A reading costs about the same whatever the size of the photo, and reads
the same: a photo of more than DETECT_PIXELS is decoded at reduced scale
and brought down to a WORK_SIDE long side (the wheel window is cut from
this image), so that a 12 MP photo is read as the same photo at about
1 MP; when that leaves it unreadable, it is read again brought down to
a RETRY_SIDE long side and the first image enlarged ENLARGE times, as
the readers' results change with the scale of the print.  A smaller
photo is read at its own size, then, when unreadable, ENLARGE and SHRINK
times it.  The detector never runs on more than DETECT_PIXELS, and a
photo over photo.MAX_PIXELS is not decoded at all.  A 12 MP phone photo
is read in about the time of a 1 MP one; an unreadable photo costs three
times that.

A photo whose levels span less than MIN_LEVELS (taken in a dark meter pit,
or flat) is read with its levels stretched (``_stretched``): darkened to a
quarter, the development photos' last wheels lost their roll to the
classifier and two wrong values made a 'match'.
"""
import math
import re
from collections import namedtuple
from decimal import ROUND_FLOOR, Decimal

import cv2
import numpy as np
from PIL import Image

from .. import photo as photos
from . import counter as counter_line, digits as digit_classifier, lcd, wheels
from .counter import find_counter, warp as _warp
from .engine import (
    DETECT_PIXELS, DETECT_SIDE, THREADS, _DetectResize, _read_lock, engine)

__all__ = ['OcrResult', 'Verdict', 'read_counter', 'verify_counter',
    'compare', 'engine', 'DETECT_PIXELS', 'DETECT_SIDE', 'THREADS']

OcrResult = namedtuple('OcrResult', ['digits', 'confidence'])
# result: 'match', 'mismatch' or 'unreadable'; confidence 0 to 1; digits the
# integer wheels read, or None
Verdict = namedtuple('Verdict', ['result', 'confidence', 'digits'])

# Pixels the photo (or its counter region) is decoded and scaled down to;
# the wheel window is cut from them.
WORK_PIXELS = 1600 * 1200
# Long side a photo of more than DETECT_PIXELS is brought down to first,
# about the size of the photos the detector finds the counter best on: at
# 12 MP it saw the photo at DETECT_PIXELS, the counter's box got other
# margins than at 1 MP and some counters were read upside down.
WORK_SIDE = 1024
# Long side such a photo is read at again when it left the counter
# unreadable at WORK_SIDE: the detector's boxes and the recogniser's
# reading of a line change with the scale of its print, and of the photos
# sent small (800 x 600, 960 x 1280) some read only at one of these
# sizes.  A verdict or a reading made at the first size is kept.
RETRY_SIDE = 800
# Scales, of the first working image, a photo that is still unreadable is
# read at again: enlarged and, when it was small, shrunk.  The same photo
# saved again as JPEG, scaled or tilted a few degrees, as phones give it,
# left counters unreadable that one of these scales read: on the
# development photos of cn so perturbed, verify went from 85.0, 80.0 and
# 77.5 to 97.5, 92.5 and 92.5 % (saved again at quality 90, scaled to 0.7,
# tilted 4 degrees), with no false match (see the benchmark, tenth round).
ENLARGE = 1.25
SHRINK = 0.8
# Span of grey levels (1st to 99th percentile) under which a photo is read
# with its levels stretched: every development photo spans more than 190
# of them, a photo darkened to a quarter less than 70
MIN_LEVELS = 160
# The span a photo's levels are stretched to, and its darkest level
STRETCHED_LEVELS = 235
DARKEST_LEVEL = 10
# Confidence under which the reading is reported as unreadable
MIN_CONFIDENCE = 0.15
# Confidence the recogniser's reading of the wheels one by one must have
# when no line read as a counter (see wheels.read): under it, on the photos
# of the benchmark at their own size, it never read a counter right, and a
# wrong blind reading is worse than none.
GUESS_CONFIDENCE = 0.5
# Probability every integer digit of the counter must have been read with
# for verify_counter to say 'match' or 'mismatch'
VERIFY_CONFIDENCE = 0.6
# Probability of the expected digit, and its ratio to any other digit, with
# which the digit classifier confirms a wheel (see _check_wheels)
WHEEL_ACCEPT = 0.6
WHEEL_RATIO = 4
# Probability with which the classifier must read every wheel for a blind
# reading
WHEEL_READ = 0.8
# Probability with which the classifier must read every wheel to tell a
# mismatch the line left unreadable
WHEEL_MISMATCH = 0.9
# Text lines that must vote a view upside down for it to be detected again
# turned upright (see _Views): the three lines of a kWh meter's upright
# face voted it upside down with 0.55, and its counter, read upside down
# from the boxes found so, gave the digit classifier a false match.
UPRIGHT_VOTERS = 5
# Margin kept either side of the digits of the line, as a share of their span
SPAN_MARGIN = 0.04
# Probability with which the other reader must read another digit on the
# last integer wheel to contradict a 'match' (see _contradicts): the digit
# classifier that of the line, the recogniser's line that of the classifier
CONTRADICT = 0.9
LINE_CONTRADICT = 0.9
# Probability under which a digit of a line read with confidence is
# checked against the digit classifier (see _unsure_digit_contradicted)
SURE_DIGIT = 0.9
# Share of the wheel pitch, and of the window's height, by which the last
# wheel is cut again to check a digit the line read otherwise (see
# _wheel_unsteady)
UNSTEADY_SHIFT = 0.1



def read_counter(image, region=None):
    """Return the OcrResult of the counter on the photo, read blind

    image is the photo as bytes, region an optional (left, top, right,
    bottom) crop box given as fractions of the EXIF-oriented photo.  digits
    is the integer part with its leading zeros (red or other decimal wheels
    left out, the lower digit of a rolling last wheel); it is None when no
    counter could be read with some confidence (0 to 1).  A photo of more
    than photo.MAX_PIXELS is unreadable without being decoded.  A photo
    that gives no reading is read again at every other scale (see
    _work_images); their reading is kept when those that read agree on
    the integer.
    """
    try:
        images = _work_images(image, region)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return OcrResult(None, 0.)
    eng = engine()
    first = _read(eng, next(images))
    if first.digits is not None:
        return first
    # Read at every other scale: one may read red decimal wheels as
    # integer ones where another tells them apart, so two that read two
    # integers are not believed
    return _agreed([r for r in (_read(eng, img) for img in images)
            if r.digits is not None]) or first


def _read(eng, img):
    "Return the OcrResult of the counter read blind on the working image"
    with _read_lock:
        views = _Views(eng, img)
        counter = _counter(eng, img, views)
        found = counter is not None
        if not found:
            counter = _arrow_line(eng, views)
        # The line read as a whole when sure of every digit, else the
        # wheels read one by one
        if counter is not None and counter.confidence >= VERIFY_CONFIDENCE:
            digits, confidence = counter.digits, counter.confidence
        else:
            digits, confidence = None, 0.
            if counter is not None and counter.window:
                # The classifier's reading of the wheels when it is sure
                # of every one
                digits, confidence = _read_wheels(img, counter)
            if confidence < WHEEL_READ:
                digits, confidence = None, 0.
                if not found:
                    # The recogniser's reading of the wheels, only when
                    # no line read as a counter: where one did, neither
                    # it nor the classifier was sure of the wheels, and
                    # the recogniser read them wrong more often than right
                    digits, confidence = wheels.read(eng, views)
                    if confidence < GUESS_CONFIDENCE:
                        digits, confidence = None, 0.
        if digits is None:
            display = _display(eng, img)
            if display is not None:
                digits, confidence = display.digits, display.confidence
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
    for decimals when their colour did not tell.  A photo unreadable at
    its first scale is verified at every other (see _work_images): their
    verdict is kept when those that read agree on the integer.
    Raise photo.PhotoError when image is not a photo that can be read.
    """
    typed = _integer(typed_value)
    try:
        images = _work_images(image, region)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exception:
        raise photos.PhotoError('not_image',
            "The file is not an image (%s)." % exception) from exception
    eng = engine()
    first = _verify(eng, next(images), typed, digits, decimals)
    if first.result != 'unreadable':
        return first
    # Verified at every other scale: one may read red decimal wheels as
    # integer ones where another tells them apart, so two that read two
    # integers are not believed
    return _agreed([v for v in (_verify(eng, img, typed, digits, decimals)
            for img in images) if v.result != 'unreadable']) or first


def _agreed(results):
    """Return the OcrResult or Verdict of most confidence among results
    when they all read the same integer, else None"""
    if len({r.digits and int(r.digits) for r in results}) != 1:
        return None
    return max(results, key=lambda r: r.confidence)


def _verify(eng, img, typed, digits, decimals):
    "Return the Verdict of the typed integer on the working image"
    with _read_lock:
        views = _Views(eng, img)
        counter = _counter(eng, img, views)
        if counter is not None and not counter.window:
            # Digits read the other way up than the print on a line that
            # may be no window: nothing read
            verdict = Verdict('unreadable', 0., None)
        else:
            verdict = _verdict(counter, typed, digits, decimals)
        if (verdict.result == 'match' and _wheels_contradict(
                    img, counter, verdict.digits, digits, decimals)):
            verdict = Verdict('unreadable', 0., verdict.digits)
        if verdict.result == 'unreadable' and counter is not None:
            verdict = _check_wheels(eng, img, counter, typed, digits,
                decimals, verdict)
        elif counter is None:
            window = _arrow_line(eng, views)
            if window is not None:
                checked = _check_wheels(eng, img, window, typed, digits,
                    decimals, verdict)
                if checked.result == 'match':
                    verdict = checked
        if verdict.result == 'unreadable':
            display = _display(eng, img)
            if display is not None:
                verdict = _verdict(display, typed, digits, decimals)
    return verdict


def _display(eng, img):
    """Return the Display of the photo's LCD or 7-segment register read
    with confidence, or None

    Only a region recognised as a display is read, and only when its
    readers agree on every digit (see lcd.py); it is asked only when the
    counter lines left the photo unreadable.
    """
    display = lcd.read(eng, img)
    if display is None or display.confidence < VERIFY_CONFIDENCE:
        return None
    return display


# The arrow printed before a counter window, then at most one wheel read
# as a letter, then digits and the unit
_ARROW_LINE = re.compile(
    r'^[vV▼>][^\d\s]?(\d{3,8})' + counter_line.UNIT + '?$', re.IGNORECASE)


def _arrow_line(eng, views):
    """Return a Counter of no confidence for the tallest line that reads as
    the arrow of a counter window, at most one letter, 3 to 8 digits and
    the unit, or None

    When no line reads as a counter, a wheel read as a letter may have hid
    its window.  The typed value is still checked there wheel by wheel (see
    _check_wheels), but only a match is believed.
    """
    for quarter, (img, boxes) in enumerate(views):
        if not boxes:
            continue
        crops = [_warp(img, b) for b in boxes]
        flip = eng.upside_down(crops)
        lines = sorted(((c.shape[0], i) for i, c in enumerate(crops)
                if counter_line.MIN_ASPECT * c.shape[0] <= c.shape[1]
                <= counter_line.MAX_ASPECT * c.shape[0]),
            reverse=True)
        for _, index in lines[:wheels.MAX_LINES]:
            crop = crops[index]
            if flip:
                crop = cv2.rotate(crop, cv2.ROTATE_180)
            characters = counter_line.read_line(eng, crop)
            text = ''.join(c for c, _, _ in characters)
            match = _ARROW_LINE.match(text)
            if match:
                return counter_line.Counter(match.group(1), '', 0., text,
                    boxes[index], flip,
                    _before_unit(characters, match, crop.shape[1]),
                    bool(quarter))
    return None


def _before_unit(characters, match, width):
    """Return the span of a line width columns wide before the unit read
    after the digits of the match (the box then holds the unit, which is
    no wheel), or None when no unit was read"""
    end = match.end(1)
    if end == len(characters) or len(characters) != len(match.string):
        return None
    columns = [x for _, _, x in characters[match.start(1):end]]
    half = (columns[-1] - columns[0]) / max(len(columns) - 1, 1) / 2
    return (0., min(1., (columns[-1] + half) / width))


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


def _check_wheels(eng, img, counter, typed, digits, decimals, verdict):
    """Return the Verdict of the typed integer checked wheel by wheel

    When the line was not read with confidence, the verifier still knows
    which digit to expect on each wheel: the window of the counter is cut
    into equally spaced wheels (as many as read on the line first, then
    any other count of wheels.MIN_WHEELS to wheels.MAX_WHEELS, the nearest
    first: the separators of a window read as 1s make a 5-wheel window
    read 8 digits); a first cell the classifier reads as no digit (the
    arrow) is dropped, and each wheel is given to the digit classifier.
    It is a 'match' when every integer wheel shows its expected digit
    with a probability of at least WHEEL_ACCEPT and WHEEL_RATIO times
    that of any other digit; a last wheel caught between two digits must
    have the expected digit as its lower one; the line must not
    contradict its last integer wheel (see _line_contradicts,
    _wheel_unsteady), nor, for a cut of another count, the cut into as
    many cells as the line read digits be read surely as another integer
    (see _read_wheels: a cut across the wheels reads their separators as
    1s).
    It is a 'mismatch' when the classifier reads every wheel with a
    probability of at least WHEEL_MISMATCH and they give another integer.
    Otherwise the verdict stays.
    """
    gray = _digits_gray(img, counter)
    count = _line_count(counter)
    tried = set()
    # The count read first; the separators of a window read as 1s or a
    # wheel missed may have made it wrong by more than one
    for size in sorted(range(wheels.MIN_WHEELS, wheels.MAX_WHEELS + 1),
            key=lambda size: (abs(size - count), size)):
        cells = wheels.fit_cells(gray, size)
        if len(cells) in tried:
            continue
        tried.add(len(cells))
        cut = len(cells)
        if digit_classifier.probabilities(wheels.cell_crops(gray, cells))[
                0].argmax() == digit_classifier.OTHER:
            # The arrow before the wheels
            cells = cells[1:]
        shown = len(cells) - _decimal_wheels(counter, len(cells), digits,
            decimals)
        expected = '%0*d' % (shown, typed)
        if shown < 1 or len(expected) > shown or (
                digits and shown > digits
                and expected[:shown - digits].strip('0')):
            continue
        confidence = _wheels_show(gray, cells[:shown], expected)
        if confidence is not None:
            if _line_contradicts(counter, expected) or (
                    cut != count and _line_count_reads(counter,
                        _wheel_readings(gray, counter, digits, decimals))
                    not in {None, typed}) or (
                    _line_differs_last(counter, expected)
                    and any(_wheel_unsteady(gray, cells[:shown], other)
                        for other in _other_last_digits(
                            gray, cells[:shown], counter, expected))):
                break
            return Verdict('match', round(confidence, 3), expected)
    if not counter.window:
        # A line that may be no window (see counter._not_believed): only a
        # match
        return verdict
    read, confidence = _read_wheels(img, counter)
    if read is not None and confidence >= WHEEL_MISMATCH:
        integer = _fit_meter(read, digits, decimals, bool(counter.decimals))
        if integer is not None and int(integer) != typed:
            return Verdict('mismatch', round(confidence, 3), integer)
    return verdict


def _contradicts(matched, other):
    """Tell whether the other reader's digit on the last integer wheel
    contradicts the digit that makes a 'match'

    The two readers may see a wheel caught between two digits, one the
    lower digit and the other the upper one: only the lower one counts, as
    on the meter, so the digit that makes the match may be one under the
    other's, not one over it nor any other.
    """
    return other not in {matched, (matched + 1) % 10}


def _wheels_contradict(img, counter, integer, digits, decimals):
    """Tell whether the digit classifier contradicts the last wheel of the
    integer read with confidence on the line

    The recogniser reads a line as a whole and may read it with confidence
    and wrong.  Before its integer makes a 'match', the window is cut into
    as many wheels as the line read (the arrow before them dropped) and the
    last integer wheel is given to the digit classifier, trained on single
    wheels: a digit it reads there with a probability of at least
    CONTRADICT contradicts the line unless it is the same or the one after
    (see _contradicts).  An LCD's digits (a line read with a decimal point)
    are no wheels: the classifier is not asked.
    """
    probabilities = _integer_wheels(img, counter, digits, decimals)
    if probabilities is None:
        return False
    last = len(probabilities) - 1
    score = digit_classifier.lower_digit(probabilities[last])
    read = int(score.argmax())
    return bool(score[read] >= CONTRADICT
        and _contradicts(int(integer[-1]), read))


def _integer_wheels(img, counter, digits, decimals):
    """Return the digit classifier's probabilities on the integer wheels
    of the counter's line, or None

    The window is cut into as many wheels as the line read (the arrow
    before them dropped); the integer wheels are counted from the last
    wheel, so that a cut of one wheel more or less keeps them in their
    place.  An LCD's digits (a line read with a decimal point) are no
    wheels: None.
    """
    if re.search(r'[.,]', counter.text or ''):
        return None
    gray = _digits_gray(img, counter)
    count = _line_count(counter)
    if not wheels.MIN_WHEELS <= count <= wheels.MAX_WHEELS:
        return None
    cells = wheels.fit_cells(gray, count)
    probabilities = digit_classifier.probabilities(
        wheels.cell_crops(gray, cells))
    if (len(cells) > count
            and probabilities[0].argmax() == digit_classifier.OTHER):
        # The arrow before the wheels
        probabilities = probabilities[1:]
    shown = len(probabilities) - _decimal_wheels(counter,
        len(probabilities), digits, decimals)
    if shown < 1:
        return None
    return probabilities[:shown]


def _rolling_on_classifier(img, counter):
    """Return the digit before the line's last integer digit when the digit
    classifier reads that wheel caught between the two with a probability
    of at least CONTRADICT, else None

    The template reader may miss a wheel rolling on a photo a little
    tilted; the classifier, which has learnt rolling wheels, then tells
    that the line read the upper digit.  Only that digit: on a rolling
    wheel the classifier may be sure of a wrong one (see
    _unsure_digit_contradicted).
    """
    probabilities = _integer_wheels(img, counter, None, None)
    if probabilities is None or len(probabilities) != len(counter.digits):
        return None
    before = (int(counter.digits[-1]) - 1) % 10
    if probabilities[-1, digit_classifier.ROLL + before] >= CONTRADICT:
        return before
    return None


def _unsure_digit_contradicted(img, counter):
    """Tell whether the digit classifier reads another digit, with a
    probability of at least CONTRADICT, on a wheel before the last integer
    one that the line read with less than SURE_DIGIT

    A line read with confidence may still have read a faded leading 0 as
    a 5 with a probability just over VERIFY_CONFIDENCE, and where two
    readers disagree on a wheel neither the line's integer nor its
    verdict holds.  A digit of the line one under the classifier's
    agrees with it (a wheel caught between two digits, see _contradicts).
    The wheels before the last stand still but while it rolls over from
    9; the last integer wheel, which rolls, has checks of its own (see
    _cross_check, _wheels_contradict): on it the classifier, sure of a
    wrong digit on some rolling wheels, would overrule a line read right.
    Wheels counted from the last integer one; a line with as many
    integer digits as wheels only.
    """
    probabilities = _integer_wheels(img, counter, None, None)
    if probabilities is None or len(probabilities) != len(counter.digits):
        return False
    scores = digit_classifier.lower_digit(probabilities[:-1])
    for digit, line, score in zip(counter.digits,
            counter.probabilities or (), scores):
        read = int(score.argmax())
        if (line < SURE_DIGIT and score[read] >= CONTRADICT
                and _contradicts(int(digit), read)):
            return True
    return False


def _line_contradicts(counter, expected):
    """Tell whether the recogniser's line contradicts the last integer
    wheel the digit classifier matched

    The line was not read with confidence as a whole, but the digit it
    read last with a probability of at least LINE_CONTRADICT is a second
    reading of that wheel (see _line_disagrees).
    """
    return bool(_line_disagrees(counter, expected)
        and counter.probabilities[-1] >= LINE_CONTRADICT)


def _line_disagrees(counter, expected):
    """Tell whether the last digit of the recogniser's line, whatever its
    probability, is another digit than the last integer wheel the digit
    classifier matched (see _contradicts)

    Only when the line read as many integer digits as the wheels matched,
    or one more or less (the arrow read as a digit, a wheel missed); a
    line of other digits (the separators of the window read as 1s) is no
    reading of the wheels.
    """
    if not counter.probabilities or not counter.digits:
        return False
    if abs(len(counter.digits) - len(expected)) > 1:
        return False
    return _contradicts(int(expected[-1]), int(counter.digits[-1]))


def _line_differs_last(counter, expected):
    """Tell whether the line read the wheels the classifier matched, as
    many of them and the same digits, but another last one (see
    _contradicts)

    Such a line, even read without confidence, is a second reading of
    the very wheels that differs on the last one only.
    """
    return bool(counter.digits and len(counter.digits) == len(expected)
        and counter.digits[:-1] == expected[:-1]
        and _line_disagrees(counter, expected))


def _wheel_unsteady(gray, cells, line_digit):
    """Tell whether the digit classifier reads line_digit on the last
    wheel when it is cut a little otherwise

    Where the line read another last digit than the one matched without
    confidence (see _line_differs_last), the classifier, sure of a wrong
    digit, is not believed over it on a single cut: the last wheel is cut
    again a share UNSTEADY_SHIFT of the pitch to the left and to the
    right, and UNSTEADY_SHIFT of the window's height shorter at the top
    and at the bottom, and when the classifier reads the line's digit, or
    the digit the template reader sees the wheel rolling from (see
    _other_last_digits), as its best on one of these cuts (as the lower
    one, see digit_classifier.lower_digit), two readers agree on it and
    the match is not made.  (A window cut tight, as the detector boxes
    some photos turned upside down, may hide the next digit of a rolling
    wheel and show the classifier another.)
    """
    left, right = cells[-1]
    if len(cells) > 1:
        pitch = (cells[-1][0] + cells[-1][1] - cells[0][0] - cells[0][1]) / (
            2 * (len(cells) - 1))
    else:
        pitch = right - left
    height, width = gray.shape
    centre = (left + right) / 2
    shift = UNSTEADY_SHIFT * pitch
    trim = int(round(UNSTEADY_SHIFT * height))
    crops = []
    for move in (-shift, shift):
        a = max(0, int(centre + move - pitch / 2))
        b = min(width, int(math.ceil(centre + move + pitch / 2)))
        crops.append(gray[:, a:max(b, a + 1)])
    crop = wheels.cell_crops(gray, cells)[-1]
    crops += [crop[trim:], crop[:height - trim]]
    scores = digit_classifier.lower_digit(
        digit_classifier.probabilities(crops))
    return bool((scores.argmax(axis=1) == line_digit).any())


def _other_last_digits(gray, cells, counter, expected):
    """Return the digits other than the expected one that the line and
    the template reader (as the lower digit of a rolling wheel) read on
    the last integer wheel"""
    rolling = wheels.rolling_cell(gray, cells, len(cells) - 1)
    return {int(counter.digits[-1]), rolling} - {None, int(expected[-1])}


def _decimal_wheels(counter, count, digits, decimals):
    "Return how many of the count wheels are decimals"
    if counter.decimals:
        return len(counter.decimals)
    if decimals and digits and count == digits + decimals:
        return decimals
    return 0


def _wheels_show(gray, cells, expected):
    """Return the lowest probability of the expected digits on the wheel
    cells, or None when a wheel does not show its digit

    A wheel caught between two digits counts the lower one, whose
    probability is that of the wheel standing on it or rolling from it to
    the next.  When the template reader sees the last wheel rolling from
    the digit below the expected one, the expected digit is still to come.
    """
    probabilities = digit_classifier.probabilities(
        wheels.cell_crops(gray, cells))
    lower = digit_classifier.lower_digit(probabilities)
    rolling = wheels.rolling_cell(gray, cells, len(cells) - 1)
    last = int(expected[-1])
    if rolling is not None and rolling == (last - 1) % 10:
        return None
    lowest = 1.
    for index, digit in enumerate(expected):
        digit = int(digit)
        score = lower[index]
        others = np.delete(score, digit).max()
        if score[digit] < WHEEL_ACCEPT or score[digit] < WHEEL_RATIO * max(
                others, probabilities[index, digit_classifier.OTHER]):
            if (index == len(cells) - 1 and rolling == digit
                    and int(score.argmax()) == digit):
                # A rolling last wheel the classifier is unsure of: the
                # template reader and the classifier's best digit agree
                lowest = min(lowest, VERIFY_CONFIDENCE)
                continue
            return None
        lowest = min(lowest, float(score[digit]))
    return lowest


def _read_wheels(img, counter):
    """Return the integer digits and confidence the digit classifier reads
    on the counter's wheels, or (None, 0)

    The window is cut into as many wheels as read on the line, or one fewer
    or more (see _wheel_readings); the cut read with the most confidence
    is kept.  A reading whose last wheel the template reader sees rolling
    from another digit has no confidence.  A cut across the wheels may
    read their separators as 1s as surely as the right one reads the
    wheels: a cut of another count than the line's is not believed where
    the line's count is read surely as another integer, and two such
    cuts read surely as two integers leave the wheels unread.  The way up
    is the counter line's (read both ways, see counter.py): the wheels of
    most household meters (0, 1, 6, 8, 9) read as well upside down, so
    the classifier cannot tell it.
    """
    gray = _digits_gray(img, counter)
    best = (None, 0.)
    readings = list(_wheel_readings(gray, counter, None, None))
    line_read = _line_count_reads(counter, readings)
    if line_read is not None:
        readings = [r for r in readings if int(r.digits) == line_read]
    if len({int(r.digits) for r in readings
                if r.confidence >= WHEEL_READ}) > 1:
        return best
    for _, cells, probabilities, digits, confidence in readings:
        shown = len(digits)
        last = probabilities[shown - 1]
        if last.argmax() < 10:
            # Read as a still digit while the template reader sees the
            # wheel roll from another: not sure of it
            rolling = wheels.rolling_cell(gray, cells[:shown], shown - 1)
            if rolling is not None and rolling != int(last.argmax()):
                confidence = 0.
        if confidence > best[1]:
            best = (digits, confidence)
    return best


# A cut of the window into size cells (the arrow's included): the cells of
# its wheels and their probabilities,
# the integer digits the classifier reads there (the lower digit of a
# rolling wheel) and the lowest probability of them
_Cut = namedtuple('_Cut',
    ['size', 'cells', 'probabilities', 'digits', 'confidence'])


def _wheel_readings(gray, counter, digits, decimals):
    """Yield the _Cut of the window into as many wheels as read on the
    line, and into one fewer and one more

    A leading wheel that shows no digit (the arrow) is dropped; a cut of
    fewer than three integer wheels is no reading.
    """
    count = _line_count(counter)
    tried = set()
    for size in (count, count - 1, count + 1):
        if not wheels.MIN_WHEELS <= size <= wheels.MAX_WHEELS:
            continue
        cells = wheels.fit_cells(gray, size)
        if len(cells) in tried:
            continue
        tried.add(len(cells))
        cut = len(cells)
        probabilities = digit_classifier.probabilities(
            wheels.cell_crops(gray, cells))
        if probabilities[0].argmax() == digit_classifier.OTHER:
            probabilities, cells = probabilities[1:], cells[1:]
        shown = len(probabilities) - _decimal_wheels(counter,
            len(probabilities), digits, decimals)
        if shown < 3:
            continue
        lower = digit_classifier.lower_digit(probabilities[:shown])
        yield _Cut(cut, cells, probabilities,
            ''.join(str(int(p.argmax())) for p in lower),
            float(lower.max(axis=1).min()))


def _line_count(counter):
    "Return how many wheels the counter's line read"
    return len(counter.digits) + len(counter.decimals)


def _line_count_reads(counter, readings):
    """Return the integer the classifier reads with WHEEL_READ on the cut
    of the window into as many cells as the line read digits, or None"""
    for cut in readings:
        if (cut.size == _line_count(counter)
                and cut.confidence >= WHEEL_READ):
            return int(cut.digits)
    return None


def _window_gray(img, counter):
    "Return the counter's window as dark print on light, WINDOW_HEIGHT high"
    if counter.quarter:
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    window = _warp(img, counter.box, wheels.WINDOW_MARGIN)
    height, width = window.shape[:2]
    target = wheels.WINDOW_HEIGHT
    if height > target:
        window = cv2.resize(window,
            (max(1, round(width * target / height)), target),
            interpolation=cv2.INTER_AREA)
    if counter.flip:
        window = cv2.rotate(window, cv2.ROTATE_180)
    gray = cv2.cvtColor(window, cv2.COLOR_BGR2GRAY)
    if np.median(gray) < np.mean(np.percentile(gray, [5, 95])):
        # White digits on black wheels: the wheel reader reads dark print
        gray = 255 - gray
    return gray


def _digits_gray(img, counter):
    """Return the window cut to the columns of its digits (the arrow
    before them and the unit after them left out), with a little margin"""
    gray = _window_gray(img, counter)
    if counter.span is None:
        return gray
    width = gray.shape[1]
    left, right = counter.span
    margin = (right - left) * SPAN_MARGIN
    a = max(0, int((left - margin) * width))
    b = min(width, int(math.ceil((right + margin) * width)))
    return gray[:, a:b] if b - a >= 8 else gray


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

    The detector was made for upright print: on a photo upside down it
    boxed some counter windows tight or not at all.  When the direction
    classifier's vote over at least UPRIGHT_VOTERS lines is sure that a
    view's print is upside down (see counter.SURE_VOTE), the view is
    detected again turned upright and those boxes are used, brought back
    onto the view with their corners in reading order, so that their
    crops come out upright.
    """

    def __init__(self, eng, img):
        self.engine = eng
        # The boxes detected on each view as it is, when it was detected
        # again turned upright
        self._original = []
        # The direction classifier's vote over each view's boxes, when it
        # was taken on the boxes kept
        self._votes = []
        self._views = [(img, self._detect(img))]

    def __iter__(self):
        yield self._views[0]
        if not self._views[0][1]:
            return
        if len(self._views) == 1:
            img = cv2.rotate(self._views[0][0], cv2.ROTATE_90_CLOCKWISE)
            self._views.append((img, self._detect(img)))
        yield self._views[1]

    def original(self, index):
        "Return the boxes of view index as detected, when it was turned"
        return self._original[index]

    def vote(self, index):
        "Return the vote over the boxes of view index, or None if not taken"
        return self._votes[index]

    def _detect(self, img):
        "Return the text boxes of the view, detected upright when sure"
        boxes = self.engine.detect(img)
        upright, vote = boxes, None
        if len(boxes) >= UPRIGHT_VOTERS:
            vote = self.engine.vote([_warp(img, b) for b in boxes])
            if vote >= counter_line.SURE_VOTE:
                upright = self._upright(img, boxes)
        turned = upright is not boxes
        self._original.append(boxes if turned else None)
        self._votes.append(None if turned else vote)
        return upright

    def _upright(self, img, boxes):
        """Return the boxes detected on the view turned upright, in the
        view's coordinates, or boxes when none is found so"""
        turned = self.engine.detect(cv2.rotate(img, cv2.ROTATE_180))
        if not turned:
            return boxes
        height, width = img.shape[:2]
        corner = np.float32([width - 1, height - 1])
        return [corner - box for box in turned]


def _counter(eng, img, views=None):
    """Return the Counter of the photo, or None

    Its box is on the photo as it is or, when quarter is set, on the photo
    turned a quarter clockwise (see _Views).  Where a view was detected
    again turned upright, a counter read there without confidence is
    read again on the boxes detected as the view was, and the one read
    with more confidence is kept; when neither was read with confidence,
    the next view is read too (a photo turned a quarter was voted upside
    down sideways, and its sideways lines read as a counter), and the
    counter read with the most confidence is kept.  A view as detected
    that reads a counter ends the search, as before views were turned.
    """
    views = views or _Views(eng, img)
    best = None
    for quarter, (img, boxes) in enumerate(views):
        counter = _find_counter(eng, img, boxes, views.vote(quarter))
        original = views.original(quarter)
        if original and (counter is None
                or counter.confidence < VERIFY_CONFIDENCE):
            other = _find_counter(eng, img, original)
            if other is not None and (counter is None
                    or other.confidence > counter.confidence):
                counter = other
        if counter is None:
            continue
        counter = counter._replace(quarter=bool(quarter))
        if best is None or counter.confidence > best.confidence:
            best = counter
        if not original or counter.confidence >= VERIFY_CONFIDENCE:
            break
    return best


def _find_counter(eng, img, boxes, vote=None):
    """Return the Counter read on the boxes of a view, checked, or None;
    vote is the direction classifier's over the boxes when it was taken"""
    if not boxes:
        return None
    if vote is None:
        vote = eng.vote([_warp(img, b) for b in boxes])
    counter = find_counter(eng, img, boxes, vote > 0,
        abs(vote) >= counter_line.SURE_VOTE
        and len(boxes) >= counter_line.SURE_VOTERS)
    if counter is None:
        return None
    return _cross_check(eng, img, counter)


def _cross_check(eng, img, counter):
    """Return the Counter checked against its wheels read one by one

    The recogniser reads the line as a whole and may read a wheel caught
    between two digits as the upper one; the wheels read one by one keep
    the lower digit (see wheels.py).  When the last wheel rolls and its
    lower digit is neither the one read on the line nor the one before,
    the counter is not trusted: its confidence is 0.  A line read with
    less confidence is trusted when the wheels give the same integer.
    """
    gray = _window_gray(img, counter)
    count = _line_count(counter)
    if 0 < counter.confidence < VERIFY_CONFIDENCE:
        # Not sure of every digit of the line: trusted when the wheels read
        # one by one give the same integer
        read, _ = wheels.read_wheels(eng, gray, count)
        if len(counter.decimals) and len(read) > len(counter.decimals):
            read = read[:-len(counter.decimals)]
        if read and int(read) == int(counter.digits):
            return counter._replace(confidence=VERIFY_CONFIDENCE)
        return counter
    if counter.confidence and _unsure_digit_contradicted(img, counter):
        return counter._replace(confidence=0.)
    lower = wheels.rolling_last(gray, count - len(counter.decimals))
    if lower is None:
        lower = _rolling_on_classifier(img, counter)
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
    "Return the photo, or its region, as the first working image"
    return next(_work_images(data, region))


def _work_images(data, region):
    """Decode the photo, or its region, and return an iterator over its
    working images: oriented BGR arrays, made as they are asked for

    The photo is refused from its header when it has too many pixels.  A
    large JPEG is decoded at the smallest scale that keeps WORK_PIXELS in
    the region, then scaled down to them.  A photo of more than
    DETECT_PIXELS is brought down to a WORK_SIDE long side, then to a
    RETRY_SIDE one, and that first image is enlarged ENLARGE times; a
    smaller one is taken at its own size, then ENLARGE and SHRINK times
    it.  Field cameras send JPEGs cut short: what arrived is decoded, the
    rest grey (see photo.open_image).
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
    return _scales(image)


def _scales(image):
    "Return an iterator over the working images of the decoded photo"
    width, height = image.size
    large = width * height > DETECT_PIXELS
    first = _scaled(image, WORK_SIDE if large else None)
    yield first
    if large:
        yield _scaled(image, RETRY_SIDE)
    height, width = first.shape[:2]
    for factor in [ENLARGE] if large else [ENLARGE, SHRINK]:
        yield cv2.resize(first, (round(width * factor),
                round(height * factor)),
            interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA)


def _scaled(image, side):
    """Return the image brought down to WORK_PIXELS, and to a side long
    side when given, as a BGR array"""
    width, height = image.size
    scale = math.sqrt(WORK_PIXELS / (width * height))
    if side:
        scale = min(scale, side / max(width, height))
    if scale < 1:
        image = image.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))),
            Image.Resampling.LANCZOS, reducing_gap=3.)
    image = image.convert('RGB')
    return _stretched(np.ascontiguousarray(np.asarray(image)[:, :, ::-1]))


def _stretched(img):
    """Return the BGR image with its levels stretched when they span less
    than MIN_LEVELS, else the image itself

    The detector, the recogniser and the digit classifier were made on
    photos of ordinary exposure: on a dark one the detector misses lines
    and the classifier a wheel's roll.  Its 1st to 99th percentile of grey
    are brought to STRETCHED_LEVELS from DARKEST_LEVEL, the rest clipped.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    cumulative = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel(
        ).cumsum()
    low, high = (int(np.searchsorted(cumulative, share * cumulative[-1]))
        for share in (0.01, 0.99))
    if high - low >= MIN_LEVELS:
        return img
    gain = STRETCHED_LEVELS / max(high - low, 1)
    return cv2.convertScaleAbs(img, alpha=gain,
        beta=DARKEST_LEVEL - low * gain)


def _crop_box(region, size):
    "Return the pixel box of a region given as fractions, or ValueError"
    left, top, right, bottom = (min(max(float(v), 0.), 1.) for v in region)
    width, height = size
    box = (int(left * width), int(top * height),
        int(math.ceil(right * width)), int(math.ceil(bottom * height)))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        raise ValueError("empty region %r" % (region,))
    return box
