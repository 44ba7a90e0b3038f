"""Login throttling: 5 failures in 5 minutes lock a username + address out; success resets."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.auth.throttle import LoginThrottle
from sightline.core.clock import ManualClock
from tests.integration.auth.auth_helpers import Users, audit_rows

WRONG = "Definitely wrong 1"


def _try(client: TestClient, username: str, password: str) -> int:
    return int(client.post("/api/auth/login", json={"username": username, "password": password}).status_code)


def test_lockout_after_five_failures_then_recovery(
    client: TestClient, users: Users, clock: ManualClock, ctx: AppContext
) -> None:
    for _ in range(5):
        assert _try(client, "operator", WRONG) == 401
        clock.advance(10)
    r = client.post("/api/auth/login", json={"username": "operator", "password": users.password("operator")})
    assert r.status_code == 429  # even the right password: no oracle while locked
    assert r.headers["retry-after"] == str(300 - 10)
    assert "try again" in r.json()["detail"]
    clock.advance(289)
    locked = client.post("/api/auth/login", json={"username": "operator", "password": WRONG})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "1"
    clock.advance(1)
    assert _try(client, "operator", users.password("operator")) == 200
    assert [r.action for r in audit_rows(ctx)].count("auth.lockout") == 1


def test_success_resets_the_count(client: TestClient, users: Users) -> None:
    for _ in range(4):
        assert _try(client, "operator", WRONG) == 401
    assert _try(client, "operator", users.password("operator")) == 200
    for _ in range(4):
        assert _try(client, "operator", WRONG) == 401
    assert _try(client, "operator", users.password("operator")) == 200


def test_failures_older_than_the_window_do_not_count(
    client: TestClient, users: Users, clock: ManualClock
) -> None:
    for _ in range(4):
        assert _try(client, "viewer", WRONG) == 401
    clock.advance(301)
    for _ in range(4):
        assert _try(client, "viewer", WRONG) == 401
    assert _try(client, "viewer", users.password("viewer")) == 200


def test_lockout_is_per_username_and_address(app: FastAPI, client: TestClient, users: Users) -> None:
    for _ in range(5):
        _try(client, "viewer", WRONG)
    assert _try(client, "viewer", users.password("viewer")) == 429
    assert _try(client, "reviewer", users.password("reviewer")) == 200  # another account
    with TestClient(app, client=("192.0.2.7", 40000)) as elsewhere:  # the same account from elsewhere
        assert _try(elsewhere, "viewer", users.password("viewer")) == 200


def test_unknown_usernames_are_throttled_too(client: TestClient) -> None:
    for _ in range(5):
        assert _try(client, "ghost", WRONG) == 401
    assert _try(client, "ghost", WRONG) == 429


def test_throttle_memory_is_bounded() -> None:
    clock = ManualClock(0.0)
    throttle = LoginThrottle(clock, max_entries=100)
    for i in range(1000):
        throttle.failure(f"user{i}", "10.0.0.1")
    assert len(throttle) <= 100
    for _ in range(5):
        throttle.failure("victim", "10.0.0.2")
    assert throttle.retry_after("victim", "10.0.0.2") == 300.0
    assert throttle.retry_after("VICTIM ", "10.0.0.2") == 300.0  # same account however spelt
    assert throttle.retry_after("victim", "10.0.0.3") is None
