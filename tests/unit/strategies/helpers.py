"""Event builders and a one-element chain runner for strategy tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sightline.core.event import BoundingBox, Event
from sightline.core.event_types import EVENT_TYPES
from sightline.strategies.base import RawEvent, Verdict
from sightline.strategies.chain import Chain
from sightline.strategies.error_library import ErrorLibrary
from sightline.strategies.spec import StrategySpec, parse_spec
from tests.factories import WALL_TIME_BASE

Box = tuple[float, float, float, float]
DEFAULT_BOX: Box = (100.0, 100.0, 140.0, 200.0)


def make_event(
    t: float = 0.0,
    type: str = "zone.enter",
    camera: str = "cam1",
    *,
    confidence: float = 0.9,
    box: Box | None = DEFAULT_BOX,
    class_name: str | None = "person",
    zone: str | None = "z1",
    line: str | None = None,
    track: int | None = 1,
    direction: str | None = None,
    attributes: dict[str, Any] | None = None,
    frame_size: tuple[int, int] | None = (768, 576),
    event_id: str | None = None,
) -> Event:
    """An event ``t`` seconds after the factories' wall time base."""
    boxes = (
        []
        if box is None
        else [
            BoundingBox(
                x1=box[0],
                y1=box[1],
                x2=box[2],
                y2=box[3],
                class_name=class_name or "object",
                confidence=confidence,
            )
        ]
    )
    return Event(
        type=type,
        rule_id="r1",
        camera_id=camera,
        pts=t,
        wall_time=WALL_TIME_BASE + t,
        track_id=track,
        class_name=class_name,
        confidence=confidence,
        boxes=boxes,
        zone_id=zone,
        line_id=line,
        direction=direction,
        attributes=attributes or {},
        frame_size=frame_size,
        id=event_id or uuid.uuid4().hex,
    )


def raw(event: Event, images: Mapping[str, bytes] | None = None) -> RawEvent:
    return RawEvent(event=event, images=images or {})


def spec_of(*elements: Mapping[str, Any], id: str = "s", **fields: Any) -> StrategySpec:
    data: dict[str, Any] = {
        "id": id,
        "event_types": sorted(EVENT_TYPES),
        "elements": list(elements),
        **fields,
    }
    return parse_spec(data)


def chain_of(*elements: Mapping[str, Any], library: ErrorLibrary | None = None) -> Chain:
    return Chain.from_spec(spec_of(*elements), library=library)


def run_all(chain: Chain, events: Iterable[Event]) -> list[Verdict]:
    return [chain.run(raw(e)) for e in events]


def outcomes(verdicts: Iterable[Verdict]) -> list[bool]:
    return [v.passed for v in verdicts]
