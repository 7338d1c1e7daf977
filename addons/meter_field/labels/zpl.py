"""Labels as ZPL II for Zebra printers

One format a label: ^XA, the label's width (^PW) and length (^LL) in dots,
each text as a graphic field (^GF, the Chinese drawn by Pillow: the
printer's fonts have none), the barcode as Code 128 (^BY module width,
^BC in automatic subset mode, ^FD the code), the QR code (^BQ model 2 with
the module size as magnification, ^FD with error correction M and
automatic input), the copies (^PQ) and ^XZ.
"""
from .image import packed, text_images


def graphic_field(x, y, image):
    "^GF of a 1-bit image at x, y in ASCII hex: ZPL prints the 1 bits"
    width, data = packed(image)
    data = bytes(b ^ 0xFF for b in data)
    total = len(data)
    return f'^FO{x},{y}^GFA,{total},{total},{width},{data.hex().upper()}^FS'


def label(layout, copies=1):
    "Return the ZPL format of one label, printed copies times"
    size = layout.size
    commands = ['^XA', f'^PW{size.width}', f'^LL{size.height}',
        '^LH0,0']
    for x, y, image in text_images(layout):
        commands.append(graphic_field(x, y, image))
    barcode = layout.barcode
    commands.append(f'^FO{barcode.x},{barcode.y}^BY{barcode.module}'
        f'^BCN,{barcode.height},N,N,N,A^FD{barcode.code}^FS')
    qr = layout.qr
    commands.append(f'^FO{qr.x},{qr.y}^BQN,2,{qr.module}'
        f'^FDMA,{qr.data}^FS')
    commands.append(f'^PQ{copies}')
    commands.append('^XZ')
    return '\n'.join(commands) + '\n'


def write(layouts, fp, copies=1):
    "Write the labels of layouts to fp as ZPL; return their count"
    count = 0
    for layout in layouts:
        fp.write(label(layout, copies).encode('ascii'))
        count += 1
    return count
