"""At-least-once across outages, restarts and crashes, exactly once per key at the receiver.

The issue's acceptance test: kill the webhook receiver for a while, restart
the service, and every event is delivered exactly once per idempotency key
after recovery. Here the service runs its real background dispatcher
(threads, real time, short back-off), and "restart" means a fresh
``AppContext`` on the same database file with a new dispatcher.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sightline.api.context import AppContext
from sightline.core.clock import ManualClock
from sightline.delivery import DeliverySettings, Dispatcher, RetryPolicy, SubscriptionStore, enqueue_for_event
from sightline.storage.types import from_unix, utcnow
from tests.integration.delivery.helpers import SECRET, make_event
from tests.integration.delivery.servers import Receiver, ReceiverState, wait_for

FAST = DeliverySettings(
    concurrency=8,
    timeout_s=2.0,
    poll_interval_s=0.02,
    pause_cap_s=0.05,
    retry=RetryPolicy(base_s=0.02, cap_s=0.1, max_attempts=10_000),
)


def statuses(ctx: AppContext, event_ids: list[str]) -> dict[str, int]:
    store = SubscriptionStore(ctx.db)
    counts: dict[str, int] = {}
    for event_id in event_ids:
        for entry in store.delivery_log(event_id):
            counts[entry.status] = counts.get(entry.status, 0) + 1
    return counts


def attempts(ctx: AppContext, event_ids: list[str]) -> list[int]:
    store = SubscriptionStore(ctx.db)
    return [e.attempts for i in event_ids for e in store.delivery_log(i)]


def test_receiver_outage_and_service_restart_deliver_every_key_exactly_once(
    make_ctx: Callable[[], AppContext],
) -> None:
    n_events = 40
    state = ReceiverState(SECRET)
    receiver = Receiver(state)  # killed (not listening) from the start of the outage
    ctx1 = make_ctx()
    store = SubscriptionStore(ctx1.db)
    created = from_unix(time.time() - 60)
    subs = [
        store.create(name=f"hook{i}", kind="webhook", url=receiver.url, secret=SECRET, now=created)[0]
        for i in range(2)
    ]
    event_ids = []
    for i in range(n_events):
        event = make_event(pts=float(i), wall_time=time.time(), camera_id=f"cam{i % 3}")
        assert ctx1.events.add(event)
        assert len(enqueue_for_event(ctx1.db, ctx1.outbox, event, utcnow())) == 2
        event_ids.append(event.id)
    expected = {f"{e}:{s.id}" for e in event_ids for s in subs}

    # The service runs while the receiver is dead: every delivery fails, some several times.
    d1 = Dispatcher(ctx1, settings=FAST).start()
    assert wait_for(lambda: min(attempts(ctx1, event_ids)) >= 2, 20.0), attempts(ctx1, event_ids)
    d1.stop()
    before = statuses(ctx1, event_ids)
    assert before == {"failed": 2 * n_events}, before
    assert not state.raw  # nothing reached the receiver

    # Restart: a fresh context on the same database, a new dispatcher; the receiver comes back.
    ctx2 = make_ctx()
    receiver.start()
    d2 = Dispatcher(ctx2, settings=FAST).start()
    try:
        assert wait_for(lambda: statuses(ctx2, event_ids) == {"delivered": 2 * n_events}, 20.0), statuses(
            ctx2, event_ids
        )
    finally:
        d2.stop()
        receiver.stop()

    assert set(state.processed) == expected
    assert state.conflicts == []  # a repeated key always carried the same event: deduping is safe
    assert all(state.raw[k] >= 1 for k in expected)
    assert sum(state.raw.values()) == len(expected)  # and no key was even sent twice
    assert state.rejected == 0
    for key, body in state.processed.items():
        event_id, _, sub_id = key.partition(":")
        assert body["event"]["id"] == event_id and body["delivery"]["idempotency_key"] == key
        assert body["delivery"]["attempt"] >= 3  # two or more failures came first


def test_a_crash_after_sending_resends_and_the_receiver_dedupes(
    make_ctx: Callable[[], AppContext], receiver: Receiver
) -> None:
    """The process dies after the receiver got the request but before the outcome
    was recorded: the row stays leased, and the next dispatcher sends it again
    when the lease runs out (at-least-once); the receiver acts on it once."""
    ctx1 = make_ctx()
    sub, _ = SubscriptionStore(ctx1.db).create(
        name="hook", kind="webhook", url=receiver.url, secret=SECRET, now=from_unix(time.time() - 60)
    )
    event_ids = []
    for i in range(10):
        event = make_event(pts=float(i), wall_time=time.time())
        ctx1.events.add(event)
        enqueue_for_event(ctx1.db, ctx1.outbox, event, utcnow())
        event_ids.append(event.id)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash: the process died before recording the outcome")

    lease = FAST.model_copy(update={"lease_s": 60.0, "concurrency": 10, "per_subscription": 10})
    clock = ManualClock(time.time())
    d1 = Dispatcher(ctx1, clock, settings=lease)
    d1._write_results = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="simulated crash"):
        d1.run_once(wait=True)
    assert wait_for(lambda: len(receiver.state.processed) == 10, 5.0)
    d1.stop()  # the process is gone; its outcomes were never written
    assert statuses(ctx1, event_ids) == {"pending": 10}  # leased, not lost

    ctx2 = make_ctx()
    d2 = Dispatcher(ctx2, clock, settings=lease)
    try:
        assert d2.run_once(wait=True) == 0  # still leased by the dead process
        clock.advance(59)
        assert d2.run_once(wait=True) == 0
        clock.advance(2)  # the lease has run out
        assert d2.run_once(wait=True) == 10
        assert statuses(ctx2, event_ids) == {"delivered": 10}
    finally:
        d2.stop()
    keys = {f"{e}:{sub.id}" for e in event_ids}
    assert set(receiver.state.processed) == keys
    assert all(receiver.state.raw[k] == 2 for k in keys)  # sent twice ...
    assert receiver.state.conflicts == []  # ... with the same body, so acting once is right


def test_events_stored_just_before_a_crash_are_enqueued_at_start(
    make_ctx: Callable[[], AppContext], receiver: Receiver
) -> None:
    """The crash window between ``EventStore.add`` and the outbox rows: the
    dispatcher's start-up sweep finds stored events without rows."""
    ctx1 = make_ctx()
    sub, _ = SubscriptionStore(ctx1.db).create(
        name="hook", kind="webhook", url=receiver.url, secret=SECRET, now=from_unix(time.time() - 60)
    )
    old = make_event(wall_time=time.time())
    ctx1.events.add(old)  # stored, then "crash" before enqueue_for_event
    ctx2 = make_ctx()
    d = Dispatcher(ctx2, settings=FAST).start()
    try:
        assert wait_for(lambda: len(receiver.state.processed) == 1, 10.0)
    finally:
        d.stop()
    assert set(receiver.state.processed) == {f"{old.id}:{sub.id}"}
    # A subscription created later does not get older events back-filled.
    late, _ = SubscriptionStore(ctx2.db).create(name="late", kind="webhook", url=receiver.url, secret=SECRET)
    other = make_event(wall_time=time.time())
    ctx2.events.add(other)
    d2 = Dispatcher(ctx2, settings=FAST)
    try:
        assert d2.recover() == 2  # `other`, for both subscriptions; `old` already had its row
    finally:
        d2.stop()
    entries = SubscriptionStore(ctx2.db).delivery_log(old.id)
    assert [e.subscription_id for e in entries] == [sub.id]
