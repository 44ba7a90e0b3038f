"""Presentation-time bookkeeping for a source: one increasing timeline across
file loops and reconnects, and sampling by pts.

Why: every time-based rule downstream (dwell time, speed, loitering) reads
``Frame.pts``. A looping file restarts its timestamps at 0 and a camera that
reconnects restarts its RTP clock, so raw timestamps go backwards; rules
would see negative durations. Each connection ("run") therefore gets an
offset that places it after everything already emitted. Pure logic with no
I/O so it is unit tested directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Smallest step between two output timestamps when nothing better is known
# (no nominal frame rate): keeps pts strictly increasing.
MIN_STEP_S = 1e-3
# pts arithmetic happens in float seconds; a grid point computed as 0.5 may
# come out as 0.49999999999999994.
_EPS = 1e-6


class PtsTimeline:
    """Maps raw per-run timestamps (seconds) to one strictly increasing timeline.

    * First run: the source's own timestamps are kept (a file's frame at 12 s
      has pts 12.0), shifted only if they start negative.
    * Later runs (file loop, reconnect): the run starts where the previous one
      ended (last packet pts + its duration). For live sources the wall time
      spent disconnected is added too, so a 60 s outage also reads as 60 s
      in frame time and trackers do not join a person seen before the outage
      to one seen after it as if no time had passed.
    * Inside a run, a timestamp that does not increase (camera clock reset,
      33-bit RTP wrap) re-anchors the run one step after the last output.
    """

    def __init__(self, live: bool, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._live = live
        self._mono = monotonic
        self._offset: float | None = None
        self._last: float | None = None  # last output pts
        self._end: float | None = None  # output time at which the packets seen so far end
        self._last_packet_mono: float | None = None
        self._prev_raw: float | None = None
        self._step = MIN_STEP_S

    @property
    def last(self) -> float | None:
        return self._last

    def new_run(self, frame_duration_s: float | None) -> None:
        """Call after each (re)open, before its first packet."""
        self._offset = None
        self._prev_raw = None
        self._step = frame_duration_s if frame_duration_s and frame_duration_s > 0 else MIN_STEP_S

    def _run_start(self) -> float | None:
        """Output time for the first timestamp of a new run; None on the very
        first run, which keeps the source's own clock."""
        if self._last is None and self._end is None:
            return None
        base = max(
            self._end if self._end is not None else float("-inf"),
            self._last + self._step if self._last is not None else float("-inf"),
        )
        if self._live and self._last_packet_mono is not None and self._end is not None:
            # The outage happened in real time; account for it in frame time.
            base = max(base, self._end + (self._mono() - self._last_packet_mono))
        return base

    def _anchor(self, raw: float) -> None:
        start = self._run_start()
        if start is None:
            self._offset = -raw if raw < 0 else 0.0
        else:
            self._offset = start - raw

    def packet(self, raw_pts: float | None, raw_duration: float | None) -> None:
        """Record a demuxed packet (anchors the run on the first timed one)."""
        if raw_pts is None:
            return
        if self._offset is None:
            self._anchor(raw_pts)
        assert self._offset is not None
        dur = raw_duration if raw_duration and raw_duration > 0 else 0.0
        end = raw_pts + dur + self._offset
        self._end = end if self._end is None else max(self._end, end)
        if self._live:
            self._last_packet_mono = self._mono()

    def _untimed_first_frame(self) -> float:
        """A frame without timestamp before any timed one in this run: FFmpeg's
        RTSP client leaves the first packet (usually the keyframe a client
        must start from) untimed until the first RTCP sender report. It goes
        where the run starts and the run's first timed packet, anchored after
        it, follows one step later."""
        if self._offset is not None and self._last is not None:
            out = self._last + self._step
        else:
            start = self._run_start()
            out = 0.0 if start is None else start
        self._last = out
        self._end = out if self._end is None else max(self._end, out)
        if self._live:
            self._last_packet_mono = self._mono()  # the outage gap is now accounted for
        return out

    def frame(self, raw_pts: float | None) -> float:
        """Output pts of a decoded frame (``raw_pts`` None: no timestamp)."""
        if raw_pts is None:
            if self._prev_raw is None:
                return self._untimed_first_frame()
            raw_pts = self._prev_raw + self._step
        if self._offset is None:
            self._anchor(raw_pts)
        assert self._offset is not None
        out = raw_pts + self._offset
        if self._last is not None and out <= self._last:
            target = self._last + self._step
            self._offset += target - out
            out = target
        self._prev_raw = raw_pts
        self._last = out
        if self._end is None or out > self._end:
            self._end = out
        return out


class PtsSampler:
    """Chooses frames for ``target_fps`` by pts on a fixed grid.

    A frame is taken when its pts reaches the next grid point (one interval
    after the previous grid point, not after the previous frame), so the
    average rate is exactly ``target_fps`` even when the source rate is not
    a multiple of it (25 fps sampled at 2 fps gives 2.0/s, not 1.92/s).
    After a gap longer than one interval the grid restarts at the frame that
    ends the gap. Consecutive frames are at least one interval minus one
    source frame apart.
    """

    def __init__(self, target_fps: float | None) -> None:
        self._interval = 1.0 / target_fps if target_fps else None
        self._next_due: float | None = None

    def take(self, pts: float) -> bool:
        if self._interval is None:
            return True
        if self._next_due is not None and pts < self._next_due - _EPS:
            return False
        if self._next_due is None or pts - self._next_due >= self._interval - _EPS:
            self._next_due = pts + self._interval
        else:
            self._next_due += self._interval
        return True
