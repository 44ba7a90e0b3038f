"""The embedded runtime: camera workers sharing one detector, one event log,
one data folder. Started by ``sightline serve``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightline.config.analysis import AnalysisConfig
from sightline.core.event import Event
from sightline.events.snapshots import SnapshotWriter
from sightline.inference import build_detector
from sightline.service.event_log import EventLog
from sightline.service.worker import CameraWorker
from sightline.sources import SourceConfig

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    data_dir: Path
    events: EventLog
    workers: list[CameraWorker] = field(default_factory=list)

    @classmethod
    def open(cls, data_dir: Path) -> Runtime:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir=data_dir, events=EventLog(data_dir / "events.jsonl"))

    def add_camera(self, url: str, config: AnalysisConfig, loop: bool = True) -> CameraWorker:
        source = SourceConfig(
            camera_id=config.camera_id,
            url=url,
            target_fps=config.sampling.fps,
            keyframes_only=config.sampling.keyframes_only,
            resize_width=config.sampling.resize_width,
            loop=loop,
        )

        def on_events(events: list[Event]) -> None:
            self.events.append(events)
            for e in events:
                log.info("event %s %s camera=%s track=%s", e.type, e.direction or "", e.camera_id, e.track_id)

        # One detector (ONNX Runtime session) per camera: sessions are not shared
        # across threads that run concurrently.
        worker = CameraWorker(
            source, config, build_detector(config.detector), SnapshotWriter(self.data_dir), on_events
        )
        self.workers.append(worker.start())
        return worker

    def camera_status(self) -> list[dict[str, Any]]:
        out = []
        for w in self.workers:
            h = w.health
            status: dict[str, Any] = {"camera_id": w.camera_id, "state": "connecting"}
            if h is not None:
                status.update(h.model_dump(mode="json"))
            if w.error:
                status["state"], status["error"] = "offline", w.error
            out.append(status)
        return out

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.events.close()
