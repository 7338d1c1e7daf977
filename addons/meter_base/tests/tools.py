import os


def testdata():
    "Return the folder of the shared test data (photos with readings)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__)))))
    return os.environ.get('METER_TESTDATA') or os.path.join(
        os.path.dirname(root), 'shared', 'testdata')


def phone_sized(photo, side=4000):
    """Return the photo (its bytes or a Pillow image) scaled up to a side
    px long side and saved as a JPEG, as a phone sends it (12 MP at 4000
    px)"""
    import io

    from PIL import Image
    if isinstance(photo, bytes):
        photo = Image.open(io.BytesIO(photo))
    image = photo.convert('RGB')
    scale = side / max(image.size)
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)),
        Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, 'JPEG', quality=90)
    return output.getvalue()


def turned(photo, angle=180, quality=95):
    """Return the photo (its bytes, read without their EXIF orientation,
    or a Pillow image) turned by angle degrees anticlockwise and saved as
    a JPEG of quality: upside down by default"""
    import io

    from PIL import Image
    if isinstance(photo, bytes):
        photo = Image.open(io.BytesIO(photo))
    output = io.BytesIO()
    # (the corners a tilt uncovers grey)
    photo.convert('RGB').rotate(angle, Image.Resampling.BICUBIC,
        expand=True, fillcolor=(128, 128, 128)).save(
        output, 'JPEG', quality=quality)
    return output.getvalue()


def darkened(photo, brightness=0.25, quality=95):
    """Return the photo (its bytes or a Pillow image) with its brightness
    brought to brightness times its own and saved as a JPEG of quality,
    as taken in a dark meter pit"""
    import io

    from PIL import Image, ImageEnhance
    if isinstance(photo, bytes):
        photo = Image.open(io.BytesIO(photo))
    output = io.BytesIO()
    ImageEnhance.Brightness(photo.convert('RGB')).enhance(brightness).save(
        output, 'JPEG', quality=quality)
    return output.getvalue()
