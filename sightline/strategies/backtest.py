"""Back-test (P3): replay a draft strategy over stored raw events.

Pure: the platform loads the history (raw events with their stored live
outcome and review status) and returns the report from its API as is.

How it counts:

- the draft replays with fresh state over the events in ``wall_time`` order;
  every event, whatever its type, is recorded for confirmation (as the live
  engine does), but only events the draft applies to (its cameras and types)
  are counted;
- *changed* lists events whose outcome differs from the stored live one. An
  event with no stored outcome is compared with ``live`` replayed alongside
  (fresh state too) when given, else it is not compared;
- precision and recall use reviewed events only (``true`` = real event,
  ``false`` = false positive; pending and ignored are left out): precision =
  passed true / passed reviewed, recall = passed true / all true. None when
  there is nothing to divide by.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from sightline.strategies.base import RawEvent, Verdict
from sightline.strategies.chain import Chain
from sightline.strategies.error_library import ErrorLibrary
from sightline.strategies.recent import RecentEvents
from sightline.strategies.spec import StrategySpec

Review = Literal["pending", "true", "false", "ignored"]
Outcome = Literal["passed", "blocked"]


@dataclass
class StoredOutcome:
    """One stored raw event and what happened to it live."""

    raw: RawEvent
    live_passed: bool | None  # None: no live outcome stored (no strategy applied then)
    live_blocked_by: str | None = None
    review: Review = "pending"


class ElementCounts(BaseModel):
    element_id: str
    element_type: str
    passed: int = 0
    blocked: int = 0


class ChangedEvent(BaseModel):
    event_id: str
    camera_id: str
    type: str
    wall_time: float
    before: Outcome
    after: Outcome
    before_blocked_by: str | None = None
    blocked_by: str | None = None  # the draft's blocking element, when it blocks
    reason: str | None = None  # the blocking step's reason
    review: Review = "pending"


class Quality(BaseModel):
    reviewed: int  # true + false reviews among the counted events
    precision: float | None
    recall: float | None


class BacktestReport(BaseModel):
    strategy_id: str
    strategy_version: int
    live_strategy_id: str | None = None
    live_strategy_version: int | None = None
    total: int = 0
    passed: int = 0
    blocked: int = 0
    elements: list[ElementCounts] = Field(default_factory=list)
    changed: list[ChangedEvent] = Field(default_factory=list)
    draft_quality: Quality
    live_quality: Quality


def _quality(outcomes: list[tuple[bool, Review]]) -> Quality:
    reviewed = [(passed, review) for passed, review in outcomes if review in ("true", "false")]
    passed_reviewed = [review for passed, review in reviewed if passed]
    real = sum(1 for _, review in reviewed if review == "true")
    hits = passed_reviewed.count("true")
    return Quality(
        reviewed=len(reviewed),
        precision=hits / len(passed_reviewed) if passed_reviewed else None,
        recall=hits / real if real else None,
    )


def _in_time_order(history: Iterable[StoredOutcome]) -> Iterator[StoredOutcome]:
    """``history`` as given, which must be in wall-time order (the event store
    pages it so): streamed, never held whole, so a back-test over 200,000
    events with their crops does not need them all in memory at once."""
    last = float("-inf")
    for stored in history:
        wall_time = stored.raw.event.wall_time
        if wall_time < last:
            raise ValueError(f"back-test history must be in wall-time order ({wall_time} came after {last})")
        last = wall_time
        yield stored


def backtest(
    history: Iterable[StoredOutcome],
    live: StrategySpec | None,
    draft: StrategySpec,
    library: ErrorLibrary | None = None,
) -> BacktestReport:
    recent = RecentEvents()
    chain = Chain.from_spec(draft, library, recent)
    live_chain = Chain.from_spec(live, library, recent) if live is not None else None
    counts = {c.id: ElementCounts(element_id=c.id, element_type=c.type) for c in draft.elements}
    report = BacktestReport(
        strategy_id=draft.id,
        strategy_version=draft.version,
        live_strategy_id=live.id if live else None,
        live_strategy_version=live.version if live else None,
        draft_quality=_quality([]),
        live_quality=_quality([]),
    )
    draft_outcomes: list[tuple[bool, Review]] = []
    live_outcomes: list[tuple[bool, Review]] = []
    for stored in _in_time_order(history):
        event = stored.raw.event
        recent.record(event)
        live_passed, live_blocked_by = stored.live_passed, stored.live_blocked_by
        if live_chain is not None and live_chain.spec.applies_to(event.camera_id, event.type):
            replayed = live_chain.run(stored.raw)  # keeps the live replay's state in step
            if live_passed is None:
                live_passed, live_blocked_by = replayed.passed, replayed.blocked_by
        if not draft.applies_to(event.camera_id, event.type):
            continue
        verdict = chain.run(stored.raw)
        _count(report, counts, verdict)
        draft_outcomes.append((verdict.passed, stored.review))
        if live_passed is None:
            continue
        live_outcomes.append((live_passed, stored.review))
        if live_passed != verdict.passed:
            blocking = next((s for s in verdict.trace if s.verdict == "blocked"), None)
            report.changed.append(
                ChangedEvent(
                    event_id=event.id,
                    camera_id=event.camera_id,
                    type=event.type,
                    wall_time=event.wall_time,
                    before="passed" if live_passed else "blocked",
                    after="passed" if verdict.passed else "blocked",
                    before_blocked_by=live_blocked_by,
                    blocked_by=blocking.element_id if blocking else None,
                    reason=blocking.reason if blocking else None,
                    review=stored.review,
                )
            )
    report.elements = list(counts.values())
    report.draft_quality = _quality(draft_outcomes)
    report.live_quality = _quality(live_outcomes)
    return report


def _count(report: BacktestReport, counts: dict[str, ElementCounts], verdict: Verdict) -> None:
    report.total += 1
    if verdict.passed:
        report.passed += 1
    else:
        report.blocked += 1
    for step in verdict.trace:
        if step.verdict == "passed":
            counts[step.element_id].passed += 1
        else:
            counts[step.element_id].blocked += 1
