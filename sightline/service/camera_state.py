"""Publishes each camera's state (E4) on the retained MQTT topic
``sightline/cameras/<camera>/state`` whenever it changes. (The UI reads
camera states from the API; the live feed carries events only.)

Why polling: a source's health changes inside its reading thread (PyAV calls
that block), and a camera that silently stops sending only becomes "degraded"
when someone looks (see :mod:`sightline.sources.health`). One light thread
that looks every ``interval_s`` catches both, and it never slows a worker.
Unchanged states are re-sent every ``refresh_s`` so a subscriber that missed
the retained message (broker restarted without persistence) catches up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sightline.api.context import AppContext, TaskControl
from sightline.delivery.hooks import publish_camera_state
from sightline.storage.models import Camera

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraState:
    camera_id: str
    # a SourceState; "idle" when no running task reads the camera, "disabled"
    # when an operator switched it off, "removed" once when it was deleted (so
    # the retained message does not say "online" for a camera that is gone)
    state: str
    error: str | None
    fps: float | None


def read_state(camera_id: str, health: dict[str, Any] | None) -> CameraState:
    if health is None:
        return CameraState(camera_id, "idle", None, None)
    return CameraState(camera_id, str(health.get("state")), health.get("error"), health.get("measured_fps"))


class CameraStatePublisher:
    """Polls :meth:`TaskControl.camera_health` and publishes changes."""

    def __init__(
        self,
        ctx: AppContext,
        tasks: TaskControl,
        *,
        interval_s: float = 2.0,
        refresh_s: float = 60.0,
        publish: Callable[[CameraState], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self._publish = publish or self._publish_mqtt
        self._last: dict[str, tuple[CameraState, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, now: float | None = None) -> list[CameraState]:
        """Publish what changed (or is due a refresh); returns what was published."""
        now = time.monotonic() if now is None else now
        with self.ctx.db.session() as s:
            enabled = dict(s.execute(select(Camera.id, Camera.enabled)).tuples().all())
        states = {
            camera_id: read_state(camera_id, self.tasks.camera_health(camera_id))
            if on
            else CameraState(camera_id, "disabled", None, None)
            for camera_id, on in enabled.items()
        }
        for gone in set(self._last) - set(states):
            states[gone] = CameraState(gone, "removed", None, None)
        published = []
        for camera_id, current in states.items():
            previous = self._last.get(camera_id)
            changed = previous is None or (previous[0].state, previous[0].error) != (
                current.state,
                current.error,
            )
            if changed or now - previous[1] >= self.refresh_s:  # type: ignore[index]
                try:
                    self._publish(current)
                except Exception:  # a broker that is away never stops the poller
                    log.exception("publishing the state of camera %s failed", camera_id)
                    continue
                published.append(current)
                if current.state == "removed":  # said once; forgotten (the retained message stays)
                    del self._last[camera_id]
                else:
                    self._last[camera_id] = (current, now)
        return published

    def _publish_mqtt(self, state: CameraState) -> None:
        publish_camera_state(self.ctx, state.camera_id, state.state, error=state.error, fps=state.fps)

    def start(self) -> CameraStatePublisher:
        self._thread = threading.Thread(target=self._run, name="camera-state", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll_once()
            except Exception:  # e.g. the database is briefly locked: try again next time
                log.exception("camera state poll failed")
