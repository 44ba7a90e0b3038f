"""Region of interest: keep (or drop) events whose box anchor is in a polygon."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase, main_box, num

Point = tuple[float, float]


class RoiConfig(ElementConfigBase):
    type: Literal["sightline/roi@v1"] = "sightline/roi@v1"
    polygon: list[Point] = Field(
        min_length=3, description="Vertices normalised to 0..1 of the frame (x = pixel_x / width)."
    )
    mode: Literal["include", "exclude"] = Field(
        default="include", description="include: pass events inside; exclude: block events inside (a mask)."
    )
    anchor: Literal["bottom_center", "center"] = Field(
        default="bottom_center", description="Point of the box tested: bottom centre (feet) or centre."
    )

    @field_validator("polygon")
    @classmethod
    def _normalised(cls, points: list[Point]) -> list[Point]:
        for x, y in points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"point ({x}, {y}) is outside 0..1: use x = pixel_x / width")
        return points


class Roi(Element[RoiConfig]):
    """An event without a box or frame size passes: it cannot be placed, and
    a filter that cannot judge must not silently drop events."""

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        box = main_box(event)
        if box is None or event.frame_size is None:
            return self.passed("event has no box or frame size; region not checked")
        x = (box.x1 + box.x2) / 2 / event.frame_size[0]
        y = (box.y2 if self.config.anchor == "bottom_center" else (box.y1 + box.y2) / 2) / event.frame_size[1]
        inside = point_in_polygon(x, y, self.config.polygon)
        where = "inside" if inside else "outside"
        values = {"anchor": [x, y], "inside": inside, "mode": self.config.mode}
        sentence = f"anchor ({num(x)}, {num(y)}) is {where} the region"
        if inside == (self.config.mode == "include"):
            return self.passed(sentence, **values)
        return self.blocked(f"{sentence} ({self.config.mode} mask)", **values)


def point_in_polygon(x: float, y: float, polygon: list[Point]) -> bool:
    """Even-odd ray casting; one point, so plain Python beats numpy set-up."""
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
