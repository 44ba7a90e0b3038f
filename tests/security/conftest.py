"""Fixtures for the security tests: the real app (``build_app``) with real
authentication — argon2 users, login tokens, API keys — on a temporary
SQLite database, and a clock the tests move instead of sleeping.

Unlike tests/integration/api (which swaps the caller in with a dependency
override), every request here carries a credential the server must check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.auth import apikeys
from sightline.auth.passwords import hasher_parameters
from sightline.auth.service import AuthService, AuthSettings, install_auth
from sightline.auth.users import create_user
from sightline.core.clock import ManualClock
from sightline.security.keys import KEY_ENV
from sightline.storage.types import from_unix
from tests.security.helpers import ROLES, START, Caller, password_for


@pytest.fixture(autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Production hashes cost ~0.3 s each on purpose; the code path is the same."""
    with hasher_parameters(time_cost=1, memory_cost=1024, parallelism=1):
        yield


@pytest.fixture(autouse=True)
def no_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)  # each test's data dir makes its own key file


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'sightline.db'}")
    context.blobs.fsync = False
    yield context
    context.db.dispose()


@pytest.fixture
def app(ctx: AppContext, clock: ManualClock) -> FastAPI:
    application = build_app(ctx)
    install_auth(application, AuthSettings(clock=clock))
    return application


@pytest.fixture
def auth(app: FastAPI) -> AuthService:
    service: AuthService = app.state.auth
    return service


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def add_user(ctx: AppContext, name: str, role: str, departments: tuple[str, ...] = ()) -> str:
    with ctx.db.session() as session:
        return create_user(session, name, password_for(name), role, departments=departments).id


def add_api_key(ctx: AppContext, name: str, role: str, departments: tuple[str, ...] = ()) -> tuple[str, str]:
    """(key id, key) of a new API key."""
    with ctx.db.session() as session:
        row, key = apikeys.create(session, name, role, from_unix(START), departments)
        return row.id, key


def login_headers(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": name, "password": password_for(name)})
    assert r.status_code == 200, r.text
    client.cookies.clear()  # send the token explicitly
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def callers(ctx: AppContext, client: TestClient) -> dict[str, Caller]:
    """One signed-in user per role, an API key with the reviewer role, and nobody."""
    found: dict[str, Caller] = {}
    for role in ROLES:
        add_user(ctx, role, role)
        found[role] = Caller(role, role, login_headers(client, role))
    _, key = add_api_key(ctx, "matrix key", "reviewer")
    found["apikey"] = Caller("apikey", "reviewer", {"X-API-Key": key})
    found["anonymous"] = Caller("anonymous", None, {})
    return found
