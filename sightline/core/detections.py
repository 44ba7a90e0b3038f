"""Detections: parallel arrays of boxes, scores, classes and track ids.

We re-use ``supervision.Detections`` (boolean-mask indexing, merging, area)
instead of writing our own container; this module only adds a typed helper
for an empty set and the class-name key we store in ``data``.
"""

from __future__ import annotations

import numpy as np
import supervision as sv

Detections = sv.Detections

CLASS_NAME_KEY = "class_name"


def empty_detections() -> sv.Detections:
    """A zero-length Detections with every array we rely on present."""
    return sv.Detections(
        xyxy=np.zeros((0, 4), dtype=np.float32),
        confidence=np.zeros((0,), dtype=np.float32),
        class_id=np.zeros((0,), dtype=np.int64),
        tracker_id=np.zeros((0,), dtype=np.int64),
    )
