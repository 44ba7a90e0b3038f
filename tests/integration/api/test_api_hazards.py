"""Hazard workflow API (seed 000 §4.3.1.3): reported → rectifying → verifying →
accepted, with assignee, comments, refused transitions and scoping."""

from __future__ import annotations

import pytest

from sightline.api.context import AppContext
from tests.integration.api.api_helpers import audit_actions, make_event, store_event
from tests.integration.api.conftest import Api


@pytest.fixture(autouse=True)
def events(api: Api, ctx: AppContext) -> None:
    for cid, dept in (("gate-1", "east"), ("gate-2", "west")):
        api.as_("operator").post(
            "/api/cameras", json={"id": cid, "name": cid, "url": "/v.mp4", "department": dept}
        )
    store_event(ctx, make_event(1, camera_id="gate-1"))
    store_event(ctx, make_event(2, camera_id="gate-2", type="zone.enter", zone_id="tank"))
    store_event(ctx, make_event(3, camera_id="gate-1"))


def report(api: Api, event_id: str = "ev-0001", **body: object) -> dict[str, object]:
    r = api.as_("reviewer").post(f"/api/events/{event_id}/hazard", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_full_workflow(api: Api, ctx: AppContext) -> None:
    ticket = report(api, description="worker without helmet near tank 3", assignee_id="u-operator")
    tid = ticket["id"]
    assert ticket["state"] == "reported" and ticket["next_states"] == ["rectifying"]
    assert ticket["reporter_name"] == "Rita Reviewer" and ticket["assignee_name"] == "Otto Operator"
    assert ticket["title"] == "越线 / Line crossing — gate-1" and ticket["camera_id"] == "gate-1"

    op = api.as_("operator")
    back_and_forth = [("rectifying", ["verifying"]), ("verifying", ["accepted", "rectifying"])]
    steps = [*back_and_forth, *back_and_forth, ("accepted", [])]  # a failed verification, then success
    for to_state, next_states in steps:
        r = op.post(f"/api/hazards/{tid}/transition", json={"to_state": to_state, "note": f"now {to_state}"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == to_state and r.json()["next_states"] == next_states
    final = api.as_("viewer").get(f"/api/hazards/{tid}").json()
    assert final["closed_at"] is not None
    history = [(c["from_state"], c["to_state"], c["author_name"]) for c in final["comments"]]
    assert history[0] == (None, "reported", "Rita Reviewer")
    assert history[-1] == ("verifying", "accepted", "Otto Operator")
    assert len(history) == 6
    assert api.as_("viewer").get("/api/events/ev-0001").json()["hazard"] == {"id": tid, "state": "accepted"}
    actions = [a for a, _ in audit_actions(ctx)]
    assert actions.count("hazard.transition") == 5 and "hazard.report" in actions


def test_invalid_transition_is_409_naming_allowed_states(api: Api) -> None:
    tid = report(api)["id"]
    r = api.as_("operator").post(f"/api/hazards/{tid}/transition", json={"to_state": "accepted"})
    assert r.status_code == 409
    assert "'reported'" in r.json()["detail"] and "rectifying" in r.json()["detail"]
    r = api.as_("operator").post(f"/api/hazards/{tid}/transition", json={"to_state": "reported"})
    assert r.status_code == 409 and "can go to rectifying" in r.json()["detail"]
    r = api.as_("operator").post(f"/api/hazards/{tid}/transition", json={"to_state": "done"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "to_state"]
    # A reviewer reports, but only operators move tickets.
    assert (
        api.as_("reviewer")
        .post(f"/api/hazards/{tid}/transition", json={"to_state": "rectifying"})
        .status_code
        == 403
    )
    assert (
        api.as_("operator").post("/api/hazards/nope/transition", json={"to_state": "rectifying"}).status_code
        == 404
    )


def test_one_ticket_per_event(api: Api) -> None:
    tid = report(api)["id"]
    r = api.as_("reviewer").post("/api/events/ev-0001/hazard", json={})
    assert r.status_code == 409 and tid in r.json()["detail"]
    assert api.as_("reviewer").post("/api/events/nope/hazard", json={}).status_code == 404
    assert api.as_("viewer").post("/api/events/ev-0003/hazard", json={}).status_code == 403


def test_assign_and_comments(api: Api, ctx: AppContext) -> None:
    tid = report(api)["id"]
    r = api.as_("operator").post(f"/api/hazards/{tid}/assign", json={"assignee_id": "u-reviewer"})
    assert r.status_code == 200 and r.json()["assignee_name"] == "Rita Reviewer"
    r = api.as_("operator").post(f"/api/hazards/{tid}/assign", json={"assignee_id": "ghost"})
    assert (
        r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "assignee_id"] and "ghost" in r.text
    )
    r = api.as_("reviewer").post("/api/events/ev-0003/hazard", json={"assignee_id": "ghost"})
    assert r.status_code == 422

    r = api.as_("reviewer").post(
        f"/api/hazards/{tid}/comments", json={"body": "已通知班组长 — crew lead told"}
    )
    assert r.status_code == 201 and r.json()["author_name"] == "Rita Reviewer"
    assert api.as_("reviewer").post(f"/api/hazards/{tid}/comments", json={"body": ""}).status_code == 422
    assert api.as_("viewer").post(f"/api/hazards/{tid}/comments", json={"body": "hi"}).status_code == 403
    comments = api.as_("viewer").get(f"/api/hazards/{tid}/comments").json()
    assert comments[-1]["body"] == "已通知班组长 — crew lead told"
    assert [c["body"] for c in comments][1] == "assigned to u-reviewer"

    mine = api.as_("reviewer").get("/api/hazards", params={"assignee": "me"}).json()
    assert [t["id"] for t in mine["items"]] == [tid]
    assert api.as_("operator").get("/api/hazards", params={"assignee": "me"}).json()["total"] == 0
    r = api.as_("operator").post(f"/api/hazards/{tid}/assign", json={"assignee_id": None})
    assert r.json()["assignee_id"] is None
    assert ("hazard.comment", tid) in audit_actions(ctx)


def test_list_filters_and_scope(api: Api) -> None:
    t1 = report(api, "ev-0001")["id"]
    t2 = report(api, "ev-0002")["id"]
    t3 = report(api, "ev-0003")["id"]
    api.as_("operator").post(f"/api/hazards/{t3}/transition", json={"to_state": "rectifying"})
    all_ = api.as_("viewer").get("/api/hazards").json()
    assert all_["total"] == 3 and all_["items"][0]["id"] == t3  # most recently updated first
    assert [
        t["id"] for t in api.as_("viewer").get("/api/hazards", params={"state": "rectifying"}).json()["items"]
    ] == [t3]
    both = (
        api.as_("viewer").get("/api/hazards", params={"state": ["reported", "rectifying"], "limit": 2}).json()
    )
    assert both["total"] == 3 and len(both["items"]) == 2
    east = api.as_("east_viewer")
    assert {t["id"] for t in east.get("/api/hazards").json()["items"]} == {t1, t3}
    assert east.get(f"/api/hazards/{t2}").status_code == 404
    assert (
        api.as_("east_operator")
        .post(f"/api/hazards/{t2}/transition", json={"to_state": "rectifying"})
        .status_code
        == 404
    )
    assert api.as_("viewer").get("/api/hazards", params={"state": "closed"}).status_code == 422
