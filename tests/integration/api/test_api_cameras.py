"""Camera registry API: CRUD, validation, secrets, search, scoping, status, snapshot."""

from __future__ import annotations

import socket
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.storage.models import Camera, Task
from tests.conftest import VTEST
from tests.integration.api.api_helpers import FakeTasks, audit_actions, audit_text, jpeg
from tests.integration.api.conftest import Api

SECRET = "s3cr3t-Pa55"
RTSP = f"rtsp://admin:{SECRET}@10.0.0.5:554/Streaming/Channels/101"


def create(api: Api, who: str = "operator", **body: Any) -> Any:
    payload = {"name": "Gate 1", "url": RTSP, **body}
    r = api.as_(who).post("/api/cameras", json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def error_locs(r: Any) -> list[list[Any]]:
    return [e["loc"] for e in r.json()["detail"]]


def test_create_get_update_delete(api: Api, ctx: AppContext) -> None:
    cam = create(
        api, id="gate-1", latitude=31.23, longitude=121.47, region="Pudong", department="east",
        tags=["park/north/gate", "entrance"],
        zones=[{"id": "yard", "points": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}],
    )  # fmt: skip
    assert cam["id"] == "gate-1"
    assert cam["status"] == "idle" and cam["health"] is None
    assert cam["tags"] == ["park/north/gate", "entrance"]
    assert cam["zones"][0]["points"] == [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]

    got = api.as_("viewer").get("/api/cameras/gate-1").json()
    assert got["name"] == "Gate 1" and got["latitude"] == 31.23

    r = api.as_("operator").patch("/api/cameras/gate-1", json={"name": "North gate", "enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "North gate" and r.json()["enabled"] is False

    r = api.as_("operator").delete("/api/cameras/gate-1")
    assert r.status_code == 204
    assert api.as_("viewer").get("/api/cameras/gate-1").status_code == 404
    assert [a for a, _ in audit_actions(ctx)] == ["camera.create", "camera.update", "camera.delete"]


def test_id_generated_from_name_and_unique(api: Api) -> None:
    a = create(api, name="South Gate #2")
    b = create(api, name="South Gate #2")
    c = create(api, name="东门")  # nothing ASCII to slug
    assert a["id"] == "south-gate-2"
    assert b["id"].startswith("south-gate-2-") and b["id"] != a["id"]
    assert c["id"] == "camera"
    r = api.as_("operator").post("/api/cameras", json={"id": "south-gate-2", "name": "x", "url": RTSP})
    assert r.status_code == 409 and "south-gate-2" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc", "needle"),
    [
        ({"url": "ftp://cam/x"}, ["body", "url"], "unsupported URL scheme 'ftp'"),
        ({"url": "rtsp:/cam"}, ["body", "url"], "malformed or unsupported"),
        ({"url": "videos/a.mp4"}, ["body", "url"], "absolute path"),
        ({"url": "rtsp:///path"}, ["body", "url"], "without a host"),
        ({"url": "rtsp://cam:99999/x"}, ["body", "url"], "cannot parse"),
        ({"latitude": 91, "longitude": 10}, ["body", "latitude"], "less than or equal to 90"),
        ({"latitude": 10, "longitude": -181}, ["body", "longitude"], "greater than or equal to -180"),
        ({"latitude": 10}, ["body"], "both latitude and longitude"),
        ({"tags": ["a/b/c/d/e"]}, ["body", "tags"], "at most 4"),
        ({"tags": ["a//b"]}, ["body", "tags"], "empty level"),
        (
            {"zones": [{"id": "z", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
            ["body", "zones", 0],
            "crosses",
        ),
        (
            {"zones": [{"id": "z", "points": [[0, 0], [1.5, 0], [0, 1]]}]},
            ["body", "zones", 0, "points"],
            "outside",
        ),
        ({"source_options": {"target_fps": 5}}, ["body", "source_options"], "per task"),
        ({"source_options": {"rtsp_transport": "sctp"}}, ["body", "source_options"], "tcp"),
        ({"colour": "red"}, ["body", "colour"], "Extra inputs"),
        ({"id": "Bad Id"}, ["body", "id"], "pattern"),
        ({"name": ""}, ["body", "name"], "at least 1"),
    ],
)
def test_validation_errors_name_the_field(
    api: Api, body: dict[str, Any], loc: list[Any], needle: str
) -> None:
    payload = {"name": "Cam", "url": RTSP, **body}
    r = api.as_("operator").post("/api/cameras", json=payload)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert any(e["loc"][: len(loc)] == loc and needle in e["msg"] for e in errors), errors


def test_accepted_url_forms(api: Api) -> None:
    for url in (
        "rtsps://u:p@cam/x",
        "http://cam/snapshot.jpg",
        "https://cam/mjpeg",
        "/data/a.mp4",
        "file:///data/a.mp4",
    ):
        create(api, name=url, url=url)


def test_password_is_never_returned_and_redacted_url_keeps_it(api: Api, ctx: AppContext) -> None:
    cam = create(api, id="gate-1")
    assert SECRET not in str(cam) and cam["url"] == "rtsp://***@10.0.0.5:554/Streaming/Channels/101"
    assert cam["has_credentials"] is True
    for r in (
        api.as_("viewer").get("/api/cameras/gate-1"),
        api.as_("viewer").get("/api/cameras"),
        api.as_("viewer").get("/api/cameras", params={"q": "gate"}),
    ):
        assert r.status_code == 200 and SECRET not in r.text and "admin" not in r.text

    # An edit that sends back what the client got keeps the stored credentials ...
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"url": cam["url"], "name": "renamed"})
    assert r.status_code == 200 and SECRET not in r.text
    with ctx.db.session() as s:
        assert s.get(Camera, "gate-1").url == RTSP  # type: ignore[union-attr]
    # ... also when the path changes around the placeholder (554 is RTSP's default port) ...
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"url": "rtsp://***@10.0.0.5/ch2"})
    assert r.status_code == 200, r.text
    with ctx.db.session() as s:
        assert s.get(Camera, "gate-1").url == f"rtsp://admin:{SECRET}@10.0.0.5/ch2"  # type: ignore[union-attr]
    # ... but never to another host, port or scheme: the password would go to that server.
    for elsewhere in ("rtsp://***@10.66.6.6/ch2", "rtsp://***@10.0.0.5:8554/ch2", "rtsps://***@10.0.0.5/ch2"):
        r = api.as_("operator").patch("/api/cameras/gate-1", json={"url": elsewhere})
        assert r.status_code == 422 and "another scheme, host or port" in r.text, (elsewhere, r.text)
    with ctx.db.session() as s:
        assert s.get(Camera, "gate-1").url == f"rtsp://admin:{SECRET}@10.0.0.5/ch2"  # type: ignore[union-attr]
    # New credentials replace the old ones.
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"url": "rtsp://root:newpw@10.0.0.6/ch2"})
    assert "newpw" not in r.text and r.json()["url"] == "rtsp://***@10.0.0.6/ch2"

    # The placeholder cannot create a camera, nor fill credentials that do not exist.
    r = api.as_("operator").post("/api/cameras", json={"name": "x", "url": "rtsp://***@cam/x"})
    assert r.status_code == 422 and "placeholder" in r.text
    create(api, id="plain", url="rtsp://cam/x")
    r = api.as_("operator").patch("/api/cameras/plain", json={"url": "rtsp://***@cam/x"})
    assert r.status_code == 422 and "no stored credentials" in r.text
    assert SECRET not in audit_text(ctx) and "newpw" not in audit_text(ctx)


