"""API keys: shown once, stored hashed, carry a role, revoked at once, last use recorded."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.auth import apikeys
from sightline.core.clock import ManualClock
from sightline.storage.models import ApiKey
from tests.integration.auth.auth_helpers import START, Users, bearer, login


def _create(client: TestClient, admin: str, role: str = "viewer", name: str = "dashboard") -> dict:  # type: ignore[type-arg]
    r = client.post("/api/api-keys", json={"name": name, "role": role}, headers=bearer(admin))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_key_is_shown_once_and_stored_as_a_hash(client: TestClient, users: Users, ctx: AppContext) -> None:
    admin = login(client, "admin")
    created = _create(client, admin, "operator")
    key = created["key"]
    assert apikeys.looks_like_key(key)
    assert key.startswith(f"sl_{created['key_prefix']}_") and len(created["key_prefix"]) == 8
    assert created["role"] == "operator" and created["owner_id"] == users.ids["admin"]
    assert "key_hash" not in created
    listed = client.get("/api/api-keys", headers=bearer(admin)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and "key_hash" not in listed[0] and key not in str(listed)
    with ctx.db.session() as s:
        row = s.get(ApiKey, created["id"])
        assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in repr(s.execute(select(ApiKey.__table__)).all())


def test_key_authenticates_with_its_role(client: TestClient, users: Users) -> None:
    admin = login(client, "admin")
    viewer_key = _create(client, admin, "viewer")["key"]
    admin_key = _create(client, admin, "admin", "provisioning")["key"]
    me = client.get("/api/auth/me", headers={"X-API-Key": viewer_key})
    assert me.status_code == 200
    assert (
        me.json()["kind"] == "api_key" and me.json()["role"] == "viewer" and me.json()["name"] == "dashboard"
    )
    assert client.get("/api/auth/me", headers=bearer(viewer_key)).status_code == 200  # as a bearer token too
    assert client.get("/api/users", headers={"X-API-Key": viewer_key}).status_code == 403
    assert client.get("/api/users", headers={"X-API-Key": admin_key}).status_code == 200
    assert client.post("/api/auth/logout", headers={"X-API-Key": viewer_key}).status_code == 400


def test_an_invalid_key_is_not_rescued_by_another_credential(client: TestClient, users: Users) -> None:
    token = login(client, "admin")
    headers = {**bearer(token), "X-API-Key": "sl_abcdefgh_" + "x" * 43}
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_revoked_key_stops_working_at_once(client: TestClient, users: Users, ctx: AppContext) -> None:
    admin = login(client, "admin")
    created = _create(client, admin)
    key = created["key"]
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 200
    assert client.delete(f"/api/api-keys/{created['id']}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(key)).status_code == 401
    assert client.get("/api/api-keys", headers=bearer(admin)).json() == []
    revoked = client.get("/api/api-keys", params={"include_revoked": True}, headers=bearer(admin)).json()
    assert revoked[0]["revoked"] is True and datetime.fromisoformat(
        revoked[0]["revoked_at"]
    ) == datetime.fromtimestamp(START, UTC)
    assert (
        client.delete(f"/api/api-keys/{created['id']}", headers=bearer(admin)).status_code == 204
    )  # idempotent
    assert client.delete("/api/api-keys/nope", headers=bearer(admin)).status_code == 404


def test_last_used_is_recorded_at_most_once_a_minute(
    client: TestClient, users: Users, ctx: AppContext, clock: ManualClock
) -> None:
    admin = login(client, "admin")
    created = _create(client, admin)

    def last_used() -> datetime | None:
        with ctx.db.session() as s:
            row = s.get(ApiKey, created["id"])
            assert row is not None
            return row.last_used_at

    assert last_used() is None
    client.get("/api/auth/me", headers={"X-API-Key": created["key"]})
    first = last_used()
    assert first == datetime.fromtimestamp(START, UTC)
    clock.advance(30)
    client.get("/api/auth/me", headers={"X-API-Key": created["key"]})
    assert last_used() == first  # throttled: no write
    clock.advance(31)
    client.get("/api/auth/me", headers={"X-API-Key": created["key"]})
    assert last_used() == datetime.fromtimestamp(START + 61, UTC)


def test_key_format() -> None:
    key, prefix = apikeys.generate()
    other, _ = apikeys.generate()
    assert key != other and apikeys.looks_like_key(key) and key.split("_", 2)[1] == prefix
    assert not apikeys.looks_like_key("sl_short_x") and not apikeys.looks_like_key("slt_" + "a" * 43)
