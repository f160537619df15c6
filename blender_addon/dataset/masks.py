"""Visible-pixel statistics and outlines computed from an instance map (numpy only); the semantic map
is an output of its own (``core.outputs.semantic_from_instance``)."""
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
    xmin, ymin = np.full(n, big), np.full(n, big)
    xmax, ymax = np.full(n, -1), np.full(n, -1)
    np.minimum.at(xmin, flat, xs)
    np.maximum.at(xmax, flat, xs)
    np.minimum.at(ymin, flat, ys)
    np.maximum.at(ymax, flat, ys)
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


# --------------------------------------------------------------------------------------- polygons

_RIGHT_TURN = {(1, 0): (0, 1), (0, 1): (-1, 0), (-1, 0): (0, -1), (0, -1): (1, 0)}


def mask_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Exact outlines of a boolean mask as closed loops of pixel-corner coordinates ``(x, y)``.

    Pixel ``(u, v)`` covers ``[u, u+1] x [v, v+1]``, so a point-in-polygon test at pixel centres
    gives back the mask exactly. Outer loops run clockwise on screen (positive shoelace area with
    y down), holes counter-clockwise; diagonal-only neighbours are separate (4-connectivity).
    Only corner vertices are kept. Loops are ordered by their first vertex (deterministic).
    """
    m = np.pad(np.asarray(mask, bool), 1)
    core = m[1:-1, 1:-1]
    edges = {}  # start vertex -> list of (end vertex, direction)
    # (neighbour offset, start corner, end corner) for top, right, bottom, left sides of a pixel
    sides = [((-1, 0), (0, 0), (1, 0)), ((0, 1), (1, 0), (1, 1)),
             ((1, 0), (1, 1), (0, 1)), ((0, -1), (0, 1), (0, 0))]
    for (dr, dc), (sx, sy), (ex, ey) in sides:
        nb = m[1 + dr:m.shape[0] - 1 + dr, 1 + dc:m.shape[1] - 1 + dc]
        rs, cs = np.nonzero(core & ~nb)
        for r, c in zip(rs.tolist(), cs.tolist(), strict=True):
            edges.setdefault((c + sx, r + sy), []).append(((c + ex, r + ey), (ex - sx, ey - sy)))
    loops = []
    for start in sorted(edges):
        while edges.get(start):
            end, d = edges[start].pop()
            pts, dirs = [start], [d]
            cur = end
            while cur != start:
                outs = edges[cur]
                if len(outs) == 1:
                    nxt, nd = outs.pop()
                else:  # a saddle: take the right turn
                    want = _RIGHT_TURN[d]
                    k = next(i for i, (_, od) in enumerate(outs) if od == want)
                    nxt, nd = outs.pop(k)
                pts.append(cur)
                dirs.append(nd)
                cur, d = nxt, nd
            # keep only the corners: vertex i is a corner if the direction changes there
            keep = [i for i in range(len(pts)) if dirs[i] != dirs[i - 1]]
            loops.append(np.array([pts[i] for i in keep], dtype=np.float64))
        edges.pop(start, None)
    return loops


def polygon_area(loop: np.ndarray) -> float:
    """Signed shoelace area (positive for outer loops of :func:`mask_polygons`)."""
    x, y = loop[:, 0], loop[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def merge_polygons(loops: list[np.ndarray]) -> np.ndarray:
    """One polygon from several loops, joined by zero-width bridges at their nearest vertices
    (how Ultralytics' converters keep a multi-part mask as one instance). Returns ``(N, 2)``."""
    if not loops:
        return np.zeros((0, 2))
    order = sorted(range(len(loops)), key=lambda i: -abs(polygon_area(loops[i])))
    main = list(map(tuple, loops[order[0]]))
    for i in order[1:]:
        other = loops[i]
        a = np.asarray(main)
        d = np.linalg.norm(a[:, None, :] - other[None, :, :], axis=-1)
        ia, ib = np.unravel_index(int(np.argmin(d)), d.shape)
        ring = [tuple(p) for p in np.roll(other, -ib, axis=0)] + [tuple(other[ib])]
        main = main[:ia + 1] + ring + main[ia:]
    return np.asarray(main, dtype=np.float64)
