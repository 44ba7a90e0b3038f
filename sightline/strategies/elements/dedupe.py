"""De-duplication and rate limiting: windows over *emitted* events.

Both remember only events the whole chain emitted (``commit``), so an event
that a later element blocks does not silence the next real one.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from pydantic import Field

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import (
    Box,
    Element,
    ElementConfigBase,
    KeyedState,
    box_tuple,
    event_key,
    iou,
    main_box,
    num,
)


class DedupeConfig(ElementConfigBase):
    type: Literal["sightline/dedupe@v1"] = "sightline/dedupe@v1"
    window_s: float = Field(
        gt=0.0, description="An event this close to an emitted one of the same key is a duplicate."
    )
    by_zone: bool = Field(
        default=False, description="Key includes the zone / line: other zones are not duplicates."
    )
    by_track: bool = Field(
        default=False, description="Key includes the track id: other objects are not duplicates."
    )
    by_direction: bool = Field(
        default=False,
        description=(
            "Key includes the direction (in/out, enter/leave): a track crossing back is a new event, "
            "so counts keep their net flow while a dithering track cannot inflate them."
        ),
    )
    iou: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description=(
            "When set, a duplicate must also overlap an emitted event of the key within window_s with "
            "box IoU >= iou (events elsewhere in the picture are distinct)."
        ),
    )


# Emitted events kept per key for the IoU test: enough for a busy scene, bounded.
_IOU_MEMORY = 64


class Dedupe(Element[DedupeConfig]):
    stateful = True

    def __init__(self, config: DedupeConfig) -> None:
        super().__init__(config)
        self._emitted: KeyedState[deque[tuple[float, Box | None, str]]] = KeyedState(
            config.window_s, lambda: deque(maxlen=_IOU_MEMORY if config.iou is not None else 1)
        )

    def _key(self, candidate: RawEvent) -> tuple[object, ...]:
        c = self.config
        return event_key(candidate.event, by_zone=c.by_zone, by_track=c.by_track, by_direction=c.by_direction)

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        window = self.config.window_s
        recent = self._emitted.get(self._key(candidate)) or ()
        # Newest first: the reason names the closest earlier emission.
        for when, box, event_id in reversed(recent):
            age = abs(event.wall_time - when)
            if age >= window:
                continue
            values = {"previous_id": event_id, "age_s": age, "window_s": window}
            if self.config.iou is None:
                return self.blocked(
                    f"duplicate of {event_id} emitted {num(age)} s earlier < {num(window)} s", **values
                )
            current = main_box(event)
            if box is None or current is None:
                continue
            overlap = iou(box_tuple(current), box)
            min_iou = self.config.iou
            if overlap >= min_iou:
                return self.blocked(
                    f"duplicate of {event_id}: {num(age)} s earlier, IoU {num(overlap)} >= {num(min_iou)}",
                    iou=overlap,
                    min_iou=min_iou,
                    **values,
                )
        return self.passed(f"no emitted event of this key within {num(window)} s", window_s=window)

    def commit(self, candidate: RawEvent) -> None:
        event = candidate.event
        box = main_box(event)
        memory = self._emitted.touch(self._key(candidate), event.wall_time)
        memory.append((event.wall_time, box_tuple(box) if box is not None else None, event.id))


class RateLimitConfig(ElementConfigBase):
    type: Literal["sightline/rate-limit@v1"] = "sightline/rate-limit@v1"
    max_events: int = Field(ge=1, description="At most this many events emitted per key ...")
    window_s: float = Field(gt=0.0, description="... within any sliding window of this many seconds.")
    by_zone: bool = Field(default=False, description="Count per zone / line instead of per camera + type.")


class RateLimit(Element[RateLimitConfig]):
    stateful = True

    def __init__(self, config: RateLimitConfig) -> None:
        super().__init__(config)
        self._emitted: KeyedState[deque[float]] = KeyedState(
            config.window_s, lambda: deque(maxlen=config.max_events)
        )

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        window, limit = self.config.window_s, self.config.max_events
        times = self._emitted.get(event_key(event, by_zone=self.config.by_zone)) or ()
        count = sum(1 for t in times if abs(event.wall_time - t) < window)
        values = {"emitted_in_window": count, "max_events": limit, "window_s": window}
        if count >= limit:
            return self.blocked(
                f"{count} events emitted in the last {num(window)} s >= limit {limit}", **values
            )
        return self.passed(f"{count} events emitted in the last {num(window)} s < limit {limit}", **values)

    def commit(self, candidate: RawEvent) -> None:
        event = candidate.event
        # maxlen = max_events: older emissions can never matter to the count.
        self._emitted.touch(event_key(event, by_zone=self.config.by_zone), event.wall_time).append(
            event.wall_time
        )
