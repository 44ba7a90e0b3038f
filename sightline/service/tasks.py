"""The running side of analysis tasks: one TaskWorker per running task,
started, changed and stopped from what the database says, without a restart.

``apply(task_id)`` is the one verb: it reads the task and its camera, stops
the old worker if any, and starts a new one when the task should run. Every
event a worker produces is stored (row + evidence images), then handed to the
after-store hooks (delivery outbox, live feed). Before that, every raw
event goes through the strategy center (P1): it is stored with its trace and
outcome either way, but only *passed* events reach the hooks, so blocked
noise is never delivered. A snapshot that cannot be
written (disk full) never loses the event: it is stored without images and
says why in its attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from sightline.api.context import AppContext
from sightline.api.schemas.tasks import Schedule
from sightline.config.analysis import AnalysisConfig
from sightline.core.event import Event
from sightline.core.protocols import Detector
from sightline.events.snapshots import encode_jpeg
from sightline.inference import build_detector
from sightline.service.strategies import decision_of, strategy_center
from sightline.service.worker import TaskWorker
from sightline.sources import SourceConfig
from sightline.storage.events import Decision
from sightline.storage.models import Camera, Task
from sightline.strategies.base import RawEvent

log = logging.getLogger(__name__)

DetectorFactory = Callable[[AnalysisConfig], Detector]
AfterStore = Callable[[Event], None]
AfterStoreMany = Callable[[list[Event]], None]
SCHEDULE_TICK_S = 20.0  # a schedule is minute-precise; look three times a minute


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
        # Called once per ingested batch with its new passed events (delivery
        # writes all their outbox rows in one INSERT); after the per-event hooks.
        self.after_store_many: list[AfterStoreMany] = []
        self._off_schedule: set[str] = set()  # should run, but outside their schedule now
        self._schedule_stop = threading.Event()
        self._schedule_thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------
    def start_all(self) -> None:
        with self.ctx.db.session() as s:
            ids = [t.id for t in s.query(Task).filter(Task.desired_state == "running")]
        for task_id in ids:
            self.apply(task_id)

    def apply(self, task_id: str, now: datetime | None = None) -> None:
        """Make the task's worker match the database (and its schedule at ``now``)."""
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
                if should_run and not in_schedule(task.schedule, now):
                    self._off_schedule.add(task_id)
                    should_run = False
                else:
                    self._off_schedule.discard(task_id)
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
                    on_finished=self._finished,
                )
                task.status, task.last_error = "running", None
            self._workers[task_id] = worker.start()

    def _finished(self, worker: TaskWorker) -> None:
        """A file played once reached its end (recorded-file analysis): the task is
        done, so it is stored as finished and stopped — a restart must not analyse
        the file again. The worker stays listed so its status keeps the figures."""
        with self._lock:
            current = self._workers.get(worker.task_id) is worker
        if not current:
            return
        with self.ctx.db.session() as s:
            task = s.get(Task, worker.task_id)
            if task is not None:
                task.status, task.desired_state, task.last_error = "finished", "stopped", None
        log.info("task %s: end of file, %d events", worker.task_id, worker.events)

    def remove(self, task_id: str) -> None:
        with self._lock:
            worker = self._workers.pop(task_id, None)
        if worker is not None:
            worker.stop()

    def stop_all(self) -> None:
        """Stop every worker (service shutdown). Desired states are kept, so the
        next start resumes the same tasks."""
        self._schedule_stop.set()
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for w in workers:
            w.stop()
        stopped = [w.task_id for w in workers if w.state != "finished"]
        if stopped:
            with self.ctx.db.session() as s:
                for task in s.query(Task).filter(Task.id.in_(stopped)):
                    task.status = "stopped"

    # -- schedules ---------------------------------------------------------------------
    def apply_schedules(self, now: datetime | None = None) -> list[str]:
        """Start tasks whose schedule window opened and stop those whose window
        closed; returns the ids changed. Called every ``SCHEDULE_TICK_S``."""
        now = now or datetime.now(UTC)
        with self.ctx.db.session() as s:
            scheduled = [
                (t.id, t.schedule)
                for t in s.query(Task).filter(Task.desired_state == "running", Task.schedule.is_not(None))
            ]
        changed = []
        for task_id, schedule in scheduled:
            with self._lock:
                running = task_id in self._workers
            if running != in_schedule(schedule, now):
                self.apply(task_id, now)
                changed.append(task_id)
        return changed

    def start_schedules(self, tick_s: float = SCHEDULE_TICK_S) -> None:
        def run() -> None:
            while not self._schedule_stop.wait(tick_s):
                try:
                    self.apply_schedules()
                except Exception:  # a locked database now is no reason to stop scheduling
                    log.exception("applying task schedules failed")

        self._schedule_thread = threading.Thread(target=run, name="task-schedules", daemon=True)
        self._schedule_thread.start()

    # -- status ------------------------------------------------------------------------
    def status(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            worker = self._workers.get(task_id)
        if worker is None:
            with self.ctx.db.session() as s:
                task = s.get(Task, task_id)
                if task is None:
                    return {"state": "unknown"}
                if task_id in self._off_schedule:
                    return {"state": "waiting", "error": None, "reason": "outside its schedule"}
                return {"state": task.status, "error": task.last_error}
        health = worker.health
        return {
            "state": worker.state,
            "error": worker.error,
            "events": worker.events,
            "frames": worker.analyzer.stats.frames,
            # Frames out of the decoder and the source time reached: the
            # progress of a recorded-file analysis against the file's length.
            "decoded": health.decoded if health else 0,
            "position_s": health.last_frame_pts if health else None,
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
    def ingest(self, task_id: str, items: list[tuple[Event, dict[str, bytes]]]) -> None:
        """Run raw events through the strategies, store them, tell the hooks
        about the passed ones: what a worker does with its events (public for
        image-batch producers, tests and ``bench/strategy.py``)."""
        self._store(task_id, items)

    def _store(self, task_id: str, items: list[tuple[Event, dict[str, bytes]]]) -> None:
        center = strategy_center(self.ctx)
        decided: list[tuple[Event, dict[str, bytes] | None, Decision]] = []
        for event, images in items:
            verdict = center.process(RawEvent(event, images))
            decided.append((verdict.event, dict(verdict.images), decision_of(verdict)))
        try:
            new_ids = self.ctx.events.add_decided(decided, task_id=task_id)
        except OSError:
            new_ids = set()
            for event, images, decision in decided:
                new_ids |= self._store_one(task_id, event, images, decision)
        # Blocked events (and events a retry had stored already): nobody is told.
        passed = [e for e, _i, d in decided if d.outcome == "passed" and e.id in new_ids]
        for event in passed:
            for hook in self.after_store:
                try:
                    hook(event)
                except Exception:  # a failing subscriber never stops analysis
                    log.exception("after-store hook failed for event %s", event.id)
        for batch_hook in self.after_store_many if passed else ():
            try:
                batch_hook(passed)
            except Exception:
                log.exception("after-store hook failed for %d events", len(passed))

    def _store_one(
        self, task_id: str, event: Event, images: dict[str, bytes] | None, decision: Decision
    ) -> set[str]:
        try:
            return self.ctx.events.add_decided([(event, images, decision)], task_id=task_id)
        except OSError as exc:
            # Disk full or unwritable blob folder: keep the event, say why.
            log.error(
                "snapshot for event %s not stored (%s); storing the event without images", event.id, exc
            )
            bare = event.model_copy(update={"attributes": {**event.attributes, "snapshot_error": str(exc)}})
            return self.ctx.events.add_decided([(bare, None, decision)], task_id=task_id)


def in_schedule(schedule: dict[str, Any] | None, now: datetime | None) -> bool:
    """Whether a task with this stored schedule should analyse at ``now``
    (no schedule: always). The API validated it on the way in."""
    if not schedule:
        return True
    return Schedule.model_validate(schedule).is_active(now or datetime.now(UTC))


def _is_stream(url: str) -> bool:
    return "://" in url and not url.startswith("file://")
