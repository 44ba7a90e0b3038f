"""ByteTrack multi-object tracker: our own, class-aware, timed by pts.

Why we wrote our own instead of using a library:

* supervision (>= 0.27) no longer ships ByteTrack, and the ``trackers`` package
  that replaced it requires the non-headless ``opencv-python``, which clashes
  with our ``opencv-python-headless<5`` pin (both install the same ``cv2``).
* Association is class-aware: a detection only continues a track of the same
  ``class_id``, so a car and a person passing the same spot never share an id.
* Time comes from each frame's pts, not from a frame counter. The Kalman filter
  predicts over the real ``dt`` (frames may be sampled at 2 fps, then 10 fps, or
  skipped under load) and the lost-track buffer is in seconds, so re-association
  after an occlusion does not depend on the sampling rate.
* Tracks that are not confirmed yet report ``tracker_id == -1`` and confirmed
  ids come from a counter that is never rewound, so rules never count phantom
  (one- or two-frame) tracks and never mistake a new object for an old one.

Algorithm (Zhang et al., "ByteTrack", 2022), per ``update``:

1. drop lost tracks unseen for more than ``lost_after_s``; predict every track
   to ``pts``;
2. high-confidence detections vs confirmed tracks (tracked and lost), by IoU;
3. low-confidence detections vs confirmed tracks still unmatched and not lost
   (the ByteTrack step: a partly occluded object keeps its track);
4. remaining high-confidence detections vs tentative tracks;
5. unmatched confirmed tracks become lost, unmatched tentative tracks are
   removed, unmatched detections at or above ``new_track_threshold`` start
   tentative tracks. A tentative track is confirmed (and gets its id) once it
   was matched in ``min_hits`` consecutive frames.

Track state lives in parallel numpy arrays (no per-track Python objects), which
keeps an update with ~20 detections at a few hundred microseconds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sightline.tracking import kalman
from sightline.tracking.matching import assign, iou_matrix

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

UNCONFIRMED_ID = -1


class TrackerConfig(BaseModel):
    """ByteTrack settings. Defaults follow the ByteTrack paper and reference code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Detections at or above this score are matched first."
    )
    low_threshold: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Detections below this score are ignored; between low and high they can only "
        "continue an existing track.",
    )
    new_track_threshold: float = Field(
        default=0.6, ge=0.0, le=1.0, description="An unmatched detection needs this score to start a track."
    )
    match_iou: float = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description="Minimum IoU for high-confidence detections vs confirmed tracks.",
    )
    low_match_iou: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Minimum IoU for low-confidence detections vs tracked tracks.",
    )
    tentative_match_iou: float = Field(
        default=0.3,
        gt=0.0,
        le=1.0,
        description="Minimum IoU for high-confidence detections vs tentative tracks.",
    )
    min_hits: int = Field(
        default=3, ge=1, description="Consecutive matched frames before a track is confirmed and gets an id."
    )
    lost_after_s: float = Field(
        default=3.0, ge=0.0, description="Seconds of pts a lost track is kept for re-association."
    )
    class_aware: bool = Field(
        default=True, description="Only match detections to tracks of the same class_id."
    )

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> TrackerConfig:
        if self.low_threshold > self.high_threshold:
            raise ValueError(
                f"low_threshold ({self.low_threshold}) must not exceed high_threshold ({self.high_threshold})"
            )
        if self.new_track_threshold < self.high_threshold:
            raise ValueError(
                f"new_track_threshold ({self.new_track_threshold}) must be at least high_threshold "
                f"({self.high_threshold}): detections below high_threshold never start tracks"
            )
        return self


class TrackState(IntEnum):
    TENTATIVE = 0  # not confirmed yet, id -1; removed on its first miss
    TRACKED = 1  # confirmed and matched in the last update
    LOST = 2  # confirmed, not matched in the last update; kept for lost_after_s


