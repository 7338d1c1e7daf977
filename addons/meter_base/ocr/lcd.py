# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Read the register of an electronic meter's LCD or 7-segment display

An LCD's digits are grey on grey: PP-OCR's detector often finds no text
on the glass, and its recogniser reads a 7-segment 1 or a unit badly.
This reader only ever looks at a region it has recognised as a display:

1. a panel is a closed, nearly rectangular outline of a display's shape
   (``panels``: wider than tall, a few percent of the photo);
2. on the panel, contrast-stretched, its dark strokes (or its light ones)
   are cut from the shading of the glass by a black-hat transform and
   binarised (at a few thresholds: segments are not all as dark), and
   the segments closed into digits (a vertical morphological close: a
   7-segment digit is made of strokes with gaps); the register is a row
   of MIN_DIGITS to MAX_DIGITS blobs of one height, their tops and
   bottoms aligned, their right edges evenly spaced (a 1 stands at the
   right of its cell), with no other print of their height among them
   nor a digit out of line or a piece of one beside them (``_row``);
   print of another size (a unit, a symbol) is no digit, a dot on their
   baseline between two of them is the decimal point, and one on their
   top line the point of a display upside down;
3. the recogniser reads the row on the contrast-stretched crop and on
   the binarised strokes: both must read one digit on every blob, the
   same ones;
4. the seven segments of each digit are sampled on the binarised cell,
   the row's slant taken out (``_segments``): at least SEGMENT_SHARE of
   the digits must be read so, and none differently from the recogniser;
5. the panel is read both ways up: a register read both ways (00692 is
   26900 upside down) is not read, nor one where a glare on the baseline
   between two digits may hide the decimal point.

