"""Fixtures for the auth tests: a real app on a temporary SQLite database,
a clock the tests move, and cheap argon2 parameters.

Why cheap parameters: production hashes cost ~0.3 s of CPU on purpose; the
tests hash dozens of passwords. The algorithm (argon2id) and every code path
are the same; one test checks that the production parameters are the
default and that an old-parameter hash is upgraded at login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.auth.passwords import hasher_parameters
from sightline.auth.service import AuthService, AuthSettings, install_auth
from sightline.core.clock import ManualClock
from tests.integration.auth.auth_helpers import START, Users, make_users


@pytest.fixture(autouse=True)
def cheap_argon2() -> Iterator[None]:
    with hasher_parameters(time_cost=1, memory_cost=1024, parallelism=1):
        yield


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'sightline.db'}")
    yield context
    context.db.dispose()


@pytest.fixture
def app(ctx: AppContext, clock: ManualClock) -> FastAPI:
    application = build_app(ctx)
    install_auth(application, AuthSettings(clock=clock))  # same as build_app's, with our clock
    return application


@pytest.fixture
def auth(app: FastAPI) -> AuthService:
    service: AuthService = app.state.auth
    return service


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(ctx: AppContext) -> Users:
    """One user per role, named after it: admin, operator, reviewer, viewer."""
    return make_users(ctx)
