"""Text on images, Chinese included.

OpenCV's Hershey fonts have no CJK glyphs (zone names like 草坪禁入 come out as
"????"), so labels are drawn with Pillow and a CJK TrueType font (Debian's
fonts-wqy-microhei, installed by scripts/install.sh). Without the font we fall
back to OpenCV with the non-ASCII characters left out, never question marks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | None:
    for path in FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return None


def draw_labels(
    image: npt.NDArray[np.uint8],
    labels: list[tuple[str, tuple[int, int], tuple[int, int, int]]],
    size: int = 14,
    background: bool = False,
) -> npt.NDArray[np.uint8]:
    """Draw (text, (x, y) top-left, BGR colour) labels onto ``image`` in place."""
    if not labels:
        return image
    font = _font(size)
    if font is None:
        for text, (x, y), colour in labels:
            ascii_text = text.encode("ascii", "ignore").decode().strip(" /")
            cv2.putText(image, ascii_text, (x, y + size), 0, size / 30, colour, 1, cv2.LINE_AA)
        return image
    pil = Image.fromarray(image[:, :, ::-1])
    draw = ImageDraw.Draw(pil)
    for text, (x, y), (b, g, r) in labels:
        if background:
            left, top, right, bottom = draw.textbbox((x, y), text, font=font)
            draw.rectangle((left - 3, top - 2, right + 3, bottom + 2), fill=(0, 0, 0))
        draw.text((x, y), text, font=font, fill=(r, g, b))
    image[:] = np.asarray(pil)[:, :, ::-1]
    return image
