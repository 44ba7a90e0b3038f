"""Retention: delete old events and their images by age and by total size,
never touching evidence someone is still working on.

**Protected events.** An event is *protected*, and neither it nor any blob it
references is deleted, while either holds:

1. it has a hazard ticket whose state is not ``accepted`` (an *open* ticket:
   ``reported``, ``rectifying`` or ``verifying``); or
2. it is *under review*: ``events.status = 'pending'`` **and** the event has at
   least one row in ``reviews``. ``events.status`` mirrors the latest review,
   so this means the latest review decision is ``pending`` — a reviewer
   claimed the event, or reopened a decided one — and nobody has decided yet.

A pending event that no reviewer ever touched is *not* protected: in a
deployment where nobody reviews, protecting all pending events would make
every limit unenforceable. Decided events (``true``/``false``/``ignored``)
and events whose ticket is ``accepted`` age out like any other; their
reviews, tickets, comments and outbox rows go with them (``ON DELETE
CASCADE``).

**Order of work** (:meth:`RetentionPolicy.apply`):

1. orphan sweep: blobs no event references (an insert that failed after its
   images were written, a crash) are deleted once older than the grace period;
2. by age: events with ``wall_time < now - max_age_days`` are deleted;
3. by size: while the blobs total more than ``max_total_bytes``, the oldest
   unprotected events are deleted. If only protected events are left the run
   stops and reports ``over_size_limit`` (and logs a warning) rather than
   delete evidence under review.

Each batch (``batch_size`` events) is its own short transaction, so the API and
the pipeline keep writing while a big backlog is cleared. A blob is deleted
only after the rows are committed and only when no remaining row references
it (the same JPEG may be the evidence of several events). A blob whose file
was written or re-stored (``put`` refreshes the mtime) within
``blob_grace_s`` is left for a later run: an ``add()`` racing with retention
may be about to reference it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    true,
)

from sightline.core.clock import Clock, SystemClock
from sightline.storage.blobs import BlobInfo, BlobStore
from sightline.storage.db import Database
from sightline.storage.models import ErrorLibraryEntry, EventRow, HazardTicket, Review

log = logging.getLogger(__name__)

DAY_S = 86_400.0
_BLOB_COLUMNS = (EventRow.snapshot_blob, EventRow.crop_blob, EventRow.preview_blob)
# Error-library entries keep the crop of a false positive after its event is
# gone, so their blobs count as referenced too.
_REFERENCING_COLUMNS = (*_BLOB_COLUMNS, ErrorLibraryEntry.crop_blob)
_KEY_CHUNK = 500


def protected() -> ColumnElement[bool]:
    """SQL condition on ``events``: true for protected events (see module doc)."""
    open_ticket = exists().where(HazardTicket.event_id == EventRow.id, HazardTicket.state != "accepted")
    under_review = and_(EventRow.status == "pending", exists().where(Review.event_id == EventRow.id))
    return or_(open_ticket, under_review)


@dataclass
class RetentionReport:
    events_deleted_by_age: int = 0
    events_deleted_by_size: int = 0
    blobs_deleted: int = 0
    bytes_freed: int = 0
    orphan_blobs_deleted: int = 0
    blobs_deferred: int = 0  # unreferenced but written within the grace period
    protected_kept: int = 0  # protected events that were past the age limit
    bytes_total: int | None = None  # blob bytes after the run (deferred excluded); None = not measured
    over_size_limit: bool = False  # still above max_total_bytes: the rest is protected
    batches: int = 0
    duration_s: float = 0.0

    @property
    def events_deleted(self) -> int:
        return self.events_deleted_by_age + self.events_deleted_by_size


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep events at most ``max_age_days`` and blobs at most ``max_total_bytes``
    (either may be None = no limit)."""

    max_age_days: float | None = 30.0
    max_total_bytes: int | None = None
    batch_size: int = 500
    blob_grace_s: float = 600.0
    sweep_orphans: bool = True

    def __post_init__(self) -> None:
        if self.max_age_days is not None and self.max_age_days <= 0:
            raise ValueError(f"max_age_days must be > 0 (got {self.max_age_days}); use None for no age limit")
        if self.max_total_bytes is not None and self.max_total_bytes < 0:
            raise ValueError(
                f"max_total_bytes must be >= 0 (got {self.max_total_bytes}); None = no size limit"
            )
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")

    def apply(self, db: Database, blobs: BlobStore, now: float | None = None) -> RetentionReport:
        """One retention run. ``now`` (UNIX seconds) decides event age; blob
        grace compares file mtimes with the real clock."""
        return _Run(self, db, blobs, time.time() if now is None else now).run()


