"""The strategy center inside the running platform (P1–P4).

:class:`StrategyCenter` joins the pure logic (:mod:`sightline.strategies`)
to storage: it loads the strategies and the error library from the database
into one :class:`StrategyEngine`, runs every raw event through it, and turns
edits made over the API into ``engine.replace(...)`` so the next event obeys
them without a restart.

Why one object per process, kept in ``ctx.extra["strategies"]``: the engine
holds per-camera state (de-duplication windows, persistence counters, rate
limits); analysis workers and API routes must share that one state, not
build their own. :func:`strategy_center` creates it lazily, so an app built
without :func:`sightline.service.platform.start_platform` (tests) still has
one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from sightline.api.audit import write_audit
from sightline.api.context import AppContext
from sightline.core.event import Event
from sightline.storage import EventQuery, EventRecord
from sightline.storage.events import Decision
from sightline.storage.models import AuditRecord
from sightline.storage.strategies import ErrorLibraryRecord, StrategyStore
from sightline.strategies.backtest import BacktestReport, StoredOutcome, backtest
from sightline.strategies.base import RawEvent, Verdict
from sightline.strategies.chain import StrategyEngine
from sightline.strategies.error_library import ErrorLibrary
from sightline.strategies.spec import StrategyError, StrategySpec, load_presets, parse_spec

log = logging.getLogger(__name__)

STRATEGIES_KEY = "strategies"  # ctx.extra[STRATEGIES_KEY]: the StrategyCenter
SEED_ACTION = "strategy.seed_presets"  # audit action that marks "presets were seeded once"
BACKTEST_MAX_EVENTS = 200_000
_BACKTEST_PAGE = 1000
_lock = threading.Lock()


class NoCropError(ValueError):
    """The event has no crop image, so it cannot go into the error library."""


class BacktestTooLarge(ValueError):
    """The back-test range holds more stored events than one run may read."""


def decision_of(verdict: Verdict) -> Decision:
    """The storage form of a verdict (outcome, trace, who blocked, which strategy version)."""
    return Decision(
        outcome="passed" if verdict.passed else "blocked",
        trace=verdict.trace,
        blocked_by=verdict.blocked_by,
        strategy_id=verdict.strategy_id,
        strategy_version=verdict.strategy_version,
    )


def _core_event(record: EventRecord) -> Event:
    """The core event of a stored record (without the fields storage added)."""
    return Event.model_construct(**{name: getattr(record, name) for name in Event.model_fields})


def _uses(spec: StrategySpec | None, kind: str) -> bool:
    """Whether the chain has an element of ``kind`` (e.g. ``"error-library"``)."""
    return spec is not None and any(f"/{kind}@" in str(getattr(e, "type", "")) for e in spec.elements)


@dataclass
class BacktestRange:
    time_from: float | None = None
    time_to: float | None = None
    camera_id: str | None = None


class StrategyCenter:
    """The engine, its strategies and its error library, kept in step with the database."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.store = StrategyStore(ctx.db)
        self.library = ErrorLibrary()
        self.engine = StrategyEngine([], library=self.library)
        self.load_errors: dict[str, str] = {}  # strategy id -> why its stored spec does not load
        self._reload_lock = threading.Lock()

    # -- loading -------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild the engine's strategies from the database (after any edit).

        A stored spec that no longer validates (an element type was retired)
        is skipped and reported in ``load_errors``; the others keep running."""
        with self._reload_lock:
            specs: list[StrategySpec] = []
            errors: dict[str, str] = {}
            for record in self.store.list():
                try:
                    specs.append(parse_spec(record.spec))
                except StrategyError as exc:
                    errors[record.id] = str(exc)
                    log.error("strategy %r version %d not loaded: %s", record.id, record.current_version, exc)
            self.engine.replace(specs)
            self.load_errors = errors

    def reload_library(self) -> None:
        """Fill the in-memory error library from its table (at start)."""
        for entry in self.store.library():
            self.library.add(entry.id, entry.camera_id, entry.event_type, entry.fingerprint)

    def seed_presets(self) -> list[str]:
        """Store the preset strategies on the very first start; returns their ids.

        Seeded once per database (an audit record marks it), so presets an
        operator deleted stay deleted after a restart."""
        with self.ctx.db.session() as session:
            if session.scalar(select(AuditRecord.id).where(AuditRecord.action == SEED_ACTION).limit(1)):
                return []
        seeded = []
        existing = {r.id for r in self.store.list()}
        for spec in load_presets():
            if spec.id not in existing:
                self.store.create(spec.model_dump(mode="json"), author="system:presets")
                seeded.append(spec.id)
        with self.ctx.db.session() as session:
            write_audit(session, "system:first-run", SEED_ACTION, None, {"strategies": seeded})
        return seeded

    # -- running -------------------------------------------------------------

    def process(self, raw: RawEvent) -> Verdict:
        return self.engine.process(raw)

    # -- error library -------------------------------------------------------

    def add_to_library(
        self, record: EventRecord, *, created_by: str | None, note: str = ""
    ) -> ErrorLibraryRecord:
        """Put a stored event's crop into its camera's error library (live at once)."""
        crop_key = record.snapshot.crop
        if not crop_key or not self.ctx.blobs.exists(crop_key):
            raise NoCropError(
                f"event {record.id!r} has no stored crop image; the error library compares crops, "
                "so only events with a crop can be added"
            )
        try:
            fingerprint = self.library.fingerprint(self.ctx.blobs.get(crop_key))
        except ValueError as exc:
            raise NoCropError(f"event {record.id!r}: its crop cannot be used ({exc})") from None
        entry = self.store.add_library_entry(
            camera_id=record.camera_id,
            event_type=record.type,
            fingerprint=fingerprint,
            event_id=record.id,
            crop_blob=crop_key,
            note=note,
            created_by=created_by,
        )
        self.library.add(entry.id, entry.camera_id, entry.event_type, entry.fingerprint)
        return entry

    def remove_from_library(self, entry_id: str) -> bool:
        removed = self.store.remove_library_entry(entry_id)
        self.library.remove(entry_id)
        return removed

    # -- back-test (P3) ------------------------------------------------------

    def backtest(
        self, draft: StrategySpec, live: StrategySpec | None, where: BacktestRange
    ) -> BacktestReport:
        """Run ``draft`` (and ``live`` for comparison) over the stored raw events
        (passed and blocked) of the strategy's cameras and types in the range."""
        # Crops are read from disk only when an error-library element compares
        # them; every event type is replayed only when a confirmation element
        # looks back on other types.
        with_crops = _uses(draft, "error-library") or _uses(live, "error-library")
        all_types = _uses(draft, "confirm") or _uses(live, "confirm")
        history = self._history(draft, where, with_crops, all_types)
        return backtest(history, live, draft, library=self.library)

    def _history(
        self, spec: StrategySpec, where: BacktestRange, with_crops: bool, all_types: bool
    ) -> Iterator[StoredOutcome]:
        cameras = list(spec.cameras)
        if where.camera_id is not None:
            if cameras and where.camera_id not in cameras:
                return iter(())  # the strategy is not bound to that camera: nothing to replay
            cameras = [where.camera_id]
        query = EventQuery(
            camera_ids=cameras,
            types=[] if all_types else list(spec.event_types),
            time_from=where.time_from,
            time_to=where.time_to,
            outcome="all",
            order="asc",
            limit=_BACKTEST_PAGE,
            with_total=False,
        )
        total = self.ctx.events.count(query)
        if total > BACKTEST_MAX_EVENTS:
            raise BacktestTooLarge(
                f"the range holds {total} stored events, more than {BACKTEST_MAX_EVENTS} per back-test; "
                "narrow the time range or pick one camera"
            )
        return self._pages(query, with_crops)

    def _pages(self, query: EventQuery, with_crops: bool) -> Iterator[StoredOutcome]:
        while True:
            page = self.ctx.events.search(query)
            for record in page.items:
                images = {}
                if with_crops and record.snapshot.crop and self.ctx.blobs.exists(record.snapshot.crop):
                    images["crop"] = self.ctx.blobs.get(record.snapshot.crop)
                judged = record.strategy_id is not None  # else no strategy applied live
                yield StoredOutcome(
                    raw=RawEvent(_core_event(record), images),
                    live_passed=(record.outcome == "passed") if judged else None,
                    live_blocked_by=record.blocked_by,
                    review=record.status,
                )
            if page.next_cursor is None:
                return
            query = query.model_copy(update={"cursor": page.next_cursor})


def strategy_center(ctx: AppContext) -> StrategyCenter:
    """The context's strategy center, created and loaded on first use."""
    center = ctx.extra.get(STRATEGIES_KEY)
    if isinstance(center, StrategyCenter):
        return center
    with _lock:
        center = ctx.extra.get(STRATEGIES_KEY)
        if not isinstance(center, StrategyCenter):
            center = StrategyCenter(ctx)
            center.reload_library()
            center.reload()
            ctx.extra[STRATEGIES_KEY] = center
    return center


def start_strategies(ctx: AppContext, *, seed: bool = True) -> StrategyCenter:
    """At platform start: seed the presets on first start, then load everything."""
    center = StrategyCenter(ctx)
    if seed:
        seeded = center.seed_presets()
        if seeded:
            log.info("first start: added the preset strategies %s", ", ".join(seeded))
    center.reload_library()
    center.reload()
    ctx.extra[STRATEGIES_KEY] = center
    return center


__all__ = [
    "BACKTEST_MAX_EVENTS",
    "BacktestRange",
    "BacktestTooLarge",
    "NoCropError",
    "StrategyCenter",
    "decision_of",
    "start_strategies",
    "strategy_center",
]
