"""End-to-end fixtures: the real service in-process, driven by Debian's Chromium.

The service is the platform app (``build_app``) on a fresh data folder, with
the real TaskManager (real decoder, real detector, paced in real time), the
real delivery wiring (``start_delivery`` + ``on_event_stored``: outbox and the
live bus) and the first admin created the way ``sightline`` creates it, served
by uvicorn on a free port of 127.0.0.1 from a thread.

Browser: Playwright's sync API with ``/usr/bin/chromium`` (Debian's package
``chromium``); nothing is downloaded. Each test gets a fresh browser context
(no cookies, no localStorage); a failing test leaves ``failure.png`` and the
page's console log in its tmp dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Sightline-e2e-2024!"


@dataclass
class Service:
    base: str
    ctx: Any
    manager: Any
    username: str = ADMIN_USER
    password: str = ADMIN_PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from sightline.api.context import AppContext
    from sightline.api.factory import build_app
    from sightline.api.threaded import ThreadedServer
    from sightline.auth.users import ensure_first_admin
    from sightline.config.analysis import DetectorConfig
    from sightline.core.event import Event
    from sightline.delivery.hooks import on_event_stored, start_delivery
    from sightline.inference.models import installed
    from sightline.service.tasks import TaskManager

    detector = DetectorConfig().model  # what a task made in the UI runs
    model = installed(detector)
    if model is None or model.onnx_path is None:
        pytest.fail(
            f"detector model {detector!r} missing: run `sightline models fetch` (scripts/install.sh does)"
        )

    ctx = AppContext.open(tmp_path_factory.mktemp("service") / "data")
    dispatcher = start_delivery(ctx)
    manager = TaskManager(ctx, realtime=True)

    def deliver(event: Event) -> None:  # what `sightline serve` hooks in: outbox + live bus
        on_event_stored(ctx, event)

    manager.after_store.append(deliver)
    ctx.tasks = manager
    ensure_first_admin(ctx.db, ADMIN_USER, ADMIN_PASSWORD)
    app = build_app(ctx)

    server = ThreadedServer(app)
    try:
        base = server.start(timeout=30)
    except RuntimeError as err:
        pytest.fail(f"the service did not start: {err}")
    assert httpx.get(f"{base}/api/i18n?lang=en", timeout=5).status_code == 200
    try:
        yield Service(base=base, ctx=ctx, manager=manager)
    finally:
        server.stop()
        manager.stop_all()
        dispatcher.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item so fixtures can see whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    pg.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
    pg.console_log = console
    pg.shots = tmp_path
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                pg.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            except Exception as err:  # the page may be gone; the log still helps
                console.append(f"screenshot failed: {err}")
            (tmp_path / "console.log").write_text("\n".join(console), encoding="utf-8")
            print(f"\nscreenshot and console log of the failure: {tmp_path}")
        context.close()
