"""Test data for the storage tests: real JPEGs and events with every field set."""

from __future__ import annotations

import socket

import cv2
import numpy as np

from sightline.core.event import BoundingBox, Event

BASE_TIME = 1_700_000_000.0  # 2023-11-14T22:13:20Z
DAY = 86_400.0


def jpeg(seed: int, w: int = 64, h: int = 48) -> bytes:
    """A real, small JPEG; different seeds give different bytes."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf.tobytes())


def make_event(
    *,
    camera_id: str = "cam1",
    type: str = "line.cross",
    wall_time: float = BASE_TIME,
    **kw: object,
) -> Event:
    fields: dict[str, object] = {
        "rule_id": "gate",
        "pts": wall_time - BASE_TIME,
        "track_id": 7,
        "class_name": "person",
        "confidence": 0.87,
        "boxes": [BoundingBox(x1=10, y1=20, x2=50, y2=120, class_name="person", confidence=0.87, track_id=7)],
        "line_id": "gate-line",
        "direction": "in",
        "attributes": {"speed_px_s": 12.5, "labels": ["a", "b"]},
        "frame_size": (768, 576),
    }
    fields.update(kw)
    return Event(type=type, camera_id=camera_id, wall_time=wall_time, **fields)  # type: ignore[arg-type]


def free_tcp_port() -> int:
    """A port nothing listens on (for "server unreachable" tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
