"""MQTT publishing (paho-mqtt 2.x): events and retained camera state.

Topics (every segment taken from an id has ``/ + #`` replaced by ``_`` so an
id can never add levels or wildcards):

- ``<prefix>/<camera>/<type>`` — one message per event, QoS 1, not retained.
  The default prefix is ``sightline/events``; an MQTT subscription's ``topic``
  is its own prefix. The payload is the same envelope as a webhook body
  (``{"event": ..., "delivery": {...}}``), so consumers de-duplicate QoS 1
  re-sends by ``delivery.idempotency_key``.
- ``sightline/cameras/<camera>/state`` — retained JSON
  ``{"camera_id", "state", "error", "fps", "updated_at"}``, so a dashboard
  that connects late sees every camera's current state at once.

Why a long-lived client with paho's own network thread: connecting per
message costs a TCP + MQTT handshake each time. ``connect_async`` +
``loop_start`` retry the first connection and reconnect with back-off
(1 s … 30 s) on their own; meanwhile :meth:`MqttPublisher.publish` fails fast
with :class:`MqttError`, so an MQTT subscription's outbox row is retried
later rather than piling up in paho's memory. After a reconnect the latest
state of every camera is published again (a broker restarted without
persistence would otherwise forget it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

EVENT_TOPIC_PREFIX = "sightline/events"
CAMERA_TOPIC_PREFIX = "sightline/cameras"
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


class MqttError(RuntimeError):
    """A publish did not reach the broker (not connected, or no PUBACK in time)."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:  # no credentials: safe for logs
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user:password@]host[:port]`` (or ``mqtts://`` for TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"not an MQTT broker URL: {url!r}; use mqtt://host:port or mqtts://host:port")
    if parts.path not in ("", "/"):
        raise ValueError(f"MQTT broker URL {parts.scheme}://{parts.hostname} must not have a path")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def topic_segment(value: str) -> str:
    """One topic level from an id: no level separators or wildcards, never empty."""
    cleaned = "".join("_" if c in "/+#\x00" else c for c in value)
    return cleaned or "_"


def event_topic(camera_id: str, event_type: str, prefix: str = EVENT_TOPIC_PREFIX) -> str:
    return f"{prefix.rstrip('/')}/{topic_segment(camera_id)}/{topic_segment(event_type)}"


def camera_state_topic(camera_id: str, prefix: str = CAMERA_TOPIC_PREFIX) -> str:
    return f"{prefix.rstrip('/')}/{topic_segment(camera_id)}/state"


def validate_topic_prefix(prefix: str) -> str:
    """A publish prefix: non-empty, no wildcards, no leading/trailing ``/``."""
    p = prefix.strip()
    if not p or "+" in p or "#" in p or "\x00" in p or p.startswith("/") or p.endswith("/"):
        raise ValueError(
            f"invalid MQTT topic prefix {prefix!r}: use levels like 'site1/events', "
            "no wildcards (+ #) and no leading or trailing '/'"
        )
    return p


class MqttPublisher:
    """One connection to one broker, shared by every thread that publishes."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        keepalive_s: int = 30,
        publish_timeout_s: float = 5.0,
        camera_topic_prefix: str = CAMERA_TOPIC_PREFIX,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.publish_timeout_s = publish_timeout_s
        self.camera_topic_prefix = camera_topic_prefix
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._camera_states: dict[str, bytes] = {}  # latest retained payload per camera
        self._started = False
        self._closed = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"sightline-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if self.address.username is not None:
            self.client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_queued_messages_set(10_000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._keepalive_s = keepalive_s

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> MqttPublisher:
        """Connect in the background (retrying until it works); returns at once."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        self.client.connect_async(self.address.host, self.address.port, keepalive=self._keepalive_s)
        self.client.loop_start()
        return self

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self._connected.clear()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the connection: %s", self.address, reason)
            return
        log.info("MQTT connected to %s", self.address)
        self._connected.set()
        with self._lock:
            states = list(self._camera_states.items())
        for camera_id, payload in states:  # a restarted broker may have lost retained state
            client.publish(camera_state_topic(camera_id, self.camera_topic_prefix), payload, 1, True)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._closed:
            log.warning("MQTT disconnected from %s (%s); reconnecting", self.address, reason)

    # -- publishing --------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, timeout: float | None = None
    ) -> None:
        """Publish and, for QoS 1, wait for the broker's PUBACK; raise :class:`MqttError` otherwise."""
        if not self._started:
            self.start()
        wait = self.publish_timeout_s if timeout is None else timeout
        if not self._connected.wait(min(wait, 2.0)):
            raise MqttError(f"not connected to MQTT broker {self.address}")
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise MqttError(f"publish to {self.address} failed: {mqtt.error_string(info.rc)}")
        if qos == 0:
            return
        deadline = time.monotonic() + wait
        try:
            info.wait_for_publish(wait)
        except (RuntimeError, ValueError) as err:
            raise MqttError(f"publish to {self.address} failed: {err}") from None
        if not info.is_published():
            left = deadline - time.monotonic()
            raise MqttError(f"no PUBACK from {self.address} within {wait:g} s (left {max(0.0, left):.1f} s)")

    def publish_event(
        self, event: dict[str, Any], *, prefix: str = EVENT_TOPIC_PREFIX, payload: bytes | None = None
    ) -> str:
        """Publish one event (QoS 1) to ``<prefix>/<camera>/<type>``; returns the topic.
        ``payload`` defaults to the event JSON itself."""
        topic = event_topic(str(event["camera_id"]), str(event["type"]), prefix)
        body = payload if payload is not None else json.dumps(event, separators=(",", ":")).encode()
        self.publish(topic, body, qos=1)
        return topic

    def publish_camera_state(
        self,
        camera_id: str,
        state: str,
        *,
        error: str | None = None,
        fps: float | None = None,
        updated_at: float | None = None,
    ) -> None:
        """Retain the camera's state. Never raises or waits for a broker that is
        away: the latest state is kept and published on (re)connect."""
        payload = json.dumps(
            {
                "camera_id": camera_id,
                "state": state,
                "error": error,
                "fps": fps,
                "updated_at": time.time() if updated_at is None else updated_at,
            },
            separators=(",", ":"),
        ).encode()
        with self._lock:
            self._camera_states[camera_id] = payload
        if not self._started:
            self.start()
        if not self.connected:  # do not block the caller; on_connect publishes it
            return
        try:
            self.publish(camera_state_topic(camera_id, self.camera_topic_prefix), payload, retain=True)
        except MqttError as err:
            log.info("camera state for %s not published yet (%s); will publish on reconnect", camera_id, err)


class MqttPool:
    """One started :class:`MqttPublisher` per broker URL, created on first use."""

    def __init__(self, publish_timeout_s: float = 5.0) -> None:
        self.publish_timeout_s = publish_timeout_s
        self._lock = threading.Lock()
        self._publishers: dict[str, MqttPublisher] = {}

    def get(self, url: str) -> MqttPublisher:
        with self._lock:
            pub = self._publishers.get(url)
            if pub is None:
                pub = MqttPublisher(url, publish_timeout_s=self.publish_timeout_s).start()
                self._publishers[url] = pub
            return pub

    def close(self) -> None:
        with self._lock:
            pubs, self._publishers = list(self._publishers.values()), {}
        for pub in pubs:
            pub.close()
