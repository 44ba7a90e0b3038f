"""The strategy center over the API (P1, P2): strategies as versioned data,
edited live (the next event obeys the edit, no restart), clear validation
errors, roles and audit records; every event stored with its trace, blocked
ones hidden from the default searches and never delivered."""

from __future__ import annotations

from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.delivery.store import SubscriptionStore
from sightline.service.tasks import TaskManager
from sightline.storage.models import Delivery
from tests.integration.api.api_helpers import audit_actions
from tests.integration.api.conftest import Api
from tests.integration.strategies.helpers import crop_jpeg, raw_event, strategy


def test_editing_a_strategy_live_changes_the_next_event(
    api: Api, ctx: AppContext, manager: TaskManager
) -> None:
    op = api.as_("operator")
    created = op.post("/api/strategies", json={"spec": strategy(min_confidence=0.5)})
    assert created.status_code == 201, created.text
    assert created.json()["current_version"] == 1

    manager.ingest("t-1", [(raw_event(1, confidence=0.7), {"frame": crop_jpeg(1), "crop": crop_jpeg(1)})])
    first = op.get("/api/events/ev-gate-1-00001").json()
    assert first["outcome"] == "passed" and first["blocked_by"] is None
    assert (first["strategy_id"], first["strategy_version"]) == ("gate-people", 1)
    assert [s["element_id"] for s in first["trace"]] == ["confident"]
    assert first["trace"][0]["verdict"] == "passed"

    # A new version, sent as YAML text the way the UI editor sends it.
    text = (
        "id: gate-people\nname: Gate people\ncameras: [gate-1]\nevent_types: [line.cross]\n"
        "elements:\n  - {id: confident, type: sightline/confidence-filter@v1, min_confidence: 0.8}\n"
    )
    updated = op.put("/api/strategies/gate-people", json={"text": text})
    assert updated.status_code == 200, updated.text
    assert updated.json()["current_version"] == 2

    manager.ingest("t-1", [(raw_event(2, confidence=0.7), {"frame": crop_jpeg(2), "crop": crop_jpeg(2)})])
    second = op.get("/api/events/ev-gate-1-00002").json()
    assert second["outcome"] == "blocked" and second["blocked_by"] == "confident"
    assert second["strategy_version"] == 2
    step = second["trace"][0]
    assert step["verdict"] == "blocked" and step["element_type"] == "sightline/confidence-filter@v1"
    assert "0.7" in step["reason"] and step["values"]  # the values compared
    # Blocked events are stored cheaply: the row and the crop, no frame.
    assert set(second["images"]) == {"crop"}

    # Searches show the output unless asked for blocked or all.
    ids = lambda q: [e["id"] for e in op.get(f"/api/events{q}").json()["items"]]  # noqa: E731
    assert ids("") == ["ev-gate-1-00001"]
    assert ids("?outcome=blocked") == ["ev-gate-1-00002"]
    assert sorted(ids("?outcome=all")) == ["ev-gate-1-00001", "ev-gate-1-00002"]
    assert op.get("/api/stats/events").json()["total"] == 1

    detail = op.get("/api/strategies/gate-people").json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][0]["spec"]["elements"][0]["min_confidence"] == 0.8
    assert detail["versions"][0]["author"] == "Otto Operator"

    # Switched off: no strategy applies, the event passes with an empty trace.
    assert op.post("/api/strategies/gate-people/disable").json()["enabled"] is False
    manager.ingest("t-1", [(raw_event(3, confidence=0.7), {})])
    third = op.get("/api/events/ev-gate-1-00003").json()
    assert third["outcome"] == "passed" and third["trace"] == [] and third["strategy_id"] is None
    # A chain edit keeps it off; enabling it again makes it run.
    op.put("/api/strategies/gate-people", json={"spec": strategy(min_confidence=0.9)})
    assert op.get("/api/strategies/gate-people").json()["enabled"] is False
    assert op.post("/api/strategies/gate-people/enable").json()["enabled"] is True
    manager.ingest("t-1", [(raw_event(4, confidence=0.85), {})])
    assert op.get("/api/events/ev-gate-1-00004").json()["blocked_by"] == "confident"

    assert op.delete("/api/strategies/gate-people").status_code == 200
    assert op.get("/api/strategies/gate-people").status_code == 404
    actions = [a for a, _ in audit_actions(ctx) if a.startswith("strategy.")]
    assert actions == [
        "strategy.create",
        "strategy.update",
        "strategy.disable",
        "strategy.update",
        "strategy.enable",
        "strategy.delete",
    ]


