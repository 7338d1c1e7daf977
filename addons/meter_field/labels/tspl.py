"""Labels as TSPL for TSC printers and most Chinese label printers

The stock first (SIZE and GAP in mm), then for each label: CLS, each text
as a BITMAP (the Chinese drawn by Pillow, whatever fonts the printer has),
the barcode (BARCODE "128", automatic subsets, without human readable
line: the code is one of the texts), the QR code (QRCODE with error
correction M, the module size as cell width, automatic mode) and
PRINT n for the copies.  Commands end with CR LF.
"""
from .image import packed, text_images

EOL = b'\r\n'


def bitmap(x, y, image):
    """BITMAP of a 1-bit image at x, y, overwrite mode: TSPL prints the 0
    bits, as Pillow packs black, so the bytes go as they are"""
    width, data = packed(image)
    return (f'BITMAP {x},{y},{width},{image.height},0,'.encode('ascii')
        + data + EOL)


def header(size):
    "The stock: label size and gap"
    return (f'SIZE {size.width_mm:g} mm,{size.height_mm:g} mm\r\n'
        f'GAP {size.gap_mm:g} mm,0 mm\r\n').encode('ascii')


def label(layout, copies=1):
    "Return the TSPL commands of one label, printed copies times"
    parts = [b'CLS' + EOL]
    for x, y, image in text_images(layout):
        parts.append(bitmap(x, y, image))
    barcode = layout.barcode
    parts.append((f'BARCODE {barcode.x},{barcode.y},"128",{barcode.height},'
            f'0,0,{barcode.module},{barcode.module},"{barcode.code}"'
            ).encode('ascii') + EOL)
    qr = layout.qr
    parts.append((f'QRCODE {qr.x},{qr.y},M,{qr.module},A,0,"{qr.data}"'
            ).encode('ascii') + EOL)
    parts.append(f'PRINT {copies}'.encode('ascii') + EOL)
    return b''.join(parts)


def write(layouts, fp, copies=1):
    "Write the labels of layouts to fp as TSPL; return their count"
    count = 0
    for layout in layouts:
        if not count:
            fp.write(header(layout.size))
        fp.write(label(layout, copies))
        count += 1
    return count
