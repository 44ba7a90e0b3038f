"""The chain (trace, first block stops, commit only on emit) and the engine
(binding precedence, run-time replace, thread safety)."""

from __future__ import annotations

import json
import threading
from typing import Any

from sightline.strategies.chain import StrategyEngine
from tests.unit.strategies.helpers import chain_of, make_event, raw, spec_of

CONF = {"id": "conf", "type": "sightline/confidence-filter@v1", "min_confidence": 0.5}
DEDUPE = {"id": "dedupe", "type": "sightline/dedupe@v1", "window_s": 10}
RATE = {"id": "rate", "type": "sightline/rate-limit@v1", "max_events": 1, "window_s": 100}
CLASS = {"id": "cls", "type": "sightline/class-filter@v1", "classes": ["person"]}


def test_trace_lists_each_step_and_stops_at_first_block() -> None:
    chain = chain_of(CONF, CLASS, DEDUPE)
    ok = chain.run(raw(make_event(0)))
    assert ok.passed and ok.blocked_by is None
    assert [(s.element_id, s.element_type, s.verdict) for s in ok.trace] == [
        ("conf", "sightline/confidence-filter@v1", "passed"),
        ("cls", "sightline/class-filter@v1", "passed"),
        ("dedupe", "sightline/dedupe@v1", "passed"),
    ]
    blocked = chain.run(raw(make_event(1, class_name="dog")))
    assert not blocked.passed and blocked.blocked_by == "cls"
    assert [s.element_id for s in blocked.trace] == ["conf", "cls"]  # dedupe never ran
    assert blocked.trace[-1].reason == "class dog not in person"
    assert (blocked.strategy_id, blocked.strategy_version) == ("s", 1)
    json.dumps([s.model_dump() for s in ok.trace + blocked.trace])  # values are JSON-able


def test_block_later_in_chain_does_not_poison_dedupe() -> None:
    """dedupe passes at t=0 but rate-limit is spent by t=-50's emit, so the t=0
    event is not emitted; dedupe must not count it, so t=5 is not a duplicate
    for dedupe (it is blocked by the rate limit again, not by dedupe)."""
    chain = chain_of(DEDUPE, RATE)
    assert chain.run(raw(make_event(-50))).passed
    second = chain.run(raw(make_event(0)))
    assert second.blocked_by == "rate"
    third = chain.run(raw(make_event(5)))
    assert third.blocked_by == "rate"  # not "dedupe": the t=0 event was never emitted
    assert chain.run(raw(make_event(51))).passed


def test_persistence_window_kept_when_blocked_later() -> None:
    persist = {"id": "persist", "type": "sightline/persistence@v1", "hits": 2, "window_s": 10}
    chain = chain_of(persist, RATE)
    results = [chain.run(raw(make_event(t))).blocked_by for t in (0, 1, 2, 3)]
    # 1: fires and is emitted (window cleared); 3: fires again, rate limit blocks it
    assert results == ["persist", None, "persist", "rate"]
    assert chain.run(raw(make_event(4))).blocked_by == "rate"  # hits kept: fires, blocked again


def spec(id: str, cameras: list[str] | None = None, priority: int = 0, **kw: Any) -> Any:
    return spec_of(CONF, id=id, cameras=cameras or [], priority=priority, event_types=["zone.enter"], **kw)


def test_engine_binding_precedence() -> None:
    engine = StrategyEngine(
        [
            spec("all-low"),
            spec("all-high", priority=5),
            spec("cam2-low", cameras=["cam2"], priority=-1),
            spec("cam3-off", cameras=["cam3"], enabled=False),
        ]
    )
    assert engine.process(raw(make_event(0))).strategy_id == "all-high"
    assert (
        engine.process(raw(make_event(0, camera="cam2"))).strategy_id == "cam2-low"
    )  # camera beats priority
    assert engine.process(raw(make_event(0, camera="cam3"))).strategy_id == "all-high"  # disabled ignored
    unbound = engine.process(raw(make_event(0, type="line.cross")))
    assert unbound.passed and unbound.trace == [] and unbound.strategy_id is None


def test_engine_replace_keeps_state_of_unchanged_specs() -> None:
    a = spec_of(DEDUPE, id="a", event_types=["zone.enter"])
    b = spec_of(DEDUPE, id="b", event_types=["line.cross"])
    engine = StrategyEngine([a, b])
    assert engine.process(raw(make_event(0))).passed
    assert engine.process(raw(make_event(0, type="line.cross"))).passed
    b2 = spec_of({**DEDUPE, "window_s": 1}, id="b", version=2, event_types=["line.cross"])
    engine.replace([a, b2])
    assert not engine.process(raw(make_event(2))).passed  # a kept its dedupe window
    verdict = engine.process(raw(make_event(2, type="line.cross")))
    assert verdict.passed and verdict.strategy_version == 2  # b started fresh
    engine.replace([b2])
    assert engine.process(raw(make_event(3))).strategy_id is None


def test_engine_feeds_confirmation_with_events_of_unbound_types() -> None:
    confirm = {"id": "confirm", "type": "sightline/confirm@v1", "requires": ["zone.inside"], "window_s": 5}
    engine = StrategyEngine([spec_of(confirm, id="c", event_types=["zone.enter"])])
    assert engine.process(raw(make_event(0, type="zone.inside"))).strategy_id is None
    assert engine.process(raw(make_event(1))).passed


def test_engine_thread_safety_smoke() -> None:
    engine = StrategyEngine([spec_of(DEDUPE, RATE, id="s", event_types=["zone.enter"])])
    results: list[bool] = []
    lock = threading.Lock()

    def worker(camera: str) -> None:
        for i in range(300):
            verdict = engine.process(raw(make_event(i * 0.5, camera=camera)))
            with lock:
                results.append(verdict.passed)
            if i == 150 and camera == "c0":
                engine.replace(engine.specs)  # unchanged: state kept

    threads = [threading.Thread(target=worker, args=(f"c{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each camera: t=0 emitted, then the rate limit (1 per 100 s) allows t=100 only
    assert len(results) == 1200 and sum(results) == 4 * 2