def test_validation_errors_are_clear_and_nothing_is_saved(api: Api) -> None:
    op = api.as_("operator")
    bad = strategy()
    bad["elements"][0]["min_confidence"] = 1.5
    check = op.post("/api/strategies/validate", json={"spec": bad}).json()
    assert check["valid"] is False
    assert "elements[0] (confident)" in check["error"] and "min_confidence" in check["error"]

    unknown = op.post(
        "/api/strategies/validate",
        json={"text": "id: x\nevent_types: [line.cross]\nelements:\n  - {id: a, type: sightline/nope@v1}\n"},
    ).json()
    assert unknown["valid"] is False and "unknown element type 'sightline/nope@v1'" in unknown["error"]
    assert "sightline/dedupe@v1" in unknown["error"]  # names the fix: the known types

    broken = op.post("/api/strategies/validate", json={"text": "id: [unclosed\n"}).json()
    assert broken["valid"] is False and "line" in broken["error"]

    good = op.post("/api/strategies/validate", json={"spec": strategy()}).json()
    assert good == {"valid": True, "error": None, "spec": good["spec"]} and good["spec"]["version"] == 1

    refused = op.post("/api/strategies", json={"spec": bad})
    assert refused.status_code == 422
    assert "min_confidence" in refused.json()["detail"][0]["msg"]
    assert op.get("/api/strategies").json() == []

    assert op.post("/api/strategies", json={}).status_code == 422  # neither spec nor text
    assert op.post("/api/strategies", json={"spec": strategy()}).status_code == 201
    again = op.post("/api/strategies", json={"spec": strategy()})
    assert again.status_code == 409 and "PUT /api/strategies/gate-people" in again.json()["detail"]
    renamed = op.put("/api/strategies/gate-people", json={"spec": strategy(id="other")})
    assert renamed.status_code == 422 and "cannot be renamed" in renamed.json()["detail"][0]["msg"]
    assert op.put("/api/strategies/nope", json={"spec": strategy(id="nope")}).status_code == 404


def test_roles(api: Api) -> None:
    assert api.as_("operator").post("/api/strategies", json={"spec": strategy()}).status_code == 201
    for role in ("viewer", "reviewer"):
        client = api.as_(role)
        assert client.get("/api/strategies").status_code == 200
        assert client.get("/api/strategies/gate-people").status_code == 200
        assert client.get("/api/strategies/effectiveness").status_code == 200
        assert client.post("/api/strategies/validate", json={"spec": strategy()}).status_code == 200
        denied = client.put("/api/strategies/gate-people", json={"spec": strategy()})
        assert denied.status_code == 403 and "operator" in denied.json()["detail"]
        assert client.post("/api/strategies", json={"spec": strategy(id="x")}).status_code == 403
        assert client.post("/api/strategies/gate-people/disable").status_code == 403
        assert client.delete("/api/strategies/gate-people").status_code == 403
        assert client.post("/api/strategies/gate-people/backtest", json={}).status_code == 403
        assert client.post("/api/error-library", json={"event_id": "x"}).status_code == 403
    assert api.as_(None).get("/api/strategies").status_code == 401


def test_blocked_events_are_never_delivered(api: Api, ctx: AppContext, manager: TaskManager) -> None:
    SubscriptionStore(ctx.db).create(name="all events", kind="webhook", url="http://127.0.0.1:9/hook")
    api.as_("operator").post("/api/strategies", json={"spec": strategy(min_confidence=0.6)})
    assert ctx.bus is not None
    published = ctx.bus.published
    manager.ingest(
        "t-1",
        [
            (raw_event(1, confidence=0.9), {"crop": crop_jpeg(1)}),
            (raw_event(2, confidence=0.3), {"crop": crop_jpeg(2)}),  # blocked
            (raw_event(3, confidence=0.8), {"crop": crop_jpeg(3)}),
        ],
    )
    manager.ingest("t-1", [(raw_event(1, confidence=0.9), {})])  # a retried batch: nobody is told twice
    assert [e.id for e in manager.delivered] == ["ev-gate-1-00001", "ev-gate-1-00003"]  # type: ignore[attr-defined]
    assert ctx.bus.published - published == 2  # the live feed (SSE, MQTT bridge) saw only those
    with ctx.db.session() as session:
        queued = sorted(session.scalars(select(Delivery.event_id)))
    assert queued == ["ev-gate-1-00001", "ev-gate-1-00003"]  # the webhook outbox too


def test_presets_are_seeded_once_and_editable(ctx: AppContext) -> None:
    from sightline.service.strategies import start_strategies
    from sightline.strategies.spec import load_presets

    presets = {p.id for p in load_presets()}
    assert presets, "the strategy package ships presets"
    center = start_strategies(ctx)
    assert {r.id for r in center.store.list()} == presets
    first = sorted(presets)[0]
    center.store.delete(first)
    center = start_strategies(ctx)  # a restart: a deleted preset stays deleted
    assert first not in {r.id for r in center.store.list()}
