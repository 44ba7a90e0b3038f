"""Every write leaves an audit record, and no record holds a secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.audit import AuditorDep, audit, scrub
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.storage.models import User
from tests.integration.auth.auth_helpers import Users, audit_dump, audit_rows, bearer, login


def test_every_write_is_audited_without_secrets(client: TestClient, users: Users, ctx: AppContext) -> None:
    admin = login(client, "admin")  # auth.login
    first = len(audit_rows(ctx))
    new_user_pw, reset_pw, own_pw = "First password 123", "Reset password 456", "Own new password 789"
    uid = client.post(
        "/api/users",
        json={"username": "dave", "password": new_user_pw, "role": "viewer"},
        headers=bearer(admin),
    ).json()["id"]
    client.patch(f"/api/users/{uid}", json={"role": "operator", "password": reset_pw}, headers=bearer(admin))
    dave = login(client, "dave", reset_pw)
    change = {"current_password": reset_pw, "new_password": own_pw}
    assert client.post("/api/auth/password", json=change, headers=bearer(dave)).status_code == 204
    created = client.post(
        "/api/api-keys", json={"name": "app", "role": "viewer"}, headers=bearer(admin)
    ).json()
    client.get("/api/auth/me", headers={"X-API-Key": created["key"]})
    client.delete(f"/api/api-keys/{created['id']}", headers=bearer(admin))
    client.post("/api/auth/logout", headers=bearer(dave))
    client.delete(f"/api/users/{uid}", headers=bearer(admin))

    rows = audit_rows(ctx)[first:]
    assert [r.action for r in rows] == [
        "user.create",
        "user.update",
        "auth.login",
        "user.password_change",
        "api_key.create",
        "api_key.revoke",
        "auth.logout",
        "user.delete",
    ]
    by_action = {r.action: r for r in rows}
    admin_actor = f"user:{users.ids['admin']}"
    assert {
        r.actor for r in rows if r.action.startswith(("user.create", "user.update", "api_key", "user.delete"))
    } == {admin_actor}
    assert by_action["auth.login"].actor == by_action["auth.logout"].actor == f"user:{uid}"
    assert by_action["user.create"].target == uid
    assert by_action["user.update"].details["role"] == {"from": "viewer", "to": "operator"}
    assert by_action["user.update"].details["password_reset"] is True
    assert by_action["user.create"].details["actor_name"] == "admin"
    assert by_action["user.create"].details["ip"] == "testclient"
    assert by_action["api_key.create"].target == created["id"]
    assert [r.at for r in rows] == sorted(r.at for r in rows)  # wall-clock time of writing
    assert all(r.hash for r in rows)  # HMAC-chained; the chain is tested in tests/security

    dump = audit_dump(ctx)
    with ctx.db.session() as s:
        hashes = [u.password_hash for u in s.query(User).all()]
    for secret in (new_user_pw, reset_pw, own_pw, created["key"], admin, dave, *hashes, "argon2"):
        assert secret not in dump


def test_failed_writes_leave_no_record(client: TestClient, users: Users, ctx: AppContext) -> None:
    admin = login(client, "admin")
    before = len(audit_rows(ctx))
    client.post(
        "/api/users", json={"username": "e", "password": "weak", "role": "viewer"}, headers=bearer(admin)
    )
    client.delete(f"/api/users/{users.ids['admin']}", headers=bearer(admin))
    client.delete("/api/api-keys/nope", headers=bearer(admin))
    assert len(audit_rows(ctx)) == before


def test_scrub_removes_secrets_at_any_depth() -> None:
    details: dict[str, Any] = {
        "name": "gate",
        "url": "rtsp://admin:hunter2@10.0.0.5/stream",
        "password": "hunter2",
        "nested": {"webhook_secret": "s3", "list": [{"token": "t"}, {"api_key": "k", "ok": 1}]},
        "Authorization": "Bearer x",
        "when": datetime(2027, 1, 1, tzinfo=UTC),
    }
    clean = scrub(details)
    assert clean["url"] == "rtsp://***@10.0.0.5/stream"
    assert clean["password"] == clean["nested"]["webhook_secret"] == clean["Authorization"] == "***"
    assert clean["nested"]["list"] == [{"token": "***"}, {"api_key": "***", "ok": 1}]
    assert clean["name"] == "gate" and clean["when"] == "2027-01-01T00:00:00+00:00"
    assert "hunter2" not in repr(clean)


def test_audit_joins_the_callers_transaction(ctx: AppContext) -> None:
    principal = Principal(subject="u1", name="alice", role="operator")
    with pytest.raises(RuntimeError), ctx.db.session() as session:
        audit(ctx, principal, "camera.create", "cam-1", {"name": "gate"}, session=session)
        raise RuntimeError("the change failed")
    assert audit_rows(ctx) == []
    audit(ctx, principal, "camera.create", "cam-1", {"name": "gate", "url": "rtsp://u:p@h/s"})
    (row,) = audit_rows(ctx)
    assert (row.actor, row.action, row.target) == ("user:u1", "camera.create", "cam-1")
    assert row.details == {
        "actor_name": "alice",
        "actor_role": "operator",
        "name": "gate",
        "url": "rtsp://***@h/s",
    }
    audit(ctx, Principal(subject="apikey:k1", name="app", role="viewer", api_key_id="k1"), "x.y")
    assert audit_rows(ctx)[-1].actor == "apikey:k1"


def test_auditor_dependency(app: FastAPI, client: TestClient, users: Users, ctx: AppContext) -> None:
    @app.post("/api/test-audited-write")
    def write(auditor: AuditorDep) -> dict[str, str]:
        with auditor.ctx.db.session() as session:
            auditor("thing.create", "t1", {"secret": "do-not-store"}, session=session)
        return {"ok": "yes"}

    assert client.post("/api/test-audited-write").status_code == 401  # the dependency implies sign-in
    token = login(client, "operator")
    assert client.post("/api/test-audited-write", headers=bearer(token)).status_code == 200
    row = audit_rows(ctx)[-1]
    assert (row.actor, row.action, row.target) == (f"user:{users.ids['operator']}", "thing.create", "t1")
    assert row.details["secret"] == "***" and row.details["ip"] == "testclient"
