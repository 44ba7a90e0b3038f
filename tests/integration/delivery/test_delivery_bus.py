"""The in-process bus: bounded per-subscriber queues, drop-oldest, counted drops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sightline.delivery.bus import EventBus


def ev(i: int, **kw: object) -> dict[str, object]:
    return {"id": f"e{i}", "seq": i, "type": "line.cross", "camera_id": "cam1", **kw}


def test_a_consumer_that_never_reads_keeps_only_the_newest_events() -> None:
    bus = EventBus(queue_size=10)
    idle = bus.subscribe()
    for i in range(100_000):
        bus.publish(ev(i))
    assert len(idle) == 10  # bounded: 10 events, not 100,000
    assert idle.dropped == 99_990 and bus.dropped == 99_990 and bus.published == 100_000
    assert [idle.get_nowait()["seq"] for _ in range(10)] == list(range(99_990, 100_000))  # type: ignore[index]
    assert idle.get_nowait() is None


def test_a_slow_consumer_loses_old_events_without_slowing_the_publisher_or_a_fast_one() -> None:
    bus = EventBus(queue_size=50)
    slow = bus.subscribe()
    fast = bus.subscribe(maxsize=100_000)
    n = 20_000
    got_slow: list[int] = []
    longest = 0
    done = threading.Event()

    def consume() -> None:
        nonlocal longest
        while not done.is_set() or len(slow):
            longest = max(longest, len(slow))
            item = slow.get(timeout=0.05)
            if item is not None:
                got_slow.append(int(item["seq"]))
                time.sleep(0.0005)  # a slow browser

    consumer = threading.Thread(target=consume)
    consumer.start()
    t0 = time.monotonic()
    for i in range(n):
        bus.publish(ev(i))
    publish_s = time.monotonic() - t0
    done.set()
    consumer.join(10)
    assert longest <= 50  # never more than its queue
    assert slow.dropped > 0 and len(got_slow) + slow.dropped == n
    assert got_slow == sorted(got_slow) and got_slow[-1] == n - 1  # in order, and it has the newest
    assert len(fast) == n and fast.dropped == 0  # the fast consumer lost nothing
    assert publish_s < 5.0  # the publisher never waited for the slow consumer


T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the session-wide Playwright browser
    of the e2e tests keeps an event loop running on the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_filters_close_and_async_get() -> None:
    bus = EventBus()
    cam2 = bus.subscribe(lambda e: e["camera_id"] == "cam2")
    bus.publish(ev(1))
    bus.publish(ev(2, camera_id="cam2"))
    assert cam2.get(timeout=0) == ev(2, camera_id="cam2") and cam2.get(timeout=0) is None

    async def wait_for_one() -> dict[str, object] | None:
        threading.Timer(0.05, bus.publish, args=(ev(3, camera_id="cam2"),)).start()
        return await cam2.aget(timeout=5)

    t0 = time.monotonic()
    assert run_async(wait_for_one()) == ev(3, camera_id="cam2")
    assert time.monotonic() - t0 < 2  # woken by the publish, not by the timeout
    assert run_async(cam2.aget(timeout=0.05)) is None
    assert bus.subscriber_count == 1
    cam2.close()
    assert bus.subscriber_count == 0 and cam2.get(timeout=1) is None
    bus.publish(ev(4, camera_id="cam2"))
    assert len(cam2) == 0
