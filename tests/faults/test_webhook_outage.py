"""The webhook receiver is away for minutes, then comes back flapping.

``tests/integration/delivery`` already proves the mechanics with a scaled
back-off (seconds) and a service restart in the middle. This test adds the
long outage with the *production* retry policy (2 s, 4 s, 8 s … capped at
10 min) and events that keep arriving through the same path as the analysis
tasks (``TaskManager._store`` → event store → outbox) while the receiver is
down. Scheduling time is a ManualClock moved in 5 s steps, so eight minutes
of outage cost about a second; every request crosses a real socket to a real
HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sightline.api.context import AppContext
from sightline.core.clock import ManualClock
from sightline.delivery import Dispatcher, SubscriptionStore, on_event_stored
from sightline.service.tasks import TaskManager
from sightline.storage.types import from_unix
from tests.integration.delivery.helpers import SECRET, make_event
from tests.integration.delivery.servers import Receiver, ReceiverState

STEP_S = 5.0
OUTAGE_S = 8 * 60.0
EVENT_EVERY_S = 10.0


def _all_delivered(ctx: AppContext, event_ids: list[str], n_subs: int) -> bool:
    store = SubscriptionStore(ctx.db)
    entries = [e for i in event_ids for e in store.delivery_log(i)]
    return len(entries) == n_subs * len(event_ids) and all(e.status == "delivered" for e in entries)


def test_receiver_away_for_minutes_then_flapping_gets_every_event_once(
    tmp_path: Path, measure: Callable[..., None]
) -> None:
    ctx = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'sightline.db'}")
    ctx.blobs.fsync = False
    clock = ManualClock(time.time())
    state = ReceiverState(SECRET)
    receiver = Receiver(state)  # not listening: connection refused
    store = SubscriptionStore(ctx.db)
    subs = [
        store.create(
            name=f"hook{i}", kind="webhook", url=receiver.url, secret=SECRET, now=from_unix(clock.now() - 60)
        )[0]
        for i in range(2)
    ]
    manager = TaskManager(ctx)
    manager.after_store.append(lambda e: on_event_stored(ctx, e, now=from_unix(clock.now())))
    dispatcher = Dispatcher(ctx, clock)  # production DeliverySettings and RetryPolicy
    event_ids: list[str] = []
    try:
        # The outage: events arrive every 10 s; every delivery attempt is refused.
        elapsed = 0.0
        while elapsed < OUTAGE_S:
            if elapsed % EVENT_EVERY_S == 0:
                event = make_event(pts=elapsed, wall_time=clock.now(), camera_id=f"cam{len(event_ids) % 3}")
                manager._store("t-hook", [(event, {})])
                event_ids.append(event.id)
            dispatcher.run_once(wait=True)
            clock.advance(STEP_S)
            elapsed += STEP_S
        assert not state.raw, "nothing can have reached a receiver that was not listening"
        failed = dispatcher.counters["retried"]
        # Back, but flapping: its first answers are 503, 500 and 429 before it settles.
        state.script = [503, 500, 429, 503]
        receiver.start()
        back_at = clock.now()
        deadline = back_at + 30 * 60
        while not _all_delivered(ctx, event_ids, len(subs)) and clock.now() < deadline:
            dispatcher.run_once(wait=True)
            clock.advance(STEP_S)
        recovered_s = clock.now() - back_at
    finally:
        dispatcher.stop()
        receiver.stop()
        ctx.db.dispose()

    expected = {f"{e}:{s.id}" for e in event_ids for s in subs}
    measure("events_during_outage", len(event_ids))
    measure("failed_attempts_during_outage", failed)
    measure("all_delivered_after_return_s", recovered_s, "(scheduled time, production back-off)")
    assert len(event_ids) == OUTAGE_S / EVENT_EVERY_S
    assert failed >= len(expected), "each delivery should have been tried (and refused) during the outage"
    assert set(state.processed) == expected, "some deliveries never arrived"
    assert state.conflicts == []  # every repeat of a key carried the same event
    # None sent twice: the only repeats are the four keys the flapping receiver refused.
    assert sum(state.raw.values()) == len(expected) + 4
    assert state.rejected == 0
    # The production cap is 10 min, and the last retries were scheduled before the
    # receiver returned: everything lands within one capped back-off of its return.
    assert recovered_s <= 10 * 60 + STEP_S
