"""One analysis worker per camera: source → analyser → event log, on its own
thread so a dead or slow camera never holds up another.

Recorded files played as a camera (the demo) are paced to real time from
their frame pts, so a looped file behaves like a live stream instead of being
decoded as fast as the CPU allows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from sightline.config.analysis import AnalysisConfig
from sightline.core.event import Event
from sightline.core.frame import Frame
from sightline.core.protocols import Detector
from sightline.events.snapshots import SnapshotWriter
from sightline.pipeline.analyzer import Analyzer
from sightline.sources import AvSource, SourceConfig, SourceHealth

log = logging.getLogger(__name__)


def paced(
    frames: Iterable[Frame],
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Frame]:
    """Yield frames no faster than their pts advance (real-time playback)."""
    start_wall: float | None = None
    start_pts = 0.0
    for frame in frames:
        if start_wall is None:
            start_wall, start_pts = clock(), frame.pts
        ahead = (frame.pts - start_pts) - (clock() - start_wall)
        if ahead > 0 and stop.wait(ahead):
            return
        if ahead < -2.0:  # fell behind (slow CPU): resync rather than rush to catch up
            start_wall, start_pts = clock(), frame.pts
        yield frame


class CameraWorker:
    def __init__(
        self,
        source: SourceConfig,
        config: AnalysisConfig,
        detector: Detector,
        snapshots: SnapshotWriter,
        on_events: Callable[[list[Event]], None],
        realtime: bool = True,
    ) -> None:
        self.source_config = source
        self.analyzer = Analyzer(config, detector, snapshots=snapshots)
        self._on_events = on_events
        self._realtime = realtime and not source.is_live
        self._stop = threading.Event()
        self._source: AvSource | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera-{source.camera_id}", daemon=True)

    @property
    def camera_id(self) -> str:
        return self.source_config.camera_id

    @property
    def health(self) -> SourceHealth | None:
        return self._source.health if self._source else None

    @property
    def error(self) -> str | None:
        return self._error

    def start(self) -> CameraWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._source is not None:
            self._source.close()
        self._thread.join(timeout)

    def _run(self) -> None:
        self._source = AvSource(self.source_config)
        frames: Iterable[Frame] = self._source.frames()
        if self._realtime:
            frames = paced(frames, self._stop)
        try:
            for frame in frames:
                if self._stop.is_set():
                    break
                events = self.analyzer.process([frame])
                if events:
                    self._on_events(events)
        except Exception as exc:  # keep serving: the page shows the camera's error
            self._error = f"analysis of camera {self.camera_id!r} stopped: {exc}"
            log.exception("camera %s worker failed", self.camera_id)
        finally:
            self._source.close()
