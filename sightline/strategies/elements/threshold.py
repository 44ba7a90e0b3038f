"""Threshold on a number the event carries or one derived from it."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from sightline.core.event import Event
from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase, main_box, num

Op = Literal["<", "<=", ">", ">=", "==", "!="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

#: Names computed from the event rather than read from ``event.attributes``.
DERIVED = ("area", "area_fraction", "width", "height", "confidence", "count")


class ThresholdConfig(ElementConfigBase):
    type: Literal["sightline/threshold@v1"] = "sightline/threshold@v1"
    field: str = Field(
        min_length=1,
        description=(
            "What to compare: area (box px²), area_fraction (of the frame), width, height, confidence, "
            "count (attribute count, else number of boxes), or any key of the event's attributes "
            "(e.g. dwell_s, duration_s)."
        ),
    )
    op: Op = Field(description="Comparison: < <= > >= == !=. The event passes when `field op value` holds.")
    value: float
    on_missing: Literal["block", "pass"] = Field(
        default="block", description="What to do with an event that does not carry the field."
    )


class Threshold(Element[ThresholdConfig]):
    def check(self, candidate: RawEvent) -> Step:
        name, op, limit = self.config.field, self.config.op, self.config.value
        found = field_value(candidate.event, name)
        if isinstance(found, str):
            reason = f"{name} {found}"
            if self.config.on_missing == "pass":
                return self.passed(f"{reason}; passed (on_missing: pass)", field=name)
            return self.blocked(f"{reason}; set on_missing: pass to let such events through", field=name)
        values = {"field": name, "actual": found, "op": op, "value": limit}
        sentence = f"{name} {num(found)} {op} {num(limit)}"
        if _OPS[op](found, limit):
            return self.passed(sentence, **values)
        return self.blocked(f"not {sentence}", **values)


def field_value(event: Event, name: str) -> float | str:
    """The number named ``name`` on the event, or a string saying why there is none."""
    box = main_box(event)
    if name in ("area", "area_fraction", "width", "height"):
        if box is None:
            return "cannot be computed: event has no box"
        width, height = box.x2 - box.x1, box.y2 - box.y1
        if name == "width":
            return width
        if name == "height":
            return height
        if name == "area":
            return width * height
        if event.frame_size is None:
            return "cannot be computed: frame size unknown"
        return width * height / (event.frame_size[0] * event.frame_size[1])
    if name == "confidence":
        return event.confidence
    if name == "count" and "count" not in event.attributes:
        return float(len(event.boxes))
    if name not in event.attributes:
        known = sorted(set(DERIVED) | set(event.attributes))
        return f"is missing on the event (known: {', '.join(known)})"
    raw = event.attributes[name]
    if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
        return f"is not a number ({raw!r})"
    return float(raw)
