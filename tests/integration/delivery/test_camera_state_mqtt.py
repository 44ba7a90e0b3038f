"""Camera states reach the retained MQTT topic from the running service:
a real TaskManager reading a camera that refuses connections, a real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sightline.api.context import AppContext
from sightline.delivery.hooks import start_delivery
from sightline.service.camera_state import CameraState, CameraStatePublisher
from sightline.service.tasks import TaskManager
from sightline.storage.models import Camera, Task
from tests.integration.delivery.servers import Listener, Mosquitto, free_tcp_port, wait_for

PEOPLE_TASK = {"rules": [], "zones": [], "lines": []}


@pytest.fixture
def manager(ctx: AppContext, model_path: Path) -> Iterator[TaskManager]:
    with ctx.db.session() as s:
        s.add(
            Camera(
                id="gate",
                name="gate",
                url=f"rtsp://127.0.0.1:{free_tcp_port()}/live",
                enabled=True,
                source_options={"open_timeout_s": 2.0},
            )
        )
        s.add(Camera(id="idle-cam", name="no task", url="rtsp://127.0.0.1:1/x", enabled=True))
        s.flush()
        s.add(
            Task(
                id="gate-people",
                camera_id="gate",
                name="people",
                algorithm="sightline/people@v1",
                config=PEOPLE_TASK,
                desired_state="running",
            )
        )
    m = TaskManager(ctx)
    ctx.tasks = m
    yield m
    m.stop_all()


def test_poll_publishes_changes_and_refreshes_only_when_due(ctx: AppContext, manager: TaskManager) -> None:
    sent: list[CameraState] = []
    poller = CameraStatePublisher(ctx, manager, refresh_s=60, publish=sent.append)
    first = poller.poll_once(now=0.0)
    assert {s.camera_id: s.state for s in first} == {"gate": "idle", "idle-cam": "idle"}
    assert poller.poll_once(now=1.0) == []  # nothing changed, refresh not due
    manager.start_all()
    assert wait_for(lambda: (manager.camera_health("gate") or {}).get("error") is not None, 30)
    [gate] = poller.poll_once(now=2.0)
    assert gate.camera_id == "gate" and gate.state in ("offline", "connecting")
    assert "refused" in (gate.error or "").lower()
    assert {s.camera_id for s in poller.poll_once(now=70.0)} == {"gate", "idle-cam"}  # refresh

    # Switched off, then deleted: said once each, so no retained "idle" outlives the camera.
    with ctx.db.session() as session:
        session.get(Camera, "idle-cam").enabled = False  # type: ignore[union-attr]
    assert [(s.camera_id, s.state) for s in poller.poll_once(now=71.0)] == [("idle-cam", "disabled")]
    with ctx.db.session() as session:
        session.delete(session.get(Camera, "idle-cam"))
    assert [(s.camera_id, s.state) for s in poller.poll_once(now=72.0)] == [("idle-cam", "removed")]
    assert poller.poll_once(now=73.0) == []


def test_a_refusing_camera_is_retained_as_offline_on_the_broker(
    ctx: AppContext,
    manager: TaskManager,
    broker: Mosquitto,
    listeners: list[Listener],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGHTLINE_MQTT_URL", broker.url)
    dispatcher = start_delivery(ctx)
    poller = CameraStatePublisher(ctx, manager, interval_s=0.2).start()
    try:
        assert dispatcher.mqtt.get(broker.url).wait_connected(5)
        manager.start_all()
        assert wait_for(lambda: (manager.camera_health("gate") or {}).get("error") is not None, 30)
        late = Listener(broker, "sightline/cameras/gate/state")  # subscribes after the fact
        listeners.append(late)
        state = json.loads(late.next().payload)
        while state["error"] is None:  # the retained "idle" may come before the failure
            state = json.loads(late.next().payload)
    finally:
        poller.stop()
        dispatcher.stop()
    assert state["camera_id"] == "gate" and state["state"] in ("offline", "connecting")
    assert "refused" in state["error"].lower()
