"""Loitering: a track staying inside a zone for longer than a threshold.

Why "stays" with a grace period: detectors miss frames and feet step over a
zone edge; if every missed or outside frame restarted the clock, nobody would
ever loiter long enough. So a track's *stay* survives short *exits*.

Semantics (times are frame ``pts``):

- an exit begins on the first analysed frame in which a track that is in a
  stay is not seen inside the zone (seen outside, or not detected at all) and
  ends on the next frame it is seen inside; it lasts ``return_pts -
  exit_start_pts``. Consecutive frames inside are never an exit, however far
  apart they are, so the rule does not depend on the frame rate;
- a stay starts at the first frame a confirmed track is seen inside the zone;
  an exit lasting at most ``exit_grace_s`` continues the stay, a longer one
  ends it and the return starts a new stay;
- ``dwell_s = pts - stay_start``, exits included;
- ``zone.loiter`` is emitted once per stay, on the first frame the track is
  seen inside with ``dwell_s > min_dwell_s`` (strictly greater: a track seen at
  exactly ``min_dwell_s`` has not yet loitered). Being seen inside is required,
  so the event's box is inside the zone;
- a track forgotten (unseen inside for more than ``forget_after_s``) ends its
  stay; ``exit_grace_s`` must therefore not exceed ``forget_after_s``.

Memory holds only tracks seen inside within ``forget_after_s``, keyed by
(track id, class name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from sightline.core.event import Event
from sightline.core.geometry import Zone
from sightline.core.protocols import RuleContext
from sightline.rules.base import (
    FrameTime,
    TrackKey,
    TrackMemory,
    TrackRuleConfigBase,
    anchors_of,
    make_event,
    seconds,
    select_objects,
)


class LoiteringConfig(TrackRuleConfigBase):
    """Config of :class:`LoiteringRule`."""

    type: Literal["sightline/loitering@v1"] = "sightline/loitering@v1"
    zone: Zone
    min_dwell_s: float = Field(ge=0.0, description="Loitering is a stay longer than this.")
    exit_grace_s: float = Field(
        default=1.0,
        ge=0.0,
        description="Exits (outside or undetected) up to this long do not end a stay.",
    )

    @model_validator(mode="after")
    def _grace_within_memory(self) -> LoiteringConfig:
        if self.exit_grace_s > self.forget_after_s:
            raise ValueError(
                f"rule {self.id!r}: exit_grace_s ({self.exit_grace_s}) is longer than "
                f"forget_after_s ({self.forget_after_s}); the track would be forgotten before "
                "its grace ends. Raise forget_after_s or lower exit_grace_s"
            )
        return self


@dataclass(slots=True)
class _Stay:
    start: float
    exit_start: float | None = None  # first frame not seen inside, while away
    emitted: bool = False


class LoiteringRule:
    """Emits ``zone.loiter`` once per stay longer than ``min_dwell_s``."""

    def __init__(self, config: LoiteringConfig) -> None:
        self.config = config
        self.id = config.id
        self._memory: TrackMemory[_Stay] = TrackMemory(config.forget_after_s)
        self._time = FrameTime()

    @property
    def state_size(self) -> int:
        """Number of tracks currently remembered."""
        return len(self._memory)

    def reset(self) -> None:
        """Forget every stay (no events)."""
        self._memory.clear()
        self._time.clear()

    def evaluate(self, ctx: RuleContext) -> list[Event]:
        pts = ctx.frame.pts
        if self._time.advance(pts):
            self._memory.clear()
        objects = select_objects(ctx.detections, self.config)
        events: list[Event] = []
        seen_inside: set[TrackKey] = set()
        if objects:
            zone = self.config.zone.to_pixels(ctx.frame.width, ctx.frame.height)
            inside = zone.contains(anchors_of(objects)).tolist()
            for obj, is_in in zip(objects, inside, strict=True):
                if not is_in:
                    continue
                seen_inside.add(obj.key)
                stay = self._memory.get(obj.key)
                if stay is None or (
                    stay.exit_start is not None and pts - stay.exit_start > self.config.exit_grace_s
                ):
                    stay = _Stay(start=pts)
                stay.exit_start = None
                dwell = pts - stay.start
                if not stay.emitted and dwell > self.config.min_dwell_s:
                    stay.emitted = True
                    events.append(
                        make_event(
                            ctx,
                            self.config,
                            "zone.loiter",
                            obj=obj,
                            zone_id=self.config.zone.id,
                            attributes={"dwell_s": seconds(dwell), "stay_start_pts": stay.start},
                        )
                    )
                self._memory.put(obj.key, stay, pts)
        for key, stay in self._memory.states():
            if key not in seen_inside and stay.exit_start is None:
                stay.exit_start = pts
        self._memory.expire(pts)
        return events
