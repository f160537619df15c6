"""Visible-pixel statistics and label maps computed from an instance map (numpy only)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

EMPTY_BBOX = [-1, -1, 0, 0]


def visibility(instance: np.ndarray, ids: Iterable[int]) -> dict[int, tuple[int, list[int]]]:
    """``{id: (visible pixel count, [x, y, w, h])}`` for every id in ``ids``, in one pass.

    The box is the tight box of the id's pixels, ``w = xmax - xmin + 1``. An id without pixels gets
    ``(0, [-1, -1, 0, 0])``.
    """
    inst = np.asarray(instance)
    if inst.ndim != 2:
        raise ValueError(f"instance map must be HxW, got shape {inst.shape}")
    ids = [int(i) for i in ids]
    h, w = inst.shape
    flat = inst.ravel().astype(np.int64)
    n = int(max([int(flat.max()) if flat.size else 0] + ids)) + 1
    counts = np.bincount(flat, minlength=n)
    ys, xs = np.divmod(np.arange(flat.size, dtype=np.int64), w)
    big = np.iinfo(np.int64).max
    xmin = np.full(n, big); ymin = np.full(n, big)
    xmax = np.full(n, -1); ymax = np.full(n, -1)
    np.minimum.at(xmin, flat, xs); np.maximum.at(xmax, flat, xs)
    np.minimum.at(ymin, flat, ys); np.maximum.at(ymax, flat, ys)
    out = {}
    for i in ids:
        if i < 0 or counts[i] == 0:
            out[i] = (0, list(EMPTY_BBOX))
        else:
            out[i] = (int(counts[i]), [int(xmin[i]), int(ymin[i]),
                                       int(xmax[i] - xmin[i] + 1), int(ymax[i] - ymin[i] + 1)])
    return out


def bbox_of_mask(mask: np.ndarray) -> list[int]:
    """Tight ``[x, y, w, h]`` of a boolean mask, ``[-1, -1, 0, 0]`` when empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return list(EMPTY_BBOX)
    return [int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)]


def semantic_from_instance(instance: np.ndarray, id_to_category: dict) -> np.ndarray:
    """Category map (HxW uint16) from an instance map; ids not in the dict (and 0) map to 0."""
    inst = np.asarray(instance)
    n = max([int(inst.max()) if inst.size else 0] + [int(k) for k in id_to_category]) + 1
    lut = np.zeros(n, dtype=np.uint16)
    for k, c in id_to_category.items():
        if int(k) > 0:
            lut[int(k)] = int(c or 0)
    return lut[inst.astype(np.int64)]
