"""Stateless elements: class, confidence, min size, ROI, schedule, threshold."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sightline.strategies.elements.roi import point_in_polygon
from tests.factories import WALL_TIME_BASE
from tests.unit.strategies.helpers import chain_of, make_event, raw

CLASS = {"id": "cls", "type": "sightline/class-filter@v1", "classes": ["person", "car"]}
CONF = {"id": "conf", "type": "sightline/confidence-filter@v1", "min_confidence": 0.5}


@pytest.mark.parametrize(
    ("element", "event_kwargs", "passed", "reason_part"),
    [
        (CLASS, {"class_name": "person"}, True, "class person is allowed"),
        (CLASS, {"class_name": "dog"}, False, "class dog not in person, car"),
        (CLASS, {"class_name": None, "box": None}, False, "no class"),
        (CONF, {"confidence": 0.5}, True, "confidence 0.5 >= 0.5"),
        (CONF, {"confidence": 0.49}, False, "confidence 0.49 < 0.5"),
    ],
)
def test_class_and_confidence(
    element: dict[str, Any], event_kwargs: dict[str, Any], passed: bool, reason_part: str
) -> None:
    verdict = chain_of(element).run(raw(make_event(**event_kwargs)))
    assert verdict.passed is passed
    assert reason_part in verdict.trace[0].reason


def min_size(**cfg: Any) -> dict[str, Any]:
    return {"id": "size", "type": "sightline/min-size@v1", **cfg}


@pytest.mark.parametrize(
    ("cfg", "box", "frame_size", "passed", "reason_part"),
    [
        (
            {"min_width": 40, "min_height": 100},
            (0, 0, 40, 100),
            (768, 576),
            True,
            "40x100 px is large enough",
        ),
        ({"min_width": 41}, (0, 0, 40, 100), (768, 576), False, "box width 40 px < 41 px"),
        ({"min_height": 101}, (0, 0, 40, 100), (768, 576), False, "box height 100 px < 101 px"),
        ({"unit": "fraction", "min_height": 0.2}, (0, 0, 40, 100), (768, 500), True, "0.2 fraction"),
        ({"unit": "fraction", "min_height": 0.2}, (0, 0, 40, 100), (768, 576), False, "0.174 fraction < 0.2"),
        ({"unit": "fraction", "min_height": 0.2}, (0, 0, 40, 100), None, True, "frame size unknown"),
        ({"min_width": 10}, None, (768, 576), True, "no box"),
    ],
)
def test_min_size(cfg: dict[str, Any], box: Any, frame_size: Any, passed: bool, reason_part: str) -> None:
    verdict = chain_of(min_size(**cfg)).run(raw(make_event(box=box, frame_size=frame_size)))
    assert verdict.passed is passed, verdict.trace[0].reason
    assert reason_part in verdict.trace[0].reason


LEFT_HALF = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]


@pytest.mark.parametrize(
    ("mode", "anchor", "box", "passed"),
    [
        ("include", "bottom_center", (100, 100, 140, 200), True),  # feet at x=0.16
        ("include", "bottom_center", (500, 100, 540, 200), False),  # feet at x=0.68
        ("exclude", "bottom_center", (100, 100, 140, 200), False),
        ("exclude", "bottom_center", (500, 100, 540, 200), True),
        # anchor x = 380 / 768 = 0.495: just inside the left half
        ("include", "center", (360, 0, 400, 100), True),
    ],
)
def test_roi(mode: str, anchor: str, box: Any, passed: bool) -> None:
    element = {"id": "roi", "type": "sightline/roi@v1", "polygon": LEFT_HALF, "mode": mode, "anchor": anchor}
    verdict = chain_of(element).run(raw(make_event(box=box)))
    assert verdict.passed is passed, verdict.trace[0].reason
    assert verdict.trace[0].values["inside"] is (box[0] < 384)


def test_roi_anchor_choice_matters() -> None:
    top_band = [[0, 0], [1, 0], [1, 0.3], [0, 0.3]]
    box = (100, 100, 140, 200)  # centre y = 150/576 = 0.26 (inside), feet y = 0.35 (outside)
    for anchor, passed in (("center", True), ("bottom_center", False)):
        element = {"id": "roi", "type": "sightline/roi@v1", "polygon": top_band, "anchor": anchor}
        assert chain_of(element).run(raw(make_event(box=box))).passed is passed


def test_point_in_polygon_concave() -> None:
    u_shape = [(0, 0), (1, 0), (1, 1), (0.6, 1), (0.6, 0.3), (0.4, 0.3), (0.4, 1), (0, 1)]
    assert point_in_polygon(0.2, 0.5, u_shape)
    assert not point_in_polygon(0.5, 0.5, u_shape)  # in the notch


SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int) -> float:
    """Seconds after the factories' base for local Shanghai time on Jan ``day`` 2024
    (Jan 1 2024 is a Monday)."""
    return datetime(2024, 1, day, hour, minute, tzinfo=SHANGHAI).timestamp() - WALL_TIME_BASE


WORK_HOURS = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "ranges": ["08:30-17:45"]}
NIGHT = {"weekdays": ["fri"], "ranges": ["22:00-06:00"]}


@pytest.mark.parametrize(
    ("cfg", "when", "passed"),
    [
        (WORK_HOURS, at(1, 8, 29), False),  # Monday 08:29
        (WORK_HOURS, at(1, 8, 30), True),  # start included
        (WORK_HOURS, at(1, 17, 44), True),
        (WORK_HOURS, at(1, 17, 45), False),  # end excluded
        (WORK_HOURS, at(6, 12, 0), False),  # Saturday
        (NIGHT, at(5, 23, 0), True),  # Friday 23:00
        (NIGHT, at(6, 5, 59), True),  # Saturday 05:59 belongs to Friday's night
        (NIGHT, at(6, 6, 0), False),
        (NIGHT, at(6, 23, 0), False),  # Saturday night: not scheduled
        (NIGHT, at(5, 3, 0), False),  # Friday 03:00 belongs to Thursday's night
        ({**WORK_HOURS, "mode": "quiet"}, at(1, 9, 0), False),
        ({**WORK_HOURS, "mode": "quiet"}, at(1, 20, 0), True),
        ({"ranges": ["08:00-09:00"], "timezone": "UTC"}, at(1, 16, 30), True),  # 08:30 UTC
    ],
)
def test_schedule(cfg: dict[str, Any], when: float, passed: bool) -> None:
    element = {"id": "sched", "type": "sightline/schedule@v1", **cfg}
    verdict = chain_of(element).run(raw(make_event(when)))
    assert verdict.passed is passed, verdict.trace[0].reason


def threshold(field: str, op: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"id": "thr", "type": "sightline/threshold@v1", "field": field, "op": op, "value": value, **extra}


@pytest.mark.parametrize(
    ("cfg", "event_kwargs", "passed", "reason_part"),
    [
        (threshold("area", ">=", 4000), {}, True, "area 4000 >= 4000"),  # 40 x 100 box
        (threshold("area", ">", 4000), {}, False, "not area 4000 > 4000"),
        (threshold("area_fraction", "<", 0.01), {}, True, "area_fraction 0.009 < 0.01"),
        (threshold("count", ">=", 3), {"attributes": {"count": 4}}, True, "count 4 >= 3"),
        (threshold("count", "==", 1), {}, True, "count 1 == 1"),  # no attribute: number of boxes
        (threshold("dwell_s", "<=", 30), {"attributes": {"dwell_s": 31.5}}, False, "not dwell_s 31.5 <= 30"),
        (threshold("confidence", "!=", 0.9), {}, False, "not confidence 0.9 != 0.9"),
        (threshold("dwell_s", ">", 1), {}, False, "dwell_s is missing on the event (known:"),
        (threshold("dwell_s", ">", 1, on_missing="pass"), {}, True, "on_missing: pass"),
        (threshold("reason", ">", 1), {"attributes": {"reason": "lost"}}, False, "is not a number ('lost')"),
        (threshold("area", ">", 1), {"box": None}, False, "event has no box"),
    ],
)
def test_threshold(cfg: dict[str, Any], event_kwargs: dict[str, Any], passed: bool, reason_part: str) -> None:
    verdict = chain_of(cfg).run(raw(make_event(**event_kwargs)))
    assert verdict.passed is passed, verdict.trace[0].reason
    assert reason_part in verdict.trace[0].reason
