"""Where each part of a label goes, in printer dots

The label, top to bottom: the centre's name across the width; the kind,
campus and place on the left beside the QR code on the right; the Code 128
barcode across the width with the code under it.  The barcode spans the
whole label so that its bars stay wide enough for a scanner (at least one
dot, at most 0.5 mm a module, a quiet zone of ten modules counted with the
label's edge), and the QR code takes the height left, so that a phone's
camera reads it from arm's length.
"""
import dataclasses
import re

import segno
from barcode import Code128

MM_PER_INCH = 25.4
DPIS = (203, 300)
# Code 128 wants a quiet zone of ten modules on each side
QUIET_MODULES = 10
# The printers' QR and barcode commands take module sizes up to 10 dots
MAX_MODULE = 10
# What the printers' command languages carry in a quoted field: printable
# ASCII without their delimiters (ZPL ^ and ~, TSPL's double quote)
_PRINTABLE = re.compile(r'[\x20-\x7e]+')
_DELIMITERS = set('^~"\\')


class LabelError(ValueError):
    "A label that can not be drawn: code, address or size"

    def __init__(self, reason, **values):
        super().__init__(reason, values)
        self.reason = reason
        self.values = values


@dataclasses.dataclass(frozen=True)
class LabelSize:
    "The label stock: width and height in mm, the printer's resolution"
    width_mm: float
    height_mm: float
    dpi: int = 203
    gap_mm: float = 2

    def dots(self, mm):
        return int(round(mm * self.dpi / MM_PER_INCH))

    @property
    def width(self):
        return self.dots(self.width_mm)

    @property
    def height(self):
        return self.dots(self.height_mm)


@dataclasses.dataclass(frozen=True)
class Label:
    """What a label says: the title (the centre's name), the code of the
    barcode, the address of the QR code and the lines of text (kind and
    campus, place)"""
    title: str
    code: str
    url: str
    lines: tuple = ()


@dataclasses.dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int


@dataclasses.dataclass(frozen=True)
class Text(Box):
    text: str = ''
    bold: bool = False
    align: str = 'left'


@dataclasses.dataclass(frozen=True)
class Barcode(Box):
    "Code 128: the bars as a string of modules (1 a bar) of module dots"
    code: str = ''
    modules: str = ''
    module: int = 1


@dataclasses.dataclass(frozen=True)
class QRCode(Box):
    "The QR code's matrix (without quiet zone) of module dots"
    data: str = ''
    matrix: tuple = ()
    module: int = 1


@dataclasses.dataclass(frozen=True)
class Layout:
    size: LabelSize
    texts: tuple
    barcode: Barcode
    qr: QRCode


def check_code(code):
    "Raise LabelError unless code can be printed as Code 128 by a printer"
    if (not code or not _PRINTABLE.fullmatch(code)
            or _DELIMITERS & set(code)):
        raise LabelError('code', code=code)


def check_url(url):
    if (not url or not _PRINTABLE.fullmatch(url) or ' ' in url
            or _DELIMITERS & set(url)):
        raise LabelError('url', url=url)


def layout(label, size):
    "Return the Layout of label on size; raise LabelError if it can't fit"
    check_code(label.code)
    check_url(label.url)
    dots = size.dots
    width, height = size.width, size.height
    margin, gap = dots(1), dots(0.5)
    inner = width - 2 * margin
    texts = []

    title_height = max(dots(3), round(height * 0.12))
    texts.append(Text(margin, margin, inner, title_height, label.title,
            bold=True, align='center'))
    top = margin + title_height + gap

    # The bottom band: barcode and the code under it
    number_height = max(dots(2.2), round(height * 0.09))
    bar_height = max(dots(5), round(height * 0.2))
    modules = Code128(label.code).build()[0]
    module = min(width // (len(modules) + 2 * QUIET_MODULES),
        dots(0.5), MAX_MODULE)
    if module < 1:
        raise LabelError('code_width', code=label.code)
    bar_width = len(modules) * module
    number_y = height - margin - number_height
    bar_y = number_y - bar_height
    barcode = Barcode((width - bar_width) // 2, bar_y, bar_width,
        bar_height, code=label.code, modules=modules, module=module)
    texts.append(Text(margin, number_y, inner, number_height, label.code,
            align='center'))

    # The middle band: the QR code on the right, the lines on the left
    middle = bar_y - gap - top
    qr = segno.make_qr(label.url, error='m', boost_error=False)
    matrix = tuple(tuple(bool(m) for m in row) for row in qr.matrix)
    count = len(matrix)
    # one module of quiet zone on each side besides the gaps
    qr_module = min(middle // (count + 2), MAX_MODULE)
    if qr_module < 1 or middle < dots(8):
        raise LabelError('size', width=size.width_mm, height=size.height_mm)
    qr_side = count * qr_module
    qr_x = width - margin - qr_module - qr_side
    qr_y = top + (middle - qr_side) // 2
    qr_box = QRCode(qr_x, qr_y, qr_side, qr_side, data=label.url,
        matrix=matrix, module=qr_module)
    lines = [l for l in label.lines if l]
    if lines:
        column = qr_x - qr_module - gap - margin
        line_height = min(max(dots(2.5), round(height * 0.1)),
            middle // len(lines))
        y = top + (middle - line_height * len(lines)) // 2
        for line in lines:
            texts.append(Text(margin, y, column, line_height, line))
            y += line_height
    return Layout(size, tuple(texts), barcode, qr_box)
