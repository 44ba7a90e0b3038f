"""The delivery outbox (E4): one row per (event, subscription), at least once.

Why an outbox table: a webhook must survive a restart and a receiver that is
down for an hour. The row is written when the event is stored, and the
dispatcher (a later issue) works from the table, not from memory. This module
holds only the storage side: enqueue (idempotent by key), find due rows, and
record the outcome of an attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from sightline.storage.db import Database
from sightline.storage.models import Delivery
from sightline.storage.types import utcnow


class DeliveryRecord(BaseModel):
    id: int
    event_id: str
    subscription_id: str
    idempotency_key: str
    attempt: int
    status: str
    next_try_at: datetime
    last_error: str | None
    response_code: int | None
    delivered_at: datetime | None


def idempotency_key(event_id: str, subscription_id: str) -> str:
    """The default key: one delivery per event per subscription."""
    return f"{event_id}:{subscription_id}"


def _record(d: Delivery) -> DeliveryRecord:
    return DeliveryRecord.model_validate(d, from_attributes=True)


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(
        self, event_id: str, subscription_id: str, *, key: str | None = None, now: datetime | None = None
    ) -> bool:
        """Add a pending delivery; False (and nothing added) if ``key`` exists already."""
        at = now or utcnow()
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(Delivery)
            .values(
                event_id=event_id,
                subscription_id=subscription_id,
                idempotency_key=key or idempotency_key(event_id, subscription_id),
                attempt=0,
                status="pending",
                next_try_at=at,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Delivery.id)
        )
        with self.db.connect() as conn:
            return conn.execute(stmt).first() is not None

    def enqueue_many(self, pairs: Sequence[tuple[str, str]], *, now: datetime | None = None) -> set[str]:
        """:meth:`enqueue` for many (event id, subscription id) pairs with the
        default keys, in one transaction (multi-row INSERT); returns the keys
        that were new. The ingest path of a busy site writes hundreds of rows
        a second: one statement per batch instead of one per row."""
        if not pairs:
            return set()
        at = now or utcnow()
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        rows = [
            {
                "event_id": event_id,
                "subscription_id": subscription_id,
                "idempotency_key": idempotency_key(event_id, subscription_id),
                "attempt": 0,
                "status": "pending",
                "next_try_at": at,
                "created_at": at,
                "updated_at": at,
            }
            for event_id, subscription_id in pairs
        ]
        # One cached statement executed for all rows (SQLAlchemy batches them
        # into multi-row INSERTs), RETURNING the keys that were new.
        stmt = (
            insert(Delivery)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Delivery.idempotency_key)
        )
        with self.db.connect() as conn:
            return set(conn.execute(stmt, rows).scalars())

    def due(self, now: datetime, limit: int = 100) -> list[DeliveryRecord]:
        """Deliveries to try now (pending or failed, ``next_try_at <= now``), oldest first."""
        stmt = (
            select(Delivery)
            .where(Delivery.status.in_(("pending", "failed")), Delivery.next_try_at <= now)
            .order_by(Delivery.next_try_at, Delivery.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_record(d) for d in session.scalars(stmt)]

    def get(self, delivery_id: int) -> DeliveryRecord | None:
        with self.db.session() as session:
            d = session.get(Delivery, delivery_id)
            return None if d is None else _record(d)

    def mark_delivered(self, delivery_id: int, response_code: int, *, now: datetime | None = None) -> None:
        at = now or utcnow()
        with self.db.session() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(
                    status="delivered",
                    attempt=Delivery.attempt + 1,
                    response_code=response_code,
                    delivered_at=at,
                    last_error=None,
                    updated_at=at,
                )
            )

    def mark_failed(
        self,
        delivery_id: int,
        error: str,
        *,
        response_code: int | None = None,
        next_try_at: datetime | None,
        now: datetime | None = None,
    ) -> None:
        """Record a failed attempt; ``next_try_at=None`` gives up (status ``dead``)."""
        at = now or utcnow()
        values = {
            "status": "failed" if next_try_at is not None else "dead",
            "attempt": Delivery.attempt + 1,
            "last_error": error[:2000],
            "response_code": response_code,
            "updated_at": at,
        }
        if next_try_at is not None:
            values["next_try_at"] = next_try_at
        with self.db.session() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
