"""Role matrix: every route of the cameras, tasks, events, hazards, stats and
system routers × every role → admitted or refused.

"Admitted" means neither 401 nor 403 (a 404 for the made-up ids is fine: the
role check passed). A route added to those routers without a row here fails
``test_matrix_covers_every_route``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.api.routers import ROUTERS, cameras, events, hazards, stats, system, tasks
from tests.integration.api.api_helpers import ROLES, FakeTasks, add_users
from tests.integration.api.conftest import Api

RANK = {"viewer": 0, "reviewer": 1, "operator": 2, "admin": 3}
OURS = (cameras, tasks, events, hazards, stats, system)

# (method, path template, concrete path, JSON body, minimum role; None = no sign-in needed)
MATRIX: list[tuple[str, str, str, Any, str | None]] = [
    ("GET", "/healthz", "/healthz", None, None),
    ("GET", "/metrics", "/metrics", None, "viewer"),
    ("GET", "/api/cameras", "/api/cameras", None, "viewer"),
    ("POST", "/api/cameras", "/api/cameras", {"name": "m", "url": "/v.mp4"}, "operator"),
    ("GET", "/api/cameras/{camera_id}", "/api/cameras/nope", None, "viewer"),
    ("PATCH", "/api/cameras/{camera_id}", "/api/cameras/nope", {"name": "x"}, "operator"),
    ("DELETE", "/api/cameras/{camera_id}", "/api/cameras/nope", None, "operator"),
    ("GET", "/api/cameras/{camera_id}/snapshot", "/api/cameras/nope/snapshot", None, "viewer"),
    ("GET", "/api/algorithms", "/api/algorithms", None, "viewer"),
    ("GET", "/api/tasks", "/api/tasks", None, "viewer"),
    ("POST", "/api/tasks", "/api/tasks", {"camera_id": "nope", "name": "x"}, "operator"),
    ("GET", "/api/tasks/{task_id}", "/api/tasks/nope", None, "viewer"),
    ("PATCH", "/api/tasks/{task_id}", "/api/tasks/nope", {"name": "x"}, "operator"),
    ("DELETE", "/api/tasks/{task_id}", "/api/tasks/nope", None, "operator"),
    ("POST", "/api/tasks/{task_id}/start", "/api/tasks/nope/start", None, "operator"),
    ("POST", "/api/tasks/{task_id}/stop", "/api/tasks/nope/stop", None, "operator"),
    ("GET", "/api/event-types", "/api/event-types", None, "viewer"),
    ("GET", "/api/events", "/api/events", None, "viewer"),
    ("GET", "/api/events/export", "/api/events/export", None, "viewer"),
    ("GET", "/api/events/{event_id}", "/api/events/nope", None, "viewer"),
    ("GET", "/api/events/{event_id}/image/{kind}", "/api/events/nope/image/frame", None, "viewer"),
    ("POST", "/api/events/{event_id}/review", "/api/events/nope/review", {"status": "true"}, "reviewer"),
    ("POST", "/api/events/{event_id}/hazard", "/api/events/nope/hazard", {}, "reviewer"),
    ("GET", "/api/hazards", "/api/hazards", None, "viewer"),
    ("GET", "/api/hazards/{ticket_id}", "/api/hazards/nope", None, "viewer"),
    (
        "POST",
        "/api/hazards/{ticket_id}/transition",
        "/api/hazards/nope/transition",
        {"to_state": "rectifying"},
        "operator",
    ),
    (
        "POST",
        "/api/hazards/{ticket_id}/assign",
        "/api/hazards/nope/assign",
        {"assignee_id": None},
        "operator",
    ),
    ("GET", "/api/hazards/{ticket_id}/comments", "/api/hazards/nope/comments", None, "viewer"),
    ("POST", "/api/hazards/{ticket_id}/comments", "/api/hazards/nope/comments", {"body": "x"}, "reviewer"),
    ("GET", "/api/stats/events", "/api/stats/events", None, "viewer"),
    ("GET", "/api/stats/cameras", "/api/stats/cameras", None, "viewer"),
]


@pytest.fixture(scope="module")
def matrix_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app for the whole matrix (the checks do not depend on each other's data)."""
    data = tmp_path_factory.mktemp("roles")
    ctx = AppContext.open(data, f"sqlite:///{data / 'sightline.db'}")
    add_users(ctx)
    ctx.tasks = FakeTasks()
    app = build_app(ctx)
    with TestClient(app) as client:
        yield Api(app, client)
    ctx.db.dispose()


@pytest.mark.parametrize("who", [*ROLES, None])
@pytest.mark.parametrize(
    ("method", "template", "path", "body", "minimum"), MATRIX, ids=[f"{m} {t}" for m, t, *_ in MATRIX]
)
def test_role_matrix(
    matrix_api: Api, who: str | None, method: str, template: str, path: str, body: Any, minimum: str | None
) -> None:
    r = matrix_api.as_(who).request(method, path, json=body)
    if minimum is None:
        assert r.status_code not in (401, 403), r.text
    elif who is None:
        assert r.status_code == 401, r.text
    elif RANK[who] >= RANK[minimum]:
        assert r.status_code not in (401, 403), (who, r.status_code, r.text)
    else:
        assert r.status_code == 403, (who, r.status_code, r.text)
        assert f"needs the {minimum} role" in r.json()["detail"]


def test_matrix_covers_every_route() -> None:
    assert all(module.router in ROUTERS for module in OURS)
    served = {
        (method, route.path)
        for module in OURS
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == {(m, t) for m, t, *_ in MATRIX}
