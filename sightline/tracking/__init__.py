"""Multi-object tracking: our own class-aware, pts-timed ByteTrack (see
:mod:`sightline.tracking.bytetrack` for why we do not use a library)."""

from sightline.tracking.bytetrack import (
    UNCONFIRMED_ID,
    ByteTracker,
    TrackerConfig,
    TrackInfo,
    TrackState,
)

__all__ = ["UNCONFIRMED_ID", "ByteTracker", "TrackInfo", "TrackState", "TrackerConfig"]