def test_update_validation(api: Api) -> None:
    create(api, id="gate-1", latitude=1.0, longitude=2.0)
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"latitude": None})
    assert r.status_code == 422 and "both latitude and longitude" in r.text
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"latitude": None, "longitude": None})
    assert r.status_code == 200 and r.json()["latitude"] is None
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"name": None})
    assert r.status_code == 422 and "cannot be null" in r.text
    r = api.as_("operator").patch("/api/cameras/gate-1", json={"id": "other"})
    assert r.status_code == 422 and error_locs(r) == [["body", "id"]]
    assert api.as_("operator").patch("/api/cameras/nope", json={"name": "x"}).json()["detail"] == (
        "no camera 'nope'; list cameras with GET /api/cameras"
    )


@pytest.fixture
def city(api: Api) -> None:
    """Cameras around Shanghai (31.23 N, 121.47 E) and one in Beijing."""
    create(
        api,
        id="bund",
        latitude=31.240,
        longitude=121.490,
        region="huangpu",
        department="east",
        tags=["sh/bund"],
    )
    create(
        api,
        id="jingan",
        latitude=31.229,
        longitude=121.448,
        region="jingan",
        department="west",
        tags=["sh/jingan/temple"],
    )
    create(
        api,
        id="pudong",
        latitude=31.221,
        longitude=121.544,
        region="pudong",
        department="east",
        tags=["sh/pudong"],
    )
    create(
        api,
        id="beijing",
        latitude=39.904,
        longitude=116.407,
        region="dongcheng",
        department="north",
        tags=["bj"],
    )
    create(api, id="nowhere", name="Lobby cam", department="east", tags=["sh"])


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


