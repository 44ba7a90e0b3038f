"""The two calls the rest of the platform makes into delivery.

Why a module of its own: the service (pipeline workers, ``serve``) should not
need to know about outboxes, buses and dispatchers — it stores an event and
calls :func:`on_event_stored`; at start-up it calls :func:`start_delivery`
and at shutdown ``Dispatcher.stop()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime

from sightline.api.context import AppContext
from sightline.core.clock import Clock
from sightline.core.event import Event
from sightline.delivery.bus import EventBus
from sightline.delivery.dispatcher import DeliverySettings, Dispatcher
from sightline.delivery.matching import enqueue_for_event, enqueue_for_events
from sightline.delivery.webhook import event_json

log = logging.getLogger(__name__)

DISPATCHER_KEY = "dispatcher"  # ctx.extra[DISPATCHER_KEY]: the running Dispatcher
MQTT_URL_ENV = "SIGHTLINE_MQTT_URL"  # the server's broker, e.g. mqtt://127.0.0.1:1883


def start_delivery(
    ctx: AppContext, settings: DeliverySettings | None = None, clock: Clock | None = None
) -> Dispatcher:
    """Give ``ctx`` a bus (if it has none) and start a dispatcher on it.

    The dispatcher is kept in ``ctx.extra["dispatcher"]`` (the test route and
    :func:`on_event_stored` use it); stop it with ``.stop()`` at shutdown.
    Without ``settings``, the server's MQTT broker comes from ``$SIGHTLINE_MQTT_URL``."""
    if ctx.bus is None:
        ctx.bus = EventBus()
    if settings is None:
        settings = DeliverySettings(mqtt_url=os.environ.get(MQTT_URL_ENV) or None)
    dispatcher = Dispatcher(ctx, clock, settings=settings).start()
    ctx.extra[DISPATCHER_KEY] = dispatcher
    return dispatcher


def on_event_stored(ctx: AppContext, event: Event, *, now: datetime | None = None) -> list[str]:
    """Call right after ``ctx.events.add(event)`` returned True.

    Writes the outbox rows of every matching subscription, publishes the event
    on the live bus and wakes the dispatcher. Returns the subscription ids
    enqueued. The bus is best-effort; the outbox is the durable part."""
    added = enqueue_for_event(ctx.db, ctx.outbox, event, now)
    if ctx.bus is not None:
        try:
            ctx.bus.publish(event_json(event))
        except Exception:  # the live feed must never fail an event
            log.exception("publishing event %s on the live bus failed", event.id)
    dispatcher = ctx.extra.get(DISPATCHER_KEY)
    if added and isinstance(dispatcher, Dispatcher):
        dispatcher.wake()
    return added


def on_events_stored(ctx: AppContext, events: Sequence[Event], *, now: datetime | None = None) -> int:
    """:func:`on_event_stored` for a batch of just-stored (new, passed) events:
    one outbox INSERT for all of them, each published on the live bus, the
    dispatcher woken once. Returns the number of outbox rows written."""
    added = enqueue_for_events(ctx.db, ctx.outbox, events, now)
    if ctx.bus is not None:
        for event in events:
            try:
                ctx.bus.publish(event_json(event))
            except Exception:  # the live feed must never fail an event
                log.exception("publishing event %s on the live bus failed", event.id)
    dispatcher = ctx.extra.get(DISPATCHER_KEY)
    if added and isinstance(dispatcher, Dispatcher):
        dispatcher.wake()
    return sum(len(subs) for subs in added.values())


def publish_camera_state(
    ctx: AppContext,
    camera_id: str,
    state: str,
    *,
    error: str | None = None,
    fps: float | None = None,
    updated_at: float | None = None,
) -> bool:
    """Retain ``sightline/cameras/<camera>/state`` on the server's broker.

    Call it when a camera's state changes (and, say, every few seconds with
    its fps). Returns False when no broker is configured; never raises for a
    broker that is away (the latest state is published on reconnect)."""
    dispatcher = ctx.extra.get(DISPATCHER_KEY)
    if not isinstance(dispatcher, Dispatcher) or not dispatcher.settings.mqtt_url:
        return False
    publisher = dispatcher.mqtt.get(dispatcher.settings.mqtt_url)
    publisher.publish_camera_state(camera_id, state, error=error, fps=fps, updated_at=updated_at)
    return True
