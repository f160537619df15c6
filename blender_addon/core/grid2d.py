"""Broad phase on a uniform 2-D grid (numpy only): which axis-aligned boxes of two sets overlap."""
from __future__ import annotations

import numpy as np


def cells(lo: np.ndarray, hi: np.ndarray, origin, cell: float, nx: int):
    """Grid cells covered by axis-aligned xy boxes: (box index, cell id) per covered cell."""
    i0 = np.floor((lo - origin) / cell).astype(np.int64)
    i1 = np.floor((hi - origin) / cell).astype(np.int64)
    wx = i1[:, 0] - i0[:, 0] + 1
    wy = i1[:, 1] - i0[:, 1] + 1
    cnt = wx * wy
    total = int(cnt.sum())
    idx = np.repeat(np.arange(len(lo)), cnt)
    start = np.repeat(np.cumsum(cnt) - cnt, cnt)
    k = np.arange(total) - start
    w = wx[idx]
    cx = i0[idx, 0] + k % w
    cy = i0[idx, 1] + k // w
    return idx, cy * nx + cx


def box_pairs(loA, hiA, loB, hiB, origin, cell, nx) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of A and B boxes that overlap, each once: a pair is reported by the one
    grid cell holding the lower corner of the two boxes' intersection."""
    if len(loA) == 0 or len(loB) == 0:
        e = np.zeros(0, np.int64)
        return e, e
    ia, ca = cells(loA, hiA, origin, cell, nx)
    ib, cb = cells(loB, hiB, origin, cell, nx)
    order = np.argsort(cb, kind="stable")
    ib, cb = ib[order], cb[order]
    left = np.searchsorted(cb, ca, "left")
    right = np.searchsorted(cb, ca, "right")
    n = right - left
    pa = np.repeat(ia, n)
    pc = np.repeat(ca, n)
    start = np.repeat(left, n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    pb = ib[start + k]
    if len(pa) == 0:
        return pa, pb
    lo = np.maximum(loA[pa], loB[pb])
    hi = np.minimum(hiA[pa], hiB[pb])
    ok = np.all(lo <= hi + 1e-12, axis=1)
    corner = np.floor((lo - origin) / cell).astype(np.int64)
    ok &= (corner[:, 1] * nx + corner[:, 0]) == pc
    return pa[ok], pb[ok]
