"""Retention by age and by size on SQLite and PostgreSQL: what goes, what
stays (protected evidence, shared blobs), and the scheduler thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from sightline.core.clock import ManualClock
from sightline.storage import BlobStore, EventStore, HazardStore, Outbox, RetentionPolicy, RetentionScheduler
from sightline.storage.models import Delivery, EventRow, HazardTicket, Review, Subscription
from tests.integration.storage.helpers import BASE_TIME, DAY, jpeg, make_event

NOW = BASE_TIME + 100 * DAY
BLOB = 10_000  # bytes per blob in the size tests


def _add(store: EventStore, age_days: float, images: dict[str, bytes] | None = None) -> str:
    event = make_event(wall_time=NOW - age_days * DAY)
    store.add(event, images)
    return event.id


def _ids(store: EventStore) -> set[str]:
    with store.db.session() as s:
        return set(s.scalars(select(EventRow.id)))


def _count(store: EventStore, model: type, **where: str) -> int:
    with store.db.session() as s:
        stmt = select(func.count()).select_from(model)
        for col, value in where.items():
            stmt = stmt.where(getattr(model, col) == value)
        return int(s.scalar(stmt) or 0)


def test_by_age_deletes_old_events_but_keeps_protected_ones(store: EventStore, blobs: BlobStore) -> None:
    hazards, outbox = HazardStore(store.db), Outbox(store.db)
    with store.db.session() as s:
        s.add(Subscription(id="hook", name="h", kind="webhook", url="https://x.example"))
    shared = jpeg(100)
    plain = _add(store, 40, {"frame": jpeg(1), "preview": shared})
    open_ticket = _add(store, 40, {"frame": jpeg(2)})
    accepted_ticket = _add(store, 40, {"frame": jpeg(3)})
    under_review = _add(store, 40, {"frame": jpeg(4)})
    decided = _add(store, 40, {"frame": jpeg(5)})
    reopened = _add(store, 40, {"frame": jpeg(6)})
    untouched_pending = _add(store, 31, {"crop": jpeg(7)})
    recent = _add(store, 5, {"frame": shared})
    hazards.report(open_ticket)
    ticket = hazards.report(accepted_ticket)
    for state in ("rectifying", "verifying", "accepted"):
        hazards.transition(ticket.id, state)
    store.set_status(under_review, "pending", note="claimed")
    store.set_status(decided, "pending")
    store.set_status(decided, "false")
    store.set_status(reopened, "true")
    store.set_status(reopened, "pending", note="reopened")
    outbox.enqueue(plain, "hook")
    kept_blob_keys = {k for i in (open_ticket, under_review, reopened, recent) for k in _keys(store, i)}
    before = {b.key for b in blobs.iter_blobs()}

    report = RetentionPolicy(max_age_days=30, blob_grace_s=0).apply(store.db, blobs, NOW)

    assert _ids(store) == {open_ticket, under_review, reopened, recent}
    assert report.events_deleted_by_age == 4 and report.events_deleted_by_size == 0
    assert report.protected_kept == 3
    after = {b.key for b in blobs.iter_blobs()}
    assert after == kept_blob_keys  # the shared frame stays: `recent` still uses it
    assert report.blobs_deleted == len(before) - len(after) == 4
    assert report.bytes_total == blobs.size_total()
    # What hung off the deleted events went with them.
    assert _count(store, Review, event_id=decided) == 0
    assert _count(store, HazardTicket, event_id=accepted_ticket) == 0
    assert _count(store, Delivery) == 0
    assert untouched_pending not in _ids(store)
    # A second run finds nothing; closing the ticket releases its event.
    assert RetentionPolicy(max_age_days=30, blob_grace_s=0).apply(store.db, blobs, NOW).events_deleted == 0
    t = hazards.for_event(open_ticket)
    assert t is not None
    for state in ("rectifying", "verifying", "accepted"):
        hazards.transition(t.id, state)
    store.set_status(under_review, "true")
    report = RetentionPolicy(max_age_days=30, blob_grace_s=0).apply(store.db, blobs, NOW)
    assert report.events_deleted_by_age == 2 and report.protected_kept == 1
    assert _ids(store) == {reopened, recent}


def _keys(store: EventStore, event_id: str) -> list[str]:
    e = store.get(event_id)
    assert e is not None
    return [k for k in (e.snapshot.frame, e.snapshot.crop, e.snapshot.preview) if k]


@pytest.fixture
def ten_events(store: EventStore) -> list[str]:
    """Ten events, oldest first (10 days old ... 1 day old), each with its own
    10,000-byte blob; the oldest has an open hazard ticket."""
    ids = [_add(store, 10 - i, {"frame": os.urandom(BLOB)}) for i in range(10)]
    HazardStore(store.db).report(ids[0])
    return ids


def test_by_size_deletes_oldest_unprotected_until_under_the_limit(
    store: EventStore, blobs: BlobStore, ten_events: list[str]
) -> None:
    ids = ten_events
    assert blobs.size_total() == 10 * BLOB
    policy = RetentionPolicy(max_age_days=None, max_total_bytes=45_000, batch_size=2, blob_grace_s=0)
    report = policy.apply(store.db, blobs, NOW)
    assert _ids(store) == {ids[0], ids[7], ids[8], ids[9]}
    assert report.events_deleted_by_size == 6 and report.events_deleted_by_age == 0
    assert report.batches == 3  # six events, two per transaction
    assert report.bytes_freed == 6 * BLOB
    assert blobs.size_total() == report.bytes_total == 40_000
    assert not report.over_size_limit
    # A limit only protected evidence exceeds: delete the rest, keep it, say so.
    report = RetentionPolicy(max_age_days=None, max_total_bytes=5_000, blob_grace_s=0).apply(
        store.db, blobs, NOW
    )
    assert _ids(store) == {ids[0]}
    assert report.over_size_limit and report.bytes_total == BLOB


def test_under_the_size_limit_nothing_is_deleted(
    store: EventStore, blobs: BlobStore, ten_events: list[str]
) -> None:
    report = RetentionPolicy(max_age_days=None, max_total_bytes=10 * BLOB, blob_grace_s=0).apply(
        store.db, blobs, NOW
    )
    assert report.events_deleted == 0 and len(_ids(store)) == 10


def test_orphans_and_the_grace_period(store: EventStore, blobs: BlobStore) -> None:
    orphan = blobs.put(b"left behind by a failed insert", "image/jpeg")
    old_event = _add(store, 40, {"frame": jpeg(9)})
    (old_key,) = _keys(store, old_event)
    # Grace of an hour: everything was just written, so no blob goes yet.
    report = RetentionPolicy(max_age_days=30, blob_grace_s=3600).apply(store.db, blobs, NOW)
    assert report.events_deleted_by_age == 1 and report.blobs_deferred == 1
    assert report.orphan_blobs_deleted == 0
    assert blobs.exists(orphan) and blobs.exists(old_key)
    # An hour later both are unreferenced and old enough.
    for key in (orphan, old_key):
        os.utime(blobs.path(key), (time.time() - 7200, time.time() - 7200))
    report = RetentionPolicy(max_age_days=30, blob_grace_s=3600).apply(store.db, blobs, NOW)
    assert report.orphan_blobs_deleted == 2
    assert list(blobs.iter_blobs()) == []


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_age_days"):
        RetentionPolicy(max_age_days=0)
    with pytest.raises(ValueError, match="max_total_bytes"):
        RetentionPolicy(max_total_bytes=-1)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)  # bounded polling of a background thread


def test_scheduler_runs_periodically_on_the_injected_clock(store: EventStore, blobs: BlobStore) -> None:
    event = _add(store, 0)
    clock = ManualClock(NOW)
    reports = []
    scheduler = RetentionScheduler(
        RetentionPolicy(max_age_days=30, blob_grace_s=0), store.db, blobs, interval_s=0.02, clock=clock,
        on_report=reports.append,
    )  # fmt: skip
    scheduler.start()
    try:
        _wait_for(lambda: scheduler.runs >= 2)
        assert event in _ids(store)  # fresh at the clock's "now"
        clock.advance(31 * DAY)
        _wait_for(lambda: event not in _ids(store))
        _wait_for(lambda: any(r.events_deleted_by_age == 1 for r in reports))
    finally:
        scheduler.stop()
    assert not scheduler.running and scheduler.failures == 0


def test_scheduler_survives_a_failing_run(
    store: EventStore, blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: RetentionPolicy, *args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(RetentionPolicy, "apply", boom)
    scheduler = RetentionScheduler(RetentionPolicy(), store.db, blobs, interval_s=0.01).start()
    try:
        _wait_for(lambda: scheduler.failures >= 3)
        assert scheduler.running and scheduler.last_error == "database went away"
    finally:
        scheduler.stop()
    assert not scheduler.running


def test_retention_and_writers_run_concurrently(store: EventStore, blobs: BlobStore) -> None:
    """Two writers add old events (sharing one frame) while retention deletes
    them: no lock errors, and no surviving event ever points at a missing blob."""
    shared = jpeg(42)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            for i in range(150):
                store.add(
                    make_event(wall_time=NOW - 40 * DAY + i), {"frame": shared, "crop": jpeg(n * 1000 + i)}
                )
        except BaseException as err:  # reported below
            errors.append(err)

    def retention() -> None:
        policy = RetentionPolicy(max_age_days=30, batch_size=20)  # default blob grace
        try:
            while not done.is_set():
                policy.apply(store.db, blobs, NOW)
        except BaseException as err:
            errors.append(err)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    cleaner = threading.Thread(target=retention)
    cleaner.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    done.set()
    cleaner.join(60)
    assert errors == []
    for event_id in _ids(store):
        for key in _keys(store, event_id):
            assert blobs.exists(key)
    assert len(_ids(store)) < 300  # retention did delete while they wrote