@pytest.mark.usefixtures("city")
def test_search(api: Api) -> None:
    c = api.as_("viewer")
    assert ids(c.get("/api/cameras")) == ["beijing", "bund", "jingan", "nowhere", "pudong"]
    assert ids(c.get("/api/cameras", params={"q": "LOBBY"})) == ["nowhere"]
    assert ids(c.get("/api/cameras", params={"q": "temple"})) == ["jingan"]  # keyword in tags
    assert ids(c.get("/api/cameras", params={"tag": "sh"})) == ["bund", "jingan", "nowhere", "pudong"]
    assert ids(c.get("/api/cameras", params={"tag": "sh/jingan"})) == ["jingan"]
    assert ids(c.get("/api/cameras", params={"tag": "s"})) == []  # a tag, not a string prefix
    assert ids(c.get("/api/cameras", params={"department": ["east", "north"]})) == [
        "beijing",
        "bund",
        "nowhere",
        "pudong",
    ]
    assert ids(c.get("/api/cameras", params={"region": "pudong"})) == ["pudong"]
    assert ids(c.get("/api/cameras", params={"bbox": "121.45,31.2,121.6,31.3"})) == ["bund", "pudong"]
    r = c.get("/api/cameras", params={"near": "31.2304,121.4737,3"})
    assert ids(r) == ["bund", "jingan"]  # nearest first; Pudong is ~7 km away
    assert 1.5 < r.json()["items"][0]["distance_km"] < 2.5
    assert ids(c.get("/api/cameras", params={"near": "31.2304,121.4737,1500"}))[-1] == "beijing"
    page = c.get("/api/cameras", params={"limit": 2, "offset": 2}).json()
    assert [x["id"] for x in page["items"]] == ["jingan", "nowhere"] and page["total"] == 5
    page = c.get("/api/cameras", params={"tag": "sh", "limit": 1, "offset": 1}).json()
    assert [x["id"] for x in page["items"]] == ["jingan"] and page["total"] == 4
    for bad in (
        {"bbox": "1,2,3"},
        {"bbox": "0,50,10,40"},
        {"near": "91,0,1"},
        {"near": "a,b,c"},
        {"near": "0,0,0"},
    ):
        r = c.get("/api/cameras", params=bad)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", next(iter(bad))], r.text


@pytest.mark.usefixtures("city")
def test_department_scoping(api: Api) -> None:
    east = api.as_("east_viewer")
    assert ids(east.get("/api/cameras")) == ["bund", "nowhere", "pudong"]
    assert ids(east.get("/api/cameras", params={"tag": "sh"})) == ["bund", "nowhere", "pudong"]
    assert east.get("/api/cameras/jingan").status_code == 404  # exists, but not theirs: same as absent
    assert east.get("/api/cameras/bund").status_code == 200
    op = api.as_("east_operator")
    r = op.post("/api/cameras", json={"name": "x", "url": RTSP, "department": "west"})
    assert r.status_code == 403 and "east" in r.json()["detail"]
    assert op.post("/api/cameras", json={"name": "x", "url": RTSP}).status_code == 403
    assert op.post("/api/cameras", json={"name": "x", "url": RTSP, "department": "east"}).status_code == 201
    assert op.patch("/api/cameras/bund", json={"department": "west"}).status_code == 403
    assert op.delete("/api/cameras/jingan").status_code == 404
    stats = api.as_("east_viewer").get("/api/stats/cameras").json()
    assert stats["total"] == 4


def test_status_from_runner_health(api: Api, ctx: AppContext, tasks: FakeTasks) -> None:
    for cid in ("a", "b", "c", "d"):
        create(api, id=cid)
    tasks.health["a"] = {"state": "online", "url": RTSP, "measured_fps": 5.0}
    tasks.health["b"] = {"state": "offline", "error": f"camera 'b' ({RTSP}): connection refused"}
    with ctx.db.session() as s:
        s.add(Task(id="t-c", camera_id="c", name="x", algorithm="sightline/people@v1", config={},
                   desired_state="running", status="error", last_error="bad"))  # fmt: skip
    items = {c["id"]: c for c in api.as_("viewer").get("/api/cameras").json()["items"]}
    assert {k: v["status"] for k, v in items.items()} == {
        "a": "online",
        "b": "offline",
        "c": "error",
        "d": "idle",
    }
    assert items["a"]["health"]["measured_fps"] == 5.0
    assert SECRET not in str(items)
    r = api.as_("viewer").get("/api/cameras", params={"status": ["online", "idle"]})
    assert ids(r) == ["a", "d"]
    stats = api.as_("viewer").get("/api/stats/cameras").json()
    assert stats["by_status"] == {
        "online": 1,
        "degraded": 0,
        "connecting": 0,
        "offline": 1,
        "error": 1,
        "idle": 1,
    }
    assert stats["total"] == 4 and stats["enabled"] == 4


def test_delete_camera_stops_its_tasks(api: Api, ctx: AppContext, tasks: FakeTasks) -> None:
    create(api, id="gate-1")
    r = api.as_("operator").post("/api/tasks", json={"id": "t1", "camera_id": "gate-1", "name": "count"})
    assert r.status_code == 201
    assert api.as_("operator").delete("/api/cameras/gate-1").status_code == 204
    assert ("remove", "t1") in tasks.calls
    with ctx.db.session() as s:
        assert s.scalars(select(Task)).all() == []


