"""Test data for the strategy center tests: raw events and crops whose
perceptual hashes are near (the same false positive again) or far (another
scene)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from sightline.core.event import BoundingBox, Event

T0 = 1_714_521_600.0  # 2024-05-01T00:00:00Z
DAY = 86_400.0


def texture(seed: int, size: int = 96) -> np.ndarray:
    """A random blocky texture: different seeds give unrelated pHashes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)


def crop_jpeg(seed: int, *, quality: int = 90, brighten: int = 0, shift: int = 0) -> bytes:
    """A crop of texture ``seed``; ``quality``/``brighten``/``shift`` make a near-duplicate."""
    img = texture(seed).astype(np.int16) + brighten
    img = np.clip(img, 0, 255).astype(np.uint8)
    if shift:
        img = np.roll(img, shift, axis=1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buf.tobytes())


def raw_event(
    n: int,
    *,
    camera_id: str = "gate-1",
    type: str = "line.cross",
    wall_time: float | None = None,
    confidence: float = 0.9,
    **kw: Any,
) -> Event:
    fields: dict[str, Any] = {
        "id": f"ev-{camera_id}-{n:05d}",
        "rule_id": "gate",
        "pts": float(n),
        "wall_time": T0 + 60.0 * n if wall_time is None else wall_time,
        "frame_seq": n,
        "track_id": n,
        "class_name": "person",
        "confidence": confidence,
        "boxes": [
            BoundingBox(x1=10, y1=10, x2=60, y2=90, class_name="person", confidence=confidence, track_id=n)
        ],
        "line_id": "door" if type == "line.cross" else None,
        "direction": "in" if type == "line.cross" else None,
        "frame_size": (320, 240),
    }
    fields.update(kw)
    return Event(type=type, camera_id=camera_id, **fields)


def strategy(
    id: str = "gate-people",
    *,
    min_confidence: float = 0.5,
    event_types: tuple[str, ...] = ("line.cross",),
    cameras: tuple[str, ...] = ("gate-1",),
    library: bool = False,
) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {"id": "confident", "type": "sightline/confidence-filter@v1", "min_confidence": min_confidence}
    ]
    if library:
        elements.append({"id": "known-false", "type": "sightline/error-library@v1"})
    return {
        "id": id,
        "name": "Gate people",
        "cameras": list(cameras),
        "event_types": list(event_types),
        "elements": elements,
    }
