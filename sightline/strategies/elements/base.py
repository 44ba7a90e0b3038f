"""What every element shares: its config base, the check/commit contract and
small helpers (event keys, box geometry, JSON-able numbers).

Contract of an element (one verb, ``check``):

- ``check(candidate)`` returns a :class:`Step` saying passed or blocked and why.
  It may replace ``candidate.event`` / ``candidate.images`` with an enriched
  *copy* (persistence does) but never mutates the event in place: the caller's
  raw event must stay as the rules made it.
- ``commit(candidate)`` is called by the chain only after every element passed
  the event, i.e. when it is really emitted. Windows over *emitted* events
  (dedupe, rate limit) update there, so an event blocked further down the chain
  does not poison them.
- Time is ``event.wall_time``; no element reads a clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from sightline.core.event import BoundingBox, Event
from sightline.strategies.base import RawEvent, Step

#: Element and strategy ids: lower-case slugs, safe in URLs and YAML keys.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class ElementConfigBase(BaseModel):
    """Fields every element config has; subclasses add ``type`` as a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        pattern=SLUG_PATTERN,
        description="Element id, unique within the strategy; named in the trace.",
    )


C = TypeVar("C", bound=ElementConfigBase)


class Element(ABC, Generic[C]):
    """One element of a chain, built from its config."""

    #: Whether the element keeps memory across events (dedupe, persistence ...).
    stateful: ClassVar[bool] = False

    def __init__(self, config: C) -> None:
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def type(self) -> str:
        return str(getattr(self.config, "type"))  # noqa: B009 - every concrete config has one

    @abstractmethod
    def check(self, candidate: RawEvent) -> Step:
        """Pass or block the candidate event, saying why."""

    def commit(self, candidate: RawEvent) -> None:  # noqa: B027 - optional hook, no-op by default
        """The candidate was emitted by the chain (every element passed it)."""

    def passed(self, reason: str, **values: Any) -> Step:
        return Step(
            element_id=self.id,
            element_type=self.type,
            verdict="passed",
            reason=reason,
            values=jsonable(values),
        )

    def blocked(self, reason: str, **values: Any) -> Step:
        return Step(
            element_id=self.id,
            element_type=self.type,
            verdict="blocked",
            reason=reason,
            values=jsonable(values),
        )


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Floats rounded to 4 decimals (traces are read by people and stored per
    event, float noise like 0.30000000000000004 helps neither)."""
    return {key: _round(value) for key, value in values.items()}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _round(v) for k, v in value.items()}
    return value


def num(value: float) -> str:
    """A number for a reason sentence: no trailing zeros, at most 3 decimals."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def main_box(event: Event) -> BoundingBox | None:
    """The box an element judges: the event's first box (the rules put the
    object the event is about first)."""
    return event.boxes[0] if event.boxes else None


Box = tuple[float, float, float, float]


def box_tuple(box: BoundingBox) -> Box:
    return (box.x1, box.y1, box.x2, box.y2)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def event_key(
    event: Event, *, by_zone: bool = False, by_track: bool = False, by_direction: bool = False
) -> tuple[Hashable, ...]:
    """camera + type, refined by zone/line, by track and by direction when asked."""
    key: tuple[Hashable, ...] = (event.camera_id, event.type)
    if by_zone:
        key += (event.zone_id, event.line_id)
    if by_track:
        key += (event.track_id,)
    if by_direction:
        key += (event.direction,)
    return key


V = TypeVar("V")


class KeyedState(Generic[V]):
    """Per-key memory that forgets keys idle for longer than ``horizon_s``.

    Why: keys include track ids, which never come back once a track ends, so
    without forgetting a long-running engine would grow without bound. Sweeps
    run every ``sweep_every`` writes, which keeps the cost amortised O(1).
    """

    def __init__(self, horizon_s: float, factory: Callable[[], V], sweep_every: int = 1024) -> None:
        self.horizon_s = horizon_s
        self._factory = factory
        self._sweep_every = sweep_every
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._writes = 0

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        return item[1] if item is not None else None

    def touch(self, key: Hashable, now: float) -> V:
        """The state of ``key`` (created when new), marked as used at ``now``."""
        item = self._items.get(key)
        value = item[1] if item is not None else self._factory()
        self._items[key] = (now, value)
        self._writes += 1
        if self._writes % self._sweep_every == 0:
            self._sweep(now)
        return value

    def pop(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)

    def _sweep(self, now: float) -> None:
        stale = [k for k, (used, _) in self._items.items() if now - used > self.horizon_s]
        for k in stale:
            del self._items[k]
