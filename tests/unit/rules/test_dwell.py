"""LoiteringRule on scripted tracks with explicit pts (0.5 s per frame).

Scripts: ``I`` inside the zone, ``O`` outside, ``.`` not detected, ``i`` an
unconfirmed detection inside."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.core.geometry import Zone
from sightline.rules import LoiteringConfig, LoiteringRule
from tests.factories import DetectionRow, feet, make_context, run_rule

ZONE = Zone(id="lobby", points=((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))
POSITIONS = {"I": feet(384, 300), "O": feet(100, 300), "i": feet(384, 300)}
DT = 0.5

Frames = list[tuple[float, list[DetectionRow]]]


def script(*tracks: tuple[int, str, str]) -> Frames:
    frames: Frames = []
    for i in range(max(len(p) for _, _, p in tracks)):
        rows: list[DetectionRow] = []
        for track_id, class_name, pattern in tracks:
            c = pattern[i] if i < len(pattern) else "."
            if c in POSITIONS:
                rows.append((-1 if c.islower() else track_id, class_name, POSITIONS[c]))
        frames.append((i * DT, rows))
    return frames


def rule(**kwargs: Any) -> LoiteringRule:
    kwargs.setdefault("min_dwell_s", 10.0)
    return LoiteringRule(LoiteringConfig(id="d1", zone=ZONE, **kwargs))


@pytest.mark.parametrize(
    ("config", "pattern", "expected"),
    [
        # dwell 10.0 at t = 10.0 is not > 10: the event comes one frame later.
        pytest.param({}, "I" * 21, [], id="exactly-threshold-no-event"),
        pytest.param({}, "I" * 22, [(10.5, 10.5, 0.0)], id="just-over-threshold"),
        pytest.param({}, "O" * 4 + "I" * 22, [(12.5, 10.5, 2.0)], id="stay-starts-on-entry"),
        pytest.param({}, "I" * 61, [(10.5, 10.5, 0.0)], id="once-per-stay"),
        # Exits start at 4.5 (first frame not inside) and end on the return.
        pytest.param({}, "I" * 9 + "O" + "I" * 13, [(10.5, 10.5, 0.0)], id="short-exit-outside"),
        pytest.param({}, "I" * 9 + "." + "I" * 13, [(10.5, 10.5, 0.0)], id="short-exit-undetected"),
        pytest.param({}, "I" * 9 + "O." + "I" * 12, [(10.5, 10.5, 0.0)], id="exit-equal-to-grace"),
        pytest.param({}, "IOIOIOIOIOIOIOIOIOIOIOI", [(11.0, 11.0, 0.0)], id="flicker-on-the-edge"),
        # Back at 6.0 after an exit from 4.5 (1.5 s > grace): a new stay from 6.0.
        pytest.param({}, "I" * 9 + "OOO" + "I" * 22, [(16.5, 10.5, 6.0)], id="exit-over-grace-resets"),
        pytest.param(
            {"exit_grace_s": 2.0}, "I" * 9 + "OOO" + "I" * 12, [(10.5, 10.5, 0.0)], id="longer-grace"
        ),
        pytest.param({"exit_grace_s": 0.0}, "I" * 9 + "." + "I" * 22, [(15.5, 10.5, 5.0)], id="no-grace"),
        pytest.param({"exit_grace_s": 0.0}, "I" * 22, [(10.5, 10.5, 0.0)], id="no-grace-no-exit"),
        pytest.param(
            {},
            "I" * 25 + "O" * 4 + "I" * 22,
            [(10.5, 10.5, 0.0), (25.0, 10.5, 14.5)],
            id="second-stay-second-event",
        ),
        pytest.param({"min_dwell_s": 0.0}, "II", [(0.5, 0.5, 0.0)], id="zero-threshold"),
        pytest.param({}, "O" * 30, [], id="never-inside"),
        pytest.param({}, "i" * 30, [], id="unconfirmed"),
    ],
)
def test_loitering(config: dict[str, Any], pattern: str, expected: list[tuple[float, float, float]]) -> None:
    events = run_rule(rule(**config), script((3, "person", pattern)))
    assert [(e.pts, e.attributes["dwell_s"], e.attributes["stay_start_pts"]) for e in events] == expected
    assert all(e.type == "zone.loiter" and e.track_id == 3 and e.zone_id == "lobby" for e in events)


def test_tracks_are_independent() -> None:
    events = run_rule(rule(), script((1, "person", "I" * 30), (2, "person", "OOOO" + "I" * 26)))
    assert [(e.track_id, e.pts) for e in events] == [(1, 10.5), (2, 12.5)]


def test_id_reused_by_another_class_does_not_inherit_the_stay() -> None:
    # Person 7 stays 8 s, then "car 7" is inside: the car's stay starts anew.
    events = run_rule(rule(), script((7, "person", "I" * 17), (7, "car", "." * 17 + "I" * 10)))
    assert events == []


def test_event_fields() -> None:
    r = rule(min_dwell_s=1.0)
    r.evaluate(make_context(100.0, 1, [(5, "person", feet(384, 300), 0.6)]))
    (event,) = r.evaluate(make_context(101.5, 2, [(5, "person", feet(384, 300), 0.7)], camera_id="lobby-cam"))
    assert (event.type, event.rule_id, event.camera_id, event.frame_seq) == (
        "zone.loiter",
        "d1",
        "lobby-cam",
        2,
    )
    assert event.class_name == "person"
    assert event.confidence == pytest.approx(0.7)
    assert event.attributes == {"dwell_s": 1.5, "stay_start_pts": 100.0}
    assert [b.track_id for b in event.boxes] == [5]


def test_memory_is_bounded() -> None:
    r = rule()
    run_rule(r, [(i * 0.1, [(i + 1, "person", feet(384, 300))]) for i in range(2000)])
    assert r.state_size <= 52
    r.evaluate(make_context(1000.0, 9999))
    assert r.state_size == 0


def test_sparse_frames_are_not_exits() -> None:
    # Snapshot analysis: one frame a minute, the person inside on each.
    events = run_rule(
        rule(min_dwell_s=120.0), [(t * 60.0, [(1, "person", feet(384, 300))]) for t in range(4)]
    )
    assert [(e.pts, e.attributes["dwell_s"]) for e in events] == [(180.0, 180.0)]


def test_tracks_outside_are_not_remembered() -> None:
    r = rule()
    run_rule(r, [(0.0, [(i, "person", feet(100, 300)) for i in range(1, 50)])])
    assert r.state_size == 0


def test_pts_going_back_starts_new_stays() -> None:
    r = rule()
    run_rule(r, [(100.0 + t, [(1, "person", feet(384, 300))]) for t in range(9)])
    # Restarted source: t=9.5 must not be read as 109.5 - 100.
    assert run_rule(r, [(t * 0.5, [(1, "person", feet(384, 300))]) for t in range(21)]) == []


def test_grace_longer_than_memory_is_rejected() -> None:
    with pytest.raises(ValueError, match="exit_grace_s"):
        LoiteringConfig(id="d1", zone=ZONE, min_dwell_s=5, exit_grace_s=6, forget_after_s=5)
    with pytest.raises(ValueError, match="min_dwell_s"):
        LoiteringConfig(id="d1", zone=ZONE)  # type: ignore[call-arg]
