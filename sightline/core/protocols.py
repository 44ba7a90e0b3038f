"""One Protocol per plugin kind. Stages depend on these, never on concrete
classes, so algorithms and tests can swap implementations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import supervision as sv

from sightline.core.event import Event
from sightline.core.frame import Frame


class Detector(Protocol):
    class_names: Sequence[str]

    def detect(self, frames: Sequence[Frame]) -> list[sv.Detections]:
        """Detect objects in several frames at once (one batched model run).

        Each result has ``xyxy`` in the frame's own pixels, ``confidence``,
        ``class_id`` and ``data["class_name"]``."""
        ...


class Tracker(Protocol):
    def update(self, detections: sv.Detections, pts: float) -> sv.Detections:
        """Assign ``tracker_id`` to detections of one frame at time ``pts``.

        Confirmed tracks get a stable id >= 1 that is never reused; detections
        not (yet) belonging to a confirmed track get ``tracker_id == -1``.
        Returned detections carry ``data["class_name"]``."""
        ...


@dataclass(frozen=True)
class RuleContext:
    """What a rule sees for one analysed frame."""

    frame: Frame
    detections: sv.Detections  # tracked: tracker_id set (-1 = unconfirmed)


class Rule(Protocol):
    id: str

    def evaluate(self, ctx: RuleContext) -> list[Event]:
        """Events that happened at ``ctx.frame.pts``. Rules keep their own
        per-track memory and use only frame time, never the wall clock."""
        ...
