"""The blob disk fills up: new snapshots fail with a clear logged error, the
events themselves are still recorded (with the reason), nothing half-written
is left behind, and the API keeps serving. Once space is freed, the next
event has its snapshot again.

The blob folder is a 512 KiB tmpfs when the test may mount one (root with
CAP_SYS_ADMIN, as in CI containers); otherwise ``small_disk`` simulates ENOSPC
at the BlobStore boundary and the test output says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.deps import Principal, current_principal
from sightline.api.factory import build_app
from sightline.delivery import on_event_stored
from sightline.service.tasks import TaskManager
from tests.faults.conftest import small_disk
from tests.integration.delivery.helpers import make_event

ADMIN = Principal("u-admin", "Ada Admin", "admin")
DISK_BYTES = 512 * 1024


def noisy_jpeg(seed: int) -> bytes:
    """~40 KB: random pixels do not compress."""
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    assert ok
    return bytes(buf.tobytes())


def test_blob_disk_full_keeps_events_and_the_api_serving(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    measure: Callable[..., None],
) -> None:
    data = tmp_path / "data"
    with small_disk(data / "blobs", DISK_BYTES, monkeypatch) as how:
        measure("blob_disk", how)
        # The database lives elsewhere (tmp_path), as on a real install with a separate media volume.
        ctx = AppContext.open(data, f"sqlite:///{tmp_path / 'sightline.db'}")
        try:
            _run(ctx, caplog, measure)
        finally:
            ctx.db.dispose()


def _run(ctx: AppContext, caplog: pytest.LogCaptureFixture, measure: Callable[..., None]) -> None:
    manager = TaskManager(ctx)
    manager.after_store.append(lambda e: on_event_stored(ctx, e))
    app = build_app(ctx)
    app.dependency_overrides[current_principal] = lambda: ADMIN
    ids: list[str] = []
    with caplog.at_level(logging.ERROR, logger="sightline.service.tasks"):
        for i in range(40):
            event = make_event(pts=float(i), wall_time=1_717_232_400.0 + i)
            manager._store("t-disk", [(event, {"frame": noisy_jpeg(i)})])
            ids.append(event.id)

    records = [ctx.events.get(i) for i in ids]
    assert all(r is not None for r in records), "an event was lost because its snapshot could not be written"
    with_image = [r for r in records if r and r.snapshot.frame]
    without = [r for r in records if r and not r.snapshot.frame]
    measure("snapshots_stored_before_full", len(with_image))
    measure("events_stored_without_snapshot", len(without))
    assert with_image and without, (len(with_image), len(without))
    first_failure = ids.index(without[0].id)
    assert all(r and r.snapshot.frame for r in records[:first_failure])
    for r in without:
        assert "disk is full" in r.attributes["snapshot_error"]
    errors = [m for m in caplog.messages if "not stored" in m]
    assert len(errors) == len(without)
    assert "No space left on device" in errors[0] and "free space on that volume" in errors[0]
    assert str(ctx.blobs.root) in errors[0]
    leftovers = [p for p in ctx.blobs.root.rglob("*") if p.is_file() and p.name.startswith(".tmp-")]
    assert not leftovers, f"half-written blobs left behind: {leftovers}"

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        page = client.get("/api/events", params={"limit": 100})
        assert page.status_code == 200 and page.json()["total"] == len(ids)
        detail = client.get(f"/api/events/{without[0].id}")
        assert detail.status_code == 200
        assert "disk is full" in detail.json()["attributes"]["snapshot_error"]
        assert client.get(f"/api/events/{without[0].id}/image/frame").status_code == 404
        image = client.get(f"/api/events/{with_image[0].id}/image/frame")
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"

        # Retention frees space: the very next event has its snapshot again.
        for r in with_image[:4]:
            assert r.snapshot.frame is not None
            ctx.blobs.delete(r.snapshot.frame)
        event = make_event(pts=99.0, wall_time=1_717_232_500.0)
        manager._store("t-disk", [(event, {"frame": noisy_jpeg(999)})])
        again = ctx.events.get(event.id)
        assert again is not None and again.snapshot.frame is not None
        assert "snapshot_error" not in again.attributes
        assert client.get(f"/api/events/{event.id}/image/frame").status_code == 200
    measure("recovery_after_space_freed", "next event (immediate)")