class _Run:
    def __init__(self, policy: RetentionPolicy, db: Database, blobs: BlobStore, now: float) -> None:
        self.p = policy
        self.db = db
        self.blobs = blobs
        self.now = now
        self.report = RetentionReport()
        self.grace_cutoff = time.time() - policy.blob_grace_s

    def run(self) -> RetentionReport:
        t0 = time.perf_counter()
        need_size = self.p.max_total_bytes is not None
        total = 0
        if self.p.sweep_orphans or need_size:
            self.blobs.sweep_temp()
            total = self._measure_and_sweep()
        if self.p.max_age_days is not None:
            cutoff = self.now - self.p.max_age_days * DAY_S
            while True:
                deleted, freed = self._delete_batch(EventRow.wall_time < cutoff, None)
                if deleted == 0:
                    break
                self.report.events_deleted_by_age += deleted
                total -= freed
            with self.db.connect() as conn:
                self.report.protected_kept = int(
                    conn.scalar(
                        select(func.count())
                        .select_from(EventRow)
                        .where(EventRow.wall_time < cutoff, protected())
                    )
                    or 0
                )
        if self.p.max_total_bytes is not None:
            while total > self.p.max_total_bytes:
                deleted, freed = self._delete_batch(true(), total - self.p.max_total_bytes)
                if deleted == 0:
                    self.report.over_size_limit = True
                    log.warning(
                        "retention: blobs use %d bytes, over the limit of %d, but every remaining event "
                        "is protected (open hazard ticket or under review)",
                        total,
                        self.p.max_total_bytes,
                    )
                    break
                self.report.events_deleted_by_size += deleted
                total -= freed
        if need_size or self.p.sweep_orphans:
            self.report.bytes_total = max(0, total)
        self.report.duration_s = time.perf_counter() - t0
        return self.report

    # -- steps ---------------------------------------------------------------

    def _measure_and_sweep(self) -> int:
        """One streaming walk of the blob tree: the total size, minus orphans
        deleted on the way (memory stays O(chunk) at millions of blobs)."""
        total = 0
        chunk: list[BlobInfo] = []
        for info in self.blobs.iter_blobs():
            total += info.size
            if self.p.sweep_orphans and info.mtime < self.grace_cutoff:
                chunk.append(info)
                if len(chunk) >= _KEY_CHUNK:
                    total -= self._sweep_orphans(chunk)
                    chunk = []
        if chunk:
            total -= self._sweep_orphans(chunk)
        return total

    def _sweep_orphans(self, candidates: list[BlobInfo]) -> int:
        """Delete the unreferenced blobs among ``candidates``; returns their bytes."""
        with self.db.connect() as conn:
            referenced = _referenced(conn, [b.key for b in candidates])
        freed = 0
        for b in candidates:
            if b.key in referenced or not self._old_enough(b.key):
                continue
            n = self.blobs.delete(b.key)
            if n:
                self.report.orphan_blobs_deleted += 1
                self.report.bytes_freed += n
            freed += b.size
        return freed

    def _old_enough(self, key: str) -> bool:
        """Re-read the mtime just before deleting: a put() that re-stored the
        same bytes a moment ago has refreshed it (see the module doc)."""
        try:
            return self.blobs.path(key).stat().st_mtime < self.grace_cutoff
        except FileNotFoundError:
            return False

    def _delete_batch(self, where: ColumnElement[bool], bytes_needed: int | None) -> tuple[int, int]:
        """Delete the oldest unprotected events matching ``where`` (at most one
        batch; with ``bytes_needed``, only as many as should free that much).
        Returns (events deleted, blob bytes that no longer count)."""
        cols = (EventRow.id, *_BLOB_COLUMNS)
        with self.db.connect() as conn:
            candidates = conn.execute(
                select(*cols)
                .where(where, ~protected())
                .order_by(EventRow.wall_time, EventRow.id)
                .limit(self.p.batch_size)
            ).all()
            if not candidates:
                return 0, 0
            if bytes_needed is not None:
                candidates = self._enough_for(candidates, bytes_needed)
            ids = [c[0] for c in candidates]
            # Re-check protection in the DELETE itself: a ticket may have been
            # opened since the SELECT.
            deleted = conn.execute(
                delete(EventRow).where(EventRow.id.in_(ids), ~protected()).returning(*cols)
            ).all()
        self.report.batches += 1
        keys = {k for row in deleted for k in row[1:] if k}
        return len(deleted), self._delete_unreferenced(keys)

    def _enough_for(self, candidates: Sequence[Any], bytes_needed: int) -> list[Any]:
        chosen, seen, estimate = [], set(), 0
        for row in candidates:
            chosen.append(row)
            for key in row[1:]:
                if key and key not in seen:
                    seen.add(key)
                    estimate += _size(self.blobs, key)
            if estimate >= bytes_needed:
                break
        return chosen

    def _delete_unreferenced(self, keys: set[str]) -> int:
        if not keys:
            return 0
        with self.db.connect() as conn:
            referenced = _referenced(conn, keys)
        gone = 0
        for key in sorted(keys - referenced):
            gone += _size(self.blobs, key)
            if not self._old_enough(key):
                if self.blobs.exists(key):
                    self.report.blobs_deferred += 1  # the orphan sweep of a later run takes it
                continue
            self.report.bytes_freed += self.blobs.delete(key)
            self.report.blobs_deleted += 1
        return gone


