"""MQTT delivery against a real Mosquitto broker started by the fixture."""

from __future__ import annotations

import json
import queue
import time

import pytest

from sightline.api.context import AppContext
from sightline.core.clock import ManualClock
from sightline.delivery import Dispatcher, MqttPublisher, SubscriptionStore, enqueue_for_event
from sightline.delivery.dispatcher import DeliverySettings
from sightline.delivery.hooks import publish_camera_state, start_delivery
from sightline.delivery.mqtt import camera_state_topic, event_topic, parse_mqtt_url, validate_topic_prefix
from sightline.storage.types import from_unix
from tests.integration.delivery.helpers import T0, make_event
from tests.integration.delivery.servers import Listener, Mosquitto, wait_for


def test_topics_are_built_from_sanitised_ids() -> None:
    assert event_topic("cam1", "line.cross") == "sightline/events/cam1/line.cross"
    assert event_topic("a/b+#", "zone.enter", "site1/ev/") == "site1/ev/a_b__/zone.enter"
    assert camera_state_topic("cam 7") == "sightline/cameras/cam 7/state"
    assert parse_mqtt_url("mqtt://u:p%40ss@broker:1884").password == "p@ss"
    assert parse_mqtt_url("mqtts://broker").port == 8883
    for bad in ("http://x", "mqtt://", "mqtt://h/path"):
        with pytest.raises(ValueError):
            parse_mqtt_url(bad)
    for bad in ("", "a/#", "a/+/b", "/a", "a/"):
        with pytest.raises(ValueError):
            validate_topic_prefix(bad)


def test_mqtt_subscription_delivers_through_the_outbox_with_qos1(
    ctx: AppContext, clock: ManualClock, broker: Mosquitto, listeners: list[Listener]
) -> None:
    listener = Listener(broker, "site1/events/#")
    listeners.append(listener)
    store = SubscriptionStore(ctx.db)
    sub, secret = store.create(
        name="mqtt", kind="mqtt", url=broker.url, topic="site1/events", camera_ids=["gate-cam"],
        now=from_unix(T0 - 60),
    )  # fmt: skip
    assert secret is None  # MQTT relies on the broker's authentication, not a signature
    event = make_event(camera_id="gate-cam", type="zone.enter", zone_id="dock")
    other = make_event(camera_id="yard-cam")  # filtered out by camera
    for e in (event, other):
        ctx.events.add(e)
        enqueue_for_event(ctx.db, ctx.outbox, e, from_unix(T0))
    d = Dispatcher(ctx, clock)
    try:
        assert d.run_once(wait=True) == 1
        msg = listener.next()
    finally:
        d.stop()
    assert msg.topic == "site1/events/gate-cam/zone.enter" and msg.qos == 1 and not msg.retain
    body = json.loads(msg.payload)
    assert body["event"]["id"] == event.id and body["event"]["zone_id"] == "dock"
    assert body["delivery"]["idempotency_key"] == f"{event.id}:{sub.id}"
    [entry] = store.delivery_log(event.id)
    assert entry.status == "delivered" and entry.attempts == 1
    assert store.delivery_log(other.id) == []
    with pytest.raises(queue.Empty):
        listener.next(timeout=0.3)  # nothing else was published


def test_retained_camera_state_reaches_a_late_subscriber(
    broker: Mosquitto, listeners: list[Listener]
) -> None:
    pub = MqttPublisher(broker.url).start()
    try:
        assert pub.wait_connected(5)
        pub.publish_camera_state("cam1", "error", error="connection refused", fps=0.0, updated_at=T0)
        pub.publish_camera_state("cam1", "running", fps=9.5, updated_at=T0 + 5)  # latest wins
        pub.publish_camera_state("cam2", "stopped", updated_at=T0)
        late = Listener(broker, "sightline/cameras/+/state")  # subscribes after the fact
        listeners.append(late)
        got = {m.topic: m for m in (late.next(), late.next())}
    finally:
        pub.close()
    assert set(got) == {"sightline/cameras/cam1/state", "sightline/cameras/cam2/state"}
    assert all(m.retain for m in got.values())
    state = json.loads(got["sightline/cameras/cam1/state"].payload)
    assert state == {"camera_id": "cam1", "state": "running", "error": None, "fps": 9.5, "updated_at": T0 + 5}


def test_broker_restart_retries_delivery_and_restores_retained_state(
    ctx: AppContext, clock: ManualClock, broker: Mosquitto, listeners: list[Listener]
) -> None:
    sub, _ = SubscriptionStore(ctx.db).create(
        name="mqtt", kind="mqtt", url=broker.url, topic="sightline/events", now=from_unix(T0 - 60)
    )
    d = Dispatcher(ctx, clock, settings=DeliverySettings(timeout_s=2.0))
    pub = d.mqtt.get(broker.url)
    assert pub.wait_connected(5)
    pub.publish_camera_state("cam1", "running", fps=10.0, updated_at=T0)
    broker.stop()  # the broker goes away (and, without persistence, forgets retained state)
    assert wait_for(lambda: not pub.connected, 5)
    event = make_event()
    ctx.events.add(event)
    enqueue_for_event(ctx.db, ctx.outbox, event, from_unix(T0))
    try:
        t0 = time.monotonic()
        d.run_once(wait=True)
        assert time.monotonic() - t0 < 3  # fails fast, does not hang on a dead broker
        [entry] = SubscriptionStore(ctx.db).delivery_log(event.id)
        assert entry.status == "failed" and "not connected" in (entry.last_error or "")
        broker.start()
        assert pub.wait_connected(40), "publisher did not reconnect"
        listener = Listener(broker, "sightline/#")
        listeners.append(listener)
        republished = listener.next()  # republished on reconnect (live or from the store: a race)
        assert republished.topic == "sightline/cameras/cam1/state"
        late = Listener(broker, "sightline/cameras/#")  # now it must come from the broker's store
        listeners.append(late)
        retained = late.next()
        assert retained.topic == "sightline/cameras/cam1/state" and retained.retain
        clock.advance(60)
        d.run_once(wait=True)
        msg = listener.next()
    finally:
        d.stop()
    assert msg.topic == "sightline/events/cam1/line.cross"
    assert json.loads(msg.payload)["delivery"]["idempotency_key"] == f"{event.id}:{sub.id}"
    [entry] = SubscriptionStore(ctx.db).delivery_log(event.id)
    assert entry.status == "delivered" and entry.attempts == 2


def test_platform_hooks_publish_camera_state_on_the_configured_broker(
    ctx: AppContext, broker: Mosquitto, listeners: list[Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert publish_camera_state(ctx, "cam1", "running") is False  # no dispatcher, no broker: a no-op
    monkeypatch.setenv("SIGHTLINE_MQTT_URL", broker.url)
    dispatcher = start_delivery(ctx)
    try:
        assert dispatcher.settings.mqtt_url == broker.url
        assert dispatcher.mqtt.get(broker.url).wait_connected(5)
        assert publish_camera_state(ctx, "cam1", "error", error="connection refused", fps=0.0)
        late = Listener(broker, "sightline/cameras/#")
        listeners.append(late)
        msg = late.next()
    finally:
        dispatcher.stop()
    assert msg.retain and msg.topic == "sightline/cameras/cam1/state"
    assert json.loads(msg.payload)["error"] == "connection refused"
