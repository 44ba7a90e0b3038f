"""CrowdingRule on scripted counts with explicit pts (0.5 s per frame)."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.core.geometry import Zone
from sightline.rules import CrowdingConfig, CrowdingRule
from tests.factories import DetectionRow, feet, make_context, run_rule

ZONE = Zone(id="square", points=((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))
DT = 0.5

Frames = list[tuple[float, list[DetectionRow]]]


def inside(n: int, first_id: int = 1, class_name: str = "person") -> list[DetectionRow]:
    """``n`` confirmed objects standing inside the zone."""
    return [(first_id + k, class_name, feet(220 + 30 * k, 300)) for k in range(n)]


def counts(*per_frame: int) -> Frames:
    return [(i * DT, inside(n)) for i, n in enumerate(per_frame)]


def rule(**kwargs: Any) -> CrowdingRule:
    kwargs.setdefault("min_count", 3)
    kwargs.setdefault("min_duration_s", 2.0)
    return CrowdingRule(CrowdingConfig(id="c1", zone=ZONE, **kwargs))


@pytest.mark.parametrize(
    ("config", "per_frame", "expected"),
    [
        # count >= min_count for >= min_duration_s: 0.0 .. 2.0.
        pytest.param({}, [3] * 5, [(2.0, 3, 2.0)], id="exactly-min-count-and-duration"),
        pytest.param({}, [3] * 4, [], id="too-short"),
        pytest.param({}, [2] * 20, [], id="too-few"),
        pytest.param({}, [3] * 20, [(2.0, 3, 2.0)], id="once-per-episode"),
        pytest.param({}, [2, 3, 3, 4, 4, 5, 5], [(2.5, 5, 2.0)], id="starts-at-first-crowded-frame"),
        # A dip inside the grace neither restarts the clock nor re-arms.
        pytest.param({}, [3, 3, 2, 3, 3], [(2.0, 3, 2.0)], id="dip-before-event-keeps-clock"),
        pytest.param({}, [3] * 5 + [2, 2] + [3] * 10, [(2.0, 3, 2.0)], id="dip-within-grace-no-rearm"),
        # Low since 2.5; at 3.5 the last crowded frame (2.0) is 1.5 s ago: episode over.
        pytest.param(
            {}, [3] * 5 + [2, 2, 2] + [3] * 5, [(2.0, 3, 2.0), (6.0, 3, 2.0)], id="drop-and-rise-rearms"
        ),
        pytest.param(
            {"drop_grace_s": 0.0}, [3] * 5 + [2] + [3] * 5, [(2.0, 3, 2.0), (5.0, 3, 2.0)], id="no-grace"
        ),
        pytest.param({"min_duration_s": 0.0}, [0, 3, 3], [(0.5, 3, 0.0)], id="no-duration"),
        pytest.param({"min_count": 1, "min_duration_s": 0.0}, [0, 1], [(0.5, 1, 0.0)], id="min-count-one"),
    ],
)
def test_crowding(
    config: dict[str, Any], per_frame: list[int], expected: list[tuple[float, int, float]]
) -> None:
    events = run_rule(rule(**config), counts(*per_frame))
    assert [(e.pts, e.attributes["count"], e.attributes["duration_s"]) for e in events] == expected
    assert all(len(e.boxes) == e.attributes["count"] for e in events)


def test_only_confirmed_objects_of_the_classes_inside_count() -> None:
    rows: list[DetectionRow] = [
        *inside(2),
        (-1, "person", feet(350, 300)),  # unconfirmed
        (8, "person", feet(100, 300)),  # outside the zone
        (9, "car", feet(400, 300)),  # another class
        (10, "person", feet(450, 300), 0.3),  # below min_confidence
    ]
    r = rule(classes=["person"], min_confidence=0.5, min_duration_s=0.0)
    assert run_rule(r, [(i * DT, rows) for i in range(10)]) == []
    (event,) = r.evaluate(make_context(5.0, 10, [*rows, (11, "person", feet(500, 300))]))
    assert sorted(b.track_id or 0 for b in event.boxes) == [1, 2, 11]


def test_all_classes_when_none_given() -> None:
    r = rule(min_duration_s=0.0)
    (event,) = r.evaluate(make_context(0.0, 0, [*inside(2), (5, "car", feet(400, 300))]))
    assert event.class_name is None  # mixed classes
    assert event.attributes["count"] == 3


def test_event_fields() -> None:
    r = rule(min_duration_s=0.0)
    rows = [
        (1, "person", feet(220, 300), 0.6),
        (2, "person", feet(250, 300), 0.8),
        (3, "person", feet(280, 300), 1.0),
    ]
    (event,) = r.evaluate(make_context(7.0, 70, rows, camera_id="plaza"))
    assert (event.type, event.rule_id, event.camera_id, event.zone_id) == (
        "zone.crowd",
        "c1",
        "plaza",
        "square",
    )
    assert (event.pts, event.frame_seq, event.frame_size) == (7.0, 70, (768, 576))
    assert (event.track_id, event.class_name, event.direction) == (None, "person", None)
    assert event.confidence == pytest.approx(0.8)
    assert [(b.track_id, b.x1, b.y2) for b in event.boxes] == [(1, 200, 300), (2, 230, 300), (3, 260, 300)]


def test_pts_going_back_ends_the_episode() -> None:
    r = rule()
    run_rule(r, [(100.0 + i * DT, inside(3)) for i in range(5)])
    assert r.crowded_since == 100.0
    # Restarted source: 1.0 - 100.0 must not be read as a long crowd; a new episode starts.
    assert r.evaluate(make_context(1.0, 0, inside(3))) == []
    assert r.crowded_since == 1.0
    assert len(r.evaluate(make_context(3.0, 1, inside(3)))) == 1


@pytest.mark.parametrize(
    ("field", "value"), [("min_count", 0), ("min_duration_s", -1.0), ("drop_grace_s", -1.0)]
)
def test_invalid_config_is_rejected(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {"min_count": 3, field: value}
    with pytest.raises(ValueError, match=field):
        CrowdingConfig(id="c1", zone=ZONE, **kwargs)
