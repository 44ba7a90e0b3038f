"""ZoneIntrusionRule on scripted tracks with explicit pts.

Track scripts are strings, one character per frame: ``I`` inside the zone,
``O`` outside, ``.`` not detected, ``i``/``o`` an unconfirmed detection
(tracker id -1) inside/outside."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.core.event import Event
from sightline.core.geometry import Zone
from sightline.rules import ZoneIntrusionConfig, ZoneIntrusionRule
from tests.factories import DetectionRow, feet, make_context, run_rule

ZONE = Zone(id="door", points=((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))
# 768x576 frame: the zone is x 192..576, y 144..432 pixels.
POSITIONS = {"I": feet(384, 300), "O": feet(100, 300), "i": feet(384, 300), "o": feet(100, 300)}

Frames = list[tuple[float, list[DetectionRow]]]


def script(*tracks: tuple[int, str, str], dt: float = 1.0) -> Frames:
    frames: Frames = []
    for i in range(max(len(pattern) for _, _, pattern in tracks)):
        rows: list[DetectionRow] = []
        for track_id, class_name, pattern in tracks:
            c = pattern[i] if i < len(pattern) else "."
            if c in POSITIONS:
                rows.append((-1 if c.islower() else track_id, class_name, POSITIONS[c]))
        frames.append((i * dt, rows))
    return frames


def rule(**kwargs: Any) -> ZoneIntrusionRule:
    return ZoneIntrusionRule(ZoneIntrusionConfig(id="r1", zone=ZONE, **kwargs))


def summary(events: list[Event]) -> list[tuple[str, float, int | None]]:
    return [(e.type, e.pts, e.track_id) for e in events]


BOTH = ["enter", "leave"]


@pytest.mark.parametrize(
    ("config", "pattern", "expected"),
    [
        pytest.param({"trigger": BOTH}, "OIIO", [("zone.enter", 1.0), ("zone.leave", 3.0)], id="walk-in-out"),
        pytest.param({"trigger": ["enter"]}, "OIIO", [("zone.enter", 1.0)], id="enter-only"),
        pytest.param({"trigger": ["leave"]}, "OIIO", [("zone.leave", 3.0)], id="leave-only"),
        pytest.param(
            {"trigger": BOTH}, "IIO", [("zone.enter", 0.0), ("zone.leave", 2.0)], id="appear-inside"
        ),
        pytest.param(
            {"trigger": BOTH, "enter_on_appear": False}, "IIO", [("zone.leave", 2.0)], id="appear-no-enter"
        ),
        pytest.param(
            {"trigger": BOTH, "enter_on_appear": False},
            "IIOI",
            [("zone.leave", 2.0), ("zone.enter", 3.0)],
            id="appear-no-enter-then-reenter",
        ),
        pytest.param({"trigger": BOTH}, "OOOO", [], id="never-inside"),
        pytest.param({"trigger": ["inside"]}, "IIIII", [("zone.inside", 0.0)], id="inside-once"),
        pytest.param(
            {"trigger": ["inside"], "enter_on_appear": False},
            "IIIII",
            [("zone.inside", 0.0)],
            id="inside-silent",
        ),
        pytest.param(
            {"trigger": ["inside"], "inside_repeat_s": 2.0},
            "IIIII",
            [("zone.inside", 0.0), ("zone.inside", 2.0), ("zone.inside", 4.0)],
            id="inside-repeat",
        ),
        pytest.param(
            {"trigger": ["inside"]},
            "OIOI",
            [("zone.inside", 1.0), ("zone.inside", 3.0)],
            id="inside-per-stay",
        ),
        pytest.param(
            {"trigger": BOTH, "min_frames": 3}, "OIOIIIO", [("zone.enter", 5.0)], id="min-frames-debounce"
        ),
        pytest.param(
            {"trigger": BOTH, "min_frames": 2},
            "OIIOIOO",
            [("zone.enter", 2.0), ("zone.leave", 6.0)],
            id="min-frames-both-ways",
        ),
        pytest.param(
            {"trigger": BOTH, "min_frames": 2},
            "O.I..I",
            [("zone.enter", 5.0)],
            id="streak-counts-observations",
        ),
        pytest.param(
            {"trigger": BOTH}, "II" + "." * 6, [("zone.enter", 0.0), ("zone.leave", 7.0)], id="lost"
        ),
        pytest.param(
            {"trigger": BOTH, "leave_on_lost": False}, "II" + "." * 6, [("zone.enter", 0.0)], id="lost-silent"
        ),
        pytest.param({"trigger": BOTH}, "II....I", [("zone.enter", 0.0)], id="gap-within-forget"),
        pytest.param({"trigger": ["enter", "leave", "inside"]}, "oiiio", [], id="unconfirmed"),
    ],
)
def test_zone_transitions(config: dict[str, Any], pattern: str, expected: list[tuple[str, float]]) -> None:
    events = run_rule(rule(**config), script((5, "person", pattern)))
    assert [(e.type, e.pts) for e in events] == expected
    assert all(e.track_id == 5 for e in events)


def test_event_fields() -> None:
    r = rule(trigger=["enter", "leave", "inside"])
    ctx = make_context(12.5, 42, [(3, "person", feet(384, 300), 0.8)], w=768, h=576, camera_id="gate")
    enter, inside = r.evaluate(ctx)
    assert enter.type == "zone.enter"
    assert enter.rule_id == "r1"
    assert enter.camera_id == "gate"
    assert (enter.pts, enter.frame_seq, enter.wall_time) == (12.5, 42, ctx.frame.wall_time)
    assert enter.frame_size == (768, 576)
    assert (enter.track_id, enter.class_name, enter.zone_id, enter.direction) == (
        3,
        "person",
        "door",
        "enter",
    )
    assert enter.confidence == pytest.approx(0.8)
    assert enter.attributes == {"appeared": True}
    (box,) = enter.boxes
    assert (box.x1, box.y1, box.x2, box.y2) == (364, 200, 404, 300)
    assert (box.track_id, box.class_name) == (3, "person")
    assert inside.type == "zone.inside"
    assert inside.direction is None


def test_attributes_dwell_and_reason() -> None:
    r = rule(trigger=["enter", "leave", "inside"])
    events = run_rule(r, script((1, "person", "OIIIO"), (2, "person", "OII........")))
    by = {(e.type, e.track_id): e for e in events}
    assert by[("zone.enter", 1)].attributes == {"appeared": False}
    assert by[("zone.leave", 1)].attributes == {"reason": "exited", "dwell_s": 3.0}
    assert by[("zone.leave", 1)].pts == 4.0
    lost = by[("zone.leave", 2)]
    assert lost.attributes == {"reason": "lost", "dwell_s": 1.0, "last_seen_pts": 2.0}
    assert lost.pts == 8.0  # first frame with pts - last_seen > forget_after_s (5 s)
    assert (lost.boxes[0].x1, lost.boxes[0].track_id) == (364, 2)


def test_inside_repeat_reports_dwell() -> None:
    events = run_rule(rule(trigger=["inside"], inside_repeat_s=1.5), script((1, "person", "OIIIII")))
    assert [(e.pts, e.attributes["dwell_s"]) for e in events] == [(1.0, 0.0), (3.0, 2.0), (5.0, 4.0)]


def test_class_and_confidence_filters() -> None:
    r = rule(trigger=["enter"], classes=["person"], min_confidence=0.5)
    events = run_rule(
        r,
        [
            (0.0, [(1, "car", feet(384, 300)), (2, "person", feet(384, 300), 0.4)]),
            (1.0, [(1, "car", feet(384, 300)), (2, "person", feet(384, 300), 0.6)]),
        ],
    )
    assert summary(events) == [("zone.enter", 1.0, 2)]


def test_anchor_choice() -> None:
    # Feet inside the zone (y = 150), centre above it (y = 100).
    box = (364.0, 50.0, 404.0, 150.0)
    assert len(rule(anchor="bottom_center").evaluate(make_context(0.0, 0, [(1, "person", box)]))) == 1
    assert rule(anchor="center").evaluate(make_context(0.0, 0, [(1, "person", box)])) == []


def test_id_reused_by_another_class_is_another_track() -> None:
    # Person 7 is inside; then only "car 7" is seen, outside. The person did not
    # leave and the car did not enter.
    r = rule(trigger=BOTH, leave_on_lost=False)
    events = run_rule(r, script((7, "person", "II.."), (7, "car", "..OO")))
    assert summary(events) == [("zone.enter", 0.0, 7)]
    assert events[0].class_name == "person"


def test_several_tracks_in_one_frame_are_ordered_by_id() -> None:
    events = run_rule(rule(), script((9, "person", "OI"), (4, "person", "OI"), (6, "car", "OI")))
    assert [e.track_id for e in events] == [4, 6, 9]


def test_memory_is_bounded() -> None:
    r = rule(trigger=BOTH)
    frames = [(i * 0.1, [(i + 1, "person", feet(384, 300))]) for i in range(2000)]
    events = run_rule(r, frames)
    assert r.state_size <= 52  # 5 s of tracks at 10 new ids per second
    assert sum(e.type == "zone.enter" for e in events) == 2000
    r.evaluate(make_context(1000.0, 9999))
    assert r.state_size == 0


def test_pts_going_back_resets_memory() -> None:
    r = rule(trigger=BOTH)
    run_rule(r, script((1, "person", "OI")))
    # The source restarted: pts 0 again, track 1 seen inside is a new appearance.
    events = r.evaluate(make_context(0.0, 0, [(1, "person", feet(384, 300))]))
    assert summary(events) == [("zone.enter", 0.0, 1)]


def test_resolution_is_taken_from_each_frame() -> None:
    r = rule(trigger=["enter"])
    # The same normalised place in a 1920x1080 frame: (0.5, 0.52).
    events = r.evaluate(make_context(0.0, 0, [(1, "person", feet(960, 562))], w=1920, h=1080))
    assert len(events) == 1
    assert events[0].frame_size == (1920, 1080)


@pytest.mark.parametrize(
    ("field", "value"),
    [("trigger", []), ("trigger", ["exit"]), ("min_frames", 0), ("inside_repeat_s", 0.0), ("colour", "red")],
)
def test_invalid_config_is_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        ZoneIntrusionConfig(id="r1", zone=ZONE, **{field: value})  # type: ignore[arg-type]
