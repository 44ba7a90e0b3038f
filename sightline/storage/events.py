"""The event store: events with their evidence images, search, review, stats.

Why here and not in the API: the pipeline, the API, the dispatcher and the
back-tester all read and write events; one store keeps the mapping between the
core :class:`~sightline.core.event.Event` and the ``events`` table in one place,
and hands back the same model (plus review status and trace) that travels on
the bus and in webhook bodies, so the API can return it as is.

Design choices:

- ``add`` writes images to the blob store first, then inserts the row in one
  transaction with ``ON CONFLICT DO NOTHING`` on the event id: a retried add
  is a no-op, and if an image cannot be written the row is never inserted.
  If the insert fails after the images were written, the blobs are merely
  unreferenced; retention removes them after its grace period.
- Search pages with a **keyset cursor** on ``(wall_time, id)``: each page is
  an index range scan whose cost does not grow with depth, and rows inserted
  while someone pages (events arrive all the time) never shift a page, so
  nothing is shown twice or skipped. ``offset`` is still accepted for "jump to
  page N" in a UI; it costs O(offset) (see ``bench/events_search.py``).
- **Strategy outcome** (P2): every raw event is stored with what the strategy
  chain decided (``outcome``, ``blocked_by``, trace, strategy id + version).
  A blocked event keeps its row and crop only (no frame, no preview): enough
  to inspect and back-test it, cheap to keep. Every read — search, counts,
  exports, statistics, review queues — shows passed events unless the filter
  asks for ``outcome="blocked"`` or ``"all"``.
- Statistics by day use ``floor((wall_time + offset) / 86400)``: plain
  arithmetic that runs the same on SQLite and PostgreSQL and allows a
  time-zone offset (operators count days in local time).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from sightline.core.event import BoundingBox, Event, EventSnapshot
from sightline.storage.blobs import BlobStore, is_key
from sightline.storage.db import Database
from sightline.storage.models import EVENT_STATUSES, Camera, EventRow, Review
from sightline.storage.types import from_unix, utcnow

EventStatus = Literal["pending", "true", "false", "ignored"]
EventOutcome = Literal["passed", "blocked"]
OutcomeFilter = Literal["passed", "blocked", "all"]

#: Image kinds accepted by :meth:`EventStore.add`, with the column holding the key
#: (the same names as the fields of :class:`~sightline.core.event.EventSnapshot`).
IMAGE_COLUMNS = {"frame": "snapshot_blob", "crop": "crop_blob", "preview": "preview_blob"}
MAX_PAGE = 1000


class EventNotFound(LookupError):
    """No event with that id."""


class EventRecord(Event):
    """A stored event: the core model plus what the store adds. ``snapshot``
    fields hold blob keys (``<sha256>.<ext>``) for :class:`BlobStore`."""

    status: EventStatus = "pending"
    task_id: str | None = None
    trace: list[dict[str, Any]] = Field(default_factory=list)
    reviewed_at: datetime | None = None
    outcome: EventOutcome = "passed"
    blocked_by: str | None = None  # id of the element that blocked it
    strategy_id: str | None = None
    strategy_version: int | None = None


@dataclass(frozen=True)
class Decision:
    """What the strategy chain decided for one event, stored with its row (P2)."""

    outcome: EventOutcome = "passed"
    trace: Sequence[Mapping[str, Any] | BaseModel] = ()
    blocked_by: str | None = None
    strategy_id: str | None = None
    strategy_version: int | None = None


PASSED = Decision()


class EventFilter(BaseModel):
    """Which events; every given list is an ``IN``, empty lists mean "any".
    Times are UNIX seconds: ``time_from <= wall_time < time_to``."""

    model_config = ConfigDict(extra="forbid")

    camera_ids: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    statuses: list[EventStatus] = Field(default_factory=list)
    zone_ids: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="cameras.region")
    departments: list[str] = Field(default_factory=list, description="cameras.department")
    time_from: float | None = None
    time_to: float | None = None
    outcome: OutcomeFilter = Field(
        default="passed", description="strategy outcome: passed (what operators see), blocked, or all"
    )


class EventQuery(EventFilter):
    """A search: filter, order by ``wall_time`` (ties by id), one page.

    Page with ``cursor`` (the ``next_cursor`` of the previous page; constant
    cost at any depth) or with ``offset`` (random access; cost grows with it).
    """

    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = None
    offset: int | None = Field(default=None, ge=0)
    with_total: bool = True


class Page(BaseModel):
    items: list[EventRecord]
    total: int | None  # matching events over all pages (None when not asked for)
    next_cursor: str | None  # None on the last page


class ReviewRecord(BaseModel):
    id: int
    event_id: str
    status: EventStatus
    reviewer_id: str | None
    note: str
    created_at: datetime


class TypeDayCount(BaseModel):
    day: date
    type: str
    count: int


class CameraStats(BaseModel):
    camera_id: str
    total: int
    pending: int
    true: int
    false: int
    ignored: int


class _DayNumber(FunctionElement[int]):
    """Days since 1970-01-01 of ``wall_time + offset`` (floor), per dialect."""

    type = Integer()
    inherit_cache = True


@compiles(_DayNumber)
def _day_number_default(element: _DayNumber, compiler: Any, **kw: Any) -> str:
    (arg,) = list(element.clauses)
    return f"CAST(floor(({compiler.process(arg, **kw)}) / 86400.0) AS INTEGER)"


@compiles(_DayNumber, "sqlite")
def _day_number_sqlite(element: _DayNumber, compiler: Any, **kw: Any) -> str:
    # SQLite's floor() needs the optional math extension; CAST truncates toward
    # zero, which is floor for the positive times events have.
    (arg,) = list(element.clauses)
    return f"CAST(({compiler.process(arg, **kw)}) / 86400.0 AS INTEGER)"


def sniff_content_type(data: bytes) -> str:
    """Content type of an evidence image from its magic bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def _encode_cursor(wall_time: float, event_id: str, order: str) -> str:
    raw = json.dumps([wall_time, event_id, order], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, order: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        wall_time, event_id, cursor_order = json.loads(raw)
        wall_time = float(wall_time)
        if not isinstance(event_id, str):
            raise TypeError
    except (ValueError, TypeError, binascii.Error):
        raise ValueError("invalid cursor: pass the next_cursor of the previous page unchanged") from None
    if cursor_order != order:
        raise ValueError(f"cursor was made for order {cursor_order!r}, not {order!r}: keep the same order")
    return wall_time, event_id


def _jsonable(step: Any) -> dict[str, Any]:
    if isinstance(step, BaseModel):
        return step.model_dump(mode="json")
    return dict(step)


def _crop_only(event: Event, images: Mapping[str, bytes]) -> tuple[Event, dict[str, bytes]]:
    snapshot = EventSnapshot(crop=event.snapshot.crop)
    kept = {k: v for k, v in images.items() if k == "crop"}
    return event.model_copy(update={"snapshot": snapshot}), kept


def _review_record(r: Review) -> ReviewRecord:
    return ReviewRecord.model_validate(r, from_attributes=True)


class EventStore:
    """Events in ``db`` with their images in ``blobs``."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    # -- write ---------------------------------------------------------------

    def add(
        self,
        event: Event,
        images: Mapping[str, bytes] | None = None,
        *,
        task_id: str | None = None,
        trace: Sequence[Mapping[str, Any] | BaseModel] = (),
        decision: Decision | None = None,
    ) -> bool:
        """Store ``event`` with its ``images`` (``{"frame"|"crop"|"preview": bytes}``).

        Returns False if an event with this id was already stored (nothing is
        changed then). Raises ``OSError`` (:class:`BlobWriteError`) when an
        image cannot be written; the event is not stored then either.
        """
        if decision is None:
            return self.add_many([(event, images)], task_id=task_id, trace=trace) == 1
        return bool(self.add_decided([(event, images, decision)], task_id=task_id))

    def add_many(
        self,
        items: Iterable[tuple[Event, Mapping[str, bytes] | None]],
        *,
        task_id: str | None = None,
        trace: Sequence[Mapping[str, Any] | BaseModel] = (),
    ) -> int:
        """:meth:`add` for many events in one transaction; returns how many were new."""
        decision = Decision(trace=trace)
        return len(self.add_decided(((e, i, decision) for e, i in items), task_id=task_id))

    def add_decided(
        self,
        items: Iterable[tuple[Event, Mapping[str, bytes] | None, Decision]],
        *,
        task_id: str | None = None,
    ) -> set[str]:
        """Store events with the strategy decision of each, in one transaction;
        returns the ids that were new (a retried add is a no-op).

        A blocked event keeps its crop only: frame and preview images (bytes or
        keys) are dropped, so blocked noise costs one small JPEG and one row."""
        rows = []
        for event, images, decision in items:
            if decision.outcome == "blocked":
                event, images = _crop_only(event, images or {})
            keys = self._blob_keys(event, images or {})
            rows.append(self._row(event, keys, task_id, decision))
        return self._insert(rows) if rows else set()

    def _insert(self, rows: list[dict[str, Any]]) -> set[str]:
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        # INSERT ... ON CONFLICT DO NOTHING RETURNING id, executed for all rows
        # at once: SQLAlchemy's "insertmanyvalues" sends multi-row batches
        # (one round trip per 1,000 rows, under SQLite's parameter limit) from
        # one cached compiled statement, and RETURNING tells new rows from
        # duplicates. Building ``.values(rows)`` instead recompiles a
        # statement per batch, which cost more than the database work.
        stmt = dialect_insert(EventRow).on_conflict_do_nothing(index_elements=["id"]).returning(EventRow.id)
        with self.db.connect() as conn:
            return set(conn.execute(stmt, rows).scalars())

    def _blob_keys(self, event: Event, images: Mapping[str, bytes]) -> dict[str, str]:
        unknown = set(images) - set(IMAGE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown image kind(s) {sorted(unknown)}; use {sorted(IMAGE_COLUMNS)}")
        keys: dict[str, str] = {}
        for kind in IMAGE_COLUMNS:
            given = getattr(event.snapshot, kind)
            if kind not in images and given is not None:
                if not is_key(given):
                    raise ValueError(
                        f"event {event.id}: snapshot.{kind} is {given!r}, not a blob key; pass the "
                        f"image bytes as images={{'{kind}': ...}} so the store keeps them"
                    )
                keys[kind] = given
        for kind, data in images.items():  # validated first, written last
            keys[kind] = self.blobs.put(data, sniff_content_type(data))
        return keys

    @staticmethod
    def _row(
        event: Event, keys: Mapping[str, str], task_id: str | None, decision: Decision
    ) -> dict[str, Any]:
        dumped = event.model_dump(mode="json", include={"boxes", "attributes"})
        now = utcnow()
        return {
            "id": event.id,
            "type": event.type,
            "rule_id": event.rule_id,
            "camera_id": event.camera_id,
            "task_id": task_id,
            "pts": event.pts,
            "wall_time": event.wall_time,
            "occurred_at": from_unix(event.wall_time),
            "frame_seq": event.frame_seq,
            "track_id": event.track_id,
            "class_name": event.class_name,
            "confidence": event.confidence,
            "zone_id": event.zone_id,
            "line_id": event.line_id,
            "direction": event.direction,
            "boxes": dumped["boxes"],
            "attributes": dumped["attributes"],
            "trace": [_jsonable(s) for s in decision.trace],
            "status": "pending",
            "outcome": decision.outcome,
            "blocked_by": decision.blocked_by,
            "strategy_id": decision.strategy_id,
            "strategy_version": decision.strategy_version,
            "snapshot_blob": keys.get("frame"),
            "crop_blob": keys.get("crop"),
            "preview_blob": keys.get("preview"),
            "frame_width": event.frame_size[0] if event.frame_size else None,
            "frame_height": event.frame_size[1] if event.frame_size else None,
            "created_at": now,
            "reviewed_at": None,
        }

    # -- read ----------------------------------------------------------------

    def get(self, event_id: str) -> EventRecord | None:
        with self.db.session() as session:
            row = session.get(EventRow, event_id)
            return None if row is None else self._record(row)

    @staticmethod
    def _record(row: EventRow) -> EventRecord:
        # Rows were validated as Events on the way in; constructing without
        # re-validating keeps old evidence readable even if an event type is
        # later retired from the registry.
        frame_size = (
            (row.frame_width, row.frame_height)
            if row.frame_width is not None and row.frame_height is not None
            else None
        )
        return EventRecord.model_construct(
            id=row.id,
            type=row.type,
            rule_id=row.rule_id,
            camera_id=row.camera_id,
            pts=row.pts,
            wall_time=row.wall_time,
            frame_seq=row.frame_seq,
            track_id=row.track_id,
            class_name=row.class_name,
            confidence=row.confidence,
            boxes=[BoundingBox.model_validate(b) for b in row.boxes],
            zone_id=row.zone_id,
            line_id=row.line_id,
            direction=row.direction,
            attributes=dict(row.attributes),
            snapshot=EventSnapshot(frame=row.snapshot_blob, crop=row.crop_blob, preview=row.preview_blob),
            frame_size=frame_size,
            status=row.status,
            task_id=row.task_id,
            trace=list(row.trace),
            reviewed_at=row.reviewed_at,
            outcome=row.outcome,
            blocked_by=row.blocked_by,
            strategy_id=row.strategy_id,
            strategy_version=row.strategy_version,
        )

    @staticmethod
    def _conditions(f: EventFilter) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]] = []
        if f.camera_ids:
            c.append(EventRow.camera_id.in_(f.camera_ids))
        if f.types:
            c.append(EventRow.type.in_(f.types))
        if f.statuses:
            c.append(EventRow.status.in_(f.statuses))
        if f.zone_ids:
            c.append(EventRow.zone_id.in_(f.zone_ids))
        if f.regions:
            c.append(EventRow.camera_id.in_(select(Camera.id).where(Camera.region.in_(f.regions))))
        if f.departments:
            c.append(EventRow.camera_id.in_(select(Camera.id).where(Camera.department.in_(f.departments))))
        if f.time_from is not None:
            c.append(EventRow.wall_time >= f.time_from)
        if f.time_to is not None:
            c.append(EventRow.wall_time < f.time_to)
        if f.outcome != "all":
            c.append(EventRow.outcome == f.outcome)
        return c

    def search(self, q: EventQuery) -> Page:
        """One page of events matching ``q``, newest first unless ``order="asc"``."""
        if q.cursor is not None and q.offset is not None:
            raise ValueError("give either cursor or offset, not both")
        conditions = self._conditions(q)
        stmt = select(EventRow).where(*conditions)
        desc = q.order == "desc"
        if q.cursor is not None:
            wt, eid = _decode_cursor(q.cursor, q.order)
            # "(wall_time, id) after the cursor", written so both planners see a
            # plain range on wall_time they can scan in index order.
            if desc:
                stmt = stmt.where(EventRow.wall_time <= wt, or_(EventRow.wall_time < wt, EventRow.id < eid))
            else:
                stmt = stmt.where(EventRow.wall_time >= wt, or_(EventRow.wall_time > wt, EventRow.id > eid))
        if desc:
            stmt = stmt.order_by(EventRow.wall_time.desc(), EventRow.id.desc())
        else:
            stmt = stmt.order_by(EventRow.wall_time.asc(), EventRow.id.asc())
        stmt = stmt.limit(q.limit + 1)
        if q.offset:
            stmt = stmt.offset(q.offset)
        with self.db.session() as session:
            rows = list(session.scalars(stmt))
            total = None
            if q.with_total:
                total = session.scalar(select(func.count()).select_from(EventRow).where(*conditions))
            items = [self._record(r) for r in rows[: q.limit]]
        next_cursor = None
        if len(rows) > q.limit:
            last = items[-1]
            next_cursor = _encode_cursor(last.wall_time, last.id, q.order)
        return Page(items=items, total=total, next_cursor=next_cursor)

    def count(self, f: EventFilter | None = None) -> int:
        with self.db.session() as session:
            stmt = select(func.count()).select_from(EventRow).where(*self._conditions(f or EventFilter()))
            return int(session.scalar(stmt) or 0)

    # -- review --------------------------------------------------------------

    def set_status(
        self,
        event_id: str,
        status: EventStatus,
        *,
        reviewer_id: str | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> ReviewRecord:
        """Record a review decision and make it the event's status.

        ``"pending"`` claims an event for review (or reopens a decided one):
        the event is then *under review* and retention keeps it until a
        reviewer decides ``true``/``false``/``ignored``.
        """
        if status not in EVENT_STATUSES:
            raise ValueError(f"unknown review status {status!r}; use pending, true, false or ignored")
        at = now or utcnow()
        with self.db.session() as session:
            # Lock the event row (PostgreSQL; SQLite has one writer anyway) so
            # that concurrent reviews leave events.status = the latest review.
            found = session.scalar(select(EventRow.id).where(EventRow.id == event_id).with_for_update())
            if found is None:
                raise EventNotFound(f"no event {event_id!r}")
            review = Review(
                event_id=event_id, status=status, reviewer_id=reviewer_id, note=note, created_at=at
            )
            session.add(review)
            session.execute(
                update(EventRow).where(EventRow.id == event_id).values(status=status, reviewed_at=at)
            )
            session.flush()
            return _review_record(review)

    def reviews(self, event_id: str) -> list[ReviewRecord]:
        """The review history of an event, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(select(Review).where(Review.event_id == event_id).order_by(Review.id))
            return [_review_record(r) for r in rows]

    # -- statistics ----------------------------------------------------------

    def stats_by_type_day(
        self, f: EventFilter | None = None, *, tz_offset_minutes: int = 0
    ) -> list[TypeDayCount]:
        """Events per (day, type), days in UTC shifted by ``tz_offset_minutes``
        (480 for China Standard Time); sorted by day, then type."""
        day = _DayNumber(EventRow.wall_time + tz_offset_minutes * 60)
        stmt = (
            select(day.label("day"), EventRow.type, func.count().label("n"))
            .where(*self._conditions(f or EventFilter()))
            .group_by(day, EventRow.type)
            .order_by(day, EventRow.type)
        )
        epoch = date(1970, 1, 1)
        with self.db.session() as session:
            return [
                TypeDayCount(day=epoch + timedelta(days=int(d)), type=t, count=int(n))
                for d, t, n in session.execute(stmt)
            ]

    def stats_by_camera(self, f: EventFilter | None = None) -> list[CameraStats]:
        """Events per camera with the split by review status; most events first."""
        counts = {s: func.sum(case((EventRow.status == s, 1), else_=0)).label(s) for s in EVENT_STATUSES}
        total = func.count().label("total")
        stmt = (
            select(EventRow.camera_id, total, *counts.values())
            .where(*self._conditions(f or EventFilter()))
            .group_by(EventRow.camera_id)
            .order_by(total.desc(), EventRow.camera_id)
        )
        with self.db.session() as session:
            return [
                CameraStats(
                    camera_id=r.camera_id,
                    total=int(r.total),
                    **{s: int(getattr(r, s) or 0) for s in counts},
                )
                for r in session.execute(stmt)
            ]


def day_start(day: date, tz_offset_minutes: int = 0) -> float:
    """UNIX seconds at which ``day`` starts at the given UTC offset (for time ranges)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(minutes=tz_offset_minutes)
    return start.timestamp()


__all__ = [
    "CameraStats",
    "Decision",
    "EventFilter",
    "EventNotFound",
    "EventOutcome",
    "EventQuery",
    "EventRecord",
    "EventStatus",
    "EventStore",
    "Page",
    "ReviewRecord",
    "TypeDayCount",
    "day_start",
    "sniff_content_type",
]