def test_camera_change_restarts_running_tasks(api: Api, tasks: FakeTasks) -> None:
    create(api, id="gate-1")
    api.as_("operator").post(
        "/api/tasks", json={"id": "t1", "camera_id": "gate-1", "name": "count", "start": True}
    )
    tasks.calls.clear()
    api.as_("operator").patch("/api/cameras/gate-1", json={"name": "renamed"})
    assert tasks.calls == []  # nothing the runner uses changed
    api.as_("operator").patch("/api/cameras/gate-1", json={"url": "rtsp://***@10.0.0.5/x"})
    assert tasks.calls == [("apply", "t1")]


def test_snapshot_from_running_task(api: Api, tasks: FakeTasks) -> None:
    create(api, id="gate-1")
    tasks.frames["gate-1"] = jpeg(7)
    r = api.as_("viewer").get("/api/cameras/gate-1/snapshot")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content == jpeg(7) and r.headers["x-sightline-frame"] == "task"


@pytest.mark.skipif(not VTEST.exists(), reason=f"{VTEST} missing (Debian opencv-doc)")
def test_snapshot_grabbed_on_demand_from_a_file(api: Api) -> None:
    create(api, id="lobby", url=str(VTEST))
    r = api.as_("viewer").get("/api/cameras/lobby/snapshot")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg" and r.headers["x-sightline-frame"] == "grabbed"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (576, 768, 3)


def test_snapshot_of_unreachable_camera_is_a_clear_504(api: Api) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    create(api, id="dead", url=f"rtsp://admin:{SECRET}@127.0.0.1:{port}/live")
    r = api.as_("viewer").get("/api/cameras/dead/snapshot", params={"timeout_s": 5})
    assert r.status_code == 504, r.text
    detail = r.json()["detail"]
    assert "'dead'" in detail and SECRET not in detail
    create(api, id="gone", url="/nonexistent/video.mp4")
    r = api.as_("viewer").get("/api/cameras/gone/snapshot", params={"timeout_s": 5})
    assert r.status_code == 504 and "'gone'" in r.json()["detail"] and "not found" in r.json()["detail"]
    assert api.as_("viewer").get("/api/cameras/dead/snapshot", params={"timeout_s": 11}).status_code == 422


def test_credentials_in_query_parameters_are_hidden_and_kept(api: Api, ctx: AppContext) -> None:
    # Dahua/Hikvision HTTP snapshot URLs carry the password as a query parameter.
    url = f"http://10.0.0.7/cgi-bin/snapshot.cgi?channel=1&user=admin&password={SECRET}"
    cam = create(api, id="snap", url=url)
    assert SECRET not in str(cam) and cam["has_credentials"] is True
    assert cam["url"] == "http://10.0.0.7/cgi-bin/snapshot.cgi?channel=1&user=admin&password=***"
    # Sending back what the client got, with another channel, keeps the password ...
    changed = cam["url"].replace("channel=1", "channel=2")
    r = api.as_("operator").patch("/api/cameras/snap", json={"url": changed})
    assert r.status_code == 200 and SECRET not in r.text, r.text
    with ctx.db.session() as s:
        assert s.get(Camera, "snap").url == url.replace("channel=1", "channel=2")  # type: ignore[union-attr]
    # ... but not to another host, and not for a parameter that was never stored.
    r = api.as_("operator").patch("/api/cameras/snap", json={"url": changed.replace("10.0.0.7", "10.6.6.6")})
    assert r.status_code == 422 and "another scheme, host or port" in r.text
    r = api.as_("operator").patch("/api/cameras/snap", json={"url": changed + "&token=***"})
    assert r.status_code == 422 and "no stored value for it" in r.text
    r = api.as_("operator").post("/api/cameras", json={"name": "x", "url": "http://h/s?pwd=***"})
    assert r.status_code == 422 and "placeholder" in r.text
    assert SECRET not in audit_text(ctx)

    # Repeated and prefixed names keep each their own value; harmless names are left alone.
    url = "https://gw.example/live?keyframe=1&X-Amz-Signature=sig1&token=A&token=B&client_secret=cs"
    cam = create(api, id="gw", url=url)
    assert (
        cam["url"]
        == "https://gw.example/live?keyframe=1&X-Amz-Signature=***&token=***&token=***&client_secret=***"
    )
    r = api.as_("operator").patch("/api/cameras/gw", json={"url": cam["url"]})
    assert r.status_code == 200, r.text
    with ctx.db.session() as s:
        assert s.get(Camera, "gw").url == url  # type: ignore[union-attr]
