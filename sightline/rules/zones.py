"""Zone intrusion: tracks entering, leaving and being inside a polygon.

Why a per-track state machine rather than "is anyone in the zone now": an
intrusion alarm must fire once when a person steps in, not on every frame they
stand there, and a box flickering across the edge must not fire enter/leave
pairs. Each confirmed track therefore has a debounced inside/outside state that
changes only after ``min_frames`` consecutive observations on the other side.

Semantics (times are frame ``pts``):

- **enter**: the track's state turns inside. A track first seen inside the zone
  starts as "outside" when ``enter_on_appear`` (someone can appear from a door
  inside the zone), so it enters after ``min_frames`` observations; with
  ``enter_on_appear=False`` it starts silently inside and never enters during
  that stay.
- **leave**: the state turns outside after ``min_frames`` consecutive outside
  observations. A track that vanishes while inside gets a ``leave`` with
  ``attributes.reason == "lost"`` on the first frame at which it has been unseen
  for more than ``forget_after_s`` (so enter/leave pairs always balance for
  occupancy counting); set ``leave_on_lost=False`` to emit only observed exits
  (``reason == "exited"``).
- **inside**: once per stay, on the frame the track is (or starts) inside, then
  again every ``inside_repeat_s`` while it stays inside, if set.

Only confirmed tracks (tracker id >= 1) are considered; memory is keyed by
(track id, class name) and dropped after ``forget_after_s`` unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from sightline.core.event import Event
from sightline.core.geometry import Zone
from sightline.core.protocols import RuleContext
from sightline.rules.base import (
    FrameTime,
    Observation,
    TrackMemory,
    TrackRuleConfigBase,
    anchors_of,
    make_event,
    seconds,
    select_objects,
)

ZoneTrigger = Literal["enter", "leave", "inside"]


def _default_triggers() -> list[ZoneTrigger]:
    return ["enter"]


class ZoneIntrusionConfig(TrackRuleConfigBase):
    """Config of :class:`ZoneIntrusionRule`."""

    type: Literal["sightline/zone_intrusion@v1"] = "sightline/zone_intrusion@v1"
    zone: Zone
    trigger: list[ZoneTrigger] = Field(
        default_factory=_default_triggers,
        min_length=1,
        description="Which transitions emit events: enter, leave, inside.",
    )
    min_frames: int = Field(
        default=1,
        ge=1,
        description="Consecutive observations on the other side needed to enter or leave.",
    )
    enter_on_appear: bool = Field(
        default=True, description="A track first seen inside the zone counts as entering it."
    )
    inside_repeat_s: float | None = Field(
        default=None, gt=0.0, description="Repeat the inside event every this many seconds."
    )
    leave_on_lost: bool = Field(
        default=True,
        description="Emit leave (reason 'lost') when a track inside is forgotten.",
    )


@dataclass(slots=True)
class _ZoneTrack:
    last: Observation
    inside: bool
    since: float | None  # pts the current stay inside began
    seen_outside: bool = False
    streak: int = 0  # consecutive observations on the other side of `inside`
    streak_start: float = 0.0
    last_inside_event: float | None = None


class ZoneIntrusionRule:
    """Emits ``zone.enter`` / ``zone.leave`` / ``zone.inside`` per confirmed track."""

    def __init__(self, config: ZoneIntrusionConfig) -> None:
        self.config = config
        self.id = config.id
        self._triggers = frozenset(config.trigger)
        self._memory: TrackMemory[_ZoneTrack] = TrackMemory(config.forget_after_s)
        self._time = FrameTime()

    @property
    def state_size(self) -> int:
        """Number of tracks currently remembered."""
        return len(self._memory)

    def reset(self) -> None:
        """Forget every track (no events)."""
        self._memory.clear()
        self._time.clear()

    def evaluate(self, ctx: RuleContext) -> list[Event]:
        pts = ctx.frame.pts
        if self._time.advance(pts):
            self._memory.clear()
        objects = select_objects(ctx.detections, self.config)
        zone = self.config.zone.to_pixels(ctx.frame.width, ctx.frame.height)
        inside = zone.contains(anchors_of(objects)) if objects else np.zeros(0, dtype=bool)
        events: list[Event] = []
        for obj, is_in in zip(objects, inside.tolist(), strict=True):
            events.extend(self._observe(ctx, obj, bool(is_in)))
        for _key, seen, track in self._memory.expire(pts):
            if track.inside and self.config.leave_on_lost and "leave" in self._triggers:
                events.append(self._leave(ctx, track, reason="lost", until=seen))
        return events

    def _observe(self, ctx: RuleContext, obj: Observation, is_in: bool) -> list[Event]:
        pts = ctx.frame.pts
        track = self._memory.get(obj.key)
        if track is None:
            starts_inside = is_in and not self.config.enter_on_appear
            track = _ZoneTrack(last=obj, inside=starts_inside, since=pts if starts_inside else None)
        track.last = obj
        track.seen_outside = track.seen_outside or not is_in
        events: list[Event] = []
        if is_in != track.inside:
            if track.streak == 0:
                track.streak_start = pts
            track.streak += 1
            if track.streak >= self.config.min_frames:
                track.streak = 0
                if is_in:
                    events.extend(self._enter(ctx, track))
                else:
                    if "leave" in self._triggers:
                        events.append(self._leave(ctx, track, reason="exited", until=track.streak_start))
                    track.inside, track.since = False, None
        else:
            track.streak = 0
        if track.inside and "inside" in self._triggers:
            repeat = self.config.inside_repeat_s
            last = track.last_inside_event
            if last is None or (repeat is not None and pts - last >= repeat):
                track.last_inside_event = pts
                since = track.since if track.since is not None else pts
                events.append(
                    make_event(
                        ctx,
                        self.config,
                        "zone.inside",
                        obj=obj,
                        zone_id=self.config.zone.id,
                        attributes={"dwell_s": seconds(pts - since)},
                    )
                )
        self._memory.put(obj.key, track, pts)
        return events

    def _enter(self, ctx: RuleContext, track: _ZoneTrack) -> list[Event]:
        track.inside = True
        track.since = track.streak_start
        track.last_inside_event = None
        if "enter" not in self._triggers:
            return []
        return [
            make_event(
                ctx,
                self.config,
                "zone.enter",
                obj=track.last,
                zone_id=self.config.zone.id,
                direction="enter",
                attributes={"appeared": not track.seen_outside},
            )
        ]

    def _leave(self, ctx: RuleContext, track: _ZoneTrack, *, reason: str, until: float) -> Event:
        """``until``: when the stay ended (first outside observation, or when a
        lost track was last seen)."""
        since = track.since if track.since is not None else until
        attributes: dict[str, object] = {"reason": reason, "dwell_s": seconds(until - since)}
        if reason == "lost":
            attributes["last_seen_pts"] = until
        return make_event(
            ctx,
            self.config,
            "zone.leave",
            obj=track.last,
            zone_id=self.config.zone.id,
            direction="leave",
            attributes=attributes,
        )
