"""Webhook delivery against a real HTTP receiver: signature, outcomes, back-off.

Scheduling time is a ManualClock moved by hand, so back-off of seconds or
minutes costs no sleeping; the network is real (127.0.0.1).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time

import pytest

from sightline.api.context import AppContext
from sightline.core.clock import ManualClock
from sightline.core.event import Event
from sightline.delivery import (
    DeliverySettings,
    Dispatcher,
    RetryPolicy,
    SubscriptionStore,
    build_body,
    enqueue_for_event,
    matches,
    sign,
    verify_signature,
)
from sightline.delivery.store import SubscriptionRecord
from sightline.storage.types import from_unix
from tests.integration.delivery.helpers import SECRET, T0, make_event
from tests.integration.delivery.servers import Receiver, ReceiverState, SilentServer, wait_for


def webhook(ctx: AppContext, url: str, secret: str = SECRET, **filters: list[str]) -> SubscriptionRecord:
    record, _ = SubscriptionStore(ctx.db).create(
        name="hook", kind="webhook", url=url, secret=secret, now=from_unix(T0 - 60), **filters
    )
    return record


def store_and_enqueue(ctx: AppContext, clock: ManualClock, n: int = 1, **kw: object) -> list[str]:
    ids = []
    for i in range(n):
        event = make_event(pts=float(i), **kw)  # type: ignore[arg-type]
        assert ctx.events.add(event)
        enqueue_for_event(ctx.db, ctx.outbox, event, from_unix(clock.now()))
        ids.append(event.id)
    return ids


def log_of(ctx: AppContext, event_id: str) -> list[dict[str, object]]:
    return [e.model_dump() for e in SubscriptionStore(ctx.db).delivery_log(event_id)]


# -- signature ------------------------------------------------------------------------


def test_signature_verifies_only_the_exact_body_secret_and_time() -> None:
    body = build_body(make_event(), delivery_id=1, key="k", attempt=1)
    now = int(time.time())
    header = sign(SECRET, body, now)
    # Pinned independently of the module: HMAC-SHA256(secret, f"{t}.{body}") in hex.
    expected = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}"
    assert verify_signature(SECRET, header, body)
    assert not verify_signature("whsec_other", header, body)
    assert not verify_signature(SECRET, header, body.replace(b'"cam1"', b'"cam2"'))
    assert not verify_signature(SECRET, sign(SECRET, body, now - 301), body)  # replayed later
    assert verify_signature(SECRET, sign(SECRET, body, now - 301), body, tolerance_s=600)
    assert not verify_signature(SECRET, None, body)
    assert not verify_signature(SECRET, "t=abc,v1=00", body)
    # During a secret rotation a receiver may get several v1 entries; any one may match.
    both = f"t={now},v1={'0' * 64},v1={sign(SECRET, body, now).split('v1=')[1]}"
    assert verify_signature(SECRET, both, body)


def test_retry_policy_is_exponential_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_s=2, cap_s=600, max_attempts=5, jitter=0.5)
    rng = random.Random(1)
    for attempt, full in [(1, 2), (2, 4), (3, 8), (9, 512), (10, 600), (30, 600)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays), attempt
        assert max(delays) - min(delays) > full / 4  # jittered, not lock-step
    now = from_unix(T0)
    assert policy.next_try(4, now) is not None
    assert policy.next_try(5, now) is None  # the 5th failure is the last


def test_matching_by_type_camera_zone_and_region() -> None:
    def sub(**kw: object) -> SubscriptionRecord:
        base: dict[str, object] = dict(
            id="s", name="s", kind="webhook", url="http://x", topic=None, has_secret=True, event_types=[],
            camera_ids=[], zone_ids=[], regions=[], enabled=True, created_at=from_unix(T0),
            updated_at=from_unix(T0),
        )  # fmt: skip
        base.update(kw)
        return SubscriptionRecord.model_validate(base)

    event = make_event(camera_id="cam1", type="zone.enter", zone_id="dock", line_id=None)
    assert matches(sub(), event)
    assert matches(sub(event_types=["zone.enter", "line.cross"]), event)
    assert not matches(sub(event_types=["line.cross"]), event)
    assert matches(sub(camera_ids=["cam1"]), event) and not matches(sub(camera_ids=["cam2"]), event)
    assert matches(sub(zone_ids=["dock"]), event) and not matches(sub(zone_ids=["gate"]), event)
    assert matches(sub(regions=["north"]), event, region="north")
    assert not matches(sub(regions=["north"]), event, region="south")
    assert not matches(sub(regions=["north"]), event)  # unknown region
    assert not matches(sub(enabled=False), event)
    assert not matches(sub(event_types=["zone.enter"], camera_ids=["cam2"]), event)  # all must match


def test_enqueue_only_for_matching_enabled_subscriptions_and_only_once(
    ctx: AppContext, clock: ManualClock
) -> None:
    store = SubscriptionStore(ctx.db)
    at = from_unix(T0 - 60)
    every, _ = store.create(name="all", kind="webhook", url="http://127.0.0.1:9/a", now=at)
    crossings, _ = store.create(name="x", kind="webhook", url="http://127.0.0.1:9/b",
                                event_types=["line.cross"], camera_ids=["cam1"], now=at)  # fmt: skip
    store.create(name="other cam", kind="webhook", url="http://127.0.0.1:9/c", camera_ids=["cam9"], now=at)
    store.create(name="off", kind="webhook", url="http://127.0.0.1:9/d", enabled=False, now=at)
    event = make_event()
    ctx.events.add(event)
    added = enqueue_for_event(ctx.db, ctx.outbox, event, from_unix(T0))
    assert sorted(added) == sorted([every.id, crossings.id])
    assert enqueue_for_event(ctx.db, ctx.outbox, event, from_unix(T0)) == []  # idempotent
    keys = sorted(e["idempotency_key"] for e in log_of(ctx, event.id))
    assert keys == sorted(f"{event.id}:{s}" for s in (every.id, crossings.id))


# -- delivery outcomes --------------------------------------------------------------------


def test_delivered_with_a_valid_signature_and_the_event_json(
    ctx: AppContext, clock: ManualClock, receiver: Receiver
) -> None:
    sub = webhook(ctx, receiver.url)
    [event_id] = store_and_enqueue(ctx, clock)
    d = Dispatcher(ctx, clock)
    try:
        assert d.run_once(wait=True) == 1
    finally:
        d.stop()
    key = f"{event_id}:{sub.id}"
    state = receiver.state
    assert state.rejected == 0 and state.raw == {key: 1}
    body = state.processed[key]
    stored = ctx.events.get(event_id)
    assert stored is not None
    assert body["event"] == stored.model_dump(mode="json", include=set(Event.model_fields))
    assert body["event"]["id"] == event_id and body["event"]["camera_id"] == "cam1"
    assert body["delivery"]["idempotency_key"] == key and body["delivery"]["attempt"] == 1
    headers = state.headers[0]
    assert headers["X-Sightline-Idempotency-Key"] == key
    assert headers["X-Sightline-Event-Type"] == "line.cross"
    assert headers["Content-Type"] == "application/json"
    [entry] = log_of(ctx, event_id)
    assert entry["status"] == "delivered" and entry["attempts"] == 1 and entry["response_code"] == 200
    assert entry["delivered_at"] == from_unix(T0) and entry["next_try_at"] is None
    assert d.run_once(wait=True) == 0  # nothing left


def test_wrong_secret_is_rejected_and_the_delivery_dead_without_retries(
    ctx: AppContext, clock: ManualClock, receiver: Receiver
) -> None:
    webhook(ctx, receiver.url, secret="whsec_not_what_the_receiver_has")
    [event_id] = store_and_enqueue(ctx, clock)
    d = Dispatcher(ctx, clock)
    try:
        d.run_once(wait=True)
        clock.advance(3600)
        assert d.run_once(wait=True) == 0  # dead rows are never retried
    finally:
        d.stop()
    assert receiver.state.rejected == 1 and not receiver.state.processed
    [entry] = log_of(ctx, event_id)
    assert entry["status"] == "dead" and entry["attempts"] == 1 and entry["response_code"] == 401
    assert "HTTP 401" in str(entry["last_error"]) and "rejected" in str(entry["last_error"])
    assert d.stats()["dead"] == 1


@pytest.mark.parametrize(
    ("status", "verdict"), [(500, "failed"), (503, "failed"), (408, "failed"), (429, "failed"),
                            (400, "dead"), (404, "dead"), (410, "dead"), (302, "dead")],
)  # fmt: skip
def test_status_codes_decide_retry_or_dead(
    ctx: AppContext, clock: ManualClock, receiver: Receiver, status: int, verdict: str
) -> None:
    webhook(ctx, receiver.url)
    receiver.state.script = [status]
    [event_id] = store_and_enqueue(ctx, clock)
    d = Dispatcher(ctx, clock)
    try:
        d.run_once(wait=True)
        [entry] = log_of(ctx, event_id)
        assert entry["status"] == verdict and entry["response_code"] == status
        clock.advance(10)
        d.run_once(wait=True)
    finally:
        d.stop()
    [entry] = log_of(ctx, event_id)
    assert entry["status"] == ("delivered" if verdict == "failed" else "dead")
    assert entry["attempts"] == (2 if verdict == "failed" else 1)


def test_receiver_down_retries_with_growing_back_off_then_delivers(
    ctx: AppContext, clock: ManualClock
) -> None:
    state = ReceiverState(SECRET)
    receiver = Receiver(state)  # not started: connection refused
    sub = webhook(ctx, receiver.url)
    [event_id] = store_and_enqueue(ctx, clock)
    d = Dispatcher(ctx, clock, settings=DeliverySettings(retry=RetryPolicy(base_s=2, cap_s=600, jitter=0.5)))
    waits = []
    try:
        for attempt in range(1, 5):
            assert d.run_once(wait=True) == 1
            [entry] = log_of(ctx, event_id)
            assert entry["status"] == "failed" and entry["attempts"] == attempt
            assert entry["response_code"] is None and "ConnectError" in str(entry["last_error"])
            wait = (entry["next_try_at"] - from_unix(clock.now())).total_seconds()  # type: ignore[operator]
            full = 2 * 2 ** (attempt - 1)
            assert full / 2 <= wait <= full, (attempt, wait)
            waits.append(wait)
            clock.advance(wait / 2)
            assert d.run_once(wait=True) == 0  # not due yet
            clock.advance(wait / 2 + 0.001)
        receiver.start()
        assert d.run_once(wait=True) == 1
    finally:
        d.stop()
        receiver.stop()
    [entry] = log_of(ctx, event_id)
    assert entry["status"] == "delivered" and entry["attempts"] == 5
    assert state.raw == {f"{event_id}:{sub.id}": 1}
    assert state.processed[f"{event_id}:{sub.id}"]["delivery"]["attempt"] == 5
    assert waits == sorted(waits)  # grows


def test_gives_up_after_max_attempts(ctx: AppContext, clock: ManualClock) -> None:
    webhook(ctx, Receiver(ReceiverState(SECRET)).url)  # never started
    [event_id] = store_and_enqueue(ctx, clock)
    d = Dispatcher(ctx, clock, settings=DeliverySettings(retry=RetryPolicy(max_attempts=3)))
    try:
        for _ in range(5):
            d.run_once(wait=True)
            clock.advance(3600)
    finally:
        d.stop()
    [entry] = log_of(ctx, event_id)
    assert entry["status"] == "dead" and entry["attempts"] == 3


def test_a_hung_receiver_does_not_block_others_and_stop_is_prompt(
    ctx: AppContext, receiver: Receiver
) -> None:
    silent = SilentServer()
    store = SubscriptionStore(ctx.db)
    at = from_unix(time.time() - 60)
    hung, _ = store.create(name="hung", kind="webhook", url=silent.url, secret=SECRET, now=at)
    good, _ = store.create(name="good", kind="webhook", url=receiver.url, secret=SECRET, now=at)
    ids = []
    for i in range(20):  # the hung subscriber's rows come first in the queue
        event = make_event(pts=float(i), wall_time=time.time())
        ctx.events.add(event)
        ids.append(event.id)
    for event_id in ids:
        ctx.outbox.enqueue(event_id, hung.id)
    for event_id in ids[:5]:
        ctx.outbox.enqueue(event_id, good.id)
    settings = DeliverySettings(concurrency=4, per_subscription=2, timeout_s=2.0, poll_interval_s=0.05)
    d = Dispatcher(ctx, settings=settings).start()
    try:
        t0 = time.monotonic()
        assert wait_for(lambda: len(receiver.state.processed) == 5, 5.0)
        assert time.monotonic() - t0 < 1.5  # well before even one hung request times out
        assert wait_for(lambda: d.stats()["in_flight"] == 2, 1.0)  # the hung one holds only its share
    finally:
        t_stop = time.monotonic()
        d.stop(timeout=1.0)
        stop_s = time.monotonic() - t_stop
        silent.close()
    assert stop_s < 1.5
    hung_log = [e for i in ids for e in log_of(ctx, i) if e["subscription_id"] == hung.id]
    assert len(hung_log) == 20 and all(e["status"] in ("pending", "failed") for e in hung_log)
