"""Run one source in its own thread behind a small drop-oldest queue.

Why: a camera that hangs in ``open`` or ``read`` blocks the thread reading it
for up to its timeout. With one reader thread per camera that stall stays
private to that camera, and the pipeline pulls frames from many readers
without ever waiting on a dead one. The queue drops the *oldest* frame when
full: for live analytics a fresh frame is worth more than a complete
backlog, and memory stays bounded when inference falls behind. Drops are
counted and reported in health.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from types import TracebackType

from sightline.core.frame import Frame
from sightline.sources.av_source import AvSource
from sightline.sources.config import redact_url
from sightline.sources.health import SourceHealth

log = logging.getLogger(__name__)


class SourceReader:
    """Reads ``source`` on a daemon thread into a queue of at most ``maxsize`` frames.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, source: AvSource, maxsize: int = 4) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._source = source
        self._queue: deque[Frame] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._dropped = 0
        self._finished = False  # the source's iterator ended (file end, failure or stop)
        self._crash: str | None = None
        self._thread = threading.Thread(
            target=self._pump, name=f"source-{source.config.camera_id}", daemon=True
        )

    @property
    def source(self) -> AvSource:
        return self._source

    @property
    def dropped(self) -> int:
        """Frames discarded because the consumer did not keep up."""
        with self._cond:
            return self._dropped

    @property
    def finished(self) -> bool:
        """True once the source will produce no more frames (queued ones may remain)."""
        with self._cond:
            return self._finished

    @property
    def health(self) -> SourceHealth:
        health = self._source.health
        update: dict[str, object] = {"dropped": self.dropped}
        if self._crash is not None:
            update.update(state="offline", error=self._crash)
        return health.model_copy(update=update)

    def start(self) -> SourceReader:
        self._thread.start()
        return self

    def get(self, timeout: float | None = None) -> Frame | None:
        """Oldest queued frame; waits up to ``timeout`` seconds (None: until one
        arrives or the source finishes). Returns None on timeout or when the
        source finished and the queue is empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue or self._finished, timeout):
                return None
            return self._queue.popleft() if self._queue else None

    def stop(self, timeout: float | None = None) -> bool:
        """Close the source and wait up to ``timeout`` s for the thread.

        Returns True when the thread has ended. It may outlive ``timeout``
        while FFmpeg is blocked, but not the source's open/read timeout; it
        is a daemon thread and never keeps the process alive.
        """
        self._source.close()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> SourceReader:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(timeout=1.0)

    def _pump(self) -> None:
        try:
            for frame in self._source.frames():
                with self._cond:
                    if len(self._queue) >= self._maxsize:
                        self._queue.popleft()
                        self._dropped += 1
                    self._queue.append(frame)
                    self._cond.notify()
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            self._crash = redact_url(
                f"camera {self._source.config.camera_id!r}: reader crashed: {type(exc).__name__}: {exc}"
            )
            log.exception("%s", self._crash)
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()
