"""One analysis worker per task: source → analyser → event handler, on its own
thread so a dead or slow camera never holds up another.

Live streams are read by a ``SourceReader`` (its own thread, a small
drop-oldest queue): when analysis falls behind, the oldest frames are dropped
instead of memory growing or the stream backing up. Recorded files played as
a camera (the demo) are paced to real time from their frame pts, so a looped
file behaves like a live stream instead of being decoded as fast as the CPU
allows.

A file played once (``loop`` off: recorded-file analysis) is different: it
is decoded as fast as the CPU allows, and when it ends the worker's state
becomes ``finished`` and ``on_finished`` is called, instead of the task
looking as if it were still running.
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
from sightline.events.snapshots import ImageCollector
from sightline.pipeline.analyzer import Analyzer
from sightline.sources import AvSource, SourceConfig, SourceHealth, SourceReader

log = logging.getLogger(__name__)

EventHandler = Callable[[list[tuple[Event, dict[str, bytes]]]], None]


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


def _from_reader(reader: SourceReader, stop: threading.Event) -> Iterator[Frame]:
    while not stop.is_set():
        frame = reader.get(timeout=0.5)
        if frame is not None:
            yield frame
        elif reader.finished:
            return


class TaskWorker:
    """Runs one task until stopped. ``state`` is one of starting, running,
    stopped, error, finished (a file played once reached its end); ``error``
    says why a task stopped by itself."""

    def __init__(
        self,
        task_id: str,
        source: SourceConfig,
        config: AnalysisConfig,
        detector: Detector,
        on_events: EventHandler,
        realtime: bool = True,
        queue_size: int = 4,
        on_finished: Callable[[TaskWorker], None] | None = None,
    ) -> None:
        self.task_id = task_id
        self.source_config = source
        self.images = ImageCollector()
        self.analyzer = Analyzer(config, detector, evidence=self.images)
        self._on_events = on_events
        # Pacing makes a looped file stand in for a live camera; a file analysed once has no such need.
        self._realtime = realtime and not source.is_live and source.loop
        self._on_finished = on_finished
        self._queue_size = queue_size
        self._stop = threading.Event()
        self._source: AvSource | None = None
        self._reader: SourceReader | None = None
        self.state = "starting"
        self.error: str | None = None
        self.events = 0
        self._thread = threading.Thread(target=self._run, name=f"task-{task_id}", daemon=True)

    @property
    def camera_id(self) -> str:
        return self.source_config.camera_id

    @property
    def health(self) -> SourceHealth | None:
        if self._reader is not None:
            return self._reader.health
        return self._source.health if self._source else None

    @property
    def latest_frame(self) -> Frame | None:
        return self.analyzer.last_frame

    def start(self) -> TaskWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.stop(timeout=0)
        if self._source is not None:
            self._source.close()
        self._thread.join(timeout)
        if self.state not in ("error", "finished"):
            self.state = "stopped"

    def _frames(self) -> Iterable[Frame]:
        self._source = AvSource(self.source_config)
        if self.source_config.is_live:
            self._reader = SourceReader(self._source, maxsize=self._queue_size).start()
            return _from_reader(self._reader, self._stop)
        frames: Iterable[Frame] = self._source.frames()
        return paced(frames, self._stop) if self._realtime else frames

    def _run(self) -> None:
        try:
            frames = self._frames()
            self.state = "running"
            for frame in frames:
                if self._stop.is_set():
                    break
                events = self.analyzer.process([frame])
                if events:
                    self.events += len(events)
                    self._on_events([(e, self.images.pop(e.id)) for e in events])
            if not self._stop.is_set():
                health = self.health
                if health is not None and health.error:
                    self.state, self.error = "error", health.error
                elif health is not None and health.state == "ended":
                    self.state = "finished"
                    if self._on_finished is not None:
                        self._on_finished(self)
        except Exception as exc:  # keep serving: the API shows the task's error
            self.state = "error"
            self.error = f"task {self.task_id!r} on camera {self.camera_id!r} stopped: {exc}"
            log.exception("task %s failed", self.task_id)
        finally:
            if self._reader is not None:
                self._reader.stop(timeout=1)
            if self._source is not None:
                self._source.close()
