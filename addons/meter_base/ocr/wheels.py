# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Read a counter's wheels one by one

The tallest mostly-digit line of 4 to 8 characters is taken as the wheel
window (the serial number and the year are printed smaller), cut into
equally spaced wheels, and each still wheel is read on its own with the
recogniser restricted to the ten digits.  A wheel caught between two digits
shows the bottom of the lower digit above the top of the next one: the
recogniser cannot read half digits, so both halves are matched against
digit templates drawn from the font bundled with Pillow and, like the meter
itself, the lower digit is kept.
"""
import math

import cv2
import numpy as np
from PIL import Image

from .counter import warp as _warp

__all__ = ['read', 'read_wheels', 'rolling_last', 'rolling_cell',
    'fit_cells', 'cell_crops', 'WINDOW_MARGIN', 'WINDOW_HEIGHT']

MIN_WHEELS, MAX_WHEELS = 4, 8
# Fraction of the window height added above and below the detected line so
# that the halves of a rolling digit stay in the crop.
WINDOW_MARGIN = 0.2
# Height in pixels over which the window is scaled down: the wheels are
# read at about the size photos of 1 MP show them, whatever the photo.
WINDOW_HEIGHT = 128
# Share of the contrast of a wheel cell under which a pixel is print; the
# grey frame of the window lies above it.
FRAME_CUT = 0.45
# Lines recognised when looking for the window, tallest first
MAX_LINES = 4
# Digit probability under which a cell is taken for no wheel at all
NO_DIGIT = 0.01
# Share of the ink another wheel count must add to overrule the text
CELL_FIT_MARGIN = 0.05


def read(eng, views):
    "Return the digits and confidence read on the wheels one by one"
    for img, boxes in views:
        window = _window(eng, img, boxes)
        if window is not None:
            gray, count, line_score = window
            digits, confidence = read_wheels(eng, gray, count)
            return digits, float(confidence * line_score)
    return None, 0.


def _window(eng, img, boxes):
    "Return the window found on the image as it is or upside down, or None"
    if not boxes:
        return None
    crops = [_warp(img, b) for b in boxes]
    flip = eng.upside_down(crops)
    return _find_window(eng, img, boxes, crops, flip)


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


def read_wheels(eng, gray, count):
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


def rolling_last(gray, count):
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


def fit_cells(gray, count):
    "Return the column spans of the wheels, count of them or one more or less"
    return _cells(gray, count)


def cell_crops(gray, cells):
    """Return the crop of each wheel: a whole pitch wide, centred on its
    cell, the window's whole height"""
    width = gray.shape[1]
    if len(cells) > 1:
        pitch = (cells[-1][0] + cells[-1][1] - cells[0][0] - cells[0][1]) / (
            2 * (len(cells) - 1))
    else:
        pitch = cells[0][1] - cells[0][0]
    crops = []
    for left, right in cells:
        centre = (left + right) / 2
        a = max(0, int(centre - pitch / 2))
        b = min(width, int(math.ceil(centre + pitch / 2)))
        crops.append(gray[:, a:max(b, a + 1)])
    return crops


def rolling_cell(gray, cells, index):
    """Return the lower digit of the wheel of cells[index] when it is
    caught between two digits, else None"""
    masks = [_ink_mask(gray[:, left:right]) for left, right in cells]
    digit_height, digit_width = _digit_size(masks, gray.shape[0])
    plan = _plan(masks[index], digit_height, True)
    if plan[0] != 'roll':
        return None
    _, top, gap_start, gap_end, bottom = plan
    digit, _ = _rolling_digit(masks[index][top:gap_start],
        masks[index][gap_end:bottom], digit_height, digit_width)
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
