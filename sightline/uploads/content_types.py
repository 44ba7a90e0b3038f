"""Which content types the upload routes take, and the 415 for the others."""

from __future__ import annotations

from sightline.uploads.errors import UploadRefused

#: Image types the image route decodes (Pillow reads them all; so does OpenCV).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp")


def media_type(header: str | None) -> str:
    """``"video/mp4"`` from ``"Video/MP4; codecs=avc1"``; ``""`` when absent."""
    return (header or "").split(";", 1)[0].strip().lower()


def require_video_type(header: str | None) -> str:
    kind = media_type(header)
    if kind.startswith("video/") and len(kind) > len("video/"):
        return kind
    if kind.startswith("multipart/"):
        fix = "send the file itself as the request body (not a multipart form)"
    else:
        fix = "send the video's bytes as the body"
    raise UploadRefused(
        415,
        f"content type {kind or '(none)'!r} is not a video; {fix} with its video type, "
        "e.g. 'Content-Type: video/mp4' (any video/* is taken; the file itself is checked)",
    )


def require_image_type(header: str | None) -> str:
    kind = media_type(header)
    if kind == "image/jpg":  # a common misspelling of image/jpeg
        kind = "image/jpeg"
    if kind in IMAGE_TYPES:
        return kind
    raise UploadRefused(
        415,
        f"content type {kind or '(none)'!r} is not an image this route decodes; send the image's bytes "
        f"as the body with one of: {', '.join(IMAGE_TYPES)}",
    )