A wheel window is no display: its wheels are separate cells with their
own shading, a rolling wheel's digit stands higher or lower than the
others, and the print of wheels is no 7-segment font: the row or its
segments are not found, or the readers disagree.
"""
from collections import namedtuple
from itertools import product

import cv2
import numpy as np

__all__ = ['Display', 'read']

# The register read: integer digits with their leading zeros, the digits
# after the decimal point, the lowest confidence of a digit and the panel's
# corners on the image
Display = namedtuple('Display', ['digits', 'decimals', 'confidence', 'box'])

# Long side of the photo when looking for panels
PANEL_SIDE = 640
# Shape of a panel: long side over short side, and share of the photo
PANEL_ASPECT = (1.3, 7.)
PANEL_AREA = (0.004, 0.3)
# Share of its bounding rectangle the outline must fill
PANEL_FILL = 0.8
# Panels tried, the largest first
MAX_PANELS = 6
# Height of the panel when reading it
PANEL_HEIGHT = 160
# Side of the kernel under which a dark stroke is print, as a share of the
# panel's height
STROKE_KERNEL = 0.15
# Factors of Otsu's threshold tried in turn: the segments of a display
# are not all as dark, nor its glass as even
THRESHOLDS = (1., 0.85, 1.2, 0.7)
# Gaps closed between two segments of a digit, as a share of the panel's
# height, tried in turn (a wider one may join a digit to a mark beside it)
SEGMENT_GAPS = (0.05, 0.025)
# Digits of a register, decimals included
MIN_DIGITS, MAX_DIGITS = 5, 9
# Height of a digit as a share of the panel's
DIGIT_HEIGHT = (0.25, 0.95)
# Largest difference of the digits' tops, bottoms and heights, as a share
# of their height
ALIGN = 0.15
# Height, as a share of the digits', of a piece of print beside the row
# and the greatest distance of its top from theirs, for it to be taken
# for a piece of a digit
BROKEN = 0.2
# Largest difference of the spaces between digits from their pitch, as a
# share of the pitch
SPACING = 0.25
# Share of a segment's area that must be dark for it to be on, and under
# which it is off; between the two the digit is not read
SEGMENT_ON, SEGMENT_OFF = 0.5, 0.2
# Grey level of a photo's saturated pixels (a glare)
SATURATED = 250
# Share of the digits that must be read by their segments
SEGMENT_SHARE = 0.5
# Segments (a: top, b: top right, c: bottom right, d: bottom, e: bottom
# left, f: top left, g: middle) of each digit
_SEGMENTS = {
    'abcdef': '0', 'bc': '1', 'abdeg': '2', 'abcdg': '3', 'bcfg': '4',
    'acdfg': '5', 'acdefg': '6', 'cdefg': '6', 'abc': '7', 'abcf': '7',
    'abcdefg': '8', 'abcdfg': '9', 'abcfg': '9',
    }


def read(eng, img):
    """Return the Display of the first panel of the image read as a
    register, or None"""
    from .counter import read_line, warp
    for quad in panels(img):
        crop = warp(img, quad)
        height, width = crop.shape[:2]
        crop = cv2.resize(crop,
            (max(1, round(width * PANEL_HEIGHT / height)), PANEL_HEIGHT),
            interpolation=cv2.INTER_AREA)
        raw = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        gray = _normalise(raw)
        # Dark segments on a light panel, or light ones on a dark panel
        for panel in (gray, 255 - gray):
            # Either way up: a register of 0, 1, 2, 5, 6, 8 and 9 without
            # a decimal point may read as another one upside down; one
            # read both ways is not read
            readings = [_read_panel(eng, read_line, turned, glare)
                for turned, glare in [(panel, raw),
                    (cv2.rotate(panel, cv2.ROTATE_180),
                        cv2.rotate(raw, cv2.ROTATE_180))]]
            readings = [r for r in readings if r is not None]
            if len(readings) == 1:
                return readings[0]._replace(box=quad)
            if readings:
                return None
    return None


def _read_panel(eng, read_line, gray, raw):
    """Return the Display of the panel as it is, or None

    raw is the panel before its contrast was stretched, to see glares.
    """
    for factor, gap in product(THRESHOLDS, SEGMENT_GAPS):
        row = _row(gray, factor, gap)
        if row is None or _hidden_point(raw, row):
            continue
        display = _read_row(eng, read_line, gray, row)
        if display is not None:
            return display
    return None


def panels(img):
    "Yield the corners of the regions of the image shaped as a display"
    height, width = img.shape[:2]
    scale = min(1., PANEL_SIDE / max(height, width))
    small = cv2.resize(img, (max(1, round(width * scale)),
            max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY),
        (5, 5), 0)
    edges = cv2.dilate(cv2.Canny(gray, 30, 90), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST,
        cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        _, (w, h), _ = rect = cv2.minAreaRect(contour)
        if min(w, h) < 10:
            continue
        area = w * h
        if not (PANEL_AREA[0] * gray.size <= area
                <= PANEL_AREA[1] * gray.size):
            continue
        if not PANEL_ASPECT[0] <= max(w, h) / min(w, h) <= PANEL_ASPECT[1]:
            continue
        if cv2.contourArea(contour) < PANEL_FILL * area:
            continue
        quad = _corners(cv2.boxPoints(rect)) / scale
        if any(_same(quad, q) for _, q in found):
            continue
        found.append((area, quad))
    found.sort(key=lambda f: -f[0])
    for _, quad in found[:MAX_PANELS]:
        yield quad


def _corners(points):
    "Return the four points as top left, top right, bottom right, bottom left"
    points = np.float32(points)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    points = points[np.argsort(angles)]
    # From the angle order (starting left, going clockwise on the image),
    # start at the top left: the point of smallest x + y
    start = int(np.argmin(points.sum(axis=1)))
    points = np.roll(points, -start, axis=0)
    width = np.linalg.norm(points[1] - points[0])
    height = np.linalg.norm(points[3] - points[0])
    if height > width:
        # A panel standing on its short side: turned a quarter
        points = np.roll(points, -1, axis=0)
    return points


def _same(quad, other):
    "Tell whether two quads are nearly the same region"
    size = np.linalg.norm(quad[2] - quad[0])
    return float(np.abs(quad - other).max()) < 0.1 * size


def _normalise(gray):
    "Return the panel with its contrast stretched between 2 and 98 %"
    low, high = np.percentile(gray, [2, 98])
    gray = np.clip((gray.astype(np.float32) - low) / max(high - low, 1.),
        0, 1)
    return (gray * 255).astype(np.uint8)


Row = namedtuple('Row', ['boxes', 'points', 'binary', 'stroke', 'pitch'])


def _row(gray, factor=1., gap=SEGMENT_GAPS[0]):
    """Return the Row of digits of the panel, or None

    boxes are the (left, top, width, height) of the digits, left to right,
    points the indexes of the digits followed by the decimal point.
    """
    height, width = gray.shape
    # Dark strokes thinner than a kernel, whatever the shading of the
    # panel (a black-hat transform), then Otsu's threshold
    size = _odd(height * STROKE_KERNEL)
    strokes = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT,
        cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    # (the threshold of the middle of the panel: its frame's edges are
    # darker strokes than faint segments)
    middle = strokes[height // 6:height - height // 6,
        width // 10:width - width // 10]
    threshold, _ = cv2.threshold(middle, 0, 255,
        cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    binary = np.where(strokes > factor * threshold, 255, 0).astype(np.uint8)
    # Close the gaps between the segments of a digit
    gap = max(3, round(height * gap))
    closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (1, gap)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed)
    blobs = [tuple(int(v) for v in stats[i, :4]) for i in range(1, count)]
    tall = [b for b in blobs
        if DIGIT_HEIGHT[0] * height <= b[3] <= DIGIT_HEIGHT[1] * height
        and b[2] <= b[3] and b[1] > 0 and b[1] + b[3] < height]
    best = None
    for seed in tall:
        row = [b for b in tall
            if abs(b[3] - seed[3]) <= ALIGN * seed[3]
            and abs(b[1] - seed[1]) <= ALIGN * seed[3]]
        if best is None or len(row) > len(best):
            best = row
    if not best or not MIN_DIGITS <= len(best) <= MAX_DIGITS:
        return None
    best.sort()
    top = min(b[1] for b in best)
    bottom = max(b[1] + b[3] for b in best)
    digit_height = float(np.median([b[3] for b in best]))
    wide = float(max(b[2] for b in best))
    # A 1 is a narrow blob at the right of its cell: the cells' right
    # edges are evenly spaced
    rights = np.array([b[0] + b[2] for b in best], dtype=np.float32)
    gaps = np.diff(rights)
    pitch = float(np.median(gaps))
    if pitch < 0.6 * wide or pitch > 2.5 * wide:
        return None
    if np.abs(gaps - pitch).max() > SPACING * pitch:
        return None
    # Nothing else of about the digits' height among them or beside them:
    # no other print on the row, no digit out of line (the wheel of a
    # counter caught between two digits); the panel's frame, larger than
    # the row, is no print on it
    left, right = best[0][0], best[-1][0] + best[-1][2]
    for b in blobs:
        if b in best or not 0.5 * digit_height < b[3] < 2 * digit_height:
            continue
        if (left - pitch <= b[0] + b[2] and b[0] <= right + pitch
                and b[1] < bottom and b[1] + b[3] > top):
            return None
    # Nor print beside them wider than a stroke reaching up to their tops
    # (a unit is lower, a letter's ascender a stroke): the pieces of a
    # faint digit the threshold broke
    stroke = _stroke(binary, best)
    for b in blobs:
        if (b in best or b[3] < BROKEN * digit_height
                or b[2] < 2 * stroke):
            continue
        if (left - pitch <= b[0] + b[2] and b[0] <= right + pitch
                and abs(b[1] - top) <= BROKEN * digit_height):
            return None
    points = []
    for b in blobs:
        if not (0.5 * stroke <= b[2] <= 2.5 * stroke
                and 0.5 * stroke <= b[3] <= 2.5 * stroke):
            continue
        centre = b[0] + b[2] / 2
        between = [index for index in range(len(best) - 1)
            if best[index][0] + best[index][2] - stroke <= centre
            <= best[index + 1][0] + stroke]
        if not between:
            continue
        if abs(b[1] - top) <= ALIGN * digit_height:
            # A dot on their top line: the decimal point of a display
            # upside down (whose 0, 2, 5, 6, 8 and 9 read as digits)
            return None
        if abs(b[1] + b[3] - bottom) <= ALIGN * digit_height:
            # A dot on the baseline: the decimal point
            points.extend(between)
    return Row(best, points, binary, stroke, pitch)


def _hidden_point(raw, row):
    """Tell whether a glare could hide a decimal point of the row

    The light of a flash or of the meter's LED saturates the photo: where
    it falls on the baseline between two digits without a point, a point
    may be hidden, and the digits after it taken for the integer.
    """
    bottom = max(b[1] + b[3] for b in row.boxes)
    height = bottom - min(b[1] for b in row.boxes)
    for index, (first, second) in enumerate(
            zip(row.boxes, row.boxes[1:])):
        if index in row.points:
            continue
        gap = raw[max(0, bottom - int(height * 0.3)):bottom + 1,
            first[0] + first[2]:second[0]]
        if gap.size and gap.max() >= SATURATED:
            return True
    return False


def _stroke(binary, boxes):
    "Return the width of the segments' strokes, in pixels"
    runs = []
    for left, top, width, height in boxes:
        line = binary[top + height // 4, left:left + width] > 0
        edges = np.flatnonzero(np.diff(np.concatenate(
                    ([0], line.astype(np.int8), [0]))))
        runs.extend(edges[1::2] - edges[::2])
    return float(np.median(runs)) if runs else 1.


def _read_row(eng, read_line, gray, row):
    """Return the Display of the row when its readers agree, or None

    The recogniser reads the row on the panel's contrast-stretched crop
    and on its binarised strokes: both must read a digit on every blob of
    the row, the same ones; and no digit that the segments show may
    differ from them.
    """
    if len(row.points) > 1:
        return None
    cell_width = float(np.percentile([b[2] for b in row.boxes], 75))
    left = max(0, row.boxes[0][0] - int(cell_width / 2))
    right = min(gray.shape[1],
        row.boxes[-1][0] + row.boxes[-1][2] + int(cell_width / 2))
    top = min(b[1] for b in row.boxes)
    bottom = max(b[1] + b[3] for b in row.boxes)
    margin = int((bottom - top) * 0.25)
    top, bottom = max(0, top - margin), bottom + margin
    readings = []
    for crop in (gray[top:bottom, left:right],
            255 - row.binary[top:bottom, left:right]):
        characters = [(c, p) for c, p, _ in
            read_line(eng, cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
            if c.isdigit()]
        readings.append(characters)
    read = ''.join(c for c, _ in readings[0])
    if (len(read) != len(row.boxes)
            or read != ''.join(c for c, _ in readings[1])):
        return None
    # Segment-like strokes: most digits are read by their segments, as the
    # recogniser reads them
    slant = _slant(row)
    shown = [_segments(row.binary, box, cell_width, row.stroke, slant)
        for box in row.boxes]
    if any(s is not None and s != d for s, d in zip(shown, read)):
        return None
    if sum(s is not None for s in shown) < SEGMENT_SHARE * len(read):
        return None
    confidence = min(p for characters in readings for _, p in characters)
    if row.points:
        point = row.points[0] + 1
        return Display(read[:point], read[point:], confidence, None)
    return Display(read, '', confidence, None)


def _slant(row):
    """Return the slant of the digits (horizontal shift per pixel up)

    The slant is the shear that makes the digits' dark columns narrowest.
    """
    top = min(b[1] for b in row.boxes)
    bottom = max(b[1] + b[3] for b in row.boxes)
    # The digits only, apart, on a band of their height
    pad = bottom - top
    cells = []
    for left, _, width, _ in row.boxes:
        cell = row.binary[top:bottom, left:left + width] > 0
        cells.append(np.pad(cell, ((0, 0), (pad, pad))))
    band = np.hstack(cells).astype(np.float32)
    height, width = band.shape
    best = (None, 0.)
    for slant in np.linspace(-0.35, 0.35, 29):
        matrix = np.float32([[1, slant, -slant * height], [0, 1, 0]])
        sheared = cv2.warpAffine(band, matrix, (width, height))
        columns = sheared.sum(axis=0)
        score = float((columns ** 2).sum())
        if best[0] is None or score > best[1]:
            best = (float(slant), score)
    return best[0]


def _segments(binary, box, cell_width, stroke, slant):
    "Return the digit the seven segments of the box show, or None"
    left, top, width, height = box
    # Straighten the slant of the digit, alone on its band
    margin = int(abs(slant) * height) + 2
    band = np.pad(binary[top:top + height, left:left + width].astype(
            np.float32) / 255, ((0, 0), (margin, margin)))
    matrix = np.float32([[1, slant, -slant * height], [0, 1, 0]])
    band = cv2.warpAffine(band, matrix, (band.shape[1], height))
    columns = np.flatnonzero(band.sum(axis=0) > 0.5)
    if not len(columns):
        return None
    x0, x1 = int(columns[0]), int(columns[-1]) + 1
    if x1 - x0 < 0.6 * cell_width:
        # A 1: two segments on the right of the cell
        filled = band[:, x0:x1].max(axis=1) > 0.5
        if filled[height // 10:height - height // 10].mean() > 0.9:
            return '1'
        return None
    cell = band[:, x0:x1]
    h, w = cell.shape
    t = max(1, int(round(min(stroke, 0.25 * w))))
    # The middle third of each segment, across its stroke
    regions = {
        'a': cell[:2 * t + 1, w // 3:w - w // 3],
        'd': cell[h - 2 * t - 1:, w // 3:w - w // 3],
        'g': cell[h // 2 - t:h // 2 + t + 1, w // 3:w - w // 3],
        'f': cell[h // 6:h // 2 - h // 12, :2 * t + 1],
        'b': cell[h // 6:h // 2 - h // 12, w - 2 * t - 1:],
        'e': cell[h // 2 + h // 12:h - h // 6, :2 * t + 1],
        'c': cell[h // 2 + h // 12:h - h // 6, w - 2 * t - 1:],
        }
    on = ''
    for name in 'abcdefg':
        region = regions[name]
        if not region.size:
            return None
        # The best line along the segment, across its stroke
        share = float((region.mean(axis=1) if name in 'adg'
                else region.mean(axis=0)).max())
        if share >= SEGMENT_ON:
            on += name
        elif share > SEGMENT_OFF:
            return None
    return _SEGMENTS.get(on)


def _odd(value):
    value = max(3, int(value))
    return value if value % 2 else value + 1
