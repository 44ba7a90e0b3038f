"""The in-process event bus: fan-out of new events to live consumers.

Why this shape: the live feed (SSE) and any other in-process listener must
see new events at once, but a slow browser tab must never slow the pipeline
or grow memory. So ``publish`` never blocks and never allocates beyond a
fixed bound: every subscriber has its own bounded queue, and when it is full
the *oldest* event is dropped (a live view wants the newest) and counted, so
the consumer (and ``/metrics``) can tell it missed something.

Durable delivery is not the bus's job: webhooks and MQTT subscriptions go
through the persistent outbox (:mod:`sightline.delivery.dispatcher`). The bus
is at-most-once by design.

Thread-safe: the pipeline publishes from worker threads, the API consumes
from asyncio (``aget``) or threads (``get``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

EventDict = dict[str, Any]
DEFAULT_QUEUE_SIZE = 256


class BusSubscriber:
    """One consumer's bounded queue (drop-oldest). Get it from :meth:`EventBus.subscribe`."""

    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        accept: Callable[[EventDict], bool] | None,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self._bus = bus
        self.maxsize = maxsize
        self._accept = accept
        self._items: deque[EventDict] = deque()
        self._cond = threading.Condition()
        self._waker: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self.dropped = 0  # events dropped because this consumer was too slow
        self.received = 0  # events accepted into the queue
        self.closed = False

    # -- producer side (called by EventBus.publish) ---------------------------

    def _offer(self, event: EventDict) -> None:
        if self._accept is not None:
            try:
                if not self._accept(event):
                    return
            except Exception:  # a broken filter must not break publishing
                log.exception("bus subscriber filter failed; event skipped for this subscriber")
                return
        with self._cond:
            if self.closed:
                return
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
                self._bus._count_drop()
            self._items.append(event)
            self.received += 1
            self._cond.notify()
            waker = self._waker
        if waker is not None:
            loop, ev = waker
            with contextlib.suppress(RuntimeError):  # loop already closed: the consumer is gone
                loop.call_soon_threadsafe(ev.set)

    # -- consumer side ----------------------------------------------------------

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def get_nowait(self) -> EventDict | None:
        with self._cond:
            return self._items.popleft() if self._items else None

    def get(self, timeout: float | None = None) -> EventDict | None:
        """The next event, waiting up to ``timeout`` seconds; None on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self.closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._items.popleft()

    async def aget(self, timeout: float | None = None) -> EventDict | None:
        """:meth:`get` for asyncio code: never blocks the event loop."""
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._waker is None or self._waker[0] is not loop:
                self._waker = (loop, asyncio.Event())
            ev = self._waker[1]
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            ev.clear()  # clear before checking, so a put in between still wakes us
            item = self.get_nowait()
            if item is not None or self.closed:
                return item
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            try:
                await asyncio.wait_for(ev.wait(), remaining)
            except TimeoutError:
                return None

    def close(self) -> None:
        """Stop receiving; wakes any waiting ``get``. Idempotent."""
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._items.clear()
            self._cond.notify_all()
            waker = self._waker
        if waker is not None:
            with contextlib.suppress(RuntimeError):
                waker[0].call_soon_threadsafe(waker[1].set)
        self._bus._remove(self)

    def __enter__(self) -> BusSubscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """In-process publish/subscribe of event dicts (``Event.model_dump(mode="json")``).

    Implements the ``EventBus`` protocol of :mod:`sightline.api.context`.
    Memory is bounded by ``subscribers x queue size`` events.
    """

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE, max_subscribers: int = 1000) -> None:
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._lock = threading.Lock()
        self._subscribers: tuple[BusSubscriber, ...] = ()  # copy-on-write: publish reads without locking
        self.published = 0
        self.dropped = 0  # total over all subscribers, including closed ones

    def publish(self, event: EventDict) -> None:
        """Offer ``event`` to every subscriber; never blocks on a consumer."""
        with self._lock:
            self.published += 1
            subscribers = self._subscribers
        for sub in subscribers:
            sub._offer(event)

    def subscribe(
        self, accept: Callable[[EventDict], bool] | None = None, maxsize: int | None = None
    ) -> BusSubscriber:
        """A new consumer; ``accept`` filters events before they take queue space."""
        sub = BusSubscriber(self, maxsize or self.queue_size, accept)
        with self._lock:
            if len(self._subscribers) >= self.max_subscribers:
                raise RuntimeError(
                    f"too many live subscribers ({self.max_subscribers}); close idle live feeds"
                )
            self._subscribers = (*self._subscribers, sub)
        return sub

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def stats(self) -> dict[str, int]:
        """Counters for metrics: published, dropped, subscribers."""
        return {"published": self.published, "dropped": self.dropped, "subscribers": self.subscriber_count}

    def _count_drop(self) -> None:
        with self._lock:
            self.dropped += 1

    def _remove(self, sub: BusSubscriber) -> None:
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not sub)
