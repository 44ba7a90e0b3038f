"""Fixtures for the strategy center tests: the real app on a temporary SQLite
database (callers chosen per request, as in the API tests), the real
:class:`TaskManager` ingest path (strategies → event store → delivery hooks)
and a live bus, so a test can follow one raw event from the rules to a
subscriber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.core.event import Event
from sightline.delivery.bus import EventBus
from sightline.delivery.hooks import on_event_stored
from sightline.service.tasks import TaskManager
from tests.integration.api.api_helpers import FakeTasks, add_users
from tests.integration.api.conftest import Api

# PostgreSQL server fixtures of the storage tests (started or found once per session).
from tests.integration.storage.conftest import make_pg_database, postgres_server  # noqa: F401


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'sightline.db'}")
    context.blobs.fsync = False
    context.bus = EventBus()
    context.tasks = FakeTasks()
    add_users(context)
    yield context
    context.db.dispose()


@pytest.fixture
def manager(ctx: AppContext) -> TaskManager:
    """The ingest path of the platform: strategies, store, then delivery for passed events."""
    tasks = TaskManager(ctx)
    delivered: list[Event] = []

    def deliver(event: Event) -> None:
        delivered.append(event)
        on_event_stored(ctx, event)

    tasks.after_store.append(deliver)
    tasks.delivered = delivered  # type: ignore[attr-defined]
    return tasks


@pytest.fixture
def app(ctx: AppContext) -> FastAPI:
    return build_app(ctx)


@pytest.fixture
def api(app: FastAPI) -> Iterator[Api]:
    with TestClient(app) as client:
        yield Api(app, client)
