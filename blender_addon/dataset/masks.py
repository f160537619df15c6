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


def centre_loop(loop: np.ndarray) -> np.ndarray:
    """A pixel-corner loop of :func:`mask_polygons` moved half a pixel towards its pixels: the loop
    through the centres of its boundary pixels, in the dataset's convention (pixel ``(u, v)`` has
    its centre at ``(u, v)``). Filled with its edges included (``cv2.fillPoly``), it covers exactly
    the pixels the corner loop encloses. Every edge stays horizontal or vertical: on a diagonal
    edge, the points Ultralytics resamples and truncates (``int(x)``) can land on the pixel beside
    it (at an anti-diagonal's midpoint ``floor`` of x moves before ``floor`` of y). Straight runs
    keep only their ends. Returns ``(N, 2)`` float64, N >= 1."""
    p = np.asarray(loop, np.float64)
    d_out = np.sign(np.roll(p, -1, axis=0) - p)
    d_in = np.roll(d_out, 1, axis=0)
    side = lambda d: np.stack([-d[:, 1], d[:, 0]], axis=1)  # noqa: E731 (the pixels' side of an edge)
    c = p + 0.5 * (side(d_in) + side(d_out)) - 0.5
    return _drop_straight(_dedupe(c))


def _dedupe(c: np.ndarray) -> np.ndarray:
    keep = np.any(c != np.roll(c, 1, axis=0), axis=1)
    return c[keep] if keep.any() else c[:1]


def _drop_straight(c: np.ndarray) -> np.ndarray:
    """Drop the vertices inside straight runs (same direction in and out); spikes stay."""
    while len(c) >= 3:
        a, b = c - np.roll(c, 1, axis=0), np.roll(c, -1, axis=0) - c
        cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        mid = (cross == 0) & ((a * b).sum(1) > 0)
        if not mid.any():
            break
        c = c[~mid]
    return c


def mask_outlines(mask: np.ndarray) -> list[np.ndarray]:
    """The boundary loops of a boolean mask through its boundary pixels' centres (dataset
    convention, pixel ``(u, v)`` centred at ``(u, v)``): one per outline and hole of
    :func:`mask_polygons`, same order. Outer loops keep positive area, holes negative."""
    return [centre_loop(loop) for loop in mask_polygons(mask)]


def _dense(loop: np.ndarray) -> np.ndarray:
    """Every lattice point along a loop's (axis-aligned) edges."""
    nxt = np.roll(loop, -1, axis=0)
    n = np.abs(nxt - loop).max(1).astype(int)
    pts = [loop[i] + np.arange(max(k, 1))[:, None] * np.sign(nxt[i] - loop[i]) for i, k in enumerate(n)]
    return np.concatenate(pts) if pts else loop


def merge_polygons(loops: list[np.ndarray]) -> np.ndarray:
    """One polygon from several loops, joined by zero-width bridges (each walked there and back)
    between nearest points, the way Ultralytics' ``merge_multi_segment`` keeps a multi-part COCO
    mask as one instance. Here the largest loop comes first and each next one is the loop nearest
    to those joined so far (a minimum spanning tree of the parts), bridged at its nearest point.
    Distances are city-block (|dx| + |dy|): Ultralytics resamples a bridge and truncates its points,
    so a bridge fills up to |dx| + |dy| - 1 pixels between its ends (``cv2.fillPoly`` draws it);
    straight bridges are the cheapest. Returns ``(N, 2)``; straight runs keep only their ends."""
    if not loops:
        return np.zeros((0, 2))
    if len(loops) == 1:
        return np.asarray(loops[0], np.float64)
    dense = [_dense(np.asarray(p, np.float64)) for p in loops]
    first = max(range(len(loops)), key=lambda i: (abs(polygon_area(loops[i])), -i))
    children = _spanning_tree(dense, first)
    out: list = []
    stack = [(first, 0, 0, None)]      # (loop, its entry point, position reached, point to return to)
    while stack:
        loop, start, k, back = stack.pop()
        pts = dense[loop]
        if k > len(pts):               # walked round: back over the bridge to the parent's point
            if back is not None:
                out.append(back)
            continue
        i = (start + k) % len(pts)
        out.append(tuple(pts[i]))
        stack.append((loop, start, k + 1, back))
        if k < len(pts):
            for child, entry in reversed(children.get((loop, i), [])):
                stack.append((child, entry, 0, tuple(pts[i])))
    return _drop_straight(np.asarray(out, dtype=np.float64))


def _spanning_tree(dense: list[np.ndarray], first: int) -> dict:
    """Prim's tree over the loops from ``first``: ``{(loop, point): [(child, child point), ...]}``
    in joining order; each next loop is the one nearest (city-block distance, then order) to the tree."""
    sizes = [len(d) for d in dense]
    owner = np.repeat(np.arange(len(dense)), sizes)
    pts = np.concatenate(dense)
    local = np.concatenate([np.arange(n) for n in sizes])
    best = np.full(len(pts), np.inf)
    src = np.zeros((len(pts), 2), np.int64)      # (tree loop, its point) nearest to each point
    joined = np.zeros(len(dense), bool)
    children: dict = {}
    new = first
    for _ in range(len(dense) - 1):
        joined[new] = True
        free = ~joined[owner]
        d, j = _nearest_each(pts[free], dense[new])
        idx = np.flatnonzero(free)
        better = d < best[idx]
        best[idx[better]] = d[better]
        src[idx[better]] = np.stack([np.full(better.sum(), new), j[better]], 1)
        cand = np.where(free, best, np.inf)
        p = int(np.argmin(cand))
        new = int(owner[p])
        children.setdefault((int(src[p, 0]), int(src[p, 1])), []).append((new, int(local[p])))
    return children


def _nearest_each(a: np.ndarray, b: np.ndarray, rows: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """For each point of ``a``: the city-block distance to its nearest point of ``b`` and that
    point's index, in chunks of at most ``rows`` pairs (bounded memory for long outlines)."""
    d = np.empty(len(a))
    j = np.empty(len(a), np.int64)
    step = max(1, rows // max(len(b), 1))
    for s in range(0, len(a), step):
        m = np.abs(a[s:s + step, None, :] - b[None, :, :]).sum(-1)
        j[s:s + step] = np.argmin(m, axis=1)
        d[s:s + step] = m[np.arange(len(m)), j[s:s + step]]
    return d, j


def mask_polygon(mask: np.ndarray) -> np.ndarray:
    """THE polygon of a mask for one-polygon-per-instance formats (YOLO segment): its
    :func:`mask_outlines` joined by :func:`merge_polygons`, at least 3 vertices (a point or a line
    repeats its vertices). Pixel ``(u, v)`` has its centre at ``(u, v)``; ``(0, 2)`` for an empty
    mask."""
    poly = merge_polygons(mask_outlines(mask))
    if 0 < len(poly) < 3:
        poly = np.concatenate([poly, poly[-1:].repeat(3 - len(poly), axis=0)])
    return poly
