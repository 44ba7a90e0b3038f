"""Recent raw events of every type, per camera: what confirmation looks back on.

The engine records every raw event here *before* running any chain, whether a
strategy applies to it or not, so "type A is kept only if type B fired" works
even when B has no strategy of its own, and a B blocked by its own strategy
still counts as having fired (confirmation is about the detectors agreeing,
not about what was emitted).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from sightline.core.event import Event
from sightline.strategies.elements.base import Box, box_tuple, main_box

#: Default look-back kept per camera; the engine raises it to the longest confirm window.
DEFAULT_HORIZON_S = 300.0
#: Events kept per camera at most, whatever the horizon (bounded memory on a busy camera).
MAX_PER_CAMERA = 10_000


@dataclass(frozen=True)
class Seen:
    event_id: str
    type: str
    wall_time: float
    zone_id: str | None
    line_id: str | None
    box: Box | None


class RecentEvents:
    """Not thread-safe on its own: the engine calls it under its lock."""

    def __init__(self, horizon_s: float = DEFAULT_HORIZON_S, max_per_camera: int = MAX_PER_CAMERA) -> None:
        self.horizon_s = horizon_s
        self._max = max_per_camera
        self._by_camera: dict[str, deque[Seen]] = {}

    def ensure_horizon(self, seconds: float) -> None:
        self.horizon_s = max(self.horizon_s, seconds)

    def record(self, event: Event) -> None:
        seen = self._by_camera.setdefault(event.camera_id, deque(maxlen=self._max))
        box = main_box(event)
        seen.append(
            Seen(
                event.id,
                event.type,
                event.wall_time,
                event.zone_id,
                event.line_id,
                box_tuple(box) if box else None,
            )
        )
        while seen and event.wall_time - seen[0].wall_time > self.horizon_s:
            seen.popleft()

    def before(self, camera_id: str, until: float, window_s: float) -> Iterator[Seen]:
        """Events of the camera with ``until - window_s <= wall_time <= until``, newest first."""
        for seen in reversed(self._by_camera.get(camera_id, ())):
            if seen.wall_time > until:
                continue
            if until - seen.wall_time > window_s:
                break
            yield seen
