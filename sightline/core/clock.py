"""Clocks. Stages never call ``time.time()`` themselves; they get a Clock so
replayed files and tests behave exactly like live streams, with no sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds (UNIX time for wall clocks, source seconds for frame clocks)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock a test moves by hand."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def set(self, t: float) -> None:
        self._t = t


class FrameClock:
    """Time of the last frame seen (``Frame.pts``)."""

    def __init__(self) -> None:
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def tick(self, pts: float) -> None:
        self._t = pts
