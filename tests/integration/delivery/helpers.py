"""Test data for the delivery tests (no imports of the API, so tools can use it)."""

from __future__ import annotations

from typing import Any

from sightline.core.event import BoundingBox, Event

T0 = 1_717_232_400.0  # 2024-06-01T09:00:00Z
SECRET = "whsec_test_secret_0123456789abcdef"


def make_event(camera_id: str = "cam1", type: str = "line.cross", **kw: Any) -> Event:
    fields: dict[str, Any] = {
        "rule_id": "gate",
        "pts": 12.5,
        "wall_time": T0,
        "track_id": 7,
        "class_name": "person",
        "confidence": 0.9,
        "boxes": [BoundingBox(x1=1, y1=2, x2=30, y2=80, class_name="person", confidence=0.9, track_id=7)],
        "line_id": "gate-line",
        "direction": "in",
        "attributes": {"speed_px_s": 3.5},
    }
    fields.update(kw)
    return Event(type=type, camera_id=camera_id, **fields)
