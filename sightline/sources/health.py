"""Source health: what an operator (and the API) sees about one camera.

``SourceHealth`` is an immutable snapshot, safe to hand to another thread or
serialise. ``HealthTracker`` is the mutable, lock-protected state the reading
thread updates; snapshots are built on demand, and "degraded" and the frame
rate are computed at snapshot time so a camera that silently stops sending is
reported even while the reading thread is blocked waiting for data.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

SourceState = Literal["connecting", "online", "degraded", "offline", "ended"]


class SourceHealth(BaseModel):
    """Snapshot of one source.

    state:
      ``connecting`` opening the stream, or opened and waiting for the first
      frame (a keyframe); ``error`` still holds the previous failure, if any.
      ``online`` frames are flowing. ``degraded`` connected but no packet for
      ``stall_s`` or recent undecodable packets (see ``error``). ``offline``
      the last attempt failed (``error`` says why); a live source waits for
      its back-off and retries, a file source has stopped. ``ended`` a file
      reached its end (not looping) or the source was closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    camera_id: str
    url: str  # credentials redacted
    state: SourceState
    last_frame_wall_time: float | None = None  # UNIX time the last emitted frame was received
    last_frame_pts: float | None = None  # source seconds of the last emitted frame
    measured_fps: float = 0.0  # emitted frames per wall second over the last fps_window_s
    width: int | None = None  # resolution the source sends (frames may be resized)
    height: int | None = None
    codec: str | None = None
    error: str | None = None
    reconnects: int = 0  # connection attempts after the first (file loops not counted)
    frames: int = 0  # frames emitted
    decoded: int = 0  # frames out of the decoder (>= frames when sampling)
    decode_errors: int = 0  # packets the decoder rejected
    dropped: int = 0  # frames a SourceReader discarded because its queue was full


class HealthTracker:
    """Thread-safe mutable health of one source (internal to the sources package)."""

    def __init__(
        self,
        camera_id: str,
        redacted_url: str,
        stall_s: float,
        fps_window_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._camera_id = camera_id
        self._url = redacted_url
        self._stall_s = stall_s
        self._window = fps_window_s
        self._mono = monotonic
        self._lock = threading.Lock()
        self._state: SourceState = "connecting"
        self._error: str | None = None
        self._connected = False
        self._last_packet: float | None = None
        self._last_decode_error: float | None = None
        self._decode_error_msg: str | None = None
        self._emit_times: deque[float] = deque()
        self._last_wall: float | None = None
        self._last_pts: float | None = None
        self._width: int | None = None
        self._height: int | None = None
        self._codec: str | None = None
        self._reconnects = 0
        self._frames = 0
        self._decoded = 0
        self._decode_errors = 0

    # -- updates from the reading thread -------------------------------------------------
    def connecting(self, reconnect: bool) -> None:
        with self._lock:
            self._state = "connecting"
            self._connected = False
            if reconnect:
                self._reconnects += 1

    def connected(self, width: int, height: int, codec: str) -> None:
        with self._lock:
            self._connected = True
            self._last_packet = self._mono()
            self._width, self._height, self._codec = width, height, codec
            # Opening buffers a burst of frames; rates from before an outage
            # plus that burst would describe neither connection.
            self._emit_times.clear()

    def packet(self) -> None:
        # Called for every packet: a plain attribute store, no lock needed
        # (a float assignment is atomic under the GIL).
        self._last_packet = self._mono()

    def decoded_frame(self) -> None:
        with self._lock:
            self._decoded += 1

    def decode_error(self, message: str) -> None:
        with self._lock:
            self._decode_errors += 1
            self._last_decode_error = self._mono()
            self._decode_error_msg = message

    def emitted(self, wall_time: float, pts: float) -> None:
        now = self._mono()
        with self._lock:
            self._frames += 1
            self._last_wall = wall_time
            self._last_pts = pts
            self._emit_times.append(now)
            self._prune(now)
            self._state = "online"
            self._error = None  # frames flow again: the old failure is history

    def failed(self, error: str) -> None:
        with self._lock:
            self._state = "offline"
            self._connected = False
            self._error = error

    def ended(self, error: str | None = None) -> None:
        with self._lock:
            self._state = "ended"
            self._connected = False
            if error is not None:
                self._error = error

    # -- reading -------------------------------------------------------------------------
    def _prune(self, now: float) -> None:
        while self._emit_times and self._emit_times[0] < now - self._window:
            self._emit_times.popleft()

    def snapshot(self, dropped: int = 0) -> SourceHealth:
        now = self._mono()
        with self._lock:
            self._prune(now)
            n = len(self._emit_times)
            # (n - 1) intervals between the frames still in the window, over
            # the time from the oldest one until now: exact right after a frame
            # at a steady rate, and it decays towards 0 while the source stalls.
            span = now - self._emit_times[0] if n else 0.0
            fps = (n - 1) / span if n >= 2 and span > 0 else 0.0
            state, error = self._state, self._error
            if state == "online" and self._connected:
                idle = now - self._last_packet if self._last_packet is not None else 0.0
                recent_bad = (
                    self._last_decode_error is not None and now - self._last_decode_error < self._window
                )
                if idle >= self._stall_s:
                    state = "degraded"
                    error = (
                        f"camera {self._camera_id!r} ({self._url}): no data for {idle:.1f} s; "
                        "the camera or network stalled (it reconnects after read_timeout_s)"
                    )
                elif recent_bad:
                    state = "degraded"
                    error = (
                        f"camera {self._camera_id!r} ({self._url}): undecodable packets in the last "
                        f"{self._window:.0f} s ({self._decode_error_msg}); packet loss? "
                        "prefer rtsp_transport='tcp' or check the network"
                    )
            return SourceHealth(
                camera_id=self._camera_id,
                url=self._url,
                state=state,
                last_frame_wall_time=self._last_wall,
                last_frame_pts=self._last_pts,
                measured_fps=round(fps, 3),
                width=self._width,
                height=self._height,
                codec=self._codec,
                error=error,
                reconnects=self._reconnects,
                frames=self._frames,
                decoded=self._decoded,
                decode_errors=self._decode_errors,
                dropped=dropped,
            )
