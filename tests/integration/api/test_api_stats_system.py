"""Statistics, /healthz, /metrics and the OpenAPI document."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from prometheus_client.parser import text_string_to_metric_families

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.api.routers.system import hooks_installed
from sightline.api.schemas.common import validation_exception_handler
from sightline.storage import Database
from tests.integration.api.api_helpers import BASE_TIME, FakeTasks, make_event, store_event
from tests.integration.api.conftest import Api


def seed(api: Api, ctx: AppContext) -> None:
    for cid, dept in (("gate-1", "east"), ("gate-2", "west"), ("gate-3", "west")):
        api.as_("operator").post(
            "/api/cameras", json={"id": cid, "name": f"Cam {cid}", "url": "/v.mp4", "department": dept}
        )
    # 2024-05-01 15:30Z .. 16:30Z: the UTC day is May 1 for all, the China day changes at 16:00Z.
    for i, minute in enumerate((930, 950, 970, 990)):
        store_event(ctx, make_event(i, camera_id="gate-1", wall_time=BASE_TIME + minute * 60), crop=False)
    store_event(ctx, make_event(10, camera_id="gate-2", type="zone.enter", wall_time=BASE_TIME + 1000 * 60))
    store_event(ctx, make_event(11, camera_id="gate-2", type="zone.enter", wall_time=BASE_TIME + 86_400 * 2))
    ctx.events.set_status("ev-0000", "true", reviewer_id="u-reviewer")


def test_event_stats(api: Api, ctx: AppContext) -> None:
    seed(api, ctx)
    s = api.as_("viewer").get("/api/stats/events").json()
    assert s["total"] == 6
    assert [(t["type"], t["count"], t["name_zh"]) for t in s["by_type"]] == [
        ("line.cross", 4, "越线"),
        ("zone.enter", 2, "区域入侵（进入）"),
    ]
    assert [(d["day"], d["type"], d["count"]) for d in s["by_type_day"]] == [
        ("2024-05-01", "line.cross", 4), ("2024-05-01", "zone.enter", 1), ("2024-05-03", "zone.enter", 1),
    ]  # fmt: skip
    cams = {c["camera_id"]: c for c in s["by_camera"]}
    assert cams["gate-1"]["total"] == 4 and cams["gate-1"]["true"] == 1 and cams["gate-1"]["pending"] == 3
    assert cams["gate-1"]["camera_name"] == "Cam gate-1"

    china = api.as_("viewer").get("/api/stats/events", params={"tz_offset_minutes": 480}).json()
    assert [(d["day"], d["type"], d["count"]) for d in china["by_type_day"]] == [
        ("2024-05-01", "line.cross", 2), ("2024-05-02", "line.cross", 2), ("2024-05-02", "zone.enter", 1),
        ("2024-05-03", "zone.enter", 1),
    ]  # fmt: skip
    ranged = (
        api.as_("viewer")
        .get("/api/stats/events", params={"from": "2024-05-02T00:00:00+08:00", "to": "2024-05-03"})
        .json()
    )
    assert ranged["total"] == 3 and ranged["time_from"] == "2024-05-01T16:00:00Z"
    assert api.as_("east_viewer").get("/api/stats/events").json()["total"] == 4
    assert api.as_("viewer").get("/api/stats/events", params={"tz_offset_minutes": 900}).status_code == 422


def test_healthz_without_auth(api: Api, ctx: AppContext) -> None:
    r = api.as_(None).get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] == "ok"
    assert api.as_(None).get("/api/cameras").status_code == 401  # everything else needs a caller
    good = ctx.db
    ctx.db = Database("postgresql+psycopg://sightline:topsecret@127.0.0.1:9/nowhere")  # nothing listens on 9
    try:
        r = api.as_(None).get("/healthz")
    finally:
        ctx.db.dispose()
        ctx.db = good
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and "cannot open database" in body["database"]
    assert "topsecret" not in r.text


def test_metrics(api: Api, ctx: AppContext, tasks: FakeTasks) -> None:
    seed(api, ctx)
    tasks.health["gate-1"] = {"state": "online"}
    api.as_("operator").post(
        "/api/tasks", json={"id": "t1", "camera_id": "gate-1", "name": "x", "start": True}
    )
    tasks.statuses["t1"] = {"state": "running"}
    api.as_("operator").post("/api/tasks", json={"id": "t2", "camera_id": "gate-2", "name": "y"})
    api.as_("viewer").get("/api/cameras/gate-1")
    api.as_("viewer").get("/api/cameras/nope")

    assert api.as_(None).get("/metrics").status_code == 401
    r = api.as_("viewer").get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    om = api.as_("viewer").get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text") and om.text.endswith(
        "# EOF\n"
    )
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    assert samples[("sightline_database_up", ())] == 1
    assert samples[("sightline_events_stored", (("type", "line.cross"),))] == 4
    assert samples[("sightline_events_pending_review", (("type", "line.cross"),))] == 3
    assert samples[("sightline_cameras", (("status", "online"),))] == 1
    assert samples[("sightline_cameras", (("status", "idle"),))] == 2
    assert samples[("sightline_tasks", (("state", "running"),))] == 1
    assert samples[("sightline_tasks", (("state", "created"),))] == 1
    # HTTP requests are labelled by route template, not by raw path.
    key = ("method", "GET"), ("route", "/api/cameras/{camera_id}"), ("status", "200")
    assert samples[("sightline_http_requests_total", key)] == 1
    key404 = ("method", "GET"), ("route", "/api/cameras/{camera_id}"), ("status", "404")
    assert samples[("sightline_http_requests_total", key404)] == 1
    assert any(name == "sightline_http_request_duration_seconds_bucket" for name, _ in samples)
    assert not any("nope" in str(labels) for _, labels in samples)


def test_metrics_without_database(api: Api, ctx: AppContext) -> None:
    good = ctx.db
    ctx.db = Database("postgresql+psycopg://u:p@127.0.0.1:9/x")
    try:
        r = api.as_("viewer").get("/metrics")
    finally:
        ctx.db.dispose()
        ctx.db = good
    assert r.status_code == 200 and "sightline_database_up 0.0" in r.text


def test_factory_installs_the_api_hooks(ctx: AppContext) -> None:
    """build_app must call install_api_hooks: routers cannot add middleware or exception handlers."""
    app = build_app(ctx)
    assert hooks_installed(app), (
        "add `install_api_hooks(app)` (sightline.api.routers.system) to sightline/api/factory.py:build_app"
    )
    assert app.exception_handlers.get(RequestValidationError) is validation_exception_handler


def test_unstorable_input_is_422_not_500(api: Api) -> None:
    raw = [
        ("/api/cameras", '{"name": "x", "url": "/v", "latitude": NaN, "longitude": 0}', ["body", "latitude"]),
        ("/api/cameras", '{"name": "x", "url": "/v.mp4", "colour": Infinity}', ["body", "colour"]),
        ("/api/tasks", '{"camera_id": "c", "name": "t", "config": {"tracker": {"lost_after_s": Infinity}}}',
         ["body", "config"]),
    ]  # fmt: skip
    zone = '{"id": "a\\u0000", "points": [[0, 0], [1, 0], [0, 1]]}'
    raw.append(("/api/cameras", '{"name": "x", "url": "/v", "zones": [' + zone + "]}", ["body", "zones"]))
    for path, body, loc in raw:
        r = api.as_("admin").post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc
    r = api.as_("viewer").get("/api/events", params={"camera_id": "a\x00b"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "camera_id", 0]


def test_openapi_builds(api: Api) -> None:
    r = api.as_(None).get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = ["/api/cameras", "/api/tasks/{task_id}/start", "/api/events/export", "/healthz", "/metrics"]
    expected += ["/api/hazards/{ticket_id}/transition", "/api/stats/events"]
    for path in expected:
        assert path in paths
    assert api.as_(None).get("/docs").status_code == 200
