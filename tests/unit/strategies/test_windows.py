"""Stateful elements with scripted timestamps: dedupe, rate limit,
persistence, confirmation. Each row is (seconds, event overrides)."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.strategies.chain import Chain
from sightline.strategies.recent import RecentEvents
from tests.unit.strategies.helpers import chain_of, make_event, outcomes, raw, run_all, spec_of

Script = list[tuple[float, dict[str, Any]]]


def dedupe(**cfg: Any) -> dict[str, Any]:
    return {"id": "dedupe", "type": "sightline/dedupe@v1", **cfg}


def rate_limit(**cfg: Any) -> dict[str, Any]:
    return {"id": "rate", "type": "sightline/rate-limit@v1", **cfg}


def persistence(**cfg: Any) -> dict[str, Any]:
    return {"id": "persist", "type": "sightline/persistence@v1", **cfg}


ELSEWHERE = {"box": (600.0, 300.0, 640.0, 400.0)}


@pytest.mark.parametrize(
    ("element", "script", "expected"),
    [
        # same camera + type within 10 s of the last *emitted* one
        (dedupe(window_s=10), [(0, {}), (5, {}), (9.9, {}), (10, {}), (15, {})], [1, 0, 0, 1, 0]),
        # other camera / other type are other keys
        (dedupe(window_s=10), [(0, {}), (1, {"camera": "cam2"}), (2, {"type": "line.cross"})], [1, 1, 1]),
        # zone only matters with by_zone
        (dedupe(window_s=10), [(0, {"zone": "a"}), (1, {"zone": "b"})], [1, 0]),
        (
            dedupe(window_s=10, by_zone=True),
            [(0, {"zone": "a"}), (1, {"zone": "b"}), (2, {"zone": "a"})],
            [1, 1, 0],
        ),
        # track only matters with by_track
        (
            dedupe(window_s=10, by_track=True),
            [(0, {"track": 1}), (1, {"track": 2}), (2, {"track": 1})],
            [1, 1, 0],
        ),
        # direction only matters with by_direction: crossing back is a new event, dithering is not
        (
            dedupe(window_s=30, by_track=True),
            [(0, {"direction": "in"}), (5, {"direction": "out"})],
            [1, 0],
        ),
        (
            dedupe(window_s=30, by_track=True, by_direction=True),
            [(0, {"direction": "in"}), (5, {"direction": "out"}), (6, {"direction": "in"}), (7, {})],
            [1, 1, 0, 1],
        ),
        # IoU: a duplicate must also overlap an emitted box
        (
            dedupe(window_s=10, iou=0.5),
            [(0, {}), (1, ELSEWHERE), (2, {}), (3, ELSEWHERE), (11, {})],
            [1, 1, 0, 0, 1],
        ),
        # at most 2 per 10 s sliding window
        (
            rate_limit(max_events=2, window_s=10),
            [(0, {}), (1, {}), (2, {}), (10, {}), (10.5, {}), (11, {})],
            [1, 1, 0, 1, 0, 1],
        ),
        (
            rate_limit(max_events=1, window_s=10, by_zone=True),
            [(0, {"zone": "a"}), (1, {"zone": "b"}), (2, {"zone": "a"})],
            [1, 1, 0],
        ),
        # 3 hits within 10 s make one event; the window restarts after emitting
        (
            persistence(hits=3, window_s=10),
            [(0, {}), (1, {}), (2, {}), (3, {}), (4, {}), (5, {})],
            [0, 0, 1, 0, 0, 1],
        ),
        # hits older than the window fall out
        (persistence(hits=3, window_s=10), [(0, {}), (1, {}), (10.5, {}), (11, {})], [0, 0, 0, 1]),
        (
            persistence(hits=2, window_s=10, by_track=True),
            [(0, {"track": 1}), (1, {"track": 2}), (2, {"track": 1})],
            [0, 0, 1],
        ),
    ],
)
def test_windows(element: dict[str, Any], script: Script, expected: list[int]) -> None:
    chain = chain_of(element)
    verdicts = run_all(chain, [make_event(t, **kw) for t, kw in script])
    assert outcomes(verdicts) == [bool(x) for x in expected], [v.trace[0].reason for v in verdicts]


def test_dedupe_reason_names_previous_event() -> None:
    chain = chain_of(dedupe(window_s=10))
    first = chain.run(raw(make_event(0, event_id="first")))
    second = chain.run(raw(make_event(2.5)))
    assert first.passed and not second.passed
    step = second.trace[0]
    assert step.reason == "duplicate of first emitted 2.5 s earlier < 10 s"
    assert step.values == {"previous_id": "first", "age_s": 2.5, "window_s": 10.0}


def test_persistence_aggregates_and_keeps_best_snapshot() -> None:
    chain = chain_of(persistence(hits=3, window_s=10))
    script = [("a", 0.6, b"A"), ("b", 0.95, b"B"), ("c", 0.7, b"C")]
    verdicts = [
        chain.run(raw(make_event(i, confidence=conf, event_id=eid), {"crop": img}))
        for i, (eid, conf, img) in enumerate(script)
    ]
    assert outcomes(verdicts) == [False, False, True]
    assert verdicts[0].trace[0].reason == "hit 1 of 3 within 10 s"
    emitted = verdicts[2]
    assert emitted.event.id == "c"
    assert emitted.event.attributes == {"hits": 3, "aggregated_ids": ["a", "b", "c"], "best_hit_id": "b"}
    assert emitted.images == {"crop": b"B"}


def test_persistence_does_not_touch_the_raw_event() -> None:
    chain = chain_of(persistence(hits=1, window_s=10))
    event = make_event(0)
    verdict = chain.run(raw(event))
    assert verdict.event.attributes["hits"] == 1
    assert event.attributes == {}


def confirm(**cfg: Any) -> dict[str, Any]:
    return {
        "id": "confirm",
        "type": "sightline/confirm@v1",
        "requires": ["zone.inside"],
        "window_s": 5,
        **cfg,
    }


@pytest.mark.parametrize(
    ("element", "script", "expected"),
    [
        # the confirming type must come first, within the window, on the same camera
        (confirm(), [(0, {"type": "zone.inside"}), (4, {})], [1]),
        (confirm(), [(0, {"type": "zone.inside"}), (5.5, {})], [0]),
        (confirm(), [(0, {})], [0]),
        (confirm(), [(0, {"type": "zone.inside", "camera": "cam2"}), (1, {})], [0]),
        (confirm(), [(1, {}), (2, {"type": "zone.inside"})], [0]),  # later does not count
        # overlapping box
        (confirm(min_iou=0.5), [(0, {"type": "zone.inside", **ELSEWHERE}), (1, {})], [0]),
        (confirm(min_iou=0.5), [(0, {"type": "zone.inside"}), (1, {})], [1]),
        # same zone
        (confirm(same_zone=True), [(0, {"type": "zone.inside", "zone": "b"}), (1, {"zone": "a"})], [0]),
        (confirm(same_zone=True), [(0, {"type": "zone.inside", "zone": "a"}), (1, {"zone": "a"})], [1]),
    ],
)
def test_confirm(element: dict[str, Any], script: Script, expected: list[int]) -> None:
    """The chain applies to zone.enter only; every event is recorded as seen,
    as the engine does."""
    recent = RecentEvents()
    chain = Chain.from_spec(spec_of(element, event_types=["zone.enter"]), recent=recent)
    results = []
    for t, kw in script:
        event = make_event(t, **kw)
        recent.record(event)
        if event.type == "zone.enter" and event.camera_id == "cam1":
            results.append(chain.run(raw(event)).passed)
    assert results == [bool(x) for x in expected]


def test_confirm_reason() -> None:
    chain = chain_of(confirm(min_iou=0.5))
    chain.run(raw(make_event(0, type="zone.inside", event_id="b1")))
    step = chain.run(raw(make_event(2))).trace[0]
    assert step.reason == "confirmed by zone.inside b1 2 s earlier, IoU 1"
    blocked = chain.run(raw(make_event(20))).trace[0]
    assert blocked.reason == "no zone.inside on cam1 within 5 s before with IoU >= 0.5"


def test_state_forgets_idle_keys() -> None:
    """Per-track keys must not pile up in a long-running engine."""
    chain = chain_of(dedupe(window_s=1, by_track=True))
    for i in range(5000):
        chain.run(raw(make_event(i * 0.5, track=i)))
    element = chain.elements[0]
    assert len(element._emitted) < 1100  # type: ignore[attr-defined]
