"""Login, the session cookie, token expiry and revocation, disabled users, password changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.auth import passwords, tokens
from sightline.auth.models import LoginSession
from sightline.auth.service import SESSION_COOKIE, AuthSettings, install_auth, websocket_principal
from sightline.core.clock import ManualClock
from sightline.storage.models import User
from tests.integration.auth.auth_helpers import START, Users, bearer, login


def test_login_returns_a_token_that_authenticates(client: TestClient, users: Users, ctx: AppContext) -> None:
    r = client.post("/api/auth/login", json={"username": "operator", "password": users.password("operator")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"].startswith("slt_") and len(body["token"]) > 40
    assert body["token_type"] == "bearer"
    assert datetime.fromisoformat(body["expires_at"]) == datetime.fromtimestamp(START, UTC) + timedelta(
        hours=12
    )
    assert body["user"]["username"] == "operator" and body["user"]["role"] == "operator"
    assert not {"password_hash", "password"} & set(body["user"])
    assert r.headers["cache-control"] == "no-store"
    client.cookies.clear()

    me = client.get("/api/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["kind"] == "user" and me.json()["role"] == "operator"
    assert me.json()["subject"] == users.ids["operator"]
    with ctx.db.session() as s:
        row = s.scalars(select(LoginSession)).one()
        assert row.token_hash == tokens.hash_token(body["token"])  # only the hash is stored
        assert body["token"] not in repr(s.execute(select(LoginSession.__table__)).all())
        assert s.get(User, users.ids["operator"]).last_login_at == datetime.fromtimestamp(START, UTC)  # type: ignore[union-attr]


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, users: Users) -> None:
    wrong = client.post("/api/auth/login", json={"username": "operator", "password": "Not the password 1"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "Not the password 1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}
    assert SESSION_COOKIE not in wrong.cookies
    assert "token" not in wrong.text


def test_username_is_case_insensitive_and_body_is_strict(client: TestClient, users: Users) -> None:
    ok = client.post(
        "/api/auth/login", json={"username": " Operator", "password": users.password("operator")}
    )
    assert ok.status_code == 200
    extra = client.post("/api/auth/login", json={"username": "operator", "password": "x", "remember": True})
    assert extra.status_code == 422
    empty = client.post("/api/auth/login", json={"username": "operator", "password": ""})
    assert empty.status_code == 422


def test_session_cookie_is_httponly_samesite_strict_and_authenticates(
    client: TestClient, users: Users
) -> None:
    r = client.post("/api/auth/login", json={"username": "viewer", "password": users.password("viewer")})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert client.get("/api/auth/me").status_code == 200  # the cookie alone signs in
    same = client.get("/api/auth/me", headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    foreign = client.get("/api/auth/me", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 401  # cross-site request carrying the cookie


def test_cookie_is_secure_over_https_or_when_configured(
    app: FastAPI, users: Users, clock: ManualClock
) -> None:
    body = {"username": "viewer", "password": users.password("viewer")}
    with TestClient(app, base_url="https://testserver") as https:
        assert "Secure" in https.post("/api/auth/login", json=body).headers["set-cookie"]
    install_auth(app, AuthSettings(clock=clock, cookie_secure=True))
    with TestClient(app) as http:
        assert "Secure" in http.post("/api/auth/login", json=body).headers["set-cookie"]


def test_token_expires_after_its_lifetime(client: TestClient, users: Users, clock: ManualClock) -> None:
    token = login(client, "reviewer")
    clock.advance(12 * 3600 - 1)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    clock.advance(1)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_lifetime_is_configurable(app: FastAPI, client: TestClient, users: Users, clock: ManualClock) -> None:
    install_auth(app, AuthSettings(clock=clock, token_ttl=timedelta(minutes=30)))
    token = login(client, "reviewer")
    clock.advance(30 * 60)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    env = AuthSettings.from_env({"SIGHTLINE_TOKEN_TTL_HOURS": "2", "SIGHTLINE_COOKIE_SECURE": "1"})
    assert env.token_ttl == timedelta(hours=2) and env.cookie_secure is True


def test_logout_revokes_only_the_current_token(client: TestClient, users: Users) -> None:
    first, second = login(client, "viewer"), login(client, "viewer")
    r = client.post("/api/auth/logout", headers=bearer(first))
    assert r.status_code == 204
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/api/auth/me", headers=bearer(first)).status_code == 401
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(second)).status_code == 200


def test_cookie_logout(client: TestClient, users: Users) -> None:
    client.post("/api/auth/login", json={"username": "viewer", "password": users.password("viewer")})
    assert client.post("/api/auth/logout").status_code == 204
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/api/auth/me").status_code == 401


def test_malformed_credentials_are_refused(client: TestClient, users: Users) -> None:
    for header in (
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dmlld2VyOnBhc3N3b3Jk"},
        {"Authorization": "Bearer slt_" + "A" * 43},
        {"X-API-Key": ""},
        {"X-API-Key": "sl_abcdefgh_" + "A" * 43},
    ):
        assert client.get("/api/auth/me", headers=header).status_code == 401, header
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_disabled_user_is_rejected_at_once(client: TestClient, users: Users) -> None:
    admin, viewer = login(client, "admin"), login(client, "viewer")
    r = client.patch(f"/api/users/{users.ids['viewer']}", json={"disabled": True}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/api/auth/me", headers=bearer(viewer)).status_code == 401
    right = client.post("/api/auth/login", json={"username": "viewer", "password": users.password("viewer")})
    assert right.status_code == 403 and "disabled" in right.json()["detail"]
    wrong = client.post("/api/auth/login", json={"username": "viewer", "password": "Wrong password 99"})
    assert wrong.status_code == 401
    client.patch(f"/api/users/{users.ids['viewer']}", json={"disabled": False}, headers=bearer(admin))
    assert client.get("/api/auth/me", headers=bearer(viewer)).status_code == 401  # ended, not paused
    assert login(client, "viewer")


def test_role_change_acts_on_the_next_request(client: TestClient, users: Users) -> None:
    admin, operator = login(client, "admin"), login(client, "operator")
    assert client.get("/api/users", headers=bearer(operator)).status_code == 403
    client.patch(f"/api/users/{users.ids['operator']}", json={"role": "admin"}, headers=bearer(admin))
    assert client.get("/api/users", headers=bearer(operator)).status_code == 200


def test_change_own_password(client: TestClient, users: Users) -> None:
    current, other = login(client, "reviewer"), login(client, "reviewer")
    new = "A brand new passphrase 7"
    wrong = {"current_password": "Not my password 1", "new_password": new}
    assert client.post("/api/auth/password", json=wrong, headers=bearer(current)).status_code == 403
    weak = {"current_password": users.password("reviewer"), "new_password": "short"}
    r = client.post("/api/auth/password", json=weak, headers=bearer(current))
    assert r.status_code == 422 and "at least 10" in r.json()["detail"]
    good = {"current_password": users.password("reviewer"), "new_password": new}
    assert client.post("/api/auth/password", json=good, headers=bearer(current)).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(current)).status_code == 200  # this one stays
    assert client.get("/api/auth/me", headers=bearer(other)).status_code == 401  # the others end
    old = client.post(
        "/api/auth/login", json={"username": "reviewer", "password": users.password("reviewer")}
    )
    assert old.status_code == 401
    assert login(client, "reviewer", new)


def test_hash_is_upgraded_when_parameters_change(client: TestClient, users: Users, ctx: AppContext) -> None:
    with ctx.db.session() as s:
        before = s.get(User, users.ids["viewer"]).password_hash  # type: ignore[union-attr]
    assert before.startswith("$argon2id$") and "m=1024,t=1,p=1" in before
    with passwords.hasher_parameters(time_cost=2, memory_cost=2048, parallelism=1):
        login(client, "viewer")
    with ctx.db.session() as s:
        after = s.get(User, users.ids["viewer"]).password_hash  # type: ignore[union-attr]
    assert "m=2048,t=2,p=1" in after
    assert login(client, "viewer")  # the upgraded hash still verifies


def test_expired_sessions_are_purged(
    client: TestClient, users: Users, ctx: AppContext, clock: ManualClock
) -> None:
    login(client, "viewer")
    clock.advance(12 * 3600 + tokens.KEEP_ENDED.total_seconds() + 1)
    login(client, "viewer")  # each login purges sessions that ended long ago
    with ctx.db.session() as s:
        assert len(s.scalars(select(LoginSession)).all()) == 1


def test_websocket_routes_use_the_same_credentials(app: FastAPI, client: TestClient, users: Users) -> None:
    @app.websocket("/api/test-socket")
    async def socket(ws: WebSocket, principal: Annotated[Principal, Depends(websocket_principal)]) -> None:
        await ws.accept()
        await ws.send_text(principal.name)
        await ws.close()

    token = login(client, "viewer")
    with client.websocket_connect("/api/test-socket", headers=bearer(token)) as ws:
        assert ws.receive_text() == "viewer"
    client.post("/api/auth/login", json={"username": "reviewer", "password": users.password("reviewer")})
    with client.websocket_connect("/api/test-socket") as ws:  # the web UI: cookie only
        assert ws.receive_text() == "reviewer"
    for headers in ({"Origin": "https://evil.example"}, {"Cookie": "", "Authorization": "Bearer nope"}):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/api/test-socket", headers=headers),
        ):
            pass
        assert refused.value.code == 1008


def test_a_disabled_flag_alone_blocks_live_sessions(
    client: TestClient, users: Users, ctx: AppContext
) -> None:
    """Even when the sessions were not revoked (the flag set by another process, say)."""
    token = login(client, "viewer")
    with ctx.db.session() as s:
        user = s.get(User, users.ids["viewer"])
        assert user is not None
        user.disabled = True
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
