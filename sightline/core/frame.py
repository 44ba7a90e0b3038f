"""One decoded picture from a source, with the time it belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame.

    ``pts`` is the presentation time in source seconds (monotonic within one
    source run) and drives every time-based rule, so a replayed file behaves
    like the live stream. ``wall_time`` is the UNIX time the frame was
    received, used only for display and storage.
    """

    camera_id: str
    seq: int
    pts: float
    wall_time: float
    image: npt.NDArray[np.uint8] = field(repr=False)
    keyframe: bool = False

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height
