"""Fixtures for the REST API tests: the real app (``build_app``) on a
temporary SQLite database, a recording task runner, and a client that acts
as any role (``api.as_("operator")``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.deps import current_principal
from sightline.api.factory import build_app
from sightline.api.routers.system import hooks_installed, install_api_hooks
from tests.integration.api.api_helpers import PRINCIPALS, FakeTasks, add_users


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'sightline.db'}")
    context.blobs.fsync = False  # durability is the blob store's own test; speed here
    add_users(context)
    yield context
    context.db.dispose()


@pytest.fixture
def tasks(ctx: AppContext) -> FakeTasks:
    fake = FakeTasks()
    ctx.tasks = fake
    return fake


@pytest.fixture
def app(ctx: AppContext, tasks: FakeTasks) -> FastAPI:
    application = build_app(ctx)
    # build_app calls install_api_hooks (metrics middleware, NaN-safe 422s);
    # test_api_stats_system checks that it does. Installing here too keeps the
    # other tests about their own subject if that line goes missing.
    if not hooks_installed(application):
        install_api_hooks(application)
    return application


class Api:
    """One TestClient; ``as_(role)`` decides who the next requests come from."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client

    def as_(self, who: str | None) -> TestClient:
        if who is None:
            self.app.dependency_overrides.pop(current_principal, None)
        else:
            principal = PRINCIPALS[who]
            self.app.dependency_overrides[current_principal] = lambda: principal
        return self.client


@pytest.fixture
def api(app: FastAPI) -> Iterator[Api]:
    with TestClient(app) as client:
        yield Api(app, client)
