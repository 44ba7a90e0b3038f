"""Review feedback (P1 error library): a reviewer marks an event false
positive and adds it to its camera's error library in one action; the next
event whose crop looks the same is blocked, and shows up — with its trace —
among the blocked events. Other scenes and other cameras still pass."""

from __future__ import annotations

from sightline.api.context import AppContext
from sightline.service.tasks import TaskManager
from tests.integration.api.api_helpers import audit_actions
from tests.integration.api.conftest import Api
from tests.integration.strategies.helpers import crop_jpeg, raw_event, strategy


def test_false_positive_review_feeds_the_error_library(
    api: Api, ctx: AppContext, manager: TaskManager
) -> None:
    spec = strategy(library=True, cameras=())
    assert api.as_("operator").post("/api/strategies", json={"spec": spec}).status_code == 201
    manager.ingest("t-1", [(raw_event(1), {"frame": crop_jpeg(1), "crop": crop_jpeg(1)})])

    reviewer = api.as_("reviewer")  # one client: as_() decides who the next requests come from
    refused = reviewer.post(
        "/api/events/ev-gate-1-00001/review", json={"status": "true", "add_to_error_library": True}
    )
    assert refused.status_code == 422 and "status 'false'" in refused.json()["detail"][0]["msg"]
    assert reviewer.get("/api/events/ev-gate-1-00001").json()["reviews"] == []  # nothing recorded

    review = reviewer.post(
        "/api/events/ev-gate-1-00001/review",
        json={"status": "false", "note": "shadow of the gate", "add_to_error_library": True},
    )
    assert review.status_code == 201, review.text
    entry_id = review.json()["error_library_entry_id"]
    assert entry_id
    library = reviewer.get("/api/error-library").json()
    assert [(e["id"], e["camera_id"], e["event_type"], e["event_id"]) for e in library] == [
        (entry_id, "gate-1", "line.cross", "ev-gate-1-00001")
    ]
    assert len(library[0]["fingerprint"]) == 16  # 64-bit pHash
    image = reviewer.get(library[0]["image"])
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    assert ("error_library.add", entry_id) in audit_actions(ctx)

    # The same false positive again (another JPEG quality, a little brighter, 2 px jitter): blocked.
    again = crop_jpeg(1, quality=70, brighten=6, shift=2)
    manager.ingest(
        "t-1",
        [
            (raw_event(2), {"frame": again, "crop": again}),
            (raw_event(3), {"frame": crop_jpeg(3), "crop": crop_jpeg(3)}),  # another scene
            (raw_event(4, camera_id="gate-2"), {"crop": again}),  # another camera's library is empty
        ],
    )
    blocked = reviewer.get("/api/events?outcome=blocked").json()["items"]
    assert [e["id"] for e in blocked] == ["ev-gate-1-00002"]
    detail = reviewer.get("/api/events/ev-gate-1-00002").json()
    assert detail["blocked_by"] == "known-false"
    step = next(s for s in detail["trace"] if s["element_id"] == "known-false")
    assert step["verdict"] == "blocked" and step["values"]
    passed = {e["id"] for e in reviewer.get("/api/events").json()["items"]}
    assert passed == {"ev-gate-1-00001", "ev-gate-1-00003", "ev-gate-2-00004"}

    # Removing the entry lets such events pass again, at once.
    assert api.as_("reviewer").delete(f"/api/error-library/{entry_id}").status_code == 403
    op = api.as_("operator")
    assert op.delete(f"/api/error-library/{entry_id}").status_code == 200
    manager.ingest("t-1", [(raw_event(5), {"crop": again})])
    assert op.get("/api/events/ev-gate-1-00005").json()["outcome"] == "passed"
    assert op.delete(f"/api/error-library/{entry_id}").status_code == 404


def test_operator_adds_from_an_event_and_the_library_survives_a_restart(
    api: Api, ctx: AppContext, manager: TaskManager
) -> None:
    from sightline.service.strategies import STRATEGIES_KEY, strategy_center

    api.as_("operator").post("/api/strategies", json={"spec": strategy(library=True)})
    manager.ingest("t-1", [(raw_event(1), {"crop": crop_jpeg(9)}), (raw_event(2), {"frame": crop_jpeg(8)})])
    op = api.as_("operator")
    added = op.post("/api/error-library", json={"event_id": "ev-gate-1-00001", "note": "poster"})
    assert added.status_code == 201 and added.json()["note"] == "poster"
    no_crop = op.post("/api/error-library", json={"event_id": "ev-gate-1-00002"})
    assert no_crop.status_code == 409 and "no stored crop" in no_crop.json()["detail"]
    assert op.post("/api/error-library", json={"event_id": "nope"}).status_code == 404

    ctx.extra.pop(STRATEGIES_KEY)  # a restart: the engine and library load from the database
    assert len(strategy_center(ctx).library) == 1
    manager.ingest("t-1", [(raw_event(3), {"crop": crop_jpeg(9, quality=75)})])
    assert op.get("/api/events/ev-gate-1-00003").json()["blocked_by"] == "known-false"
