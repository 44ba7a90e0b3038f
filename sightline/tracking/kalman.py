"""Batched constant-velocity Kalman filter over boxes, driven by time in seconds.

State per track: ``(cx, cy, w, h, vcx, vcy, vw, vh)`` with velocities in pixels
per second. All tracks live in one ``(n, 8)`` mean array and one ``(n, 8, 8)``
covariance array, so predicting or correcting every track is a handful of numpy
calls whatever the number of tracks.

The noise levels are ByteTrack's per-frame ones (position 1/20 and velocity
1/160 of the box size per frame) at its 30 fps reference, turned into per-second
rates: the process noise of a prediction grows linearly with ``dt``, so the
filter trusts its motion model just as much over one 0.5 s step as over fifteen
1/30 s steps, and tracking behaves the same at any sampling rate. Width and x
are scaled by the box width, height and y by the box height (as in BoT-SORT),
which suits tall people and wide cars alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

STATE_DIM = 8
MEAS_DIM = 4

_REF_FPS = 30.0
# Measurement noise std, as a fraction of box size (ByteTrack: 1/20).
_MEAS_STD = 1.0 / 20.0
# Process noise std per sqrt(second), as a fraction of box size (per second for velocity).
_POS_NOISE = np.sqrt(_REF_FPS) / 20.0
_VEL_NOISE = np.sqrt(_REF_FPS) * _REF_FPS / 160.0
# Initial uncertainty of a new track (ByteTrack: 2/20 of the size, 10/160 of the size per frame).
_INIT_POS_STD = 2.0 / 20.0
_INIT_VEL_STD = 10.0 * _REF_FPS / 160.0

_MIN_SIZE = 1.0  # px; keeps noise and boxes sane if a prediction shrinks a box to nothing

_DIAG = np.arange(STATE_DIM)
_MEAS_DIAG = np.arange(MEAS_DIM)


def xyxy_to_cxcywh(xyxy: FloatArray) -> FloatArray:
    out = np.empty_like(xyxy, dtype=np.float64)
    out[:, 0] = (xyxy[:, 0] + xyxy[:, 2]) * 0.5
    out[:, 1] = (xyxy[:, 1] + xyxy[:, 3]) * 0.5
    out[:, 2] = xyxy[:, 2] - xyxy[:, 0]
    out[:, 3] = xyxy[:, 3] - xyxy[:, 1]
    return out


def cxcywh_to_xyxy(boxes: FloatArray) -> FloatArray:
    half = np.maximum(boxes[:, 2:4], _MIN_SIZE) * 0.5
    return np.concatenate((boxes[:, 0:2] - half, boxes[:, 0:2] + half), axis=1)


def _sizes(mean_or_meas: FloatArray) -> FloatArray:
    """``(n, 4)`` scale per measured coordinate: ``(w, h, w, h)``."""
    wh = np.maximum(mean_or_meas[:, 2:4], _MIN_SIZE)
    return np.concatenate((wh, wh), axis=1)


def initiate(measurements: FloatArray) -> tuple[FloatArray, FloatArray]:
    """New tracks from ``(n, 4)`` cx, cy, w, h boxes: zero velocity, wide velocity prior."""
    n = measurements.shape[0]
    mean = np.zeros((n, STATE_DIM), dtype=np.float64)
    mean[:, :MEAS_DIM] = measurements
    size = _sizes(measurements)
    std = np.concatenate((_INIT_POS_STD * size, _INIT_VEL_STD * size), axis=1)
    cov = np.zeros((n, STATE_DIM, STATE_DIM), dtype=np.float64)
    cov[:, _DIAG, _DIAG] = std * std
    return mean, cov


def predict(mean: FloatArray, cov: FloatArray, dt: float) -> None:
    """Advance every track by ``dt`` seconds, in place."""
    if dt <= 0.0 or mean.shape[0] == 0:
        return
    size = _sizes(mean)
    mean[:, :MEAS_DIM] += dt * mean[:, MEAS_DIM:]
    # P' = F P F^T with F = [[I, dt I], [0, I]], written blockwise: A' = A + dt (B + B^T) + dt^2 C,
    # B' = B + dt C, C' = C where P = [[A, B], [B^T, C]].
    a = cov[:, :MEAS_DIM, :MEAS_DIM]
    b = cov[:, :MEAS_DIM, MEAS_DIM:]
    c = cov[:, MEAS_DIM:, MEAS_DIM:]
    a += dt * (b + b.transpose(0, 2, 1)) + (dt * dt) * c
    b += dt * c
    cov[:, MEAS_DIM:, :MEAS_DIM] = b.transpose(0, 2, 1)
    pos_std = _POS_NOISE * size
    vel_std = _VEL_NOISE * size
    cov[:, _DIAG, _DIAG] += dt * np.concatenate((pos_std * pos_std, vel_std * vel_std), axis=1)


def update(mean: FloatArray, cov: FloatArray, rows: IndexArray, measurements: FloatArray) -> None:
    """Correct the tracks at ``rows`` with ``(len(rows), 4)`` cx, cy, w, h boxes, in place."""
    if rows.size == 0:
        return
    m = mean[rows]
    p = cov[rows]
    meas_std = _MEAS_STD * _sizes(m)
    s = p[:, :MEAS_DIM, :MEAS_DIM].copy()
    s[:, _MEAS_DIAG, _MEAS_DIAG] += meas_std * meas_std
    hp = p[:, :MEAS_DIM, :]  # H P, (k, 4, 8)
    gain = np.linalg.solve(s, hp).transpose(0, 2, 1)  # K = P H^T S^-1, (k, 8, 4)
    innovation = measurements - m[:, :MEAS_DIM]
    m += np.matmul(gain, innovation[:, :, None])[:, :, 0]
    p = p - np.matmul(gain, hp)
    mean[rows] = m
    cov[rows] = 0.5 * (p + p.transpose(0, 2, 1))
