"""Event delivery (E4): subscriptions, the webhook/MQTT dispatcher over the
persistent outbox, and the in-process bus behind the live feed.

    dispatcher = start_delivery(ctx)         # at start-up (serve)
    ctx.events.add(event); on_event_stored(ctx, event)   # after each stored event
    dispatcher.stop()                        # at shutdown

See ``docs/delivery.md`` for the webhook format, signatures, retries and topics.
"""

from sightline.delivery.bus import BusSubscriber, EventBus
from sightline.delivery.dispatcher import DeliverySettings, Dispatcher, TestDelivery, send_test_event
from sightline.delivery.hooks import on_event_stored, publish_camera_state, start_delivery
from sightline.delivery.matching import enqueue_for_event, enqueue_missing, matches
from sightline.delivery.mqtt import MqttError, MqttPool, MqttPublisher, camera_state_topic, event_topic
from sightline.delivery.store import (
    DeliveryLogEntry,
    SubscriptionNotFound,
    SubscriptionRecord,
    SubscriptionStore,
)
from sightline.delivery.webhook import (
    SIGNATURE_HEADER,
    RetryPolicy,
    WebhookSender,
    build_body,
    sign,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "BusSubscriber",
    "DeliveryLogEntry",
    "DeliverySettings",
    "Dispatcher",
    "EventBus",
    "MqttError",
    "MqttPool",
    "MqttPublisher",
    "RetryPolicy",
    "SubscriptionNotFound",
    "SubscriptionRecord",
    "SubscriptionStore",
    "TestDelivery",
    "WebhookSender",
    "build_body",
    "camera_state_topic",
    "enqueue_for_event",
    "enqueue_missing",
    "event_topic",
    "matches",
    "on_event_stored",
    "publish_camera_state",
    "send_test_event",
    "sign",
    "start_delivery",
    "verify_signature",
]
