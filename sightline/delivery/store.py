"""Subscriptions and the delivery log, on the ``subscriptions`` / ``deliveries`` tables.

Why a store of its own: the API, the dispatcher and the matcher all need
subscriptions as plain values (no ORM session leaking out), and the secret
must be handled in one place — generated here when absent, returned exactly
once by :meth:`SubscriptionStore.create` / :meth:`rotate_secret`, and never
part of :class:`SubscriptionRecord` (so no route can echo it by accident).
The dispatcher reads it with :meth:`SubscriptionStore.secrets_for`.
"""

from __future__ import annotations

import builtins
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import delete, select

from sightline.storage.db import Database
from sightline.storage.models import Delivery, Subscription
from sightline.storage.types import utcnow

SubscriptionKind = Literal["webhook", "mqtt"]
SECRET_PREFIX = "whsec_"
_MUTABLE = (
    "name",
    "url",
    "topic",
    "event_types",
    "camera_ids",
    "zone_ids",
    "regions",
    "enabled",
)


def new_secret() -> str:
    """A random signing secret (256 bits), recognisable by its prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class SubscriptionRecord(BaseModel):
    """A subscription as the platform shows it: everything but the secret."""

    id: str
    name: str
    kind: SubscriptionKind
    url: str | None
    topic: str | None
    has_secret: bool
    event_types: list[str]
    camera_ids: list[str]
    zone_ids: list[str]
    regions: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class DeliveryLogEntry(BaseModel):
    """One row of an event's delivery log (E4)."""

    id: int
    event_id: str
    subscription_id: str
    subscription_name: str
    kind: SubscriptionKind
    idempotency_key: str
    attempts: int
    status: Literal["pending", "delivered", "failed", "dead"]
    response_code: int | None
    last_error: str | None
    next_try_at: datetime | None  # None once delivered or dead
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


def _record(s: Subscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=s.id,
        name=s.name,
        kind=s.kind,  # type: ignore[arg-type]
        url=s.url,
        topic=s.topic,
        has_secret=bool(s.secret),
        event_types=list(s.event_types or []),
        camera_ids=list(s.camera_ids or []),
        zone_ids=list(s.zone_ids or []),
        regions=list(s.regions or []),
        enabled=s.enabled,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


class SubscriptionNotFound(LookupError):
    """No subscription with that id."""


class SubscriptionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        name: str,
        kind: SubscriptionKind,
        url: str | None = None,
        topic: str | None = None,
        secret: str | None = None,
        event_types: Iterable[str] = (),
        camera_ids: Iterable[str] = (),
        zone_ids: Iterable[str] = (),
        regions: Iterable[str] = (),
        enabled: bool = True,
        id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[SubscriptionRecord, str | None]:
        """Store a subscription; returns it and its secret (generated for webhooks when
        not given). This is the only time the secret is handed out."""
        at = now or utcnow()
        if kind == "webhook" and not secret:
            secret = new_secret()
        row = Subscription(
            id=id or uuid.uuid4().hex,
            name=name,
            kind=kind,
            url=url,
            topic=topic,
            secret=secret or None,
            event_types=list(event_types),
            camera_ids=list(camera_ids),
            zone_ids=list(zone_ids),
            regions=list(regions),
            enabled=enabled,
            created_at=at,
            updated_at=at,
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return _record(row), secret or None

    def get(self, subscription_id: str) -> SubscriptionRecord | None:
        with self.db.session() as session:
            row = session.get(Subscription, subscription_id)
            return None if row is None else _record(row)

    def list(self, *, enabled_only: bool = False) -> list[SubscriptionRecord]:
        stmt = select(Subscription).order_by(Subscription.created_at, Subscription.id)
        if enabled_only:
            stmt = stmt.where(Subscription.enabled.is_(True))
        with self.db.session() as session:
            return [_record(s) for s in session.scalars(stmt)]

    def get_many(self, ids: Iterable[str]) -> dict[str, SubscriptionRecord]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.db.session() as session:
            rows = session.scalars(select(Subscription).where(Subscription.id.in_(wanted)))
            return {r.id: _record(r) for r in rows}

    def with_secrets(self, ids: Iterable[str]) -> dict[str, tuple[SubscriptionRecord, str | None]]:
        """Subscriptions with their signing secrets, in one query (for the dispatcher only)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.db.session() as session:
            rows = session.scalars(select(Subscription).where(Subscription.id.in_(wanted)))
            return {r.id: (_record(r), r.secret) for r in rows}

    def secrets_for(self, ids: Iterable[str]) -> dict[str, str | None]:
        """Signing secrets, for the dispatcher only."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.db.session() as session:
            rows = session.execute(
                select(Subscription.id, Subscription.secret).where(Subscription.id.in_(wanted))
            )
            return {sid: sec for sid, sec in rows}

    def update(
        self, subscription_id: str, changes: dict[str, Any], *, now: datetime | None = None
    ) -> SubscriptionRecord:
        """Change the given fields (not the kind, not the secret: see :meth:`rotate_secret`)."""
        unknown = set(changes) - set(_MUTABLE)
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; changeable: {list(_MUTABLE)}")
        with self.db.session() as session:
            row = session.get(Subscription, subscription_id)
            if row is None:
                raise SubscriptionNotFound(subscription_id)
            for key, value in changes.items():
                setattr(row, key, list(value) if isinstance(value, list | tuple) else value)
            row.updated_at = now or utcnow()
            session.flush()
            return _record(row)

    def rotate_secret(self, subscription_id: str, secret: str | None = None) -> str:
        """Replace the secret; returns the new one (shown once)."""
        new = secret or new_secret()
        with self.db.session() as session:
            row = session.get(Subscription, subscription_id)
            if row is None:
                raise SubscriptionNotFound(subscription_id)
            row.secret = new
            row.updated_at = utcnow()
        return new

    def delete(self, subscription_id: str) -> bool:
        """Remove it; its pending deliveries go with it (ON DELETE CASCADE)."""
        with self.db.session() as session:
            result = session.execute(delete(Subscription).where(Subscription.id == subscription_id))
            return bool(getattr(result, "rowcount", 0))

    def delivery_log(self, event_id: str) -> builtins.list[DeliveryLogEntry]:
        """Every delivery of one event, with attempts, outcome and timestamps."""
        stmt = (
            select(Delivery, Subscription.name, Subscription.kind)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.event_id == event_id)
            .order_by(Delivery.id)
        )
        with self.db.session() as session:
            return [
                DeliveryLogEntry(
                    id=d.id,
                    event_id=d.event_id,
                    subscription_id=d.subscription_id,
                    subscription_name=name,
                    kind=kind,  # type: ignore[arg-type]
                    idempotency_key=d.idempotency_key,
                    attempts=d.attempt,
                    status=d.status,  # type: ignore[arg-type]
                    response_code=d.response_code,
                    last_error=d.last_error,
                    next_try_at=d.next_try_at if d.status in ("pending", "failed") else None,
                    created_at=d.created_at,
                    updated_at=d.updated_at,
                    delivered_at=d.delivered_at,
                )
                for d, name, kind in session.execute(stmt)
            ]
