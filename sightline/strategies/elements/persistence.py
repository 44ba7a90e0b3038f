"""Persistence / aggregation: N hits within T make one event."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase, KeyedState, event_key, num


class PersistenceConfig(ElementConfigBase):
    type: Literal["sightline/persistence@v1"] = "sightline/persistence@v1"
    hits: int = Field(ge=1, description="Raw events of the same key needed ...")
    window_s: float = Field(gt=0.0, description="... within this many seconds to emit one event.")
    by_zone: bool = Field(default=False, description="Count hits per zone / line.")
    by_track: bool = Field(default=False, description="Count hits per track.")


@dataclass(frozen=True)
class _Hit:
    wall_time: float
    event_id: str
    confidence: float
    images: Mapping[str, bytes]


class Persistence(Element[PersistenceConfig]):
    """Blocks hits until ``hits`` of them fall within ``window_s``; the hit that
    completes the count passes as the aggregated event, carrying attributes
    ``hits``, ``aggregated_ids`` (oldest first, itself last) and ``best_hit_id``,
    with the images of the highest-confidence hit (the best snapshot).

    Hits are counted at check time (they are what the element is about); the
    window is cleared only when the aggregated event is emitted, so if a later
    element blocks it the next hit can fire again.
    """

    stateful = True

    def __init__(self, config: PersistenceConfig) -> None:
        super().__init__(config)
        # maxlen = hits: only the newest N hits can complete a count.
        self._hits: KeyedState[deque[_Hit]] = KeyedState(config.window_s, lambda: deque(maxlen=config.hits))

    def _key(self, candidate: RawEvent) -> tuple[object, ...]:
        return event_key(candidate.event, by_zone=self.config.by_zone, by_track=self.config.by_track)

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        window, needed = self.config.window_s, self.config.hits
        hits = self._hits.touch(self._key(candidate), event.wall_time)
        while hits and event.wall_time - hits[0].wall_time > window:
            hits.popleft()
        hits.append(_Hit(event.wall_time, event.id, event.confidence, candidate.images))
        values = {"hits": len(hits), "needed": needed, "window_s": window}
        if len(hits) < needed:
            return self.blocked(f"hit {len(hits)} of {needed} within {num(window)} s", **values)
        best = max(hits, key=lambda hit: hit.confidence)  # first of equals: the oldest
        ids = [hit.event_id for hit in hits]
        attributes = {
            **event.attributes,
            "hits": len(hits),
            "aggregated_ids": ids,
            "best_hit_id": best.event_id,
        }
        candidate.event = event.model_copy(update={"attributes": attributes})
        candidate.images = best.images
        return self.passed(
            f"{len(hits)} hits within {num(window)} s >= {needed}; best snapshot from {best.event_id}",
            best_hit_id=best.event_id,
            aggregated_ids=ids,
            **values,
        )

    def commit(self, candidate: RawEvent) -> None:
        self._hits.pop(self._key(candidate))
