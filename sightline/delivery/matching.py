"""Which subscriptions want an event, and writing their outbox rows.

Why the outbox row is written by the *producer* (right after the event is
stored) and not by the dispatcher: the row is the durable promise to deliver.
Once it exists, a crash, a restart or a receiver that is down for an hour
loses nothing — the dispatcher works from the table, not from memory.

Transaction boundary and the crash window
-----------------------------------------
``EventStore.add`` and ``Outbox.enqueue`` each commit their own transaction
(neither takes a caller's connection), so the event and its outbox rows are
written one right after the other, not atomically. If the process dies in
between, the event is stored but has no outbox rows. At-least-once still
holds because :func:`enqueue_missing` — run by the dispatcher every time it
starts — re-matches events stored in the last ``window`` that have no
delivery row at all and enqueues them. Enqueueing is idempotent (the key
``"<event id>:<subscription id>"`` is unique), so re-running it, or calling
:func:`enqueue_for_event` twice for one event, never duplicates a delivery.
A subscription only receives events stored after it was created, so the
sweep never back-fills history into a new subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import exists, select

from sightline.core.event import Event
from sightline.delivery.store import SubscriptionRecord, SubscriptionStore
from sightline.storage.db import Database
from sightline.storage.models import Camera, Delivery, EventRow
from sightline.storage.outbox import Outbox, idempotency_key
from sightline.storage.types import utcnow

log = logging.getLogger(__name__)


class SubscriptionFilter(Protocol):
    """What :func:`matches` reads (a :class:`SubscriptionRecord` or the ORM row)."""

    event_types: list[str]
    camera_ids: list[str]
    zone_ids: list[str]
    regions: list[str]
    enabled: bool


def _get(event: Event | Mapping[str, Any], name: str) -> Any:
    return event.get(name) if isinstance(event, Mapping) else getattr(event, name)


def matches(
    subscription: SubscriptionFilter, event: Event | Mapping[str, Any], region: str | None = None
) -> bool:
    """Does ``subscription`` want ``event``? Every non-empty filter list must match.

    - ``event_types``: the event's type code;
    - ``camera_ids``: the event's camera;
    - ``zone_ids``: the event's zone *or* line id (where in the picture it happened);
    - ``regions``: the region of the event's camera (``region`` argument; an
      unknown region never matches a region filter).

    Disabled subscriptions match nothing.
    """
    if not subscription.enabled:
        return False
    if subscription.event_types and _get(event, "type") not in subscription.event_types:
        return False
    if subscription.camera_ids and _get(event, "camera_id") not in subscription.camera_ids:
        return False
    if subscription.zone_ids:
        places = {_get(event, "zone_id"), _get(event, "line_id")} - {None}
        if not places & set(subscription.zone_ids):
            return False
    return not subscription.regions or (region is not None and region in subscription.regions)


def camera_region(db: Database, camera_id: str) -> str | None:
    with db.session() as session:
        return session.scalar(select(Camera.region).where(Camera.id == camera_id))


def enqueue_for_event(
    db: Database,
    outbox: Outbox,
    event: Event | Mapping[str, Any],
    now: datetime | None = None,
    *,
    subscriptions: Sequence[SubscriptionRecord] | None = None,
    stored_at: datetime | None = None,
) -> list[str]:
    """Write an outbox row for every enabled subscription that matches ``event``.

    Call it right after ``EventStore.add`` returned. Returns the ids of the
    subscriptions a *new* row was written for (an existing key adds nothing).
    ``subscriptions`` may be passed to avoid re-reading them for every event;
    ``stored_at`` (when the event was stored; default ``now``) keeps events
    older than a subscription out of it.
    """
    at = now or utcnow()
    subs = SubscriptionStore(db).list(enabled_only=True) if subscriptions is None else subscriptions
    born = stored_at or at
    candidates = [s for s in subs if s.enabled and s.created_at <= born]
    if not candidates:
        return []
    region = None
    if any(s.regions for s in candidates):
        region = camera_region(db, str(_get(event, "camera_id")))
    event_id = str(_get(event, "id"))
    added: list[str] = []
    for sub in candidates:
        if matches(sub, event, region) and outbox.enqueue(
            event_id, sub.id, key=idempotency_key(event_id, sub.id), now=at
        ):
            added.append(sub.id)
    return added


def enqueue_for_events(
    db: Database, outbox: Outbox, events: Sequence[Event], now: datetime | None = None
) -> dict[str, list[str]]:
    """:func:`enqueue_for_event` for a batch of just-stored events: the
    subscriptions and camera regions are read once, and every outbox row is
    written in one multi-row INSERT. Returns event id -> subscription ids
    that got a new row (events with none are left out)."""
    at = now or utcnow()
    subs = [s for s in SubscriptionStore(db).list(enabled_only=True) if s.created_at <= at]
    if not subs or not events:
        return {}
    regions: dict[str, str | None] = {}
    if any(s.regions for s in subs):
        cameras = {e.camera_id for e in events}
        with db.session() as session:
            rows = session.execute(select(Camera.id, Camera.region).where(Camera.id.in_(cameras)))
            regions = {camera_id: region for camera_id, region in rows}
    pairs = [
        (event.id, sub.id)
        for event in events
        for sub in subs
        if matches(sub, event, regions.get(event.camera_id))
    ]
    new_keys = outbox.enqueue_many(pairs, now=at)
    added: dict[str, list[str]] = {}
    for event_id, sub_id in pairs:
        if idempotency_key(event_id, sub_id) in new_keys:
            added.setdefault(event_id, []).append(sub_id)
    return added


def enqueue_missing(
    db: Database,
    outbox: Outbox,
    *,
    window: timedelta,
    now: datetime | None = None,
    batch: int = 1000,
) -> int:
    """Close the crash window: enqueue events stored in the last ``window`` that
    have no delivery row at all. Returns how many rows were added.

    Events that legitimately match no subscription are re-checked (and stay
    without rows); that costs one match per event per start, nothing more.
    """
    at = now or utcnow()
    since = at - window
    subs = SubscriptionStore(db).list(enabled_only=True)
    if not subs:
        return 0
    added = 0
    last_id = ""
    no_delivery = ~exists().where(Delivery.event_id == EventRow.id)
    while True:
        stmt = (
            select(
                EventRow.id,
                EventRow.type,
                EventRow.camera_id,
                EventRow.zone_id,
                EventRow.line_id,
                EventRow.created_at,
            )
            .where(EventRow.created_at >= since, EventRow.id > last_id, no_delivery)
            .where(EventRow.outcome == "passed")  # blocked events (strategies) are never delivered
            .order_by(EventRow.id)
            .limit(batch)
        )
        with db.session() as session:
            rows = session.execute(stmt).all()
        for event_id, type_, camera_id, zone_id, line_id, created_at in rows:
            event = {
                "id": event_id,
                "type": type_,
                "camera_id": camera_id,
                "zone_id": zone_id,
                "line_id": line_id,
            }
            new = enqueue_for_event(db, outbox, event, at, subscriptions=subs, stored_at=created_at)
            added += len(new)
        if len(rows) < batch:
            break
        last_id = rows[-1][0]
    if added:
        log.warning("delivery: enqueued %d missing outbox row(s) for events stored before a crash", added)
    return added
