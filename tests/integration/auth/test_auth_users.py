"""User administration: create, update, reset, delete, and the last-admin rule."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.auth.models import LoginSession
from tests.integration.auth.auth_helpers import Users, bearer, login

NEW: dict[str, Any] = {
    "username": "Carol",
    "password": "Carol's long passphrase",
    "role": "reviewer",
    "departments": ["north"],
}


def test_create_user(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    r = client.post("/api/users", json=NEW, headers=bearer(admin))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == "carol" and body["role"] == "reviewer" and body["departments"] == ["north"]
    assert "password" not in r.text and "argon2" not in r.text
    assert client.get(f"/api/users/{body['id']}", headers=bearer(admin)).json() == body
    assert login(client, "carol", NEW["password"])
    listed = client.get("/api/users", headers=bearer(admin)).json()
    assert [u["username"] for u in listed] == ["admin", "carol", "operator", "reviewer", "viewer"]
    assert "argon2" not in str(listed)


def test_create_user_refusals(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    cases = [
        ({**NEW, "username": "viewer"}, 409, "already exists"),
        ({**NEW, "username": "VIEWER"}, 409, "already exists"),
        ({**NEW, "password": "short1"}, 422, "at least 10"),
        ({**NEW, "password": "alllowercaseletters"}, 422, "one kind"),
        ({**NEW, "password": ""}, 422, ""),
        ({**NEW, "username": "bad name!"}, 422, "invalid username"),
        ({**NEW, "role": "superuser"}, 422, ""),
        ({**NEW, "is_admin": True}, 422, ""),
    ]
    for body, status, message in cases:
        r = client.post("/api/users", json=body, headers=bearer(admin))
        assert r.status_code == status, (body, r.text)
        assert message in r.text


def test_update_user(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    uid = users.ids["viewer"]
    r = client.patch(
        f"/api/users/{uid}",
        json={"role": "reviewer", "departments": ["east", "west"], "display_name": "Vera"},
        headers=bearer(admin),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["departments"], r.json()["display_name"]) == (
        "reviewer",
        ["east", "west"],
        "Vera",
    )
    assert client.patch(f"/api/users/{uid}", json={"role": None}, headers=bearer(admin)).status_code == 422
    assert client.patch(f"/api/users/{uid}", json={"username": "x"}, headers=bearer(admin)).status_code == 422
    assert client.patch("/api/users/nope", json={"role": "viewer"}, headers=bearer(admin)).status_code == 404


def test_password_reset_ends_the_users_sessions(client: TestClient, users: Users) -> None:
    admin, viewer = login(client, "admin"), login(client, "viewer")
    weak = client.patch(f"/api/users/{users.ids['viewer']}", json={"password": "weak"}, headers=bearer(admin))
    assert weak.status_code == 422
    assert client.get("/api/auth/me", headers=bearer(viewer)).status_code == 200  # nothing changed
    new = "Reset by the admin 2024"
    r = client.patch(f"/api/users/{users.ids['viewer']}", json={"password": new}, headers=bearer(admin))
    assert r.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(viewer)).status_code == 401
    assert login(client, "viewer", new)


def test_delete_user_ends_their_sessions(client: TestClient, users: Users, ctx: AppContext) -> None:
    admin, operator = login(client, "admin"), login(client, "operator")
    assert client.delete(f"/api/users/{users.ids['operator']}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(operator)).status_code == 401
    with ctx.db.session() as s:
        assert (
            s.scalars(select(LoginSession).where(LoginSession.user_id == users.ids["operator"])).all() == []
        )
    assert client.delete(f"/api/users/{users.ids['operator']}", headers=bearer(admin)).status_code == 404


def test_cannot_delete_or_disable_yourself(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    me = users.ids["admin"]
    r = client.delete(f"/api/users/{me}", headers=bearer(admin))
    assert r.status_code == 400 and "your own account" in r.json()["detail"]
    r = client.patch(f"/api/users/{me}", json={"disabled": True}, headers=bearer(admin))
    assert r.status_code == 400 and "your own account" in r.json()["detail"]


def test_the_last_admin_cannot_be_removed(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    key = client.post("/api/api-keys", json={"name": "ops", "role": "admin"}, headers=bearer(admin)).json()[
        "key"
    ]
    as_key = {"X-API-Key": key}
    only = users.ids["admin"]
    for method, body in (("DELETE", None), ("PATCH", {"role": "operator"}), ("PATCH", {"disabled": True})):
        r = client.request(method, f"/api/users/{only}", json=body, headers=as_key)
        assert r.status_code == 409, (method, body, r.text)
        assert "last enabled admin" in r.json()["detail"]
    r = client.patch(f"/api/users/{only}", json={"role": "viewer"}, headers=bearer(admin))  # demote yourself
    assert r.status_code == 409
    assert client.get("/api/users", headers=bearer(admin)).status_code == 200  # still admin

    # With a second admin, either may go.
    second = client.patch(f"/api/users/{users.ids['operator']}", json={"role": "admin"}, headers=as_key)
    assert second.status_code == 200
    assert (
        client.patch(f"/api/users/{only}", json={"role": "viewer"}, headers=bearer(admin)).status_code == 200
    )
    assert (
        client.delete(f"/api/users/{users.ids['operator']}", headers=as_key).status_code == 409
    )  # now the last
