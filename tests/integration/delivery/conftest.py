"""Fixtures for the delivery tests: a context on a fresh SQLite database, a
real webhook receiver, a private Mosquitto broker, and an API app whose
callers are chosen by a test header.

Mosquitto comes from Debian's ``mosquitto`` package (installed here when
missing and we are root); without it the MQTT tests are skipped — or fail
when ``$CI`` is set, so CI can never silently lose them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.core.clock import ManualClock
from sightline.delivery.bus import EventBus
from tests.integration.delivery.helpers import SECRET, T0
from tests.integration.delivery.servers import Listener, Mosquitto, Receiver, ReceiverState, ensure_mosquitto


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sightline.db'}"


@pytest.fixture
def make_ctx(tmp_path: Path, db_url: str) -> Iterator[Callable[[], AppContext]]:
    """Factory: a new AppContext on the *same* database (a service restart)."""
    made: list[AppContext] = []

    def make() -> AppContext:
        ctx = AppContext.open(tmp_path / "data", database_url=db_url)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.db.dispose()


@pytest.fixture
def ctx(make_ctx: Callable[[], AppContext]) -> AppContext:
    c = make_ctx()
    c.bus = EventBus()
    return c


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(ReceiverState(SECRET)).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    binary = ensure_mosquitto()
    if binary is None:
        message = "mosquitto not installed and cannot be installed here: apt-get install mosquitto"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def broker(mosquitto_binary: str) -> Iterator[Mosquitto]:
    """A private Mosquitto on a free port, killed at teardown."""
    b = Mosquitto(mosquitto_binary).start()
    yield b
    b.cleanup()


def _authenticate(request: Request, ctx: AppContext) -> Principal | None:
    role = request.headers.get("X-Test-Role")
    if role is None:
        return None
    return Principal(subject=f"u-{role}", name=role, role=role)  # type: ignore[arg-type]


@pytest.fixture
def app(ctx: AppContext) -> FastAPI:
    """Just the delivery routers, with callers picked by ``X-Test-Role``
    (the real authentication is another module's business). Imported here, so
    the non-API tests do not depend on every router of the package importing."""
    from sightline.api.routers import live, subscriptions

    a = FastAPI()
    a.state.ctx = ctx
    a.state.authenticate = _authenticate
    a.include_router(subscriptions.router)
    a.include_router(live.router)
    return a


def role(name: str) -> dict[str, str]:
    return {"X-Test-Role": name}


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        listener.close()
