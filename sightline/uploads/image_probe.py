"""Decode an uploaded picture safely: size from the header first, then pixels.

Why Pillow and not ``cv2.imdecode``: OpenCV decodes a JPEG cut in half
without complaint (the missing rows come out grey), so a truncated upload
would be analysed as if it were whole; Pillow raises on it. Pillow also reads
the dimensions from the header without decoding, which is what stops a
decompression bomb — a few kilobytes of PNG declaring 60000 x 60000 pixels
would need 10 GiB once decoded — before any pixel memory is allocated.

EXIF orientation is applied, as browsers do when they show the picture, so
the boxes returned line up with what the user sees.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from sightline.uploads.errors import UploadRefused

MAX_PIXELS_ENV = "SIGHTLINE_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
#: Pillow's format names for the types the image route takes.
DECODED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "BMP": "image/bmp"}


@dataclass(frozen=True)
class DecodedImage:
    bgr: npt.NDArray[np.uint8]
    format: str  # the content type the bytes really are
    width: int
    height: int


def max_pixels() -> int:
    value = os.environ.get(MAX_PIXELS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_PIXELS


def decode_image(data: bytes) -> DecodedImage:
    """The picture as BGR pixels, or :class:`UploadRefused` naming the problem."""
    limit = max_pixels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels(str(exc), limit) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise UploadRefused(
                422, f"not an image: the bytes are not a picture Pillow recognises; send one of {_formats()}"
            ) from None
    with image:
        if image.format not in DECODED_FORMATS:
            raise UploadRefused(422, f"{image.format} pictures are not analysed; convert it to {_formats()}")
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > limit:
            raise _too_many_pixels(f"it declares {width} x {height} pixels", limit)
        try:
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise UploadRefused(
                422, f"the image is truncated or corrupt ({exc}); upload the complete file again"
            ) from None
        rgb = np.asarray(upright, dtype=np.uint8)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    return DecodedImage(bgr, DECODED_FORMATS[image.format], bgr.shape[1], bgr.shape[0])


def _too_many_pixels(what: str, limit: int) -> UploadRefused:
    return UploadRefused(
        413,
        f"image too large to decode: {what}; the limit is {limit} pixels ({MAX_PIXELS_ENV}); "
        "scale it down before uploading",
    )


def _formats() -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in DECODED_FORMATS.items())
