"""Durable state of the strategy center: strategies with their versions, the
error library, and the effectiveness statistics over stored events (P1–P4).

Why the store takes specs as plain dicts: validation belongs to
:mod:`sightline.strategies.spec` (one place that knows the element types),
and storage must stay readable even when an element type is later retired.
The ``strategies`` row copies the fields used to list and bind a strategy
(name, cameras, event types, enabled, priority); ``strategy_versions`` holds
every chain ever saved, so the ``strategy_id``/``strategy_version`` an
event's trace names can be looked up later.

``enabled`` lives on the strategy, not in its versions: switching a strategy
off and on is not an edit of its chain and makes no new version.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, delete, func, select

from sightline.storage.db import Database
from sightline.storage.events import EventFilter, EventStore, _DayNumber
from sightline.storage.models import ErrorLibraryEntry, EventRow, Strategy, StrategyVersion
from sightline.storage.types import utcnow


class StrategyNotFound(LookupError):
    """No strategy with that id."""


class StrategyExists(ValueError):
    """A strategy with that id is already stored."""


class StrategyVersionRecord(BaseModel):
    version: int
    spec: dict[str, Any]
    author: str | None
    created_at: datetime


class StrategyRecord(BaseModel):
    id: str
    name: str
    cameras: list[str]
    event_types: list[str]
    enabled: bool
    priority: int
    current_version: int
    created_at: datetime
    updated_at: datetime
    spec: dict[str, Any]  # the current version's spec, with this row's enabled and version


class ErrorLibraryRecord(BaseModel):
    id: str
    camera_id: str
    event_type: str
    event_id: str | None
    fingerprint: str
    crop_blob: str | None
    note: str
    created_by: str | None
    created_at: datetime


class EffectivenessRow(BaseModel):
    """Raw events and what the strategies did with them, for one day, type and camera."""

    day: date
    type: str
    camera_id: str
    raw: int
    passed: int
    blocked: int


def _denormalised(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(spec.get("name") or spec["id"]),
        "cameras": list(spec.get("cameras") or []),
        "event_types": list(spec.get("event_types") or []),
        "enabled": bool(spec.get("enabled", True)),
        "priority": int(spec.get("priority") or 0),
    }


def _record(row: Strategy, spec: Mapping[str, Any]) -> StrategyRecord:
    return StrategyRecord(
        id=row.id,
        name=row.name,
        cameras=list(row.cameras),
        event_types=list(row.event_types),
        enabled=row.enabled,
        priority=row.priority,
        current_version=row.current_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        spec={**spec, "enabled": row.enabled, "version": row.current_version},
    )


class StrategyStore:
    """Strategies, their versions and the error library in ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- strategies ----------------------------------------------------------

    def list(self) -> list[StrategyRecord]:
        """Every strategy with its current spec, highest priority first, then by id."""
        stmt = (
            select(Strategy, StrategyVersion.spec)
            .join(
                StrategyVersion,
                (StrategyVersion.strategy_id == Strategy.id)
                & (StrategyVersion.version == Strategy.current_version),
            )
            .order_by(Strategy.priority.desc(), Strategy.id)
        )
        with self.db.session() as session:
            return [_record(row, spec) for row, spec in session.execute(stmt)]

    def get(self, strategy_id: str) -> StrategyRecord:
        with self.db.session() as session:
            row = session.get(Strategy, strategy_id)
            if row is None:
                raise StrategyNotFound(strategy_id)
            version = session.get(StrategyVersion, (strategy_id, row.current_version))
            return _record(row, version.spec if version else {})

    def versions(self, strategy_id: str) -> list[StrategyVersionRecord]:
        """Every saved version, newest first."""
        stmt = (
            select(StrategyVersion)
            .where(StrategyVersion.strategy_id == strategy_id)
            .order_by(StrategyVersion.version.desc())
        )
        with self.db.session() as session:
            return [
                StrategyVersionRecord.model_validate(v, from_attributes=True) for v in session.scalars(stmt)
            ]

    def create(self, spec: Mapping[str, Any], author: str | None = None) -> StrategyRecord:
        """Store a new strategy as version 1 (``spec`` is validated by the caller)."""
        strategy_id = str(spec["id"])
        body = {**spec, "version": 1}
        with self.db.session() as session:
            if session.get(Strategy, strategy_id) is not None:
                raise StrategyExists(strategy_id)
            row = Strategy(id=strategy_id, current_version=1, **_denormalised(body))
            session.add(row)
            session.flush()
            session.add(StrategyVersion(strategy_id=strategy_id, version=1, spec=body, author=author))
            session.flush()
            return _record(row, body)

    def update(self, strategy_id: str, spec: Mapping[str, Any], author: str | None = None) -> StrategyRecord:
        """Save ``spec`` as the next version and make it current."""
        with self.db.session() as session:
            row = session.get(Strategy, strategy_id, with_for_update=True)
            if row is None:
                raise StrategyNotFound(strategy_id)
            latest = session.scalar(
                select(func.max(StrategyVersion.version)).where(StrategyVersion.strategy_id == strategy_id)
            )
            version = int(latest or 0) + 1
            body = {**spec, "id": strategy_id, "version": version}
            session.add(StrategyVersion(strategy_id=strategy_id, version=version, spec=body, author=author))
            for key, value in _denormalised(body).items():
                setattr(row, key, value)
            row.current_version = version
            row.updated_at = utcnow()
            session.flush()
            return _record(row, body)

    def set_enabled(self, strategy_id: str, enabled: bool) -> StrategyRecord:
        with self.db.session() as session:
            row = session.get(Strategy, strategy_id)
            if row is None:
                raise StrategyNotFound(strategy_id)
            row.enabled = enabled
            row.updated_at = utcnow()
            session.flush()
        return self.get(strategy_id)

    def delete(self, strategy_id: str) -> None:
        """Delete a strategy and its versions. Stored events keep its id and
        version in their rows: evidence outlives the strategy that judged it."""
        with self.db.session() as session:
            row = session.get(Strategy, strategy_id)
            if row is None:
                raise StrategyNotFound(strategy_id)
            session.delete(row)

    def is_empty(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(Strategy)) == 0

    # -- error library -------------------------------------------------------

    def library(
        self, camera_id: str | None = None, event_type: str | None = None
    ) -> list[ErrorLibraryRecord]:
        """Error-library entries, newest first, optionally of one camera / type."""
        stmt = select(ErrorLibraryEntry).order_by(ErrorLibraryEntry.created_at.desc(), ErrorLibraryEntry.id)
        if camera_id is not None:
            stmt = stmt.where(ErrorLibraryEntry.camera_id == camera_id)
        if event_type is not None:
            stmt = stmt.where(ErrorLibraryEntry.event_type == event_type)
        with self.db.session() as session:
            return [ErrorLibraryRecord.model_validate(e, from_attributes=True) for e in session.scalars(stmt)]

    def library_entry(self, entry_id: str) -> ErrorLibraryRecord | None:
        with self.db.session() as session:
            row = session.get(ErrorLibraryEntry, entry_id)
            return None if row is None else ErrorLibraryRecord.model_validate(row, from_attributes=True)

    def add_library_entry(
        self,
        *,
        camera_id: str,
        event_type: str,
        fingerprint: str,
        event_id: str | None = None,
        crop_blob: str | None = None,
        note: str = "",
        created_by: str | None = None,
    ) -> ErrorLibraryRecord:
        row = ErrorLibraryEntry(
            id=uuid.uuid4().hex,
            camera_id=camera_id,
            event_type=event_type,
            event_id=event_id,
            fingerprint=fingerprint,
            crop_blob=crop_blob,
            note=note,
            created_by=created_by,
            created_at=utcnow(),
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return ErrorLibraryRecord.model_validate(row, from_attributes=True)

    def remove_library_entry(self, entry_id: str) -> bool:
        """Delete an entry; its crop blob becomes unreferenced and retention removes it."""
        with self.db.session() as session:
            return bool(
                session.execute(delete(ErrorLibraryEntry).where(ErrorLibraryEntry.id == entry_id)).rowcount
            )

    # -- effectiveness (P4) --------------------------------------------------

    def effectiveness(self, f: EventFilter, *, tz_offset_minutes: int = 0) -> list[EffectivenessRow]:
        """Raw / passed / blocked events per (day, type, camera), days in UTC
        shifted by ``tz_offset_minutes``; ``f.outcome`` is ignored (raw = all).

        Served by ``ix_events_wall_time_type_camera_id_outcome`` for a time range."""
        conditions = EventStore._conditions(f.model_copy(update={"outcome": "all"}))  # noqa: SLF001
        day = _DayNumber(EventRow.wall_time + tz_offset_minutes * 60)
        blocked = func.sum(case((EventRow.outcome == "blocked", 1), else_=0))
        stmt = (
            select(day.label("day"), EventRow.type, EventRow.camera_id, func.count(), blocked)
            .where(*conditions)
            .group_by(day, EventRow.type, EventRow.camera_id)
            .order_by(day, EventRow.type, EventRow.camera_id)
        )
        epoch = date(1970, 1, 1)
        with self.db.session() as session:
            return [
                EffectivenessRow(
                    day=epoch + timedelta(days=int(d)),
                    type=t,
                    camera_id=c,
                    raw=int(n),
                    passed=int(n) - int(b or 0),
                    blocked=int(b or 0),
                )
                for d, t, c, n, b in session.execute(stmt)
            ]


__all__ = [
    "EffectivenessRow",
    "ErrorLibraryRecord",
    "StrategyExists",
    "StrategyNotFound",
    "StrategyRecord",
    "StrategyStore",
    "StrategyVersionRecord",
]
