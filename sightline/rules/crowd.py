"""Crowding: too many objects inside a zone for too long.

Why an armed/disarmed episode instead of a per-frame test: a crowd that stays
for ten minutes is one incident, not one alarm per frame, and a crowd whose
count flickers around the threshold (a person missed by the detector for a
frame) is still the same crowd. So the rule tracks *episodes*:

- a frame is "crowded" when the number of confirmed objects (tracker id >= 1,
  of the configured classes, at or above ``min_confidence``) whose anchor is
  inside the zone is **at least** ``min_count`` (``count >= min_count``);
- an episode starts at the first crowded frame and lasts while crowded frames
  keep coming; it ends on a frame that is not crowded when more than
  ``drop_grace_s`` has passed since the last crowded frame (with
  ``drop_grace_s = 0`` any non-crowded frame ends it). Only observed frames
  end an episode: a pause in the frames themselves does not;
- ``zone.crowd`` is emitted once per episode, on the first crowded frame with
  ``pts - episode_start >= min_duration_s``. The rule re-arms only when the
  episode ends (the count dropped below ``min_count`` and stayed there past the
  grace) and a new one starts;
- the event carries ``count`` (objects in the zone on that frame),
  ``duration_s`` (since the episode started) and the boxes of all objects in
  the zone; ``class_name`` is set when they are all of one class.

The rule keeps no per-track memory: its state is one episode.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sightline.core.event import Event
from sightline.core.geometry import Zone
from sightline.core.protocols import RuleContext
from sightline.rules.base import (
    FrameTime,
    Observation,
    RuleConfigBase,
    anchors_of,
    make_event,
    seconds,
    select_objects,
)


class CrowdingConfig(RuleConfigBase):
    """Config of :class:`CrowdingRule`."""

    type: Literal["sightline/crowding@v1"] = "sightline/crowding@v1"
    zone: Zone
    min_count: int = Field(ge=1, description="Crowded means at least this many objects in the zone.")
    min_duration_s: float = Field(
        default=0.0, ge=0.0, description="Crowded for at least this many seconds before the event."
    )
    drop_grace_s: float = Field(
        default=1.0,
        ge=0.0,
        description="The count may dip below min_count this long without ending the episode.",
    )


class CrowdingRule:
    """Emits ``zone.crowd`` once per crowded episode lasting ``min_duration_s``."""

    def __init__(self, config: CrowdingConfig) -> None:
        self.config = config
        self.id = config.id
        self._time = FrameTime()
        self._episode_start: float | None = None
        self._last_crowded: float = 0.0
        self._armed = True

    @property
    def crowded_since(self) -> float | None:
        """Start pts of the current episode, if any."""
        return self._episode_start

    def reset(self) -> None:
        """End any episode and re-arm (no events)."""
        self._time.clear()
        self._end_episode()

    def _end_episode(self) -> None:
        self._episode_start = None
        self._armed = True

    def evaluate(self, ctx: RuleContext) -> list[Event]:
        pts = ctx.frame.pts
        if self._time.advance(pts):
            self._end_episode()
        objects = select_objects(ctx.detections, self.config)
        in_zone: list[Observation] = []
        if objects:
            zone = self.config.zone.to_pixels(ctx.frame.width, ctx.frame.height)
            mask = zone.contains(anchors_of(objects)).tolist()
            in_zone = [obj for obj, is_in in zip(objects, mask, strict=True) if is_in]
        count = len(in_zone)
        if count < self.config.min_count:
            if self._episode_start is not None and pts - self._last_crowded > self.config.drop_grace_s:
                self._end_episode()
            return []
        if self._episode_start is None:
            self._episode_start = pts
            self._armed = True
        self._last_crowded = pts
        duration = pts - self._episode_start
        if not self._armed or duration < self.config.min_duration_s:
            return []
        self._armed = False
        classes = {obj.class_name for obj in in_zone}
        return [
            make_event(
                ctx,
                self.config,
                "zone.crowd",
                boxes=[obj.box() for obj in in_zone],
                zone_id=self.config.zone.id,
                attributes={"count": count, "duration_s": seconds(duration)},
                class_name=classes.pop() if len(classes) == 1 else None,
                confidence=sum(obj.confidence for obj in in_zone) / count,
            )
        ]
