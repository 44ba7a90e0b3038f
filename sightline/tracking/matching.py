"""IoU and gated optimal assignment between track boxes and detection boxes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

# Cost of a forbidden pair: larger than any sum of allowed costs (each at most 1), so the
# solver first maximises the number of allowed pairs and only then their total IoU.
_FORBIDDEN = 1e6
_EMPTY = np.zeros(0, dtype=np.intp)


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of ``(n, 4)`` and ``(m, 4)`` xyxy boxes, shape ``(n, m)``."""
    ax1, ay1, ax2, ay2 = a.T[:, :, None]  # each (n, 1)
    bx1, by1, bx2, by2 = b.T[:, None, :]  # each (1, m)
    iw = np.minimum(ax2, bx2) - np.maximum(ax1, bx1)
    ih = np.minimum(ay2, by2) - np.maximum(ay1, by1)
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    iou: FloatArray = inter / np.maximum(union, 1e-9)
    return iou


def assign(iou: FloatArray, min_iou: float) -> tuple[IndexArray, IndexArray]:
    """Rows and columns of an optimal one-to-one matching that uses only pairs with
    ``iou >= min_iou`` (and ``iou > 0``); pairs to exclude must already have IoU 0."""
    allowed: BoolArray = iou >= max(min_iou, 1e-9)
    row_any: BoolArray = np.logical_or.reduce(allowed, axis=1)
    rows: IndexArray = row_any.nonzero()[0]
    if rows.size == 0:
        return _EMPTY, _EMPTY
    sub = allowed[rows]
    col_any: BoolArray = np.logical_or.reduce(sub, axis=0)
    cols: IndexArray = col_any.nonzero()[0]
    # Common case: every candidate row overlaps exactly one column and vice versa.
    if sub.sum() == rows.size == cols.size:
        return rows, sub.argmax(axis=1)
    sub = sub[:, cols]
    cost = np.where(sub, 1.0 - iou[rows[:, None], cols], _FORBIDDEN)
    r, c = linear_sum_assignment(cost)
    keep = sub[r, c]
    return rows[r[keep]], cols[c[keep]]
