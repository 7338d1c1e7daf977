"""A label drawn as a 1-bit image at the printer's resolution, and many as
a PDF of one label a page at the label's size, for any printer.

The text is drawn by Pillow in a CJK font without anti-aliasing, as a
thermal print head prints it; the ZPL and TSPL commands send the same text
images (text_image), so that every output reads the same.
"""
import functools
import io
import tempfile

from PIL import Image, ImageDraw

from .fonts import font

WHITE, BLACK = 1, 0
ELLIPSIS = '…'
# The smallest font, as a share of its line's height, before the text is
# cut with an ellipsis
SHRINK = 0.7
# Labels rendered at once into the PDF: bounds the memory of a big batch
PDF_CHUNK = 100


@functools.lru_cache(maxsize=512)
def text_image(text, width, height, bold=False, align='left'):
    "Return the 1-bit image of text fitted in width × height dots"
    image = Image.new('1', (width, height), WHITE)
    if not text or width < 1 or height < 1:
        return image
    start = max(int(height * 0.9), 1)
    size = start
    while size > start * SHRINK and font(size, bold).getlength(text) > width:
        size -= 1
    face = font(size, bold)
    if face.getlength(text) > width:
        while text and face.getlength(text + ELLIPSIS) > width:
            text = text[:-1]
        text += ELLIPSIS
    draw = ImageDraw.Draw(image)
    draw.fontmode = '1'
    if align == 'center':
        draw.text((width / 2, height / 2), text, font=face, fill=BLACK,
            anchor='mm')
    else:
        draw.text((0, height / 2), text, font=face, fill=BLACK, anchor='lm')
    return image


def text_images(layout):
    "Yield (x, y, image) of each text of layout cut to its ink"
    for text in layout.texts:
        image = text_image(text.text, text.width, text.height, text.bold,
            text.align)
        # The ink's box: the printers get only what they print
        box = Image.eval(image.convert('L'), lambda v: 255 - v).getbbox()
        if box is None:
            continue
        left, top, right, bottom = box
        yield text.x + left, text.y + top, image.crop(box)


def packed(image):
    """Return the bytes a row and the rows of a 1-bit image packed 8 dots a
    byte, the last byte of a row padded white; as Pillow packs them, a
    white dot is a 1"""
    width = (image.width + 7) // 8
    padded = Image.new('1', (width * 8, image.height), WHITE)
    padded.paste(image, (0, 0))
    return width, padded.tobytes()


def render(layout):
    "Return the 1-bit image of layout, one pixel a printer dot"
    size = layout.size
    image = Image.new('1', (size.width, size.height), WHITE)
    for text in layout.texts:
        image.paste(text_image(text.text, text.width, text.height,
                text.bold, text.align), (text.x, text.y))
    draw = ImageDraw.Draw(image)
    barcode = layout.barcode
    x, run = barcode.x, 0
    for index, module in enumerate(barcode.modules + '0'):
        if module == '1':
            run += 1
            continue
        if run:
            start = x + (index - run) * barcode.module
            draw.rectangle([start, barcode.y,
                    start + run * barcode.module - 1,
                    barcode.y + barcode.height - 1], fill=BLACK)
            run = 0
    qr = layout.qr
    count = len(qr.matrix)
    matrix = Image.new('1', (count, count), WHITE)
    matrix.putdata([BLACK if dark else WHITE
            for row in qr.matrix for dark in row])
    image.paste(matrix.resize((qr.width, qr.height), Image.NEAREST),
        (qr.x, qr.y))
    return image


def write_pdf(layouts, fp, copies=1):
    """Write the labels of layouts to fp as a PDF, one label a page at its
    size, each copies times; return the number of pages.

    The labels are rendered and appended a chunk at a time, so that a
    batch of thousands never holds all its images."""
    pages = 0
    with tempfile.TemporaryFile() as pdf:
        chunk = []

        def flush():
            first, *others = chunk
            first.save(pdf, 'PDF', save_all=True, append_images=others,
                resolution=first.info['dpi'][0], append=bool(pages))
            pdf.seek(0, io.SEEK_END)
            chunk.clear()
        for layout in layouts:
            image = render(layout)
            image.info['dpi'] = (layout.size.dpi, layout.size.dpi)
            chunk.extend([image] * copies)
            if len(chunk) >= PDF_CHUNK:
                count = len(chunk)
                flush()
                pages += count
        if chunk:
            count = len(chunk)
            flush()
            pages += count
        pdf.seek(0)
        while data := pdf.read(1 << 20):
            fp.write(data)
    return pages
