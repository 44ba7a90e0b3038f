"""The strategy center page in Chromium: the list, editing a strategy in the
YAML editor (a mistake shows the server's validation message; the fix saves
a new version) and the effectiveness chart drawn from stored events.

The strategy is bound to a camera no other e2e test uses, and the events
behind the chart are *blocked* ones (hidden from the default event lists), so
the shared service's other tests see nothing of this one."""

from __future__ import annotations

import time
from typing import Any

from sightline.core.event import Event
from sightline.service.strategies import strategy_center
from sightline.storage.events import Decision
from tests.e2e.conftest import Service
from tests.e2e.test_ui import sign_in

CAMERA = "e2e-strategy-cam"
SPEC = {
    "id": "e2e-gate",
    "name": "E2E gate",
    "cameras": [CAMERA],
    "event_types": ["line.cross"],
    "elements": [{"id": "confident", "type": "sightline/confidence-filter@v1", "min_confidence": 0.5}],
}


def _seed(service: Service) -> None:
    center = strategy_center(service.ctx)
    if "e2e-gate" not in {s.id for s in center.store.list()}:
        center.store.create(SPEC, author="e2e")
        center.reload()
    now = time.time()
    blocked = Decision(outcome="blocked", blocked_by="confident", strategy_id="e2e-gate", strategy_version=1)
    events = [
        Event(id=f"e2e-strat-{i}", type="line.cross", rule_id="r", camera_id=CAMERA, pts=0.0,
              wall_time=now - (1 + i % 2) * 86_400, confidence=0.2)
        for i in range(3)
    ]  # fmt: skip
    service.ctx.events.add_decided([(e, None, blocked) for e in events])


def test_strategies_page_edit_validate_and_chart(page: Any, service: Service) -> None:
    _seed(service)
    sign_in(page, service)
    page.click("nav a[href='#/strategies']")
    row = page.locator("[data-strategy='e2e-gate']")
    row.wait_for()
    assert "v1" in row.inner_text()

    page.click("[data-testid='strategy-edit-e2e-gate']")
    editor = page.locator("[data-testid='strategy-text']")
    editor.wait_for()
    assert "confidence-filter" in editor.input_value()

    # A typo in the element type: the server's message names the element and the known types.
    editor.fill(editor.input_value().replace("confidence-filter@v1", "confidence-filtr@v1"))
    page.click("[data-testid='strategy-validate']")
    error = page.locator("[data-testid='strategy-error']")
    error.wait_for()
    assert "unknown element type 'sightline/confidence-filtr@v1'" in error.inner_text()
    page.click("[data-testid='strategy-save']")  # saving is refused with the same message
    assert "confidence-filtr" in error.inner_text()

    editor.fill(
        editor.input_value().replace("confidence-filtr@v1", "confidence-filter@v1").replace("0.5", "0.6")
    )
    page.click("[data-testid='strategy-save']")
    page.wait_for_selector("[data-testid='strategy-message']:has-text('version 2')")
    page.wait_for_selector("[data-strategy='e2e-gate'] >> text=v2")
    assert strategy_center(service.ctx).store.get("e2e-gate").spec["elements"][0]["min_confidence"] == 0.6

    chart = page.locator("[data-testid='effectiveness-chart']")
    chart.wait_for()
    assert chart.locator("rect.bar-blocked").count() >= 2  # two days with blocked events
    assert "Blocked" in page.locator("[data-testid='effectiveness-panel']").inner_text()
