"""Department scoping (C5) with real credentials: a user or API key limited
to departments sees only the cameras of those departments and everything
that hangs off them — tasks, events (search, detail, images, export,
statistics) and hazard tickets. Empty departments = all.

The rule for refusals, the same on every router:
- a thing that exists but lies outside your departments answers **404**,
  exactly as if it did not exist (no probing for other departments' ids);
- a write that would *place* something in a department you do not have
  (create or move a camera there) answers **403**, naming your departments;
- resources that span all departments (webhook subscriptions and their
  delivery logs) answer **403** to any department-scoped caller.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.threaded import ThreadedServer
from sightline.delivery.bus import EventBus
from sightline.delivery.webhook import event_json
from tests.integration.api.api_helpers import FakeTasks, make_event, store_event
from tests.polling import wait_for
from tests.security.conftest import add_api_key, add_user, login_headers

EAST_CAMS = ("east-1", "east-2")
WEST_CAMS = ("west-1",)


@pytest.fixture
def site(ctx: AppContext, client: TestClient) -> dict[str, dict[str, str]]:
    """Cameras, tasks, events and a hazard ticket in two departments; callers of each scope."""
    ctx.tasks = FakeTasks()
    add_user(ctx, "boss", "admin")
    admin = login_headers(client, "boss")
    for cam in (*EAST_CAMS, *WEST_CAMS):
        dept = cam.split("-")[0]
        r = client.post(
            "/api/cameras",
            json={"id": cam, "name": cam, "url": f"rtsp://u:pw-{cam}@10.0.0.9/s", "department": dept},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        r = client.post("/api/tasks", json={"id": f"t-{cam}", "camera_id": cam, "name": cam}, headers=admin)
        assert r.status_code == 201, r.text
    for i, cam in enumerate(("east-1", "east-2", "west-1", "west-1")):
        store_event(ctx, make_event(i, camera_id=cam))
    for event_id in ("ev-0000", "ev-0002"):
        assert client.post(f"/api/events/{event_id}/hazard", json={}, headers=admin).status_code == 201
    add_user(ctx, "eve", "operator", ("east",))
    add_user(ctx, "olga", "operator")
    _, east_key = add_api_key(ctx, "east dashboard", "viewer", ("east",))
    return {
        "admin": admin,
        "east_user": login_headers(client, "eve"),
        "east_key": {"X-API-Key": east_key},
        "all_user": login_headers(client, "olga"),
    }


def _ids(r: Any, key: str = "id") -> set[str]:
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item[key] for item in items}


@pytest.mark.parametrize("who", ["east_user", "east_key"])
def test_a_scoped_caller_sees_only_its_departments(
    client: TestClient, site: dict[str, dict[str, str]], who: str
) -> None:
    h = site[who]
    assert _ids(client.get("/api/cameras", headers=h)) == set(EAST_CAMS)
    assert client.get("/api/cameras/east-1", headers=h).status_code == 200
    assert client.get("/api/cameras/west-1", headers=h).status_code == 404
    assert client.get("/api/cameras/west-1/snapshot", headers=h).status_code == 404

    assert _ids(client.get("/api/tasks", headers=h)) == {"t-east-1", "t-east-2"}
    assert client.get("/api/tasks/t-west-1", headers=h).status_code == 404

    assert _ids(client.get("/api/events", headers=h)) == {"ev-0000", "ev-0001"}
    assert _ids(client.get("/api/events", params={"camera_id": "west-1"}, headers=h)) == set()
    assert client.get("/api/events/ev-0002", headers=h).status_code == 404
    assert client.get("/api/events/ev-0002/image/frame", headers=h).status_code == 404
    assert client.get("/api/events/ev-0000/image/frame", headers=h).status_code == 200
    export = client.get("/api/events/export", params={"format": "json"}, headers=h)
    assert export.status_code == 200 and "ev-0002" not in export.text and "ev-0000" in export.text
    csv = client.get("/api/events/export", headers=h)
    assert csv.status_code == 200 and "west-1" not in csv.text
    stats = client.get("/api/stats/events", headers=h)
    assert stats.status_code == 200 and stats.json()["total"] == 2, stats.text
    assert client.get("/api/stats/cameras", headers=h).json()["total"] == 2

    tickets = client.get("/api/hazards", headers=h)
    assert {t["event_id"] for t in tickets.json()["items"]} == {"ev-0000"}
    west_ticket = _ticket_of(client, site["admin"], "ev-0002")
    assert client.get(f"/api/hazards/{west_ticket}", headers=h).status_code == 404
    assert client.get(f"/api/hazards/{west_ticket}/comments", headers=h).status_code == 404


def test_a_caller_without_departments_sees_everything(client: TestClient, site: dict[str, Any]) -> None:
    h = site["all_user"]
    assert _ids(client.get("/api/cameras", headers=h)) == {*EAST_CAMS, *WEST_CAMS}
    assert len(_ids(client.get("/api/events", headers=h))) == 4
    assert client.get("/api/stats/events", headers=h).json()["total"] == 4


def test_writes_outside_the_departments_are_refused(
    client: TestClient, ctx: AppContext, site: dict[str, Any]
) -> None:
    h = site["east_user"]
    # outside things answer 404, as if absent ...
    assert client.patch("/api/cameras/west-1", json={"name": "mine"}, headers=h).status_code == 404
    assert client.delete("/api/cameras/west-1", headers=h).status_code == 404
    assert client.patch("/api/tasks/t-west-1", json={"name": "mine"}, headers=h).status_code == 404
    assert client.post("/api/tasks/t-west-1/start", headers=h).status_code == 404
    assert client.delete("/api/tasks/t-west-1", headers=h).status_code == 404
    r = client.post("/api/tasks", json={"camera_id": "west-1", "name": "spy"}, headers=h)
    assert r.status_code == 404
    assert client.post("/api/events/ev-0002/review", json={"status": "false"}, headers=h).status_code == 404
    assert client.post("/api/events/ev-0003/hazard", json={}, headers=h).status_code == 404
    west_ticket = _ticket_of(client, site["admin"], "ev-0002")
    move = {"to_state": "rectifying"}
    assert client.post(f"/api/hazards/{west_ticket}/transition", json=move, headers=h).status_code == 404
    comment = {"body": "x"}
    assert client.post(f"/api/hazards/{west_ticket}/comments", json=comment, headers=h).status_code == 404
    # ... placing something in another department answers 403 ...
    body = {"name": "x", "url": "rtsp://10.0.0.9/s", "department": "west"}
    assert client.post("/api/cameras", json=body, headers=h).status_code == 403
    assert client.patch("/api/cameras/east-1", json={"department": "west"}, headers=h).status_code == 403
    # ... and subscriptions, which carry every department's events, are not for scoped callers.
    r = client.get("/api/subscriptions", headers=h)
    assert r.status_code == 403 and "every department" in r.json()["detail"]
    assert client.get("/api/events/ev-0000/deliveries", headers=h).status_code == 403
    assert client.get("/api/subscriptions", headers=site["all_user"]).status_code == 200
    # Prometheus metrics count every department's cameras and events.
    assert client.get("/metrics", headers=site["east_key"]).status_code == 403
    assert client.get("/metrics", headers=site["all_user"]).status_code == 200
    # Strategies too: one may apply to every camera, a back-test reads every camera's events.
    spec = {"id": "east-only", "event_types": ["line.cross"], "elements": []}
    r = client.post("/api/strategies", json={"spec": spec}, headers=h)
    assert r.status_code == 403 and "every department" in r.json()["detail"]
    assert client.post("/api/strategies/line-crossing/backtest", json={}, headers=h).status_code == 403
    assert client.get("/api/strategies", headers=h).status_code == 200  # reading is fine
    # nothing changed
    admin = site["admin"]
    assert client.get("/api/cameras/west-1", headers=admin).json()["name"] == "west-1"
    assert client.get("/api/events/ev-0002", headers=admin).json()["status"] == "pending"
    # inside, the same operator may work
    assert client.patch("/api/cameras/east-1", json={"name": "renamed"}, headers=h).status_code == 200


def _ticket_of(client: TestClient, admin: dict[str, str], event_id: str) -> str:
    tickets = client.get("/api/hazards", headers=admin).json()["items"]
    return str(next(t["id"] for t in tickets if t["event_id"] == event_id))


def test_the_live_feed_carries_only_the_callers_departments(
    app: Any, ctx: AppContext, client: TestClient, site: dict[str, dict[str, str]]
) -> None:
    ctx.bus = EventBus()
    h = site["east_user"]
    assert client.get("/api/live/events", params={"camera_id": "west-1"}, headers=h).status_code == 404
    with (
        ThreadedServer(app, lifespan="off", timeout_graceful_shutdown=1) as base_url,
        httpx.Client(timeout=10) as http,
        http.stream("GET", f"{base_url}/api/live/events", headers=h) as r,
    ):
        assert r.status_code == 200
        lines = r.iter_lines()
        assert wait_for(lambda: ctx.bus is not None and ctx.bus.subscriber_count == 1, 5)
        ctx.bus.publish(event_json(make_event(10, camera_id="west-1")))
        ctx.bus.publish(event_json(make_event(11, camera_id="east-2")))
        data = next(line for line in lines if line.startswith("data:"))
    assert json.loads(data.removeprefix("data:"))["camera_id"] == "east-2"
