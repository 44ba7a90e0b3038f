"""Plumbing shared by every built-in rule.

Why one module: every rule must agree on which objects it may look at
(confirmed tracks only, class and confidence filters), on the anchor point of a
box, on how per-track memory is keyed and forgotten, on what "time" is (the
frame's ``pts``, never the wall clock) and on how an Event is filled in. Each
rule writing its own copy of that is how rules drift apart, so it lives here
once and the rule modules only hold their own state machines.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field

from sightline.core.detections import CLASS_NAME_KEY
from sightline.core.event import BoundingBox, Event
from sightline.core.protocols import RuleContext

Anchor = Literal["bottom_center", "center"]
TrackKey = tuple[int, str]
FloatArray = npt.NDArray[np.float64]

S = TypeVar("S")

#: Tracker ids below this are not confirmed tracks (the tracker's ``-1``).
FIRST_CONFIRMED_TRACK_ID = 1


class RuleConfigBase(BaseModel):
    """Fields every rule config has. Subclasses add ``type`` as a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, description="Rule id, unique within a task.")
    classes: list[str] = Field(
        default_factory=list,
        description="Class names the rule looks at; empty means every class.",
    )
    min_confidence: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Detections below this confidence are ignored."
    )
    anchor: Anchor = Field(
        default="bottom_center",
        description="Point of a box tested against zones and lines: bottom centre (feet) or centre.",
    )


class TrackRuleConfigBase(RuleConfigBase):
    """Config of a rule that keeps memory per track."""

    forget_after_s: float = Field(
        default=5.0,
        gt=0.0,
        description="Seconds of frame time after which an unseen track's memory is dropped.",
    )


@dataclass(frozen=True, slots=True)
class Observation:
    """One confirmed, selected object in one frame."""

    track_id: int
    class_name: str
    confidence: float
    xyxy: tuple[float, float, float, float]
    anchor: tuple[float, float]  # pixels of the frame

    @property
    def key(self) -> TrackKey:
        """Memory key: an id reused by another class never shares state."""
        return (self.track_id, self.class_name)

    def box(self) -> BoundingBox:
        x1, y1, x2, y2 = self.xyxy
        return BoundingBox(
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
            class_name=self.class_name,
            confidence=self.confidence,
            track_id=self.track_id,
        )


