"""The error library: operator-marked false positives, per camera + event type.

A new event whose crop looks like one in the library is blocked by the
``sightline/error-library@v1`` element.

Similarity measure: a 64-bit DCT perceptual hash (pHash) of the crop, compared
by Hamming distance. The crop is decoded to grey, resized to 32x32 (area
averaging), transformed with a 2-D DCT; the 8x8 lowest frequencies are each
compared with their median, giving 64 bits.

Why pHash rather than an image embedding: what the library must recognise is
*the same* false positive coming back — the same shadow, pole, poster or
reflection at the same place of the same camera, seen again under slightly
different light, JPEG quality or box jitter. That is near-duplicate detection,
which pHash does well, cheaply (~0.1 ms a crop, 8 bytes per entry, a match is a
XOR and a popcount) and with no model to ship. An embedding would generalise to
"things that look alike", which here is a risk, not a feature: two different
people in similar clothes must *not* block each other. Scoping matches to one
camera + event type keeps the comparison to the one scene the entry came from.

Measured on vtest.avi (``bench/error_library.py``, asserted in
``tests/unit/strategies/test_error_library.py``): 33 marked false positives
(static background boxes of person size), 282 re-occurrences of them 1–10 s
later (new sensor noise, JPEG quality 70 instead of 90, box jitter up to
2 px), 462 crops of other people (NanoDet boxes) and 330 of other places.
At the default ``max_distance`` of 14 bits: false blocks 0.0 % (0 of 462
people, 0 of 330 places), true blocks 75 %. The threshold sits before the
knee: at 16 bits false blocks start (0.2–0.3 %) for 83 % true blocks, at 20
they reach 15 %. We prefer letting a known false positive through again now
and then over silently dropping a real event.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

HASH_SIDE = 8  # 8x8 low frequencies -> 64 bits
_RESIZE = HASH_SIDE * 4  # imagehash's pHash uses 4x oversampling: 32x32 before the DCT
HASH_BITS = HASH_SIDE * HASH_SIDE
#: Default largest Hamming distance (of 64 bits) still counted as the same image.
DEFAULT_MAX_DISTANCE = 14


def phash_image(gray: np.ndarray) -> int:
    """64-bit pHash of a greyscale image as an int."""
    small = cv2.resize(gray, (_RESIZE, _RESIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:HASH_SIDE, :HASH_SIDE]
    bits = (low > np.median(low)).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def fingerprint(crop_jpeg: bytes) -> str:
    """The crop's pHash as 16 hex digits. Raises ValueError when the bytes are not an image."""
    gray = cv2.imdecode(np.frombuffer(crop_jpeg, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.size == 0:
        raise ValueError("crop is not a decodable image")
    return f"{phash_image(gray):0{HASH_BITS // 4}x}"


def _parse(fp: str) -> int:
    if len(fp) != HASH_BITS // 4:
        raise ValueError(f"fingerprint {fp!r} must be {HASH_BITS // 4} hex digits (a 64-bit pHash)")
    return int(fp, 16)


@dataclass(frozen=True)
class Match:
    entry_id: str
    distance: int  # Hamming distance in bits, 0 = identical hash
    max_distance: int  # the threshold it was compared with
    similarity: float  # 1 - distance / 64


@dataclass(frozen=True)
class _Entry:
    entry_id: str
    camera_id: str
    event_type: str
    bits: int


class ErrorLibrary:
    """Thread-safe: the API adds entries while camera workers match crops."""

    def __init__(self, max_distance: int = DEFAULT_MAX_DISTANCE) -> None:
        self.max_distance = max_distance
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._by_scope: dict[tuple[str, str], dict[str, int]] = {}

    @staticmethod
    def fingerprint(crop_jpeg: bytes) -> str:
        return fingerprint(crop_jpeg)

    def add(self, entry_id: str, camera_id: str, event_type: str, fingerprint: str) -> None:
        """Add (or replace) an entry."""
        entry = _Entry(entry_id, camera_id, event_type, _parse(fingerprint))
        with self._lock:
            self._remove_locked(entry_id)
            self._entries[entry_id] = entry
            self._by_scope.setdefault((camera_id, event_type), {})[entry_id] = entry.bits

    def remove(self, entry_id: str) -> None:
        with self._lock:
            self._remove_locked(entry_id)

    def _remove_locked(self, entry_id: str) -> None:
        old = self._entries.pop(entry_id, None)
        if old is not None:
            scope = self._by_scope[(old.camera_id, old.event_type)]
            del scope[entry_id]
            if not scope:
                del self._by_scope[(old.camera_id, old.event_type)]

    def __len__(self) -> int:
        return len(self._entries)

    def match(
        self,
        camera_id: str,
        event_type: str,
        crop_jpeg_or_fingerprint: bytes | str,
        max_distance: int | None = None,
    ) -> Match | None:
        """The closest entry of this camera + type within ``max_distance`` bits
        (the library's default when None), or None."""
        limit = self.max_distance if max_distance is None else max_distance
        probe = crop_jpeg_or_fingerprint
        bits = _parse(probe) if isinstance(probe, str) else _parse(fingerprint(probe))
        with self._lock:
            scope = self._by_scope.get((camera_id, event_type))
            if not scope:
                return None
            best_id, best = min(
                ((eid, (bits ^ other).bit_count()) for eid, other in scope.items()), key=lambda x: x[1]
            )
        if best > limit:
            return None
        return Match(best_id, best, limit, 1.0 - best / HASH_BITS)