_EMPTY = np.zeros(0, dtype=np.intp)
# TrackState values as plain ints for the hot path (enum attribute lookups are slow)
_TENTATIVE = int(TrackState.TENTATIVE)
_TRACKED = int(TrackState.TRACKED)
_LOST = int(TrackState.LOST)


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """Snapshot of one live track after the last ``update``."""

    id: int  # >= 1 once confirmed, -1 while tentative
    class_id: int
    state: TrackState
    first_seen_pts: float
    last_seen_pts: float
    hits: int  # frames in which the track was matched
    xyxy: tuple[float, float, float, float]  # Kalman estimate at the last update's pts


class _TrackTable:
    """All live tracks as parallel arrays, one row per track."""

    def __init__(self) -> None:
        self.ids: IntArray = np.zeros(0, dtype=np.int64)
        self.class_id: IntArray = np.zeros(0, dtype=np.int64)
        self.state: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self.hits: IntArray = np.zeros(0, dtype=np.int64)
        self.first_seen: FloatArray = np.zeros(0, dtype=np.float64)
        self.last_seen: FloatArray = np.zeros(0, dtype=np.float64)
        self.mean: FloatArray = np.zeros((0, kalman.STATE_DIM), dtype=np.float64)
        self.cov: FloatArray = np.zeros((0, *kalman.COV_SHAPE), dtype=np.float64)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def keep(self, mask: BoolArray) -> None:
        self.ids = self.ids[mask]
        self.class_id = self.class_id[mask]
        self.state = self.state[mask]
        self.hits = self.hits[mask]
        self.first_seen = self.first_seen[mask]
        self.last_seen = self.last_seen[mask]
        self.mean = self.mean[mask]
        self.cov = self.cov[mask]

    def append(self, ids: IntArray, class_id: IntArray, xyxy: FloatArray, pts: float) -> None:
        n = ids.shape[0]
        mean, cov = kalman.initiate(kalman.xyxy_to_cxcywh(xyxy))
        state = np.where(ids > 0, _TRACKED, _TENTATIVE).astype(np.int8)
        self.ids = np.concatenate((self.ids, ids))
        self.class_id = np.concatenate((self.class_id, class_id))
        self.state = np.concatenate((self.state, state))
        self.hits = np.concatenate((self.hits, np.ones(n, dtype=np.int64)))
        self.first_seen = np.concatenate((self.first_seen, np.full(n, pts)))
        self.last_seen = np.concatenate((self.last_seen, np.full(n, pts)))
        self.mean = np.concatenate((self.mean, mean))
        self.cov = np.concatenate((self.cov, cov))


def _stage(
    iou: FloatArray, rows: IndexArray, cols: IndexArray, min_iou: float
) -> tuple[IndexArray, IndexArray]:
    """Optimal matching of track ``rows`` with candidate ``cols`` of ``iou``; returns
    the matched (row, col) pairs."""
    if rows.size == 0 or cols.size == 0:
        return _EMPTY, _EMPTY
    i, j = assign(iou[rows[:, None], cols], min_iou)
    return rows[i], cols[j]


def _subset(detections: sv.Detections, idx: IndexArray, tracker_id: IntArray) -> sv.Detections:
    """``detections[idx]`` with ``tracker_id`` set. Same result as ``Detections.select``
    (copied arrays, ``data`` and ``metadata`` kept), at a fifth of its cost."""
    data: dict[str, npt.NDArray[Any] | list[Any]] = {}
    for key, value in detections.data.items():
        if isinstance(value, np.ndarray):
            data[key] = value if value.ndim == 0 else value[idx]
        else:
            data[key] = [value[i] for i in idx]
    return sv.Detections(
        xyxy=detections.xyxy[idx],
        mask=None if detections.mask is None else detections.mask[idx],
        confidence=None if detections.confidence is None else detections.confidence[idx],
        class_id=None if detections.class_id is None else detections.class_id[idx],
        tracker_id=tracker_id,
        data=data,
        metadata=dict(detections.metadata),
    )


