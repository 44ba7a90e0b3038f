"""Back-test: counts, per-element counts, changed events, precision/recall."""

from __future__ import annotations

import json

import pytest

from sightline.strategies.backtest import BacktestReport, StoredOutcome, backtest
from tests.unit.strategies.helpers import make_event, raw, spec_of

CONF = {"id": "conf", "type": "sightline/confidence-filter@v1", "min_confidence": 0.5}
DEDUPE = {"id": "dedupe", "type": "sightline/dedupe@v1", "window_s": 10}
DRAFT = spec_of(CONF, DEDUPE, id="draft", version=3, event_types=["zone.enter"], cameras=["cam1"])


def stored(t: float, eid: str, conf: float, live: bool | None, review: str, **kw: object) -> StoredOutcome:
    event = make_event(t, confidence=conf, event_id=eid, **kw)  # type: ignore[arg-type]
    return StoredOutcome(raw(event), live, None if live in (True, None) else "old", review)  # type: ignore[arg-type]


HISTORY = [
    stored(0, "e1", 0.9, True, "true"),
    stored(1, "e2", 0.9, True, "false"),  # a duplicate of e1
    stored(5, "x1", 0.9, True, "false", type="line.cross"),  # other type: not counted
    stored(6, "x2", 0.9, True, "false", camera="cam2"),  # other camera: not counted
    stored(20, "e3", 0.3, True, "false"),
    stored(40, "e4", 0.8, False, "true"),
    stored(60, "e5", 0.9, True, "pending"),
]


def test_history_out_of_time_order_is_refused() -> None:
    # The history is streamed (never held whole), so order is the store's job; a
    # replay in the wrong order would give wrong dedupe/persistence answers.
    with pytest.raises(ValueError, match="wall-time order"):
        backtest([HISTORY[3], *HISTORY], None, DRAFT)


def test_counts_changed_and_quality() -> None:
    report = backtest(HISTORY, None, DRAFT)
    assert (report.strategy_id, report.strategy_version) == ("draft", 3)
    assert (report.total, report.passed, report.blocked) == (5, 3, 2)
    counts = {c.element_id: (c.passed, c.blocked) for c in report.elements}
    assert counts == {"conf": (4, 1), "dedupe": (3, 1)}
    changed = {c.event_id: (c.before, c.after, c.blocked_by, c.before_blocked_by) for c in report.changed}
    assert changed == {
        "e2": ("passed", "blocked", "dedupe", None),
        "e3": ("passed", "blocked", "conf", None),
        "e4": ("blocked", "passed", None, "old"),
    }
    assert [c.event_id for c in report.changed] == ["e2", "e3", "e4"]  # wall-time order
    assert report.changed[1].reason == "confidence 0.3 < 0.5"
    assert report.draft_quality.model_dump() == {"reviewed": 4, "precision": 1.0, "recall": 1.0}
    assert report.live_quality.reviewed == 4
    assert report.live_quality.precision == pytest.approx(1 / 3)
    assert report.live_quality.recall == pytest.approx(0.5)
    json.loads(report.model_dump_json())  # the API returns it as is
    assert BacktestReport.model_validate_json(report.model_dump_json()) == report


def test_no_reviews_gives_none() -> None:
    history = [stored(t, f"e{t}", 0.9, True, "pending") for t in range(3)]
    quality = backtest(history, None, DRAFT).draft_quality
    assert quality.model_dump() == {"reviewed": 0, "precision": None, "recall": None}


def test_missing_live_outcome_replayed_from_live_spec() -> None:
    live = spec_of(CONF, id="live", event_types=["zone.enter"])
    history = [
        stored(0, "a", 0.9, None, "true"),
        stored(1, "b", 0.9, None, "true"),
        stored(2, "c", 0.2, None, "false"),
    ]
    report = backtest(history, live, DRAFT)
    assert report.live_strategy_id == "live"
    # live passes a and b, blocks c; the draft also blocks b as a duplicate
    assert [(c.event_id, c.before, c.after) for c in report.changed] == [("b", "passed", "blocked")]
    assert report.draft_quality.recall == 0.5 and report.live_quality.recall == 1.0
    without_live = backtest(history, None, DRAFT)
    assert without_live.changed == [] and without_live.live_quality.reviewed == 0


def test_fresh_state_each_run() -> None:
    first = backtest(HISTORY, None, DRAFT)
    assert backtest(HISTORY, None, DRAFT) == first