def anchor_points(xyxy: FloatArray, anchor: Anchor) -> FloatArray:
    """(N, 2) anchor points of (N, 4) boxes."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2.0
    cy = boxes[:, 3] if anchor == "bottom_center" else (boxes[:, 1] + boxes[:, 3]) / 2.0
    return np.stack([cx, cy], axis=1)


def _class_names(detections: sv.Detections) -> list[str]:
    names = detections.data.get(CLASS_NAME_KEY)
    if names is not None:
        return [str(n) for n in names]
    if detections.class_id is not None:
        return [str(int(c)) for c in detections.class_id]
    return ["object"] * len(detections)


def select_objects(detections: sv.Detections, config: RuleConfigBase) -> list[Observation]:
    """The objects a rule may use: confirmed tracks of the configured classes at or
    above ``min_confidence``, sorted by track id (so events come out in a stable
    order). If a tracker ever reports one (id, class) twice in a frame, the more
    confident detection wins.

    Without ``data["class_name"]`` the class name is ``str(class_id)``."""
    n = len(detections)
    if n == 0 or detections.tracker_id is None:
        return []
    track_ids = np.asarray(detections.tracker_id, dtype=np.int64).reshape(-1)
    confidence = (
        np.ones(n, dtype=np.float64)
        if detections.confidence is None
        else np.asarray(detections.confidence, dtype=np.float64).reshape(-1)
    )
    names = _class_names(detections)
    keep = (track_ids >= FIRST_CONFIRMED_TRACK_ID) & (confidence >= config.min_confidence)
    if config.classes:
        keep &= np.isin(np.asarray(names, dtype=object), config.classes)
    if not keep.any():
        return []
    xyxy = np.asarray(detections.xyxy, dtype=np.float64).reshape(-1, 4)
    idx = np.flatnonzero(keep)
    # One conversion to Python floats per array (tolist), not per element:
    # this loop runs for every rule on every frame.
    boxes = xyxy[idx].tolist()
    anchors = anchor_points(xyxy[idx], config.anchor).tolist()
    ids = track_ids[idx].tolist()
    confs = np.clip(confidence[idx], 0.0, 1.0).tolist()
    best: dict[TrackKey, Observation] = {}
    for j, i in enumerate(idx.tolist()):
        obs = Observation(
            track_id=ids[j],
            class_name=names[i],
            confidence=confs[j],
            xyxy=tuple(boxes[j]),  # type: ignore[arg-type]
            anchor=(anchors[j][0], anchors[j][1]),
        )
        prev = best.get(obs.key)
        if prev is None or obs.confidence > prev.confidence:
            best[obs.key] = obs
    return [best[k] for k in sorted(best)]


def anchors_of(objects: list[Observation]) -> FloatArray:
    """(N, 2) pixel anchors of the observations, in their order."""
    return np.asarray([o.anchor for o in objects], dtype=np.float64).reshape(-1, 2)


class TrackMemory(Generic[S]):
    """Per-track state keyed by (tracker_id, class_name), forgotten once a track
    has not been seen for more than ``forget_after_s`` of frame time.

    Entries are kept in last-seen order, so expiring is O(expired) rather than a
    scan of every track. That relies on ``pts`` never going backwards between
    calls; rules guarantee it with :class:`FrameTime` (they reset on a restart)."""

    def __init__(self, forget_after_s: float) -> None:
        self._forget_after_s = forget_after_s
        self._items: OrderedDict[TrackKey, tuple[float, S]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def states(self) -> Iterator[tuple[TrackKey, S]]:
        """(key, state) of every remembered track, least recently seen first."""
        for key, (_seen, state) in self._items.items():
            yield key, state

    def get(self, key: TrackKey) -> S | None:
        item = self._items.get(key)
        return None if item is None else item[1]

    def put(self, key: TrackKey, state: S, pts: float) -> None:
        """Store ``state`` for ``key`` and mark the track as seen at ``pts``."""
        self._items[key] = (pts, state)
        self._items.move_to_end(key)

    def expire(self, pts: float) -> list[tuple[TrackKey, float, S]]:
        """Drop and return (key, last_seen_pts, state) of tracks unseen for more
        than ``forget_after_s`` at time ``pts``."""
        gone: list[tuple[TrackKey, float, S]] = []
        while self._items:
            key, (seen, state) = next(iter(self._items.items()))
            if pts - seen <= self._forget_after_s:
                break
            del self._items[key]
            gone.append((key, seen, state))
        return gone

    def clear(self) -> None:
        self._items.clear()


class FrameTime:
    """Watches ``pts`` across calls. A source that restarts (a looped file, a
    reconnected stream whose clock starts again) makes ``pts`` go backwards;
    durations across that jump would be meaningless, so rules reset their
    memory when :meth:`advance` says so."""

    def __init__(self) -> None:
        self._last: float | None = None

    def advance(self, pts: float) -> bool:
        """Record ``pts``; True when it is earlier than the previous frame's."""
        went_back = self._last is not None and pts < self._last
        self._last = pts
        return went_back

    def clear(self) -> None:
        self._last = None


def seconds(value: float) -> float:
    """A duration rounded to the millisecond for event attributes (pts
    differences carry float noise such as 9.999999999)."""
    return round(value, 3)


def make_event(
    ctx: RuleContext,
    config: RuleConfigBase,
    type_code: str,
    *,
    obj: Observation | None = None,
    boxes: list[BoundingBox] | None = None,
    zone_id: str | None = None,
    line_id: str | None = None,
    direction: str | None = None,
    attributes: dict[str, Any] | None = None,
    class_name: str | None = None,
    confidence: float | None = None,
) -> Event:
    """An Event at the context frame's time. With ``obj`` the event is about that
    track (its id, class, confidence and box); otherwise pass ``boxes`` and, if
    known, ``class_name`` and ``confidence``."""
    frame = ctx.frame
    if boxes is None:
        boxes = [obj.box()] if obj is not None else []
    return Event(
        type=type_code,
        rule_id=config.id,
        camera_id=frame.camera_id,
        pts=frame.pts,
        wall_time=frame.wall_time,
        frame_seq=frame.seq,
        track_id=obj.track_id if obj is not None else None,
        class_name=obj.class_name if obj is not None else class_name,
        confidence=obj.confidence if obj is not None else (confidence or 0.0),
        boxes=boxes,
        zone_id=zone_id,
        line_id=line_id,
        direction=direction,
        attributes=attributes or {},
        frame_size=frame.resolution,
    )