class ByteTracker:
    """ByteTrack with class-aware association and pts-based timing (see module docstring).

    Implements :class:`sightline.core.protocols.Tracker`. One instance per video stream.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config if config is not None else TrackerConfig()
        self._tracks = _TrackTable()
        self._next_id = 1  # never rewound, not even by reset(): ids are unique per tracker
        self._last_pts: float | None = None
        self._ended: tuple[int, ...] = ()

    # ------------------------------------------------------------------ public API

    def update(self, detections: sv.Detections, pts: float) -> sv.Detections:
        """Track one frame's detections at time ``pts`` (seconds).

        Returns the input detections that continue or start a track, in input
        order, with the detector's boxes, scores, classes and ``data`` (e.g.
        ``class_name``) and ``tracker_id`` set: the track id (>= 1) once
        confirmed, -1 while tentative. Detections below ``low_threshold``,
        low-confidence detections that continue no track, and high-confidence
        ones that neither continue a track nor reach ``new_track_threshold`` are
        dropped. ``pts`` must not decrease; if it does (a source restart), all
        tracks end and tracking starts over, with new ids."""
        pts = float(pts)
        if not math.isfinite(pts):
            raise ValueError(f"pts must be a finite number of seconds, got {pts}")
        cfg = self.config
        t = self._tracks
        ended: list[int] = []
        if self._last_pts is not None and pts < self._last_pts:
            log.warning(
                "pts went back from %.3f s to %.3f s: ending all tracks and starting over",
                self._last_pts,
                pts,
            )
            ended.extend(self._confirmed_ids())
            self._tracks = t = _TrackTable()
            self._last_pts = None
        dt = 0.0 if self._last_pts is None else pts - self._last_pts
        self._last_pts = pts

        # 1. forget lost tracks past the buffer, then predict all tracks to pts
        if len(t):
            expired = (t.state == _LOST) & (pts - t.last_seen > cfg.lost_after_s)
            if expired.any():
                ended.extend(int(i) for i in t.ids[expired])
                t.keep(~expired)
            kalman.predict(t.mean, t.cov, dt)

        n_det = len(detections)
        det_xyxy = np.asarray(detections.xyxy, dtype=np.float64).reshape(n_det, 4)
        conf = (
            np.ones(n_det, dtype=np.float64)
            if detections.confidence is None
            else np.asarray(detections.confidence, dtype=np.float64)
        )
        det_cls = (
            np.zeros(n_det, dtype=np.int64)
            if detections.class_id is None
            else np.asarray(detections.class_id, dtype=np.int64)
        )
        # Candidates: detections at or above low_threshold. Stages below index them by
        # candidate column c; cand[c] is the detection index.
        cand = (conf >= cfg.low_threshold).nonzero()[0]
        cand_high = conf[cand] >= cfg.high_threshold
        cand_row = np.full(cand.size, -1, dtype=np.intp)  # matched track row per candidate
        n_tracks = len(t)
        matched = np.zeros(n_tracks, dtype=bool)
        out_ids = np.full(n_det, UNCONFIRMED_ID, dtype=np.int64)

        if n_tracks and cand.size:
            iou = iou_matrix(kalman.cxcywh_to_xyxy(t.mean[:, : kalman.MEAS_DIM]), det_xyxy[cand])
            if cfg.class_aware:
                iou[t.class_id[:, None] != det_cls[cand][None, :]] = 0.0
            state = t.state
            high_cols = cand_high.nonzero()[0]
            # 2. high-confidence detections vs confirmed (tracked + lost) tracks
            confirmed = (state != _TENTATIVE).nonzero()[0]
            r1, c1 = _stage(iou, confirmed, high_cols, cfg.match_iou)
            matched[r1] = True
            cand_row[c1] = r1
            # 3. low-confidence detections vs still-unmatched tracked (not lost) tracks
            if not cand_high.all():
                pool = ((state == _TRACKED) & ~matched).nonzero()[0]
                r2, c2 = _stage(iou, pool, (~cand_high).nonzero()[0], cfg.low_match_iou)
                matched[r2] = True
                cand_row[c2] = r2
            else:
                r2 = c2 = _EMPTY
            # 4. remaining high-confidence detections vs tentative tracks
            tentative = (state == _TENTATIVE).nonzero()[0]
            high_left = high_cols[cand_row[high_cols] < 0]
            r3, c3 = _stage(iou, tentative, high_left, cfg.tentative_match_iou)
            matched[r3] = True
            cand_row[c3] = r3

            rows = np.concatenate((r1, r2, r3))
            if rows.size:
                dets = cand[np.concatenate((c1, c2, c3))]
                kalman.update(t.mean, t.cov, rows, kalman.xyxy_to_cxcywh(det_xyxy[dets]))
                t.hits[rows] += 1
                t.last_seen[rows] = pts
                t.class_id[rows] = det_cls[dets]
                state[r1] = _TRACKED  # lost tracks found again
                promote = r3[t.hits[r3] >= cfg.min_hits]
                if promote.size:
                    t.ids[promote] = self._take_ids(promote.size)
                    state[promote] = _TRACKED
                out_ids[dets] = t.ids[rows]

        # 5. misses: tracked -> lost (size velocity zeroed, as in ByteTrack); tentative -> removed
        if n_tracks:
            now_lost = (t.state == _TRACKED) & ~matched
            if now_lost.any():
                t.state[now_lost] = _LOST
                t.mean[now_lost, 6:8] = 0.0
            dead = (t.state == _TENTATIVE) & ~matched
            if dead.any():
                t.keep(~dead)

        keep = np.zeros(n_det, dtype=bool)
        keep[cand[cand_row >= 0]] = True
        starters = cand[cand_high & (cand_row < 0)]
        starters = starters[conf[starters] >= cfg.new_track_threshold]
        if starters.size:
            new_ids = (
                self._take_ids(starters.size)
                if cfg.min_hits <= 1
                else np.full(starters.size, UNCONFIRMED_ID, dtype=np.int64)
            )
            t.append(new_ids, det_cls[starters], det_xyxy[starters], pts)
            out_ids[starters] = new_ids
            keep[starters] = True

        self._ended = tuple(ended)
        idx = keep.nonzero()[0]
        return _subset(detections, idx, out_ids[idx])

    def reset(self) -> None:
        """Forget all tracks and the time base (e.g. after a source reconnect).

        Ids keep counting up, so an id seen before the reset never reappears."""
        self._ended = tuple(self._confirmed_ids())
        self._tracks = _TrackTable()
        self._last_pts = None

    @property
    def tracks(self) -> tuple[TrackInfo, ...]:
        """Live tracks after the last update: confirmed ones by id, then tentative ones."""
        t = self._tracks
        order = np.lexsort((t.ids, t.ids < 0))  # confirmed (ids >= 1) first, each group by id
        boxes = kalman.cxcywh_to_xyxy(t.mean[:, : kalman.MEAS_DIM])
        return tuple(
            TrackInfo(
                id=int(t.ids[i]),
                class_id=int(t.class_id[i]),
                state=TrackState(int(t.state[i])),
                first_seen_pts=float(t.first_seen[i]),
                last_seen_pts=float(t.last_seen[i]),
                hits=int(t.hits[i]),
                xyxy=(float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 2]), float(boxes[i, 3])),
            )
            for i in order
        )

    @property
    def ended_ids(self) -> tuple[int, ...]:
        """Confirmed ids that ended (lost for longer than ``lost_after_s``, or reset)
        during the last ``update``/``reset``; rules can drop their memory of them."""
        return self._ended

    # ------------------------------------------------------------------ internals

    def _confirmed_ids(self) -> list[int]:
        ids = self._tracks.ids
        return [int(i) for i in ids[ids > 0]]

    def _take_ids(self, n: int) -> IntArray:
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        return ids
