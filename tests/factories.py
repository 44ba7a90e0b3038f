"""Factories for frames, tracked detections and rule contexts.

Why: stateful stages (trackers, rules) are tested with scripted frame sequences
and explicit timestamps, so tests need no media, no models and no sleeping.
Frames carry a black image that is a zero-copy broadcast view, so a script of
thousands of 768x576 frames costs no memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import supervision as sv

from sightline.core.detections import CLASS_NAME_KEY, empty_detections
from sightline.core.event import Event
from sightline.core.frame import Frame
from sightline.core.protocols import Rule, RuleContext

Box = tuple[float, float, float, float]
#: (track_id, class_name, (x1, y1, x2, y2)) or with a confidence as 4th item.
DetectionRow = tuple[int, str, Box] | tuple[int, str, Box, float]

WALL_TIME_BASE = 1_700_000_000.0
DEFAULT_CONFIDENCE = 0.9
CLASS_IDS: dict[str, int] = {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "truck": 7}


@lru_cache(maxsize=16)
def _black(width: int, height: int) -> npt.NDArray[np.uint8]:
    return np.broadcast_to(np.zeros((1, 1, 3), dtype=np.uint8), (height, width, 3))


def make_frame(
    pts: float,
    seq: int,
    w: int = 768,
    h: int = 576,
    camera_id: str = "cam1",
    wall_time: float | None = None,
) -> Frame:
    """A black frame at ``pts``; wall time defaults to a fixed base + pts."""
    return Frame(
        camera_id=camera_id,
        seq=seq,
        pts=pts,
        wall_time=WALL_TIME_BASE + pts if wall_time is None else wall_time,
        image=_black(w, h),
    )


def class_id_of(class_name: str) -> int:
    """A stable class id per name (COCO ids for common ones, then 100+)."""
    if class_name not in CLASS_IDS:
        CLASS_IDS[class_name] = 100 + len(CLASS_IDS)
    return CLASS_IDS[class_name]


def make_detections(rows: Sequence[DetectionRow]) -> sv.Detections:
    """Tracked detections from ``(track_id, class_name, (x1, y1, x2, y2)[, conf])``
    rows; ``track_id == -1`` is an unconfirmed track."""
    if not rows:
        empty = empty_detections()
        empty.data[CLASS_NAME_KEY] = np.zeros((0,), dtype=str)
        return empty
    confs = [row[3] if len(row) == 4 else DEFAULT_CONFIDENCE for row in rows]
    return sv.Detections(
        xyxy=np.array([row[2] for row in rows], dtype=np.float32).reshape(-1, 4),
        confidence=np.array(confs, dtype=np.float32),
        class_id=np.array([class_id_of(row[1]) for row in rows], dtype=np.int64),
        tracker_id=np.array([row[0] for row in rows], dtype=np.int64),
        data={CLASS_NAME_KEY: np.array([row[1] for row in rows], dtype=str)},
    )


def feet(x: float, y: float, width: float = 40.0, height: float = 100.0) -> Box:
    """A box whose bottom centre (the default rule anchor) is at (x, y)."""
    return (x - width / 2, y - height, x + width / 2, y)


def make_context(
    pts: float,
    seq: int,
    rows: Sequence[DetectionRow] = (),
    w: int = 768,
    h: int = 576,
    camera_id: str = "cam1",
) -> RuleContext:
    return RuleContext(frame=make_frame(pts, seq, w, h, camera_id), detections=make_detections(rows))


Script = Iterable[tuple[float, Sequence[DetectionRow]]]


def run_rule(rule: Rule, script: Script, w: int = 768, h: int = 576) -> list[Event]:
    """Feed ``(pts, rows)`` frames to a rule in order; all events, in order."""
    events: list[Event] = []
    for seq, (pts, rows) in enumerate(script):
        events.extend(rule.evaluate(make_context(pts, seq, rows, w, h)))
    return events
