"""Event API: search filters, paging, sort, detail, images, export, review, scoping."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from sightline.api.context import AppContext
from sightline.api.deps import Principal, current_principal
from sightline.api.routers import events as events_router
from sightline.storage.models import ApiKey
from tests.integration.api.api_helpers import BASE_TIME, audit_actions, jpeg, make_event, store_event
from tests.integration.api.conftest import Api


@pytest.fixture(autouse=True)
def events(api: Api, ctx: AppContext) -> None:
    """30 events one minute apart: gate-1 (east) line crossings and gate-2
    (west) zone events; gate-1 ones are in zone 'yard' every third."""
    for cid, dept in (("gate-1", "east"), ("gate-2", "west")):
        api.as_("operator").post(
            "/api/cameras", json={"id": cid, "name": f"Cam {cid}", "url": "/v.mp4", "department": dept}
        )
    for i in range(30):
        if i % 2 == 0:
            event = make_event(i, camera_id="gate-1", zone_id="yard" if i % 3 == 0 else None)
        else:
            event = make_event(i, camera_id="gate-2", type="zone.enter", zone_id="lawn")
        store_event(ctx, event, crop=i != 4)


def ids(r: object) -> list[str]:
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    return [e["id"] for e in r.json()["items"]]  # type: ignore[attr-defined]


def test_search_filters(api: Api) -> None:
    c = api.as_("viewer")
    r = c.get("/api/events", params={"limit": 5})
    body = r.json()
    assert body["total"] == 30 and ids(r) == ["ev-0029", "ev-0028", "ev-0027", "ev-0026", "ev-0025"]
    item = body["items"][0]
    assert (
        item["type"] == "zone.enter"
        and item["type_name_zh"] == "区域入侵（进入）"
        and item["type_number"] == 1001
    )
    assert item["time"] == "2024-05-01T00:29:00Z"
    assert item["images"] == {
        "frame": "/api/events/ev-0029/image/frame",
        "crop": "/api/events/ev-0029/image/crop",
    }
    assert c.get("/api/events", params={"camera_id": "gate-1"}).json()["total"] == 15
    assert c.get("/api/events", params={"camera_id": ["gate-1", "gate-2"]}).json()["total"] == 30
    assert c.get("/api/events", params={"type": "zone.enter"}).json()["total"] == 15
    assert ids(c.get("/api/events", params={"zone_id": "yard", "sort": "asc"})) == [
        "ev-0000", "ev-0006", "ev-0012", "ev-0018", "ev-0024",
    ]  # fmt: skip
    # from inclusive, to exclusive; ISO with offset and UNIX seconds mean the same instant.
    iso = {"from": "2024-05-01T08:10:00+08:00", "to": "2024-05-01T00:13:00Z", "sort": "asc"}
    unix = {"from": str(BASE_TIME + 600), "to": str(int(BASE_TIME + 780)), "sort": "asc"}
    assert ids(c.get("/api/events", params=iso)) == ids(c.get("/api/events", params=unix)) == [
        "ev-0010", "ev-0011", "ev-0012",
    ]  # fmt: skip
    assert c.get("/api/events", params={"from": "2024-05-01T00:10:00"}).json()["total"] == 20  # naive = UTC
    assert c.get("/api/events", params={"region": "nowhere"}).json()["total"] == 0


def test_search_errors_are_422_naming_the_parameter(api: Api) -> None:
    c = api.as_("viewer")
    cases = [
        ({"type": "zone.fly"}, ["query", "type"], "known:"),
        ({"status": "maybe"}, ["query", "status"], ""),
        ({"from": "yesterday"}, ["query", "from"], "ISO 8601"),
        ({"to": "nan"}, ["query", "to"], "ISO 8601"),
        ({"from": "1e30"}, ["query", "from"], "9999"),
        ({"from": "2024-05-02", "to": "2024-05-01"}, ["query", "to"], "before from"),
        ({"cursor": "garbage!"}, ["query", "cursor"], "next_cursor"),
        ({"cursor": "x", "offset": 3}, ["query", "offset"], "not both"),
        ({"limit": 0}, ["query", "limit"], ""),
        ({"sort": "up"}, ["query", "sort"], ""),
    ]
    for params, loc, needle in cases:
        r = c.get("/api/events", params=params)
        assert r.status_code == 422, (params, r.text)
        detail = r.json()["detail"]
        assert detail[0]["loc"][: len(loc)] == loc and needle in detail[0]["msg"], (params, detail)


def walk(api: Api, sort: str, during: object = None) -> list[str]:
    """Every id, page by page (7 per page) via next_cursor; ``during()`` runs after page 2."""
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 7, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        page = api.as_("viewer").get("/api/events", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if len(seen) == 14 and callable(during):
            during()


def test_keyset_paging_and_offset(api: Api, ctx: AppContext) -> None:
    original = [f"ev-{i:04d}" for i in range(30)]
    # A newer event arriving while someone pages back in time shifts nothing.
    newer = make_event(99, wall_time=BASE_TIME + 10_000)
    assert walk(api, "desc", during=lambda: store_event(ctx, newer)) == original[::-1]
    assert walk(api, "asc") == [*original, "ev-0099"]
    c = api.as_("viewer")
    assert ids(c.get("/api/events", params={"offset": 28, "sort": "asc"})) == [
        "ev-0028",
        "ev-0029",
        "ev-0099",
    ]
    r = c.get("/api/events", params={"limit": 5, "sort": "asc"})
    bad = c.get("/api/events", params={"cursor": r.json()["next_cursor"], "sort": "desc"})
    assert bad.status_code == 422 and "same order" in bad.json()["detail"][0]["msg"]
    assert c.get("/api/events", params={"with_total": False}).json()["total"] is None


def test_detail_with_trace_and_reviews(api: Api) -> None:
    api.as_("reviewer").post("/api/events/ev-0003/review", json={"status": "pending", "note": "looking"})
    api.as_("admin").post("/api/events/ev-0003/review", json={"status": "true", "note": "confirmed"})
    d = api.as_("viewer").get("/api/events/ev-0003").json()
    assert d["status"] == "true" and d["trace"] == [
        {"element": "dedupe", "passed": True, "reason": "first in 10 s"}
    ]
    assert [(r["status"], r["reviewer_name"], r["note"]) for r in d["reviews"]] == [
        ("pending", "Rita Reviewer", "looking"),
        ("true", "Ada Admin", "confirmed"),
    ]
    assert d["hazard"] is None and d["boxes"][0]["class_name"] == "person"
    r = api.as_("viewer").get("/api/events/ev-9999")
    assert (
        r.status_code == 404
        and r.json()["detail"] == "no event 'ev-9999'; search events with GET /api/events"
    )


def test_images(api: Api, ctx: AppContext) -> None:
    c = api.as_("viewer")
    r = c.get("/api/events/ev-0002/image/frame")
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "image/jpeg"
        and r.content[:3] == b"\xff\xd8\xff"
    )
    assert r.content == jpeg(__import__("zlib").crc32(b"ev-0002") % 251)
    assert "immutable" in r.headers["cache-control"]
    r = c.get("/api/events/ev-0002/image/crop")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    r = c.get("/api/events/ev-0004/image/crop")
    assert r.status_code == 404 and r.json()["detail"] == "event 'ev-0004' has no crop image"
    assert c.get("/api/events/ev-0002/image/preview").status_code == 404
    assert c.get("/api/events/ev-0002/image/thumb").status_code == 422
    # A blob removed from disk (retention, manual cleanup) is a 404 that says so.
    record = ctx.events.get("ev-0006")
    assert record is not None and record.snapshot.frame is not None
    ctx.blobs.delete(record.snapshot.frame)
    r = c.get("/api/events/ev-0006/image/frame")
    assert r.status_code == 404 and "no longer stored" in r.json()["detail"]


def test_csv_export(api: Api) -> None:
    r = api.as_("viewer").get("/api/events/export", params={"format": "csv", "type": "zone.enter"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="events-')
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese names right
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "id", "time", "type", "type_name_en", "type_name_zh", "camera_id", "zone_id", "line_id",
        "direction", "track_id", "class_name", "confidence", "status",
    ]  # fmt: skip
    assert len(rows) == 1 + 15
    first = ["ev-0001", "2024-05-01T00:01:00Z", "zone.enter", "Zone intrusion (enter)", "区域入侵（进入）"]
    assert rows[1][:7] == [*first, "gate-2", "lawn"]
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])  # oldest first by default


def test_csv_export_is_streamed_in_pages_and_guards_formulas(
    api: Api, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_router, "EXPORT_PAGE", 100)  # small pages: the same code path, quicker
    many = [(make_event(1000 + i, camera_id="gate-1", zone_id="=HYPERLINK(1)"), None) for i in range(250)]
    assert ctx.events.add_many(many) == 250
    r = api.as_("viewer").get("/api/events/export", params={"zone_id": "=HYPERLINK(1)"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 250 and len({row[0] for row in rows[1:]}) == 250
    assert rows[1][6] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    r = api.as_("viewer").get("/api/events/export", params={"zone_id": "=HYPERLINK(1)", "limit": 150})
    assert r.content.decode("utf-8-sig").count("\r\n") == 1 + 150


def test_json_export(api: Api) -> None:
    r = api.as_("viewer").get(
        "/api/events/export", params={"format": "json", "camera_id": "gate-1", "sort": "desc"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = json.loads(r.content)
    assert len(data) == 15 and data[0]["id"] == "ev-0028" and data[-1]["id"] == "ev-0000"
    assert data[0]["type_name_zh"] == "越线"
    empty = api.as_("viewer").get("/api/events/export", params={"format": "json", "camera_id": "none"})
    assert json.loads(empty.content) == []


def test_review_flow(api: Api, ctx: AppContext) -> None:
    before = datetime.now(UTC)
    r = api.as_("reviewer").post("/api/events/ev-0001/review", json={"status": "false", "note": "a shadow"})
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["reviewer_id"] == "u-reviewer" and review["reviewer_name"] == "Rita Reviewer"
    assert datetime.fromisoformat(review["created_at"]) >= before.replace(microsecond=0)
    assert api.as_("viewer").get("/api/events/ev-0001").json()["status"] == "false"
    assert api.as_("viewer").get("/api/events", params={"status": "false"}).json()["total"] == 1
    assert api.as_("viewer").get("/api/events", params={"status": "pending"}).json()["total"] == 29
    assert api.as_("viewer").post("/api/events/ev-0001/review", json={"status": "true"}).status_code == 403
    r = api.as_("reviewer").post("/api/events/ev-0001/review", json={"status": "fake"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "status"]
    assert api.as_("reviewer").post("/api/events/nope/review", json={"status": "true"}).status_code == 404
    assert ("event.review", "ev-0001") in audit_actions(ctx)


def test_department_scoping(api: Api) -> None:
    east = api.as_("east_viewer")
    assert east.get("/api/events").json()["total"] == 15
    assert {e["camera_id"] for e in east.get("/api/events").json()["items"]} == {"gate-1"}
    assert east.get("/api/events", params={"camera_id": "gate-2"}).json()["total"] == 0
    assert east.get("/api/events/ev-0001").status_code == 404  # gate-2 is west
    assert east.get("/api/events/ev-0001/image/frame").status_code == 404
    assert east.get("/api/events/ev-0002").status_code == 200
    rows = east.get("/api/events/export").content.decode("utf-8-sig").strip().split("\r\n")
    assert len(rows) == 1 + 15
    assert (
        api.as_("east_operator").post("/api/events/ev-0001/review", json={"status": "true"}).status_code
        == 404
    )


def test_event_types(api: Api) -> None:
    types = api.as_("viewer").get("/api/event-types").json()
    assert {"code": "line.cross", "number": 1101, "name_en": "Line crossing", "name_zh": "越线"} in types


def test_review_by_api_key_records_its_owner(api: Api, ctx: AppContext) -> None:
    with ctx.db.session() as s:
        s.add(ApiKey(id="k1", name="triage bot", key_hash="h1", role="reviewer", owner_id="u-reviewer"))
        s.add(ApiKey(id="k2", name="ownerless", key_hash="h2", role="reviewer"))
    owned = Principal("apikey:k1", "triage bot", "reviewer", api_key_id="k1")
    ownerless = Principal("apikey:k2", "ownerless", "reviewer", api_key_id="k2")
    api.app.dependency_overrides[current_principal] = lambda: owned
    r = api.client.post("/api/events/ev-0005/review", json={"status": "true"})
    assert r.json()["reviewer_id"] == "u-reviewer" and r.json()["reviewer_name"] == "Rita Reviewer"
    api.app.dependency_overrides[current_principal] = lambda: ownerless
    r = api.client.post("/api/events/ev-0005/review", json={"status": "false"})
    assert r.status_code == 201
    assert r.json()["reviewer_id"] is None and r.json()["reviewer_name"] == "ownerless"
    assert api.client.get("/api/hazards", params={"assignee": "me"}).json()["total"] == 0
