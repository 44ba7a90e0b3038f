"""LineCrossingRule on scripted tracks with explicit pts.

The line runs left to right across the middle of a 768x576 frame: pixels
(76.8, 288) → (691.2, 288). By the convention of ``core.geometry.Line``, "in" is
a move from the walker's left to right, i.e. downwards on screen here."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.core.geometry import Line
from sightline.rules import LineCrossingConfig, LineCrossingRule
from tests.factories import DetectionRow, feet, make_context, run_rule

LINE = Line(id="gate", start=(0.1, 0.5), end=(0.9, 0.5))
ABOVE, ON, BELOW = 250.0, 288.0, 330.0

Point = tuple[float, float] | None
Frames = list[tuple[float, list[DetectionRow]]]


def path(*tracks: tuple[int, str, list[Point]], dt: float = 0.5) -> Frames:
    """Frames from per-track anchor paths (None = not detected that frame)."""
    frames: Frames = []
    for i in range(max(len(points) for _, _, points in tracks)):
        rows: list[DetectionRow] = []
        for track_id, class_name, points in tracks:
            p = points[i] if i < len(points) else None
            if p is not None:
                rows.append((track_id, class_name, feet(*p)))
        frames.append((i * dt, rows))
    return frames


def rule(**kwargs: Any) -> LineCrossingRule:
    return LineCrossingRule(LineCrossingConfig(id="l1", line=LINE, **kwargs))


def down(x: float = 384.0) -> list[Point]:
    return [(x, ABOVE), (x, BELOW)]


def up(x: float = 384.0) -> list[Point]:
    return [(x, BELOW), (x, ABOVE)]


P = "person"


@pytest.mark.parametrize(
    ("tracks", "expected", "counts"),
    [
        pytest.param([(1, P, down())], [(0.5, "in", 1)], (1, 0), id="down-is-in"),
        pytest.param([(1, P, up())], [(0.5, "out", 1)], (0, 1), id="up-is-out"),
        pytest.param(
            [(1, P, down(200)), (2, P, up(300)), (3, P, down(400))],
            [(0.5, "in", 1), (0.5, "out", 2), (0.5, "in", 3)],
            (2, 1),
            id="several-tracks-one-frame",
        ),
        pytest.param([(1, P, down(720))], [], (0, 0), id="extension-right"),
        pytest.param([(1, P, down(40))], [], (0, 0), id="extension-left"),
        # Diagonal moves near the end point (x = 691.2): the path cuts y = 288 at
        # x = 692.75 (extension, no count) or at x = 682.75 (segment, counts).
        pytest.param([(1, P, [(650, ABOVE), (740, BELOW)])], [], (0, 0), id="diagonal-past-end"),
        pytest.param(
            [(1, P, [(640, ABOVE), (730, BELOW)])], [(0.5, "in", 1)], (1, 0), id="diagonal-inside-end"
        ),
        pytest.param(
            [(1, P, [(384, ABOVE), (384, ON), (384, BELOW)])], [(1.0, "in", 1)], (1, 0), id="step-on-then-off"
        ),
        pytest.param([(1, P, [(384, ABOVE), (384, ON), (384, ABOVE)])], [], (0, 0), id="step-on-and-back"),
        pytest.param([(1, P, [(384, ON), (384, BELOW), (384, 400)])], [], (0, 0), id="first-seen-on-line"),
        pytest.param([(1, P, [(384, ABOVE), (384, 270)])], [], (0, 0), id="same-side"),
        # A new id first seen on the far side (phantom of a merged track) never counts.
        pytest.param([(9, P, [(384, BELOW), (384, 400), (384, 500)])], [], (0, 0), id="first-seen-far-side"),
        pytest.param([(-1, P, down())], [], (0, 0), id="unconfirmed"),
        # Unconfirmed above, confirmed only once below: not confirmed in both positions.
        pytest.param(
            [(-1, P, [(384, ABOVE), None, None]), (5, P, [None, (384, BELOW), (384, 400)])],
            [],
            (0, 0),
            id="confirmed-after-crossing",
        ),
        # Id 7 reused by another class: person 7 above, then car 7 below.
        pytest.param(
            [(7, P, [(384, ABOVE), None]), (7, "car", [None, (384, BELOW)])],
            [],
            (0, 0),
            id="id-reused-by-class",
        ),
        # Occluded for 4 s, still remembered: the crossing counts.
        pytest.param(
            [(1, P, [(384, ABOVE)] + [None] * 7 + [(384, BELOW)])], [(4.0, "in", 1)], (1, 0), id="gap"
        ),
        # Unseen for 6 s > forget_after_s: forgotten, so it is a new track.
        pytest.param([(1, P, [(384, ABOVE)] + [None] * 11 + [(384, BELOW)])], [], (0, 0), id="forgotten"),
    ],
)
def test_crossings(
    tracks: list[tuple[int, str, list[Point]]],
    expected: list[tuple[float, str, int]],
    counts: tuple[int, int],
) -> None:
    r = rule()
    events = run_rule(r, path(*tracks))
    assert [(e.pts, e.direction, e.track_id) for e in events] == expected
    assert r.counts == {"in": counts[0], "out": counts[1]}


# Anchor jitters across the line every 0.125 s: y = 280, 296, 280, 296, ...
JITTER = [(384.0, 280.0 if i % 2 == 0 else 296.0) for i in range(11)]


@pytest.mark.parametrize(
    ("min_interval_s", "expected"),
    [
        pytest.param(1.0, [(0.125, "in"), (0.25, "out"), (1.125, "in"), (1.25, "out")], id="debounced"),
        pytest.param(10.0, [(0.125, "in"), (0.25, "out")], id="long-interval"),
        pytest.param(0.0, [(i * 0.125, "in" if i % 2 else "out") for i in range(1, 11)], id="no-debounce"),
    ],
)
def test_jitter_on_the_line_is_debounced(min_interval_s: float, expected: list[tuple[float, str]]) -> None:
    r = rule(min_interval_s=min_interval_s)
    events = run_rule(r, path((1, P, list(JITTER)), dt=0.125))
    assert [(e.pts, e.direction) for e in events] == expected
    assert r.counts == {
        "in": sum(d == "in" for _, d in expected),
        "out": sum(d == "out" for _, d in expected),
    }


def test_debounce_is_per_track() -> None:
    r = rule(min_interval_s=10.0)
    events = run_rule(r, path((1, P, down(200)), (2, P, down(300))))
    assert [e.track_id for e in events] == [1, 2]


def test_counts_accumulate_in_attributes() -> None:
    r = rule()
    events = run_rule(
        r, path((1, P, down()), (2, P, [None, None, *up()]), (3, P, [None, None, None, *down()]))
    )
    assert [(e.direction, e.attributes["counts"]) for e in events] == [
        ("in", {"in": 1, "out": 0}),
        ("out", {"in": 1, "out": 1}),
        ("in", {"in": 2, "out": 1}),
    ]
    # The property is a copy: callers cannot corrupt the rule's counts.
    r.counts["in"] = 99
    assert r.counts == {"in": 2, "out": 1}
    r.reset_counts()
    assert r.counts == {"in": 0, "out": 0}


def test_directions_filter_events_not_counts() -> None:
    r = rule(directions=["in"])
    events = run_rule(r, path((1, P, down(200)), (2, P, up(300))))
    assert [(e.direction, e.track_id) for e in events] == [("in", 1)]
    assert r.counts == {"in": 1, "out": 1}


def test_event_fields() -> None:
    r = rule(classes=["person"])
    r.evaluate(make_context(3.0, 7, [(4, P, feet(384, ABOVE), 0.7)]))
    (event,) = r.evaluate(make_context(3.5, 8, [(4, P, feet(384, BELOW), 0.75)], camera_id="cam1"))
    assert (event.type, event.rule_id, event.line_id, event.zone_id) == ("line.cross", "l1", "gate", None)
    assert (event.pts, event.frame_seq, event.frame_size) == (3.5, 8, (768, 576))
    assert (event.track_id, event.class_name, event.direction) == (4, P, "in")
    assert event.confidence == pytest.approx(0.75)
    assert [(b.y2, b.track_id) for b in event.boxes] == [(BELOW, 4)]


def test_class_filter() -> None:
    r = rule(classes=["car"])
    assert run_rule(r, path((1, P, down()))) == []
    assert len(run_rule(r, path((2, "car", down())))) == 1


def test_center_anchor() -> None:
    # Feet cross the line, the box centre (50 px higher) does not.
    feet_path = path((1, P, [(384, 270), (384, 310)]))
    assert len(run_rule(rule(anchor="bottom_center"), feet_path)) == 1
    assert run_rule(rule(anchor="center"), feet_path) == []


def test_positions_survive_a_resolution_change() -> None:
    r = rule()
    r.evaluate(make_context(0.0, 0, [(1, P, feet(384, ABOVE))], w=768, h=576))
    (event,) = r.evaluate(make_context(0.5, 1, [(1, P, feet(960, 600))], w=1920, h=1080))
    assert event.direction == "in"


def test_pts_going_back_forgets_positions_but_keeps_counts() -> None:
    r = rule()
    run_rule(r, path((1, P, down())))
    r.evaluate(make_context(10.0, 2, [(2, P, feet(384, ABOVE))]))
    # Source restarted: track 2's old position must not pair with the new one.
    assert r.evaluate(make_context(0.0, 0, [(2, P, feet(384, BELOW))])) == []
    assert r.counts == {"in": 1, "out": 0}


def test_memory_is_bounded() -> None:
    r = rule()
    frames = [(i * 0.1, [(i + 1, P, feet(384, ABOVE))]) for i in range(2000)]
    run_rule(r, frames)
    assert r.state_size <= 52
    r.evaluate(make_context(1000.0, 9999))
    assert r.state_size == 0


@pytest.mark.parametrize(
    ("field", "value"), [("directions", []), ("directions", ["left"]), ("min_interval_s", -1)]
)
def test_invalid_config_is_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        LineCrossingConfig(id="l1", line=LINE, **{field: value})  # type: ignore[arg-type]
