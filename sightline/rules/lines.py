"""Line crossing: counting tracks that cross a directed, bounded segment.

Why it is built on each track's *previous confirmed* anchor rather than on
"which side is the box on now": a count must mean that one object walked across
the drawn segment. So a crossing is the move from the track's last off-line
anchor to its current anchor, judged by ``LinePixels.crossing``, which ignores
moves that pass the line's extension beyond its end points. From that follow
the guards:

- unconfirmed detections (tracker id < 1) are never looked at, so a track must
  be confirmed at both ends of the move;
- a track seen for the first time has no previous position, so an id that
  first appears on the far side (a phantom after two tracks merged, or a track
  that was confirmed only after crossing) never counts;
- memory is keyed by (track id, class name): "person 7" on one side and
  "car 7" on the other are two tracks, neither of which crossed;
- an anchor exactly on the line is not a position on either side: the
  reference stays at the last off-line position, so stepping onto the line and
  then off it counts once, on the step that leaves the line;
- a track counts at most once per direction per ``min_interval_s``, which
  debounces a box jittering on the line (one "in" and one "out" at most per
  interval, so the net count stays right).

Direction (see ``sightline.core.geometry.Line``): "in" is a crossing from the
left-hand side to the right-hand side of someone walking from ``start`` to
``end`` as drawn on screen (image y grows downwards). For a line drawn left to
right, "in" is a move downwards on screen.

Counts of both directions are kept for the life of the rule (a restart of the
source does not clear them; :meth:`LineCrossingRule.reset_counts` does), and
every crossing is counted even when ``directions`` limits which ones emit
events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field

from sightline.core.event import Event
from sightline.core.geometry import Line
from sightline.core.protocols import RuleContext
from sightline.rules.base import (
    FrameTime,
    TrackMemory,
    TrackRuleConfigBase,
    anchors_of,
    make_event,
    select_objects,
)

Direction = Literal["in", "out"]


def _both_directions() -> list[Direction]:
    return ["in", "out"]


class LineCrossingConfig(TrackRuleConfigBase):
    """Config of :class:`LineCrossingRule`."""

    type: Literal["sightline/line_crossing@v1"] = "sightline/line_crossing@v1"
    line: Line
    directions: list[Direction] = Field(
        default_factory=_both_directions,
        min_length=1,
        description="Directions that emit events ('in' = left to right of start→end).",
    )
    min_interval_s: float = Field(
        default=1.0,
        ge=0.0,
        description="A track counts at most once per direction within this many seconds.",
    )


@dataclass(slots=True)
class _LineTrack:
    ref: tuple[float, float] | None = None  # last off-line anchor, normalised
    last_counted: dict[str, float] = field(default_factory=dict)  # direction -> pts


class LineCrossingRule:
    """Emits ``line.cross`` with direction "in" or "out" and keeps running counts."""

    def __init__(self, config: LineCrossingConfig) -> None:
        self.config = config
        self.id = config.id
        self._directions = frozenset(config.directions)
        self._memory: TrackMemory[_LineTrack] = TrackMemory(config.forget_after_s)
        self._time = FrameTime()
        self._counts: dict[str, int] = {"in": 0, "out": 0}

    @property
    def counts(self) -> dict[str, int]:
        """Crossings counted so far: {"in": n, "out": m} (a copy)."""
        return dict(self._counts)

    @property
    def state_size(self) -> int:
        """Number of tracks currently remembered."""
        return len(self._memory)

    def reset(self) -> None:
        """Forget every track's position (counts are kept)."""
        self._memory.clear()
        self._time.clear()

    def reset_counts(self) -> None:
        self._counts = {"in": 0, "out": 0}

    def evaluate(self, ctx: RuleContext) -> list[Event]:
        frame = ctx.frame
        pts = frame.pts
        if self._time.advance(pts):
            self._memory.clear()
        objects = select_objects(ctx.detections, self.config)
        line = self.config.line.to_pixels(frame.width, frame.height)
        scale = np.array([frame.width, frame.height], dtype=np.float64)
        points = anchors_of(objects)
        sides = line.side(points).tolist() if objects else []
        events: list[Event] = []
        for i, (obj, side) in enumerate(zip(objects, sides, strict=True)):
            track = self._memory.get(obj.key) or _LineTrack()
            if side != 0.0:
                here = points[i]
                if track.ref is not None:
                    crossing = line.crossing(np.asarray(track.ref) * scale, here)
                    if crossing != 0:
                        direction = "in" if crossing > 0 else "out"
                        last = track.last_counted.get(direction)
                        if last is None or pts - last >= self.config.min_interval_s:
                            track.last_counted[direction] = pts
                            self._counts[direction] += 1
                            if direction in self._directions:
                                events.append(
                                    make_event(
                                        ctx,
                                        self.config,
                                        "line.cross",
                                        obj=obj,
                                        line_id=self.config.line.id,
                                        direction=direction,
                                        attributes={"counts": self.counts},
                                    )
                                )
                track.ref = (float(here[0] / scale[0]), float(here[1] / scale[1]))
            self._memory.put(obj.key, track, pts)
        self._memory.expire(pts)
        return events
