"""Task API: create / edit / start / stop / delete through TaskControl, config
validation with locations, normalised storage, schedule, merged status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.api.schemas.tasks import Schedule
from sightline.config.analysis import AnalysisConfig
from sightline.rules import ZoneIntrusionConfig
from sightline.storage.models import Task
from tests.integration.api.api_helpers import FakeTasks, audit_actions
from tests.integration.api.conftest import Api

CONFIG: dict[str, Any] = {
    "sampling": {"fps": 5},
    "detector": {"classes": ["person"]},
    "zones": [{"id": "yard", "name": "Yard", "points": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]}],
    "lines": [{"id": "door", "start": [0.5, 0.0], "end": [0.5, 1.0]}],
    "rules": [
        {"type": "sightline/zone_intrusion@v1", "id": "intrude", "zone": "yard", "classes": ["person"]},
        {"type": "sightline/line_crossing@v1", "id": "count", "line": "door"},
    ],
}


@pytest.fixture(autouse=True)
def cameras(api: Api) -> None:
    for cid, dept in (("gate-1", "east"), ("gate-2", "west")):
        r = api.as_("operator").post(
            "/api/cameras", json={"id": cid, "name": cid, "url": "rtsp://u:p@cam/x", "department": dept}
        )
        assert r.status_code == 201, r.text


def create(api: Api, **body: Any) -> Any:
    payload = {"id": "t1", "camera_id": "gate-1", "name": "Yard watch", "config": CONFIG, **body}
    r = api.as_("operator").post("/api/tasks", json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def test_lifecycle_calls_the_runner(api: Api, ctx: AppContext, tasks: FakeTasks) -> None:
    task = create(api)
    assert (
        task["desired_state"] == "stopped"
        and task["status"] == "created"
        and task["algorithm"] == "sightline/people@v1"
    )
    assert tasks.calls == []  # a stopped task needs nothing from the runner

    tasks.statuses["t1"] = {"state": "running", "error": None, "fps": 4.9, "frames": 120, "events": 3}
    r = api.as_("operator").post("/api/tasks/t1/start")
    assert r.status_code == 200, r.text
    assert r.json()["desired_state"] == "running"
    assert r.json()["status"] == "running" and r.json()["live"]["frames"] == 120  # merged from the runner
    assert tasks.calls == [("apply", "t1")]

    r = api.as_("operator").patch("/api/tasks/t1", json={"name": "Yard watch 2"})
    assert r.status_code == 200 and r.json()["name"] == "Yard watch 2"
    assert tasks.calls[-1] == ("apply", "t1")  # a running task restarts with its new settings

    tasks.statuses["t1"] = {"state": "stopped", "error": None}
    r = api.as_("operator").post("/api/tasks/t1/stop")
    assert r.json()["desired_state"] == "stopped" and r.json()["status"] == "stopped"
    assert tasks.calls[-1] == ("apply", "t1")

    assert api.as_("operator").delete("/api/tasks/t1").status_code == 204
    assert tasks.calls[-1] == ("remove", "t1")
    assert api.as_("operator").get("/api/tasks/t1").status_code == 404
    assert [a for a, _ in audit_actions(ctx)][-5:] == [
        "task.create", "task.start", "task.update", "task.stop", "task.delete",
    ]  # fmt: skip


def test_create_and_start_at_once(api: Api, tasks: FakeTasks) -> None:
    task = create(api, start=True)
    assert task["desired_state"] == "running" and tasks.calls == [("apply", "t1")]


def test_runner_failure_is_reported_on_the_task_not_a_500(api: Api, tasks: FakeTasks) -> None:
    create(api)

    def broken(task_id: str) -> None:
        raise RuntimeError("no GPU slot left")

    tasks.apply = broken  # type: ignore[method-assign]
    r = api.as_("operator").post("/api/tasks/t1/start")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "error" and "no GPU slot left" in body["error"] and "'t1'" in body["error"]


def test_config_is_validated_with_locations(api: Api) -> None:
    cases: list[tuple[dict[str, Any], list[Any], str]] = [
        ({**CONFIG, "zones": [{"id": "yard", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
         ["body", "config", "zones", 0], "crosses itself"),
        ({**CONFIG, "zones": [{"id": "yard", "points": [[0, 0], [2, 0], [0, 1]]}]},
         ["body", "config", "zones", 0, "points"], "outside the frame"),
        ({"lines": [{"id": "l", "start": [0.5, 0.5], "end": [0.5, 0.5]}]},
         ["body", "config", "lines", 0], "zero length"),
        ({"rules": [{"type": "sightline/line_crossing@v1", "id": "r", "line": "nope"}]},
         ["body", "config"], "refers to line 'nope'"),
        ({"detector": {"classes": ["unicorn"]}}, ["body", "config", "detector", "classes"], "unknown class"),
        ({"sampling": {"fps": 0}}, ["body", "config", "sampling", "fps"], "greater than 0"),
        ({"typo": 1}, ["body", "config", "typo"], "Extra inputs"),
    ]  # fmt: skip
    for config, loc, needle in cases:
        r = api.as_("operator").post(
            "/api/tasks", json={"camera_id": "gate-1", "name": "x", "config": config}
        )
        assert r.status_code == 422, (config, r.text)
        errors = r.json()["detail"]
        assert any(e["loc"][: len(loc)] == loc and needle in e["msg"] for e in errors), (loc, errors)


def test_other_validation(api: Api) -> None:
    r = api.as_("operator").post(
        "/api/tasks", json={"camera_id": "gate-1", "name": "x", "algorithm": "acme/x@v9"}
    )
    assert r.status_code == 422 and "available: sightline/people@v1" in r.text
    r = api.as_("operator").post("/api/tasks", json={"camera_id": "nope", "name": "x"})
    assert r.status_code == 404 and "no camera 'nope'" in r.text
    create(api)
    r = api.as_("operator").post("/api/tasks", json={"id": "t1", "camera_id": "gate-1", "name": "x"})
    assert r.status_code == 409 and "'t1' already exists" in r.text
    bad_schedules = [
        {"weekdays": [0]}, {"timezone": "Mars/Olympus"}, {"windows": [{"start": "25:00", "end": "26:00"}]},
        {"windows": [{"start": "08:00", "end": "08:00"}]}, {"windows": [{"start": "8:00", "end": "9:00"}]},
    ]  # fmt: skip
    for schedule in bad_schedules:
        r = api.as_("operator").patch("/api/tasks/t1", json={"schedule": schedule})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "schedule"], r.text
    r = api.as_("operator").patch("/api/tasks/t1", json={"config": None})
    assert r.status_code == 422 and "cannot be null" in r.text


def test_config_stored_normalised(api: Api, ctx: AppContext) -> None:
    task = create(api, camera_id="gate-2")
    config = task["config"]
    assert config["camera_id"] == "gate-2"
    assert config["rules"][0]["zone"] == "yard" and config["rules"][1]["line"] == "door"  # refs by id
    assert config["detector"]["confidence"] == 0.4  # defaults filled in
    rule = AnalysisConfig.model_validate(config).rules[0]  # the runner can load it
    assert isinstance(rule, ZoneIntrusionConfig) and rule.zone.id == "yard"
    # Editing the zone edits what the rule uses.
    moved = {**CONFIG, "zones": [{"id": "yard", "points": [[0.2, 0.2], [0.8, 0.2], [0.5, 0.8]]}]}
    r = api.as_("operator").patch("/api/tasks/t1", json={"config": moved})
    assert r.status_code == 200
    with ctx.db.session() as s:
        stored = s.get(Task, "t1")
        assert stored is not None
        rule = AnalysisConfig.model_validate(stored.config).rules[0]
        assert isinstance(rule, ZoneIntrusionConfig) and rule.zone.points[2] == (0.5, 0.8)


def test_schedule(api: Api) -> None:
    schedule = {
        "timezone": "Asia/Shanghai",
        "weekdays": [1, 2, 3, 4, 5],
        "windows": [{"start": "22:00", "end": "06:00"}],
    }
    task = create(api, schedule=schedule)
    assert task["schedule"] == schedule
    s = Schedule.model_validate(schedule)
    # 2024-05-06 is a Monday. 23:00 Monday Shanghai = 15:00 UTC.
    assert s.is_active(datetime(2024, 5, 6, 15, 0, tzinfo=UTC))
    assert not s.is_active(datetime(2024, 5, 6, 4, 0, tzinfo=UTC))  # 12:00 local
    # Saturday 03:00 local: the night that began on Friday (a weekday) counts ...
    assert s.is_active(datetime(2024, 5, 3, 19, 0, tzinfo=UTC))
    # ... Sunday 04:00 local does not: that night began on Saturday, not a weekday here.
    assert not s.is_active(datetime(2024, 5, 4, 20, 0, tzinfo=UTC))
    assert not Schedule(weekdays=[7]).is_active(datetime(2024, 5, 6, 12, tzinfo=UTC))  # all day, Sundays only


def test_start_on_disabled_camera_is_refused(api: Api, tasks: FakeTasks) -> None:
    create(api)
    api.as_("operator").patch("/api/cameras/gate-1", json={"enabled": False})
    r = api.as_("operator").post("/api/tasks/t1/start")
    assert r.status_code == 409 and "camera 'gate-1' is disabled" in r.json()["detail"]
    assert tasks.calls == []


def test_list_and_scope(api: Api) -> None:
    create(api)
    create(api, id="t2", camera_id="gate-2")
    r = api.as_("viewer").get("/api/tasks")
    assert [t["id"] for t in r.json()["items"]] == ["t1", "t2"] and r.json()["total"] == 2
    assert [
        t["id"] for t in api.as_("viewer").get("/api/tasks", params={"camera_id": "gate-2"}).json()["items"]
    ] == ["t2"]
    assert [t["id"] for t in api.as_("east_viewer").get("/api/tasks").json()["items"]] == ["t1"]
    assert api.as_("east_operator").get("/api/tasks/t2").status_code == 404
    assert api.as_("east_operator").post("/api/tasks/t2/start").status_code == 404
    r = api.as_("east_operator").patch("/api/tasks/t1", json={"camera_id": "gate-2"})
    assert r.status_code == 404  # cannot move a task onto a camera outside the scope
    algorithms = api.as_("viewer").get("/api/algorithms").json()
    assert algorithms[0]["id"] == "sightline/people@v1"


def test_delete_camera_cascade(api: Api, ctx: AppContext) -> None:
    create(api)
    api.as_("operator").delete("/api/cameras/gate-1")
    with ctx.db.session() as s:
        assert list(s.scalars(select(Task.id))) == []
