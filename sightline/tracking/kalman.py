"""Batched constant-velocity Kalman filter over boxes, driven by time in seconds.

State per track: ``(cx, cy, w, h, vcx, vcy, vw, vh)`` with velocities in pixels
per second, measured ``(cx, cy, w, h)``. All tracks live in one ``(n, 8)`` mean
array, so predicting or correcting every track is a handful of numpy calls.

The model is separable: each measured coordinate is coupled only with its own
velocity (the transition moves ``x`` by ``dt * vx``; process and measurement
noise are diagonal). Starting from a diagonal covariance, the full 8x8
covariance therefore only ever has non-zeros at ``(i, i)``, ``(i, i+4)``,
``(i+4, i)`` and ``(i+4, i+4)``: four independent 2x2 blocks. We store just
those, as ``cov[:, 0] = var(x)``, ``cov[:, 1] = cov(x, vx)``,
``cov[:, 2] = var(vx)`` (shape ``(n, 3, 4)``), and the filter reduces to exact
element-wise formulas with no matrix inverse.

The noise levels are ByteTrack's per-frame ones (position 1/20 and velocity
1/160 of the box size per frame) at its 30 fps reference, turned into per-second
rates: the process noise of a prediction grows linearly with ``dt``, so the
filter trusts its motion model as much over one 0.5 s step as over fifteen
1/30 s steps, and tracking behaves the same at any sampling rate. x and w are
scaled by the box width, y and h by the box height (as in BoT-SORT), which
suits tall people and wide cars alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

STATE_DIM = 8
MEAS_DIM = 4
COV_SHAPE = (3, MEAS_DIM)  # per track: var(pos), cov(pos, vel), var(vel) per coordinate

_REF_FPS = 30.0
# Measurement noise std, as a fraction of box size (ByteTrack: 1/20).
_MEAS_VAR = (1.0 / 20.0) ** 2
# Process noise variance per second, as a fraction of box size squared (per second for velocity).
_POS_NOISE_VAR = _REF_FPS * (1.0 / 20.0) ** 2
_VEL_NOISE_VAR = _REF_FPS * (_REF_FPS / 160.0) ** 2
# Initial uncertainty of a new track (ByteTrack: 2/20 of the size, 10/160 of the size per frame).
_INIT_POS_VAR = (2.0 / 20.0) ** 2
_INIT_VEL_VAR = (10.0 * _REF_FPS / 160.0) ** 2

_MIN_SIZE = 1.0  # px; keeps noise and boxes sane if a prediction shrinks a box to nothing


def xyxy_to_cxcywh(xyxy: FloatArray) -> FloatArray:
    lo = xyxy[:, 0:2]
    hi = xyxy[:, 2:4]
    return np.concatenate(((lo + hi) * 0.5, hi - lo), axis=1)


def cxcywh_to_xyxy(boxes: FloatArray) -> FloatArray:
    half = np.maximum(boxes[:, 2:4], _MIN_SIZE) * 0.5
    return np.concatenate((boxes[:, 0:2] - half, boxes[:, 0:2] + half), axis=1)


def _size_sq(boxes: FloatArray) -> FloatArray:
    """``(n, 4)`` squared scale per measured coordinate: ``(w, h, w, h) ** 2``."""
    wh = np.maximum(boxes[:, 2:4], _MIN_SIZE)
    wh = wh * wh
    return np.concatenate((wh, wh), axis=1)


def initiate(measurements: FloatArray) -> tuple[FloatArray, FloatArray]:
    """New tracks from ``(n, 4)`` cx, cy, w, h boxes: zero velocity, wide velocity prior.

    Returns ``mean`` ``(n, 8)`` and ``cov`` ``(n, 3, 4)``."""
    n = measurements.shape[0]
    mean = np.zeros((n, STATE_DIM), dtype=np.float64)
    mean[:, :MEAS_DIM] = measurements
    size_sq = _size_sq(measurements)
    cov = np.zeros((n, *COV_SHAPE), dtype=np.float64)
    cov[:, 0] = _INIT_POS_VAR * size_sq
    cov[:, 2] = _INIT_VEL_VAR * size_sq
    return mean, cov


def predict(mean: FloatArray, cov: FloatArray, dt: float) -> None:
    """Advance every track by ``dt`` seconds, in place."""
    if dt <= 0.0 or mean.shape[0] == 0:
        return
    size_sq = _size_sq(mean)
    mean[:, :MEAS_DIM] += dt * mean[:, MEAS_DIM:]
    p_pp, p_pv, p_vv = cov[:, 0], cov[:, 1], cov[:, 2]
    # P' = F P F^T + Q, F = [[1, dt], [0, 1]] per coordinate
    p_pp += dt * (2.0 * p_pv + dt * p_vv + _POS_NOISE_VAR * size_sq)
    p_pv += dt * p_vv
    p_vv += (dt * _VEL_NOISE_VAR) * size_sq


def update(mean: FloatArray, cov: FloatArray, rows: IndexArray, measurements: FloatArray) -> None:
    """Correct the tracks at ``rows`` with ``(len(rows), 4)`` cx, cy, w, h boxes, in place."""
    if rows.size == 0:
        return
    m = mean[rows]
    c = cov[rows]
    p_pp, p_pv, p_vv = c[:, 0], c[:, 1], c[:, 2]
    s = p_pp + _MEAS_VAR * _size_sq(m)  # innovation variance
    k_p = p_pp / s  # Kalman gain, position
    k_v = p_pv / s  # Kalman gain, velocity
    innovation = measurements - m[:, :MEAS_DIM]
    m[:, :MEAS_DIM] += k_p * innovation
    m[:, MEAS_DIM:] += k_v * innovation
    # P' = P - K H P, element-wise per coordinate (compute p_vv first: it needs the old p_pv)
    p_vv -= k_v * p_pv
    p_pv -= k_p * p_pv
    p_pp -= k_p * p_pp
    mean[rows] = m
    cov[rows] = c
