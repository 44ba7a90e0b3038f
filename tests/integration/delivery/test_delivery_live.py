"""The live feed: Server-Sent Events over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.delivery.bus import EventBus
from sightline.delivery.webhook import event_json
from tests.integration.delivery.conftest import role
from tests.integration.delivery.helpers import make_event
from tests.integration.delivery.servers import LiveServer, wait_for


@pytest.fixture
def server(app: FastAPI, ctx: AppContext) -> Iterator[LiveServer]:
    ctx.extra["live_heartbeat_s"] = 0.3
    s = LiveServer(app).start()
    yield s
    s.stop()


def read_sse(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse an SSE line stream into messages ({"event", "data", "id"} or {"comment"})."""
    message: dict[str, str] = {}
    for line in lines:
        if line == "":
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            message[name] = value.removeprefix(" ")


def bus_of(ctx: AppContext) -> EventBus:
    assert isinstance(ctx.bus, EventBus)
    return ctx.bus


def test_streams_published_events_matching_the_filter_with_heartbeats(
    server: LiveServer, ctx: AppContext
) -> None:
    bus = bus_of(ctx)
    wanted = make_event(camera_id="cam1", type="zone.enter", zone_id="dock")
    url = f"{server.base_url}/api/live/events?type=zone.enter&type=line.cross&camera_id=cam1"
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", url, headers=role("viewer")) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = read_sse(response.iter_lines())
        assert next(messages) == {"retry": "3000"}
        assert next(messages) == {"comment": "connected"}
        assert wait_for(lambda: bus.subscriber_count == 1, 5)
        bus.publish(event_json(make_event(camera_id="cam2", type="zone.enter")))  # other camera
        bus.publish(event_json(make_event(camera_id="cam1", type="zone.leave")))  # other type
        bus.publish(event_json(wanted))
        got = next(messages)
        assert got["event"] == "event" and got["id"] == wanted.id
        assert json.loads(got["data"]) == wanted.model_dump(mode="json")
        assert next(messages) == {"comment": "heartbeat"}  # nothing else matched; 0.3 s later
    # The client went away: the server notices and releases the queue.
    assert wait_for(lambda: bus.subscriber_count == 0, 5), "subscriber not released after disconnect"


def test_a_slow_client_is_told_how_many_events_it_missed(server: LiveServer, ctx: AppContext) -> None:
    bus = bus_of(ctx)
    bus.queue_size = 5
    n = 2000
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", f"{server.base_url}/api/live/events", headers=role("viewer")) as response,
    ):
        messages = read_sse(response.iter_lines())
        assert next(messages) == {"retry": "3000"}
        assert next(messages) == {"comment": "connected"}
        assert wait_for(lambda: bus.subscriber_count == 1, 5)
        for i in range(n):  # far faster than one client can be sent them
            bus.publish(event_json(make_event(pts=float(i))))
        received, dropped = [], 0
        deadline = time.monotonic() + 10
        while len(received) + dropped < n and time.monotonic() < deadline:
            m = next(messages)
            if m.get("event") == "dropped":
                dropped += json.loads(m["data"])["dropped"]
            elif m.get("event") == "event":
                received.append(json.loads(m["data"])["pts"])
    assert dropped > 0 and len(received) + dropped == n
    assert received == sorted(received) and received[-1] == n - 1  # in order, ending with the newest


def test_needs_a_signed_in_viewer_and_known_types(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/api/live/events").status_code == 401
        r = client.get("/api/live/events?type=no.such", headers=role("viewer"))
        assert r.status_code == 422 and "no.such" in r.text


def test_without_a_bus_the_feed_says_so(app: FastAPI, ctx: AppContext) -> None:
    ctx.bus = None
    with TestClient(app) as client:
        r = client.get("/api/live/events", headers=role("viewer"))
    assert r.status_code == 503 and "live feed" in r.text
