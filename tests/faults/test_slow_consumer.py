"""A slow live consumer never grows memory without bound.

Two consumers that fall behind while 100,000 events (~1 KB each, ~100 MB if
anything kept them all) are published: a bus subscriber that never reads,
and a real SSE client over HTTP (uvicorn on 127.0.0.1) that reads a few
bytes now and then. The process RSS is measured from /proc before and after;
each subscriber's queue stays at its bound and the drops are counted and
told to the SSE client.
"""

from __future__ import annotations

import gc
import socket
import time
from collections.abc import Callable

from fastapi import FastAPI

from sightline.api.context import AppContext
from sightline.delivery.bus import EventBus
from tests.faults.conftest import rss_bytes
from tests.integration.delivery.conftest import _authenticate
from tests.integration.delivery.servers import LiveServer
from tests.polling import wait_for

N_EVENTS = 100_000
PAYLOAD = "x" * 1000
RSS_BOUND = 40 * 1024 * 1024


def _event(i: int) -> dict[str, object]:
    return {"id": f"ev-{i:07d}", "type": "line.cross", "camera_id": "cam1", "note": PAYLOAD + str(i)}


def _told_dropped(chunks: list[bytes]) -> bool:
    return b"event: dropped" in b"".join(chunks)


def test_slow_consumers_keep_memory_bounded(tmp_path: object, measure: Callable[..., None]) -> None:
    from sightline.api.routers import live

    bus = EventBus(queue_size=256)
    ctx = AppContext.__new__(AppContext)  # only .bus and .extra are used by the live route
    ctx.bus, ctx.extra = bus, {"live_heartbeat_s": 1.0}
    app = FastAPI()
    app.state.ctx = ctx
    app.state.authenticate = _authenticate
    app.include_router(live.router)
    server = LiveServer(app).start()
    never_reads = bus.subscribe()
    received: list[bytes] = []
    sse = socket.create_connection(("127.0.0.1", server.port))
    sse.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sse.sendall(b"GET /api/live/events HTTP/1.1\r\nHost: x\r\nX-Test-Role: viewer\r\n\r\n")
        assert wait_for(lambda: bus.subscriber_count == 2, 5)
        for i in range(2_000):  # warm-up: allocator pools, first queue fills
            bus.publish(_event(i))
        gc.collect()
        before = rss_bytes()
        started = time.monotonic()
        for i in range(2_000, N_EVENTS):
            bus.publish(_event(i))
            if i % 5_000 == 0:
                received.append(sse.recv(512))  # the slow reader takes a sip
        publish_s = time.monotonic() - started
        gc.collect()
        after = rss_bytes()
        sse.settimeout(5)
        deadline = time.monotonic() + 10
        while not _told_dropped(received) and time.monotonic() < deadline:
            received.append(sse.recv(65536))
    finally:
        sse.close()
        never_reads.close()
        server.stop()

    growth = after - before
    measure(
        "rss_growth_mib", growth / 2**20, f"over {N_EVENTS} events of ~1 KB (bound {RSS_BOUND // 2**20} MiB)"
    )
    measure("publish_rate_per_s", round(N_EVENTS / publish_s))
    measure("bus_dropped", bus.dropped)
    assert growth < RSS_BOUND, f"RSS grew by {growth / 2**20:.0f} MiB with slow consumers"
    assert len(never_reads) == 0  # closed; while open it held at most its bound:
    assert never_reads.dropped >= N_EVENTS - never_reads.maxsize
    assert bus.dropped >= never_reads.dropped + 1  # the SSE client dropped events too
    assert _told_dropped(received), "the slow SSE client was never told it missed events"
