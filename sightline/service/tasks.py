"""The running side of analysis tasks: one TaskWorker per running task,
started, changed and stopped from what the database says, without a restart.

``apply(task_id)`` is the one verb: it reads the task and its camera, stops
the old worker if any, and starts a new one when the task should run. Every
event a worker produces is stored (row + evidence images), then handed to the
after-store hooks (delivery outbox, live feed). A snapshot that cannot be
written (disk full) never loses the event: it is stored without images and
says why in its attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from sightline.api.context import AppContext
from sightline.config.analysis import AnalysisConfig
from sightline.core.event import Event
from sightline.core.protocols import Detector
from sightline.events.snapshots import encode_jpeg
from sightline.inference import build_detector
from sightline.service.worker import TaskWorker
from sightline.sources import SourceConfig
from sightline.storage.models import Camera, Task

log = logging.getLogger(__name__)

DetectorFactory = Callable[[AnalysisConfig], Detector]
AfterStore = Callable[[Event], None]


def _default_detector(config: AnalysisConfig) -> Detector:
    return build_detector(config.detector)


class TaskManager:
    """Implements ``sightline.api.context.TaskControl``."""

    def __init__(
        self,
        ctx: AppContext,
        detector_factory: DetectorFactory = _default_detector,
        realtime: bool = True,
    ) -> None:
        self.ctx = ctx
        self._detector_factory = detector_factory
        self._realtime = realtime
        self._workers: dict[str, TaskWorker] = {}
        self._lock = threading.RLock()
        self.after_store: list[AfterStore] = []

    # -- control -----------------------------------------------------------------------
    def start_all(self) -> None:
        with self.ctx.db.session() as s:
            ids = [t.id for t in s.query(Task).filter(Task.desired_state == "running")]
        for task_id in ids:
            self.apply(task_id)

    def apply(self, task_id: str) -> None:
        with self._lock:
            old = self._workers.pop(task_id, None)
            if old is not None:
                old.stop()
            with self.ctx.db.session() as s:
                task = s.get(Task, task_id)
                if task is None:
                    return
                camera = s.get(Camera, task.camera_id)
                should_run = task.desired_state == "running" and camera is not None and camera.enabled
                if not should_run:
                    task.status, task.last_error = "stopped", None
                    return
                assert camera is not None
                try:
                    config = AnalysisConfig.model_validate({**task.config, "camera_id": camera.id})
                    source = SourceConfig.model_validate(
                        {
                            **camera.source_options,
                            "camera_id": camera.id,
                            "url": camera.url,
                            "target_fps": config.sampling.fps,
                            "keyframes_only": config.sampling.keyframes_only,
                            "resize_width": config.sampling.resize_width,
                            "loop": camera.source_options.get("loop", not _is_stream(camera.url)),
                        }
                    )
                    detector = self._detector_factory(config)
                except (ValidationError, ValueError, RuntimeError) as exc:
                    task.status, task.last_error = "error", f"task {task_id!r} cannot start: {exc}"
                    log.warning("%s", task.last_error)
                    return
                worker = TaskWorker(
                    task_id,
                    source,
                    config,
                    detector,
                    on_events=lambda items, tid=task_id: self._store(tid, items),
                    realtime=self._realtime,
                )
                task.status, task.last_error = "running", None
            self._workers[task_id] = worker.start()

    def remove(self, task_id: str) -> None:
        with self._lock:
            worker = self._workers.pop(task_id, None)
        if worker is not None:
            worker.stop()

    def stop_all(self) -> None:
        """Stop every worker (service shutdown). Desired states are kept, so the
        next start resumes the same tasks."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for w in workers:
            w.stop()
        if workers:
            with self.ctx.db.session() as s:
                for task in s.query(Task).filter(Task.id.in_([w.task_id for w in workers])):
                    task.status = "stopped"

    # -- status ------------------------------------------------------------------------
    def status(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            worker = self._workers.get(task_id)
        if worker is None:
            with self.ctx.db.session() as s:
                task = s.get(Task, task_id)
                if task is None:
                    return {"state": "unknown"}
                return {"state": task.status, "error": task.last_error}
        health = worker.health
        return {
            "state": worker.state,
            "error": worker.error,
            "events": worker.events,
            "frames": worker.analyzer.stats.frames,
            "source": health.model_dump(mode="json") if health else None,
        }

    def camera_health(self, camera_id: str) -> dict[str, Any] | None:
        with self._lock:
            workers = [w for w in self._workers.values() if w.camera_id == camera_id]
        for w in workers:
            health = w.health
            if health is not None:
                data = health.model_dump(mode="json")
                if w.state == "error":
                    data["state"], data["error"] = "offline", w.error
                return data
        return None

    def latest_frame_jpeg(self, camera_id: str) -> bytes | None:
        with self._lock:
            workers = [w for w in self._workers.values() if w.camera_id == camera_id]
        for w in workers:
            frame = w.latest_frame
            if frame is not None:
                return encode_jpeg(frame.image)
        return None

    # -- events ------------------------------------------------------------------------
    def _store(self, task_id: str, items: list[tuple[Event, dict[str, bytes]]]) -> None:
        for event, images in items:
            try:
                self.ctx.events.add(event, images, task_id=task_id)
            except OSError as exc:
                # Disk full or unwritable blob folder: keep the event, say why.
                log.error(
                    "snapshot for event %s not stored (%s); storing the event without images", event.id, exc
                )
                bare = event.model_copy(
                    update={"attributes": {**event.attributes, "snapshot_error": str(exc)}}
                )
                self.ctx.events.add(bare, None, task_id=task_id)
            for hook in self.after_store:
                try:
                    hook(event)
                except Exception:  # a failing subscriber never stops analysis
                    log.exception("after-store hook failed for event %s", event.id)


def _is_stream(url: str) -> bool:
    return "://" in url and not url.startswith("file://")
