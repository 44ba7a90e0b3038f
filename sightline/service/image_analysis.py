"""Detections on one uploaded picture (T1 image analysis), with one detector per process.

Why one shared detector: loading the model costs a second and tens of
megabytes; a detector per request would cost both every time. It is built
on first use (a process that never analyses a picture never loads it) under
a lock, and calls are serialised by the same lock because a detector keeps
per-call buffers. With ``threads`` intra-op threads one call is ~50 ms on a
CPU core, so serialising costs little and keeps CPU use bounded.

The model runs with a low confidence floor (:data:`FLOOR_CONFIDENCE`) and the
caller's ``min_confidence`` filters afterwards, so one detector serves every
threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sightline.config.analysis import DetectorConfig
from sightline.core.frame import Frame
from sightline.core.protocols import Detector

FLOOR_CONFIDENCE = 0.1
DEFAULT_MIN_CONFIDENCE = DetectorConfig().confidence


@dataclass(frozen=True)
class Detection:
    class_name: str
    confidence: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the picture's pixels


def _build_default() -> Detector:
    from sightline.inference import build_detector  # heavy import: only when first needed

    return build_detector(DetectorConfig(confidence=FLOOR_CONFIDENCE))


class SharedDetector:
    """A detector built on first use; thread-safe."""

    def __init__(self, build: Callable[[], Detector] = _build_default) -> None:
        self._build = build
        self._detector: Detector | None = None
        self._lock = threading.Lock()

    def detect(
        self,
        image: npt.NDArray[np.uint8],
        classes: Sequence[str] = (),
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> list[Detection]:
        frame = Frame(camera_id="upload", seq=0, pts=0.0, wall_time=0.0, image=image)
        with self._lock:
            if self._detector is None:
                self._detector = self._build()
            (found,) = self._detector.detect([frame])
        names = found.data.get("class_name", [])
        wanted = set(classes)
        out = []
        for i in range(len(found)):
            name = str(names[i])
            score = float(found.confidence[i]) if found.confidence is not None else 1.0
            if score < min_confidence or (wanted and name not in wanted):
                continue
            x1, y1, x2, y2 = (round(float(v), 1) for v in found.xyxy[i])
            out.append(Detection(name, round(score, 4), (x1, y1, x2, y2)))
        out.sort(key=lambda d: d.confidence, reverse=True)
        return out


_PROCESS_DETECTOR = SharedDetector()


def process_detector() -> SharedDetector:
    """The process's one detector for pictures."""
    return _PROCESS_DETECTOR