def _size(blobs: BlobStore, key: str) -> int:
    try:
        return blobs.path(key).stat().st_size
    except (FileNotFoundError, ValueError):
        return 0


def _referenced(conn: Connection, keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` that some event row or error-library entry still references."""
    keys = list(keys)
    found: set[str] = set()
    for i in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[i : i + _KEY_CHUNK]
        for col in _REFERENCING_COLUMNS:
            found.update(k for k in conn.scalars(select(col).where(col.in_(chunk)).distinct()) if k)
    return found


@dataclass
class RetentionScheduler:
    """Runs ``policy.apply`` now and then every ``interval_s`` on a daemon
    thread until :meth:`stop`. ``clock`` gives ``now`` for event age (inject a
    ``ManualClock`` in tests); a failing run is logged and retried next time."""

    policy: RetentionPolicy
    db: Database
    blobs: BlobStore
    interval_s: float = 600.0
    clock: Clock = field(default_factory=SystemClock)
    on_report: Callable[[RetentionReport], None] | None = None
    runs: int = 0
    failures: int = 0
    last_report: RetentionReport | None = None
    last_error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def run_once(self) -> RetentionReport:
        report = self.policy.apply(self.db, self.blobs, self.clock.now())
        self.last_report = report
        self.runs += 1
        if report.events_deleted or report.orphan_blobs_deleted:
            log.info(
                "retention: deleted %d events (%d by age, %d by size), %d blobs, %d bytes in %.2fs",
                report.events_deleted,
                report.events_deleted_by_age,
                report.events_deleted_by_size,
                report.blobs_deleted + report.orphan_blobs_deleted,
                report.bytes_freed,
                report.duration_s,
            )
        if self.on_report is not None:
            self.on_report(report)
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as err:  # keep the thread alive; next interval retries
                self.failures += 1
                self.last_error = str(err)
                log.exception("retention run failed; retrying in %.0fs", self.interval_s)
            self._stop.wait(self.interval_s)

    def start(self) -> RetentionScheduler:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sightline-retention", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the current run to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
