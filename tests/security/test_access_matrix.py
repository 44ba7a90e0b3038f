"""ACCESS-CONTROL MATRIX: every route the built app serves × every kind of
caller → allowed or denied, against the table below.

Callers: a signed-in admin, operator, reviewer and viewer (real login
tokens), an API key with the reviewer role, and anonymous. Expected:

- ``PUBLIC`` routes answer everyone (only health, login and the static UI
  shell — its page, files and string table — plus the OpenAPI description,
  which carries no data);
- otherwise anonymous gets **401**, a caller below the route's minimum role
  **403**, and everyone else anything but 401/403 (404 for the made-up ids,
  422 for the missing bodies: the role check runs before either).

The routes are walked from ``app.routes``: a route someone adds without a
row here fails ``test_every_route_has_an_expectation``, so the matrix grows
with the API. Add the row with the lowest role the route should admit.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute

from sightline.api.context import AppContext
from tests.security.conftest import login_headers
from tests.security.helpers import RANK, Caller, concrete, served_routes

PUBLIC = "public"
EXPECTED: dict[tuple[str, str], str] = {
    # system, UI shell, OpenAPI
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): "viewer",
    ("GET", "/"): PUBLIC,
    ("GET", "/ui/{path:path}"): PUBLIC,
    ("GET", "/api/i18n"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # sign-in
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): "viewer",
    ("GET", "/api/auth/me"): "viewer",
    ("POST", "/api/auth/password"): "viewer",
    # users and API keys
    ("GET", "/api/users"): "admin",
    ("POST", "/api/users"): "admin",
    ("GET", "/api/users/{user_id}"): "admin",
    ("PATCH", "/api/users/{user_id}"): "admin",
    ("DELETE", "/api/users/{user_id}"): "admin",
    ("GET", "/api/api-keys"): "admin",
    ("POST", "/api/api-keys"): "admin",
    ("DELETE", "/api/api-keys/{key_id}"): "admin",
    # cameras and algorithms
    ("GET", "/api/cameras"): "viewer",
    ("POST", "/api/cameras"): "operator",
    ("GET", "/api/cameras/{camera_id}"): "viewer",
    ("PATCH", "/api/cameras/{camera_id}"): "operator",
    ("DELETE", "/api/cameras/{camera_id}"): "operator",
    ("GET", "/api/cameras/{camera_id}/snapshot"): "viewer",
    ("GET", "/api/algorithms"): "viewer",
    # tasks
    ("GET", "/api/tasks"): "viewer",
    ("POST", "/api/tasks"): "operator",
    ("GET", "/api/tasks/{task_id}"): "viewer",
    ("PATCH", "/api/tasks/{task_id}"): "operator",
    ("DELETE", "/api/tasks/{task_id}"): "operator",
    ("POST", "/api/tasks/{task_id}/start"): "operator",
    ("POST", "/api/tasks/{task_id}/stop"): "operator",
    # uploads: recorded-file and image analysis
    ("GET", "/api/videos"): "viewer",
    ("POST", "/api/videos"): "operator",
    ("GET", "/api/videos/{video_id}"): "viewer",
    ("DELETE", "/api/videos/{video_id}"): "operator",
    ("POST", "/api/videos/{video_id}/analyze"): "operator",
    ("POST", "/api/images/analyze"): "reviewer",
    # events and review
    ("GET", "/api/event-types"): "viewer",
    ("GET", "/api/events"): "viewer",
    ("GET", "/api/events/export"): "viewer",
    ("GET", "/api/events/{event_id}"): "viewer",
    ("GET", "/api/events/{event_id}/image/{kind}"): "viewer",
    ("POST", "/api/events/{event_id}/review"): "reviewer",
    ("POST", "/api/events/{event_id}/hazard"): "reviewer",
    ("GET", "/api/events/{event_id}/deliveries"): "operator",
    # hazards
    ("GET", "/api/hazards"): "viewer",
    ("GET", "/api/hazards/{ticket_id}"): "viewer",
    ("POST", "/api/hazards/{ticket_id}/transition"): "operator",
    ("POST", "/api/hazards/{ticket_id}/assign"): "operator",
    ("GET", "/api/hazards/{ticket_id}/comments"): "viewer",
    ("POST", "/api/hazards/{ticket_id}/comments"): "reviewer",
    # statistics and the live feed
    ("GET", "/api/stats/events"): "viewer",
    ("GET", "/api/stats/cameras"): "viewer",
    ("GET", "/api/live/events"): "viewer",
    # subscriptions (webhook / MQTT)
    ("GET", "/api/subscriptions"): "operator",
    ("POST", "/api/subscriptions"): "operator",
    ("GET", "/api/subscriptions/{subscription_id}"): "operator",
    ("PATCH", "/api/subscriptions/{subscription_id}"): "operator",
    ("DELETE", "/api/subscriptions/{subscription_id}"): "operator",
    ("POST", "/api/subscriptions/{subscription_id}/rotate-secret"): "operator",
    ("POST", "/api/subscriptions/{subscription_id}/test"): "operator",
    # strategies and the error library
    ("GET", "/api/strategies"): "viewer",
    ("GET", "/api/strategies/effectiveness"): "viewer",
    ("POST", "/api/strategies/validate"): "viewer",
    ("POST", "/api/strategies/backtest"): "operator",
    ("POST", "/api/strategies"): "operator",
    ("GET", "/api/strategies/{strategy_id}"): "viewer",
    ("PUT", "/api/strategies/{strategy_id}"): "operator",
    ("DELETE", "/api/strategies/{strategy_id}"): "operator",
    ("POST", "/api/strategies/{strategy_id}/backtest"): "operator",
    ("POST", "/api/strategies/{strategy_id}/enable"): "operator",
    ("POST", "/api/strategies/{strategy_id}/disable"): "operator",
    ("GET", "/api/error-library"): "viewer",
    ("POST", "/api/error-library"): "operator",
    ("GET", "/api/error-library/{entry_id}/image"): "viewer",
    ("DELETE", "/api/error-library/{entry_id}"): "operator",
}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}  # answered by the framework for the GET/CORS of the same path


def served(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path, route in served_routes(app):
        if isinstance(route, Mount):
            found.add(("MOUNT", path))
        elif isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
            found.add(("WEBSOCKET", path))
        else:
            found |= {(m, path) for m in (getattr(route, "methods", None) or ()) if m not in SKIPPED_METHODS}
    return found


def verdict(expected: str, caller: Caller, status: int) -> str | None:
    """None when ``status`` is right for this caller, else what is wrong."""
    if expected == PUBLIC:
        return None if status not in (401, 403) else f"public route refused {caller.name} with {status}"
    if caller.role is None:
        return None if status == 401 else f"anonymous got {status}, not 401"
    if RANK[caller.role] >= RANK[expected]:
        return None if status not in (401, 403) else f"{caller.name} ({caller.role}) refused with {status}"
    return (
        None if status == 403 else f"{caller.name} ({caller.role}) got {status}, not 403 (needs {expected})"
    )


def test_every_route_has_an_expectation(app: FastAPI) -> None:
    missing = sorted(served(app) - set(EXPECTED))
    assert not missing, f"routes without a row in EXPECTED (add one with the lowest role): {missing}"
    gone = sorted(set(EXPECTED) - served(app))
    assert not gone, f"rows in EXPECTED for routes the app no longer serves: {gone}"


def test_access_matrix(app: FastAPI, client: TestClient, ctx: AppContext, callers: dict[str, Caller]) -> None:
    problems: list[str] = []
    checked = 0
    for method, template in sorted(served(app)):
        expected = EXPECTED.get((method, template))
        if expected is None or method in ("MOUNT", "WEBSOCKET"):
            continue  # reported by the test above
        for caller in callers.values():
            headers = dict(caller.headers)
            if (
                (method, template) == ("POST", "/api/auth/logout")
                and caller.role
                and "X-API-Key" not in headers
            ):
                headers = login_headers(client, caller.name)  # a fresh session: logging out ends it
            r = client.request(method, concrete(template), headers=headers)
            checked += 1
            wrong = verdict(expected, caller, r.status_code)
            if wrong:
                problems.append(f"{method} {template}: {wrong} ({r.text[:120]})")
    assert problems == []
    assert checked >= 60 * len(callers), "the route walk found too few routes"
    print(f"access matrix: {checked} requests ({checked // len(callers)} routes x {len(callers)} callers)")


@pytest.mark.parametrize(
    ("expected", "role", "status", "wrong"),
    [
        ("viewer", None, 200, True),
        ("viewer", None, 401, False),
        ("operator", "viewer", 404, True),
        ("operator", "viewer", 403, False),
        ("operator", "admin", 403, True),
        ("operator", "operator", 422, False),
        (PUBLIC, None, 401, True),
    ],
)
def test_the_verdict_can_fail(expected: str, role: str | None, status: int, wrong: bool) -> None:
    assert (verdict(expected, Caller("x", role, {}), status) is not None) is wrong


def test_no_data_route_is_public() -> None:
    """The public rows are exactly the ones the requirement allows (C5)."""
    public = {key for key, value in EXPECTED.items() if value == PUBLIC}
    assert public == {
        ("GET", "/healthz"),
        ("POST", "/api/auth/login"),
        ("GET", "/"),
        ("GET", "/ui/{path:path}"),
        ("GET", "/api/i18n"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
    }
