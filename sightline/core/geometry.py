"""Zones and lines in normalised coordinates, compiled to pixels once per
resolution.

Point-in-polygon uses vectorised numpy ray casting (measured ~7x faster than
``shapely.contains_xy`` for 1e6 points in infra.md and ~500x faster than
per-object Shapely loops), so we keep it here instead of adding Shapely.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Point = tuple[float, float]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _check_unit(points: list[Point], what: str) -> list[Point]:
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(
                f"{what} point ({x}, {y}) is outside the frame: coordinates are "
                "normalised, use values between 0 and 1 (x = pixel_x / width)"
            )
    return points


def _segments_intersect_strict(p1: FloatArray, p2: FloatArray, q1: FloatArray, q2: FloatArray) -> bool:
    def orient(a: FloatArray, b: FloatArray, c: FloatArray) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


class Zone(BaseModel):
    """A polygon region of the picture, vertices normalised to [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    points: tuple[Point, ...] = Field(min_length=3)

    @field_validator("points")
    @classmethod
    def _inside_frame(cls, v: tuple[Point, ...]) -> tuple[Point, ...]:
        _check_unit(list(v), "zone")
        return v

    @model_validator(mode="after")
    def _simple_polygon(self) -> Zone:
        pts = np.asarray(self.points, dtype=np.float64)
        n = len(pts)
        for i in range(n):
            for j in range(i + 2, n):
                if i == 0 and j == n - 1:
                    continue
                if _segments_intersect_strict(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]):
                    raise ValueError(
                        f"zone {self.id!r} crosses itself (edges {i} and {j}): "
                        "list the points in order around the region"
                    )
        area = 0.5 * float(np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1]))
        if abs(area) < 1e-6:
            raise ValueError(f"zone {self.id!r} has no area: its points lie on one line")
        return self

    def to_pixels(self, width: int, height: int) -> ZonePixels:
        return _compile_zone(self, width, height)


class Line(BaseModel):
    """A directed, bounded segment from ``start`` to ``end`` (normalised).

    Direction "in" is a crossing from the left-hand side to the right-hand side
    of someone walking from start to end as drawn on screen (image y grows
    downwards); "out" is the reverse. Only the segment counts, never its
    extension.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    start: Point
    end: Point

    @model_validator(mode="after")
    def _valid(self) -> Line:
        _check_unit([self.start, self.end], f"line {self.id!r}")
        if np.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1]) < 1e-3:
            raise ValueError(f"line {self.id!r} has zero length: start and end must differ")
        return self

    def to_pixels(self, width: int, height: int) -> LinePixels:
        return _compile_line(self, width, height)


@dataclass(frozen=True)
class ZonePixels:
    id: str
    polygon: FloatArray  # (N, 2) pixel vertices

    def __post_init__(self) -> None:
        # Edge arrays are computed once per zone and resolution, not per call.
        xi, yi = self.polygon[:, 0], self.polygon[:, 1]
        object.__setattr__(self, "_edges", (xi, yi, np.roll(xi, 1), np.roll(yi, 1)))

    def contains(self, points: FloatArray) -> BoolArray:
        """Vectorised even-odd ray casting for (M, 2) pixel points."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x, y = pts[:, 0:1], pts[:, 1:2]
        xi, yi, xj, yj = self._edges  # type: ignore[attr-defined]
        straddles = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
        hits = straddles & (x < x_cross)
        return np.asarray(np.count_nonzero(hits, axis=1) % 2 == 1)


@dataclass(frozen=True)
class LinePixels:
    id: str
    start: FloatArray
    end: FloatArray

    def side(self, points: FloatArray) -> FloatArray:
        """Signed side of each (M, 2) point: > 0 right-hand ("in" side), < 0 left."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        d = self.end - self.start
        return np.asarray(d[0] * (pts[:, 1] - self.start[1]) - d[1] * (pts[:, 0] - self.start[0]))

    def crossing(self, p0: FloatArray, p1: FloatArray) -> int:
        """+1 if the move p0→p1 crosses the segment left→right ("in"), -1 for
        "out", 0 if it does not cross the bounded segment (touching counts as
        not yet crossed: the move that leaves the line completes it)."""
        # Plain floats: this runs per track per frame, numpy call overhead dominates.
        ax, ay = float(self.start[0]), float(self.start[1])
        bx, by = float(self.end[0]), float(self.end[1])
        x0, y0 = float(p0[0]), float(p0[1])
        x1, y1 = float(p1[0]), float(p1[1])
        s0 = (bx - ax) * (y0 - ay) - (by - ay) * (x0 - ax)
        s1 = (bx - ax) * (y1 - ay) - (by - ay) * (x1 - ax)
        if s0 == 0 or s1 == 0 or (s0 > 0) == (s1 > 0):
            return 0
        # The object's path must cut the segment itself, not its extension.
        dx, dy = x1 - x0, y1 - y0
        o1 = dx * (ay - y0) - dy * (ax - x0)
        o2 = dx * (by - y0) - dy * (bx - x0)
        if o1 * o2 > 0:
            return 0
        return 1 if s1 > 0 else -1


@lru_cache(maxsize=256)
def _compile_zone(zone: Zone, width: int, height: int) -> ZonePixels:
    poly = np.asarray(zone.points, dtype=np.float64) * np.array([width, height], dtype=np.float64)
    return ZonePixels(zone.id, poly)


@lru_cache(maxsize=256)
def _compile_line(line: Line, width: int, height: int) -> LinePixels:
    scale = np.array([width, height], dtype=np.float64)
    return LinePixels(line.id, np.asarray(line.start) * scale, np.asarray(line.end) * scale)
