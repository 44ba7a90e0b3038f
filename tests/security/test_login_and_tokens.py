"""Login throttling (per account + address, per address), exponential
lock-outs, token expiry and revocation — with a scripted clock, no sleeps."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.threaded import ThreadedServer
from sightline.auth import passwords
from sightline.auth import service as auth_service
from sightline.auth.passwords import verify_password
from sightline.core.clock import ManualClock
from tests.security.conftest import add_api_key, add_user, login_headers
from tests.security.helpers import password_for

WRONG = "Definitely wrong 1"


def _login(client: TestClient, username: str, password: str = WRONG) -> int:
    return int(client.post("/api/auth/login", json={"username": username, "password": password}).status_code)


def test_lockouts_double_and_say_when_to_retry(
    client: TestClient, ctx: AppContext, clock: ManualClock
) -> None:
    add_user(ctx, "vera", "viewer")
    waits = []
    for _ in range(3):
        assert [_login(client, "vera") for _ in range(5)] == [401] * 5
        r = client.post("/api/auth/login", json={"username": "vera", "password": password_for("vera")})
        assert r.status_code == 429 and "try again in" in r.json()["detail"]
        waits.append(int(r.headers["Retry-After"]))
        clock.advance(waits[-1])
    assert waits == [300, 600, 1200]
    assert _login(client, "vera", password_for("vera")) == 200  # success ends the streak
    assert [_login(client, "vera") for _ in range(5)] == [401] * 5
    assert (
        client.post("/api/auth/login", json={"username": "vera", "password": WRONG}).headers["Retry-After"]
        == "300"
    )


def test_password_spraying_from_one_address_is_locked_out(app: FastAPI, ctx: AppContext) -> None:
    add_user(ctx, "victim", "viewer")
    with TestClient(app, client=("198.51.100.9", 5000)) as sprayer:
        statuses = [_login(sprayer, f"user{i}") for i in range(20)]  # 1 try each: never 5 per account
        assert statuses == [401] * 20
        r = sprayer.post("/api/auth/login", json={"username": "victim", "password": password_for("victim")})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == 300
    with TestClient(app, client=("192.0.2.1", 5000)) as colleague:  # another address is not affected
        assert _login(colleague, "victim", password_for("victim")) == 200


def test_token_expires(client: TestClient, ctx: AppContext, clock: ManualClock) -> None:
    add_user(ctx, "tim", "viewer")
    h = login_headers(client, "tim")
    clock.advance(12 * 3600 - 1)
    assert client.get("/api/auth/me", headers=h).status_code == 200
    clock.advance(1)
    assert client.get("/api/auth/me", headers=h).status_code == 401


def test_logout_ends_the_token(client: TestClient, ctx: AppContext) -> None:
    add_user(ctx, "lou", "viewer")
    h = login_headers(client, "lou")
    assert client.post("/api/auth/logout", headers=h).status_code == 204
    assert client.get("/api/auth/me", headers=h).status_code == 401


def test_password_change_ends_other_sessions(client: TestClient, ctx: AppContext) -> None:
    add_user(ctx, "pat", "viewer")
    here, there = login_headers(client, "pat"), login_headers(client, "pat")
    change = {"current_password": password_for("pat"), "new_password": "A new long passphrase 7"}
    assert client.post("/api/auth/password", json=change, headers=here).status_code == 204
    assert client.get("/api/auth/me", headers=there).status_code == 401
    assert client.get("/api/auth/me", headers=here).status_code == 200


def test_disabling_a_user_and_revoking_a_key_act_at_once(client: TestClient, ctx: AppContext) -> None:
    add_user(ctx, "root", "admin")
    uid = add_user(ctx, "dan", "operator")
    admin, dan = login_headers(client, "root"), login_headers(client, "dan")
    key_id, key = add_api_key(ctx, "bot", "viewer")
    assert client.get("/api/cameras", headers={"X-API-Key": key}).status_code == 200
    assert client.patch(f"/api/users/{uid}", json={"disabled": True}, headers=admin).status_code == 200
    assert client.get("/api/cameras", headers=dan).status_code == 401
    assert client.delete(f"/api/api-keys/{key_id}", headers=admin).status_code == 204
    assert client.get("/api/cameras", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/api/cameras", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_parallel_guesses_get_no_more_tries_than_sequential_ones(
    app: FastAPI, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold every password check until five are in progress at once. Were attempts
    # counted only after the check, all twenty would be checked (and could guess).
    add_user(ctx, "pat", "viewer")
    five_at_once = threading.Barrier(5, timeout=5)
    checked = []

    def slow_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        five_at_once.wait()
        return verify_password(password_hash, password)

    monkeypatch.setattr(auth_service, "verify_password", slow_verify)
    with ThreadedServer(app, lifespan="off") as base_url, httpx.Client(base_url=base_url, timeout=20) as http:

        def guess(i: int) -> int:
            body = {"username": "pat", "password": f"Guess number {i}"}
            return http.post("/api/auth/login", json=body).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(guess, range(20)))
    assert sorted(statuses) == [401] * 5 + [429] * 15, statuses
    assert len(checked) == 5


def test_when_every_hashing_slot_is_busy_sign_in_answers_503(
    client: TestClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(ctx, "bea", "viewer")
    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # as if another sign-in held the only slot
    monkeypatch.setattr(passwords, "_slots", busy)
    monkeypatch.setattr(passwords, "HASH_WAIT_S", 0.05)
    r = client.post("/api/auth/login", json={"username": "bea", "password": password_for("bea")})
    assert r.status_code == 503 and "busy" in r.json()["detail"] and r.headers["Retry-After"] == "5"
    busy.release()
    assert _login(client, "bea", password_for("bea")) == 200  # the busy answer was not a failure
