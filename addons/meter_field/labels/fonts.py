"""The CJK font of the labels' text, found on the machine

Debian's fonts-noto-cjk (installed by scripts/install_system.sh) or the
WenQuanYi fonts; METER_LABEL_FONT names another file.  fc-match is asked
last."""
import functools
import os
import subprocess

from PIL import ImageFont

CANDIDATES = [
    '/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc',
    '/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc',
    '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
    '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
    ]


class FontError(Exception):
    "No font with Chinese glyphs was found"


@functools.cache
def font_path(bold=False):
    "Return the path and face index of a font with simplified Chinese"
    path = os.environ.get('METER_LABEL_FONT')
    if path and os.path.exists(path):
        return path, _face(path)
    weight = 'Bold' if bold else 'Regular'
    for candidate in CANDIDATES:
        path = candidate.format(weight=weight)
        if os.path.exists(path):
            return path, _face(path)
    try:
        path = subprocess.run(
            ['fc-match', '-f', '%{file}', ':lang=zh-cn'],
            capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        path = None
    if path and os.path.exists(path):
        return path, _face(path)
    raise FontError("no Chinese font: install fonts-noto-cjk")


def _face(path):
    "The index of the simplified Chinese face of a collection, else 0"
    for index in range(10):
        try:
            family, _ = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family and (' SC' in family or 'CN' in family):
            return index
    return 0


@functools.lru_cache(maxsize=128)
def font(size, bold=False):
    "Return the font of size pixels"
    path, index = font_path(bold)
    return ImageFont.truetype(path, size, index=index)
