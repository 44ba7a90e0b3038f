"""Media for the upload tests, made at test time from the OpenCV sample clip:
short MP4s (index at the end, and "faststart" with the index up front), their
halves, and picture bombs. Imported, not collected."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def clip(out: Path, seconds: float, *, faststart: bool = False) -> Path:
    """``seconds`` of vtest re-encoded to H.264 in MP4 (about 200 KB a second)."""
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} missing: apt-get install opencv-doc")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg missing: apt-get install ffmpeg")
    flags = ["-movflags", "+faststart"] if faststart else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(VTEST), "-an"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *flags, str(out)],
        check=True,
        timeout=120,
    )
    return out


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose header declares ``width`` x ``height``."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
