# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Read the integer counter (digit wheels) of a meter photo.

Engine: RapidOCR (``rapidocr-onnxruntime``), i.e. the PP-OCR text detector,
the 0/180 degree direction classifier and the text recogniser run by
onnxruntime on the CPU.  Its three models ship inside the wheel, so nothing
is downloaded at run time, and onnxruntime's telemetry is switched off
before the first session is created: the server must make no outbound
connection.  Tesseract was measured first and read the integer part right
on at most 2 of the 17 shared photos: it cannot find the wheel window on a
busy dial and has no notion of a wheel caught mid-roll.

RapidOCR is used in pieces rather than as a whole-image OCR, because a dial
carries many digit strings (year, serial number, dial labels) and the
counter is often upside down:

1. the detector finds every text box once, on the photo as it is;
2. the direction classifier votes over all boxes whether the photo is
   upside down (the dial print is the majority of the text);
3. the tallest mostly-digit line of 4 to 8 characters is taken as the wheel
   window (the serial number and the year are printed smaller);
4. the window is cut into equally spaced wheels and each wheel is read on
   its own with the recogniser restricted to the ten digits.  A wheel caught
   between two digits shows the bottom of the lower digit above the top of
   the next one; like the meter itself we keep the lower digit.

The engine is created once per process (see ``engine``) so that a reading
costs only the inference.
"""
import io
import math
import threading
from collections import namedtuple

import numpy as np
from PIL import Image, ImageFile, ImageOps

__all__ = ['OcrResult', 'read_counter', 'compare', 'engine']

OcrResult = namedtuple('OcrResult', ['digits', 'confidence'])

MIN_WHEELS, MAX_WHEELS = 4, 8
# Fraction of the window height added above and below the detected line so
# that the halves of a rolling digit stay in the crop.
WINDOW_MARGIN = 0.2
DETECT_SIDE = 608

_engine = None
_engine_lock = threading.Lock()


def engine():
    "Return the RapidOCR engine, created once per process"
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
    return _engine


class _Engine:
    "The three PP-OCR models and the digit indexes of the recogniser"

    def __init__(self):
        import onnxruntime
        onnxruntime.disable_telemetry_events()
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
        ocr = RapidOCR()
        self.detector = ocr.text_det
        # A fixed size keeps detection time independent of the photo size.
        self.detector.get_preprocess = lambda max_wh: DetPreProcess(
            DETECT_SIDE, 'min', self.detector.mean, self.detector.std)
        self.classifier = ocr.text_cls
        self.recognizer = ocr.text_rec
        characters = self.recognizer.postprocess_op.character
        self.digit_index = np.array(
            [characters.index(str(d)) for d in range(10)])

    def detect(self, img):
        boxes, _ = self.detector(img)
        return [] if boxes is None else list(boxes)

    def upside_down(self, crops):
        "Vote, weighted by width, on whether the text is upside down"
        crops = [np.ascontiguousarray(np.rot90(c))
            if c.shape[0] >= 1.5 * c.shape[1] else c for c in crops]
        if not crops:
            return False
        _, results, _ = self.classifier(crops)
        vote = 0.
        for (label, score), crop in zip(results, crops):
            vote += (1 if label == '180' else -1) * score * crop.shape[1]
        return vote > 0

    def recognize(self, crops):
        results, _ = self.recognizer(crops)
        return results

    def digit_probabilities(self, crops):
        "Return for each crop the best probability of each digit"
        rec = self.recognizer
        height, width = rec.rec_image_shape[1:]
        ratio = max(c.shape[1] / c.shape[0] for c in crops)
        batch = np.stack([rec.resize_norm_img(c, ratio) for c in crops])
        preds = rec.session(batch.astype(np.float32))[0]
        return preds[:, :, self.digit_index].max(axis=1)


def read_counter(image, region=None):
    """Return the OcrResult of the counter wheels on the photo

    image is the photo as bytes, region an optional (left, top, right,
    bottom) crop box given as fractions of the EXIF-oriented photo.
    """
    try:
        img = _load(image, region)
    except (OSError, ValueError, Image.DecompressionBombError):
        return OcrResult(None, 0.)
    eng = engine()
    boxes = eng.detect(img)
    if not boxes:
        return OcrResult(None, 0.)
    crops = [_warp(img, b) for b in boxes]
    flip = eng.upside_down(crops)
    window = _find_window(eng, img, boxes, crops, flip)
    if window is None:
        return OcrResult(None, 0.)
    gray, count, line_score = window
    digits, confidence = _read_wheels(eng, gray, count)
    if digits is None:
        return OcrResult(None, 0.)
    return OcrResult(digits, round(float(confidence * line_score), 3))


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
    typed = int(math.floor(float(typed_value) + 1e-9))
    return 'match' if read == typed else 'mismatch'


def _load(data, region):
    "Decode the photo to an oriented BGR array, tolerating truncated JPEGs"
    image = Image.open(io.BytesIO(data))
    # ESP32-CAM frames are often cut short; the decoded part is still useful.
    # The flag is set on this image only, not on the ImageFile module.
    image.LOAD_TRUNCATED_IMAGES = True
    try:
        image.load()
    except OSError:
        ImageFile.LOAD_TRUNCATED_IMAGES, previous = True, (
            ImageFile.LOAD_TRUNCATED_IMAGES)
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
    image = ImageOps.exif_transpose(image).convert('RGB')
    if region:
        left, top, right, bottom = region
        width, height = image.size
        image = image.crop((
                int(left * width), int(top * height),
                int(math.ceil(right * width)), int(math.ceil(bottom * height))))
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def _warp(img, points, margin=0.):
    "Return the box straightened, grown vertically by margin of its height"
    import cv2
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


def _find_window(eng, img, boxes, crops, flip):
    """Return the gray wheel window, its wheel count and line score

    The window is the tallest line that reads as 4 to 8 characters that are
    mostly digits; the serial number and the year are printed smaller.
    """
    import cv2
    lines = []
    for box, crop in zip(boxes, crops):
        height, width = crop.shape[:2]
        if 2 < width / height < 10:
            if flip:
                crop = cv2.rotate(crop, cv2.ROTATE_180)
            lines.append((height, box, crop))
    lines.sort(key=lambda l: -l[0])
    lines = lines[:6]
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
    if flip:
        window = cv2.rotate(window, cv2.ROTATE_180)
    return cv2.cvtColor(window, cv2.COLOR_BGR2GRAY), count, score


def _read_wheels(eng, gray, count):
    "Return the digits of the count wheels of the window and a confidence"
    cells = _cells(gray, count)
    pieces = [_pieces(gray[:, left:right]) for left, right in cells]
    heights = [p[0][1] - p[0][0] for p in pieces if len(p) == 1]
    digit_height = int(np.median(heights)) if heights else int(
        gray.shape[0] / (1 + 2 * WINDOW_MARGIN) * 0.8)
    bright = int(np.percentile(gray, 95))
    images, plan = [], []
    for (left, right), runs in zip(cells, pieces):
        cell = gray[:, left:right]
        if len(runs) == 2 and _rolling(runs, gray.shape[0], digit_height):
            (top0, top1), (bottom0, bottom1) = runs
            plan.append(('roll', len(images)))
            images.append(_canvas(cell[top0:top1], digit_height, bright,
                    'bottom'))
            images.append(_canvas(cell[bottom0:bottom1], digit_height, bright,
                    'top'))
        else:
            top, bottom = _span(runs, gray.shape[0])
            plan.append(('digit', len(images)))
            images.append(_canvas(cell[top:bottom], digit_height, bright,
                    'middle'))
    import cv2
    probabilities = eng.digit_probabilities(
        [cv2.cvtColor(i, cv2.COLOR_GRAY2BGR) for i in images])
    digits, scores = [], []
    for kind, index in plan:
        if kind == 'digit':
            p = probabilities[index]
            digit = int(p.argmax())
            score = float(p[digit])
        else:
            digit, score = _lower_digit(
                probabilities[index], probabilities[index + 1])
        digits.append(str(digit))
        scores.append(score)
    return ''.join(digits), float(np.mean(scores))


def _cells(gray, count):
    """Return the (left, right) column span of each wheel

    Wheels are equally spaced, so the pitch and offset that put the most
    dark ink inside count equal slots are searched.
    """
    height, width = gray.shape
    ink = _ink(gray)
    column = ink[int(height * 0.3):int(height * 0.7)].sum(axis=0)
    cumulated = np.concatenate([[0.], np.cumsum(column)])
    best = None
    for pitch in np.linspace(width / (count + 0.6), width / (count - 0.2), 30):
        slot = int(pitch * 0.5)
        offsets = np.arange(0, max(1, int(width - pitch * (count - 1) - slot)))
        starts = offsets[:, None] + (np.arange(count) * pitch)[None, :]
        starts = starts.astype(int)
        ends = np.minimum(starts + slot, width)
        total = (cumulated[ends] - cumulated[starts]).sum(axis=1)
        index = int(total.argmax())
        if best is None or total[index] > best[0]:
            best = (total[index], pitch, offsets[index], slot)
    _, pitch, offset, slot = best
    grow = int(slot * 0.15)
    return [(max(0, int(offset + i * pitch) - grow),
            min(width, int(offset + i * pitch) + slot + grow))
        for i in range(count)]


def _ink(gray):
    "Dark print of the window as 0/1 floats"
    low, high = np.percentile(gray, 2), np.percentile(gray, 98)
    return (gray < low + 0.3 * (high - low)).astype(np.float32)


def _pieces(cell):
    "Return the runs of rows carrying ink, ignoring thin marks"
    import cv2
    height, width = cell.shape
    middle = cell[:, width // 5:width - width // 5]
    _, mask = cv2.threshold(middle, 0, 1, cv2.THRESH_BINARY_INV
        + cv2.THRESH_OTSU)
    rows = mask.sum(axis=1) >= max(2, 0.08 * middle.shape[1])
    runs, start, gap = [], None, 0
    for y, on in enumerate(rows):
        if on:
            if start is None:
                start = y
            gap = 0
            end = y + 1
        elif start is not None:
            gap += 1
            if gap > max(1, height // 40):
                runs.append((start, end))
                start = None
    if start is not None:
        runs.append((start, end))
    runs = [r for r in runs if r[1] - r[0] >= 0.12 * height]
    return runs


def _rolling(runs, height, digit_height):
    "Tell whether two ink runs are the halves of a wheel caught mid-roll"
    (top0, top1), (bottom0, bottom1) = runs
    return (top1 - top0 < 0.85 * digit_height
        and bottom1 - bottom0 < 0.85 * digit_height
        and top0 < 0.25 * height and bottom1 > 0.75 * height)


def _span(runs, height):
    "Rows of the main digit of a still wheel"
    if not runs:
        return 0, height
    return max(runs, key=lambda r: r[1] - r[0])


def _canvas(piece, digit_height, bright, place):
    """Put a (partial) digit on a blank cell of one digit height

    A half digit is drawn where it would stand in a full cell: the bottom of
    the leaving digit at the bottom, the top of the coming one at the top.
    """
    piece = piece[:digit_height] if place != 'bottom' else (
        piece[-digit_height:])
    height, width = piece.shape
    pad = max(2, digit_height // 6)
    canvas = np.full((digit_height + 2 * pad, width + 2 * pad), bright,
        dtype=np.uint8)
    if place == 'bottom':
        top = pad + digit_height - height
    elif place == 'top':
        top = pad
    else:
        top = pad + (digit_height - height) // 2
    canvas[top:top + height, pad:pad + width] = piece
    return canvas


def _lower_digit(leaving, coming):
    """Return the lower digit of a rolling wheel and its score

    The leaving digit d shows its bottom above the top of d + 1; both halves
    vote and, as on the meter, the lower digit is kept.
    """
    eps = 1e-3
    scores = [math.log(leaving[d] + eps) + math.log(coming[(d + 1) % 10] + eps)
        for d in range(10)]
    digit = int(np.argmax(scores))
    return digit, float(math.sqrt(leaving[digit] * coming[(digit + 1) % 10]))
