"""Role enforcement on the auth, users and API-key routes, for every kind of caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.auth.auth_helpers import ROLES, Users, bearer, login

# (method, path, json body) of every admin-only route; ids need not exist:
# the role check runs before the lookup, so a 404 would mean a leak.
ADMIN_ROUTES = [
    ("GET", "/api/users", None),
    ("GET", "/api/users/some-id", None),
    ("POST", "/api/users", {"username": "newbie", "password": "Long enough pw 1", "role": "viewer"}),
    ("PATCH", "/api/users/some-id", {"display_name": "x"}),
    ("DELETE", "/api/users/some-id", None),
    ("GET", "/api/api-keys", None),
    ("POST", "/api/api-keys", {"name": "k", "role": "viewer"}),
    ("DELETE", "/api/api-keys/some-id", None),
]
ANY_CALLER_ROUTES = [("GET", "/api/auth/me", None)]
CALLERS = [*ROLES, "viewer-key", "admin-key", "anonymous"]


def _credentials(client: TestClient, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller.endswith("-key"):
        admin = login(client, "admin")
        r = client.post("/api/api-keys", json={"name": caller, "role": caller[:-4]}, headers=bearer(admin))
        return {"X-API-Key": r.json()["key"]}
    return bearer(login(client, caller))


@pytest.mark.parametrize("caller", CALLERS)
def test_admin_routes(client: TestClient, users: Users, caller: str) -> None:
    headers = _credentials(client, caller)
    expected_denied = 401 if caller == "anonymous" else 403
    for method, path, body in ADMIN_ROUTES:
        r = client.request(method, path, json=body, headers=headers)
        if caller in ("admin", "admin-key"):
            assert r.status_code not in (401, 403), (caller, method, path, r.text)
        else:
            assert r.status_code == expected_denied, (caller, method, path, r.text)
            if expected_denied == 403:
                assert "admin role" in r.json()["detail"]


@pytest.mark.parametrize("caller", CALLERS)
def test_routes_for_any_signed_in_caller(client: TestClient, users: Users, caller: str) -> None:
    headers = _credentials(client, caller)
    for method, path, body in ANY_CALLER_ROUTES:
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == (401 if caller == "anonymous" else 200), (caller, path)
