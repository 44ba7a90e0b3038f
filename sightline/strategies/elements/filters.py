"""Stateless filters on what the event shows: class, confidence, box size."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase, main_box, num


class ClassFilterConfig(ElementConfigBase):
    type: Literal["sightline/class-filter@v1"] = "sightline/class-filter@v1"
    classes: list[str] = Field(min_length=1, description="Class names allowed, e.g. [person, car].")


class ClassFilter(Element[ClassFilterConfig]):
    """Passes events about one of the allowed classes. The class is the
    event's ``class_name``, else its main box's; an event with neither is
    blocked (the filter is an allow-list)."""

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        box = main_box(event)
        class_name = event.class_name or (box.class_name if box is not None else None)
        allowed = self.config.classes
        if class_name is None:
            return self.blocked("event has no class to compare", allowed=allowed)
        if class_name in allowed:
            return self.passed(f"class {class_name} is allowed", class_name=class_name, allowed=allowed)
        return self.blocked(
            f"class {class_name} not in {', '.join(allowed)}", class_name=class_name, allowed=allowed
        )


class ConfidenceFilterConfig(ElementConfigBase):
    type: Literal["sightline/confidence-filter@v1"] = "sightline/confidence-filter@v1"
    min_confidence: float = Field(gt=0.0, le=1.0, description="Events below this confidence are blocked.")


class ConfidenceFilter(Element[ConfidenceFilterConfig]):
    def check(self, candidate: RawEvent) -> Step:
        confidence = candidate.event.confidence
        minimum = self.config.min_confidence
        values = {"confidence": confidence, "min_confidence": minimum}
        if confidence >= minimum:
            return self.passed(f"confidence {num(confidence)} >= {num(minimum)}", **values)
        return self.blocked(f"confidence {num(confidence)} < {num(minimum)}", **values)


class MinSizeConfig(ElementConfigBase):
    type: Literal["sightline/min-size@v1"] = "sightline/min-size@v1"
    unit: Literal["px", "fraction"] = Field(
        default="px", description="px: pixels of the analysed frame; fraction: of the frame's width/height."
    )
    min_width: float | None = Field(default=None, gt=0.0, description="Minimum box width.")
    min_height: float | None = Field(default=None, gt=0.0, description="Minimum box height.")

    @model_validator(mode="after")
    def _something_to_check(self) -> MinSizeConfig:
        if self.min_width is None and self.min_height is None:
            raise ValueError("set min_width or min_height (or both)")
        if self.unit == "fraction" and any(
            v is not None and v > 1.0 for v in (self.min_width, self.min_height)
        ):
            raise ValueError("with unit fraction, min_width/min_height must be <= 1 (1 = the whole frame)")
        return self


class MinSize(Element[MinSizeConfig]):
    """Blocks small boxes (far-away or spurious detections). An event without
    a box, or without a frame size when fractions are asked, passes: a filter
    that cannot judge must not silently drop events."""

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        box = main_box(event)
        if box is None:
            return self.passed("event has no box; size not checked")
        width, height = box.x2 - box.x1, box.y2 - box.y1
        unit = self.config.unit
        if unit == "fraction":
            if event.frame_size is None:
                return self.passed("frame size unknown; fractional size not checked")
            width, height = width / event.frame_size[0], height / event.frame_size[1]
        min_w, min_h = self.config.min_width, self.config.min_height
        values = {"width": width, "height": height, "min_width": min_w, "min_height": min_h, "unit": unit}
        if min_w is not None and width < min_w:
            return self.blocked(f"box width {num(width)} {unit} < {num(min_w)} {unit}", **values)
        if min_h is not None and height < min_h:
            return self.blocked(f"box height {num(height)} {unit} < {num(min_h)} {unit}", **values)
        return self.passed(f"box {num(width)}x{num(height)} {unit} is large enough", **values)
