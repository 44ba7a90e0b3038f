"""IoU and gated optimal assignment between track boxes and detection boxes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

# Cost of a forbidden pair: larger than any sum of allowed costs (each at most 1), so the
# solver first maximises the number of allowed pairs and only then their total IoU.
_FORBIDDEN = 1e6


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of ``(n, 4)`` and ``(m, 4)`` xyxy boxes, shape ``(n, m)``."""
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0.0, None) * np.clip(iy2 - iy1, 0.0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(inter / np.maximum(union, 1e-9), dtype=np.float64)


def assign(iou: FloatArray, min_iou: float) -> tuple[IndexArray, IndexArray]:
    """Rows and columns of an optimal one-to-one matching that uses only pairs with
    ``iou >= min_iou`` (and ``iou > 0``); pairs to exclude must already have IoU 0."""
    empty = np.zeros(0, dtype=np.intp)
    allowed = iou >= max(min_iou, 1e-9)
    if not allowed.any():
        return empty, empty
    row_ok = allowed.sum(axis=1)
    col_ok = allowed.sum(axis=0)
    rows_idx = np.flatnonzero(row_ok)
    cols_idx = np.flatnonzero(col_ok)
    # Common case: every candidate track overlaps exactly one detection and vice versa.
    if row_ok.max() == 1 and col_ok.max() == 1:
        return rows_idx, np.argmax(allowed[rows_idx], axis=1).astype(np.intp)
    sub_allowed = allowed[np.ix_(rows_idx, cols_idx)]
    cost = np.where(sub_allowed, 1.0 - iou[np.ix_(rows_idx, cols_idx)], _FORBIDDEN)
    r, c = linear_sum_assignment(cost)
    keep = sub_allowed[r, c]
    return rows_idx[r[keep]].astype(np.intp), cols_idx[c[keep]].astype(np.intp)
