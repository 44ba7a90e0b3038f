"""TaskManager: tasks start, change and stop from the database without a
restart; events are stored with their images; a dead camera never blocks
another; a full disk loses no event."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sightline.api.context import AppContext
from sightline.core.event import Event
from sightline.service.demo import DEMO_TASK_ID, seed_demo
from sightline.service.tasks import TaskManager
from sightline.storage import EventQuery
from sightline.storage.models import Camera, Task
from tests.polling import wait_for


@pytest.fixture
def platform(tmp_path: Path, model_path: Path, vtest_path: Path) -> Iterator[tuple[AppContext, TaskManager]]:
    ctx = AppContext.open(tmp_path / "data")
    seed_demo(ctx, video=vtest_path)
    manager = TaskManager(ctx, realtime=False)  # decode as fast as possible: events come quickly
    ctx.tasks = manager
    try:
        yield ctx, manager
    finally:
        manager.stop_all()
        ctx.db.dispose()


def test_demo_task_stores_events_with_images(platform: tuple[AppContext, TaskManager]) -> None:
    ctx, manager = platform
    seen: list[Event] = []
    manager.after_store.append(seen.append)
    manager.start_all()
    assert wait_for(lambda: len(seen) >= 2, 60), manager.status(DEMO_TASK_ID)
    page = ctx.events.search(EventQuery(limit=10, order="asc"))
    assert page.total >= 2
    first = page.items[0]
    assert first.camera_id == "vtest" and first.type in ("line.cross", "zone.enter")
    for kind in ("frame", "crop", "preview"):
        key = getattr(first.snapshot, kind)
        assert key is not None and ctx.blobs.get(key)[:2] == b"\xff\xd8"
    status = manager.status(DEMO_TASK_ID)
    assert status["state"] == "running" and status["frames"] > 0
    assert manager.camera_health("vtest")["state"] == "online"  # type: ignore[index]
    assert (manager.latest_frame_jpeg("vtest") or b"")[:2] == b"\xff\xd8"


def test_stop_and_change_without_restart(platform: tuple[AppContext, TaskManager]) -> None:
    ctx, manager = platform
    manager.start_all()
    assert wait_for(lambda: manager.status(DEMO_TASK_ID).get("frames", 0) > 0, 60)
    with ctx.db.session() as s:
        s.get(Task, DEMO_TASK_ID).desired_state = "stopped"  # type: ignore[union-attr]
    manager.apply(DEMO_TASK_ID)
    assert manager.status(DEMO_TASK_ID)["state"] == "stopped"
    # Change the config (no rules) and start again: the new worker runs the new config.
    with ctx.db.session() as s:
        task = s.get(Task, DEMO_TASK_ID)
        assert task is not None
        task.config = {**task.config, "rules": []}
        task.desired_state = "running"
    manager.apply(DEMO_TASK_ID)
    assert wait_for(lambda: manager.status(DEMO_TASK_ID).get("frames", 0) > 30, 60)
    worker = manager._workers[DEMO_TASK_ID]
    assert worker.analyzer.rules == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_camera_does_not_block_another(platform: tuple[AppContext, TaskManager]) -> None:
    ctx, manager = platform
    with ctx.db.session() as s:
        s.add(
            Camera(
                id="dead",
                name="dead",
                url=f"rtsp://127.0.0.1:{_closed_port()}/x",
                enabled=True,
                source_options={"open_timeout_s": 2.0},
            )
        )
        s.flush()
        demo = s.get(Task, DEMO_TASK_ID)
        assert demo is not None
        s.add(
            Task(
                id="dead-task",
                camera_id="dead",
                name="dead",
                algorithm="sightline/people@v1",
                config=demo.config,
                desired_state="running",
                status="created",
            )
        )
    manager.start_all()
    assert wait_for(lambda: (manager.camera_health("dead") or {}).get("error") is not None, 30)
    health = manager.camera_health("dead")
    assert health is not None and health["state"] in ("offline", "connecting")
    assert "dead" in health["error"] and "refused" in health["error"].lower()
    frames_before = manager.status(DEMO_TASK_ID).get("frames", 0)
    assert wait_for(lambda: manager.status(DEMO_TASK_ID).get("frames", 0) > frames_before + 20, 30)


def test_disk_full_keeps_the_event(
    platform: tuple[AppContext, TaskManager], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, manager = platform

    def full(data: bytes, content_type: str = "") -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ctx.blobs, "put", full)
    seen: list[Event] = []
    manager.after_store.append(seen.append)
    manager.start_all()
    assert wait_for(lambda: len(seen) >= 1, 60)
    stored = ctx.events.get(seen[0].id)
    assert stored is not None
    assert stored.snapshot.frame is None
    assert "No space left" in stored.attributes["snapshot_error"]


def test_schedule_starts_and_stops_the_task_at_its_window(platform: tuple[AppContext, TaskManager]) -> None:
    ctx, manager = platform
    with ctx.db.session() as s:  # Shanghai office hours on weekdays
        task = s.get(Task, DEMO_TASK_ID)
        assert task is not None
        task.schedule = {
            "timezone": "Asia/Shanghai",
            "weekdays": [1, 2, 3, 4, 5],
            "windows": [{"start": "08:00", "end": "18:00"}],
        }
    saturday_noon = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Saturday
    monday_0759 = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # Mon 07:59 Shanghai
    monday_0800 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Mon 08:00 Shanghai
    monday_1800 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Mon 18:00 Shanghai: window closed
    manager.apply(DEMO_TASK_ID, now=saturday_noon)
    assert manager.status(DEMO_TASK_ID)["reason"] == "outside its schedule"
    assert manager.apply_schedules(monday_0759) == []
    assert manager.apply_schedules(monday_0800) == [DEMO_TASK_ID]
    assert wait_for(lambda: manager.status(DEMO_TASK_ID).get("frames", 0) > 0, 60)
    assert manager.apply_schedules(monday_0800) == []  # already running: left alone
    assert manager.apply_schedules(monday_1800) == [DEMO_TASK_ID]
    assert manager.status(DEMO_TASK_ID)["state"] == "waiting"
    assert DEMO_TASK_ID not in manager._workers
