"""Convex hulls and mass properties in plain numpy (no scipy: Blender's Python has none).

:func:`convex_hull` is a deterministic Quickhull (farthest point first, a tolerance relative to the
point cloud's size): triangles with outward normals, their plane equations and neighbours. Flat or
colinear input is thickened by a tiny offset so every shape has a volume. :func:`hull_2d` is
Andrew's monotone chain. :func:`mass_properties` integrates volume and centre of mass of a closed,
consistently wound triangle mesh (divergence theorem).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hull3:
    points: np.ndarray       # Nx3: the input points (thickened if it was flat)
    simplices: np.ndarray    # Kx3 indices into points, counter-clockwise seen from outside
    equations: np.ndarray    # Kx4: unit outward normal n, offset d; n.x + d <= 0 inside
    neighbors: np.ndarray    # Kx3: the facet across the edge opposite vertex j
    vertices: np.ndarray     # indices of the points on the hull (sorted)


def _plane(P, f):
    a, b, c = P[f[0]], P[f[1]], P[f[2]]
    n = np.cross(b - a, c - a)
    ln = np.linalg.norm(n)
    n = n / ln if ln > 0 else n
    return n, -float(n @ a)


def _initial_simplex(P, eps):
    i0 = int(np.argmin(P[:, 0]))
    d = np.linalg.norm(P - P[i0], axis=1)
    i1 = int(np.argmax(d))
    if d[i1] <= eps:
        return None
    u = (P[i1] - P[i0]) / d[i1]
    w = P - P[i0]
    dl = np.linalg.norm(w - np.outer(w @ u, u), axis=1)
    i2 = int(np.argmax(dl))
    if dl[i2] <= eps:
        return None
    n = np.cross(P[i1] - P[i0], P[i2] - P[i0])
    n /= np.linalg.norm(n)
    dp = (P - P[i0]) @ n
    i3 = int(np.argmax(np.abs(dp)))
    if abs(dp[i3]) <= eps:
        return None
    return i0, i1, i2, i3


def _thicken(P, eps):
    """Flat or colinear points: add copies offset along the thin directions."""
    c = P.mean(0)
    _, s, vt = np.linalg.svd(P - c, full_matrices=False)
    t = max(float(s.max()) / np.sqrt(len(P)), 1.0) * 1e-6 + 10 * eps
    extra = [P + t * vt[2], P - t * vt[2]]
    if s[1] <= eps * np.sqrt(len(P)):
        extra += [P + t * vt[1], P - t * vt[1]]
    return np.concatenate([P] + extra)


def convex_hull(points) -> Hull3:
    """Quickhull of ``points`` (Nx3)."""
    P = np.asarray(points, np.float64)
    scale = float(np.abs(P).max()) if len(P) else 1.0
    ext = float(np.ptp(P, axis=0).max()) if len(P) else 0.0
    eps = 1e-10 * max(scale, ext, 1e-300) + 1e-300
    init = _initial_simplex(P, eps * 10)
    if init is None:
        P = _thicken(P, eps)
        init = _initial_simplex(P, eps * 10)
        if init is None:  # pragma: no cover - a single point
            raise ValueError("cannot build a convex hull of a single point")
    i0, i1, i2, i3 = init
    centre = P[[i0, i1, i2, i3]].mean(0)
    faces: dict[int, list] = {}
    planes: dict[int, tuple] = {}
    edge_face: dict[tuple, int] = {}
    outside: dict[int, np.ndarray] = {}
    next_id = 0

    def add_face(a, b, c):
        nonlocal next_id
        n, d = _plane(P, (a, b, c))
        if n @ centre + d > 0:
            a, b = b, a
            n, d = -n, -d
        fid = next_id
        next_id += 1
        faces[fid] = [a, b, c]
        planes[fid] = (n, d)
        for e in ((a, b), (b, c), (c, a)):
            edge_face[e] = fid
        return fid

    new = [add_face(i0, i1, i2), add_face(i0, i1, i3), add_face(i0, i2, i3), add_face(i1, i2, i3)]
    cand = np.setdiff1d(np.arange(len(P)), [i0, i1, i2, i3])

    def assign(pts, fids):
        rest = pts
        for f in fids:
            if len(rest) == 0:
                break
            n, d = planes[f]
            dist = P[rest] @ n + d
            out = dist > eps
            if out.any():
                outside[f] = rest[out]
                rest = rest[~out]

    assign(cand, new)
    while True:
        open_faces = [f for f in sorted(outside) if len(outside[f])]
        if not open_faces:
            break
        f0 = open_faces[0]
        n, d = planes[f0]
        pts = outside[f0]
        p = int(pts[np.argmax(P[pts] @ n + d)])
        # visible faces: flood from f0 across edges
        visible = {f0}
        stack = [f0]
        while stack:
            f = stack.pop()
            a, b, c = faces[f]
            for e in ((b, a), (c, b), (a, c)):
                g = edge_face.get(e)
                if g is None or g in visible:
                    continue
                ng, dg = planes[g]
                if P[p] @ ng + dg > eps:
                    visible.add(g)
                    stack.append(g)
        horizon = []
        for f in sorted(visible):
            a, b, c = faces[f]
            for e in ((a, b), (b, c), (c, a)):
                g = edge_face.get((e[1], e[0]))
                if g is not None and g not in visible:
                    horizon.append(e)
        orphans = [outside.pop(f) for f in sorted(visible) if f in outside]
        for f in visible:
            a, b, c = faces.pop(f)
            planes.pop(f)
            for e in ((a, b), (b, c), (c, a)):
                if edge_face.get(e) == f:
                    del edge_face[e]
        made = []
        for a, b in horizon:
            fid = next_id
            next_id += 1
            nn, dd = _plane(P, (a, b, p))
            faces[fid] = [a, b, p]
            planes[fid] = (nn, dd)
            for e in ((a, b), (b, p), (p, a)):
                edge_face[e] = fid
            made.append(fid)
        if orphans:
            pts = np.concatenate(orphans)
            pts = pts[pts != p]
            assign(pts, made)
    ids = sorted(faces)
    S = np.array([faces[f] for f in ids], np.int64)
    eq = np.array([[*planes[f][0], planes[f][1]] for f in ids], np.float64)
    pos = {f: k for k, f in enumerate(ids)}
    nb = np.empty((len(ids), 3), np.int64)
    for k, f in enumerate(ids):
        a, b, c = faces[f]
        # opposite vertex j: the edge not containing it
        for j, e in enumerate(((b, c), (c, a), (a, b))):
            nb[k, j] = pos[edge_face[(e[1], e[0])]]
    return Hull3(P, S, eq, nb, np.unique(S))


def hull_2d(points) -> np.ndarray:
    """Indices of the convex hull of 2-D points, counter-clockwise (Andrew's monotone chain);
    colinear points on edges are dropped."""
    P = np.asarray(points, np.float64)
    order = np.lexsort((P[:, 1], P[:, 0]))

    def cross(o, a, b):
        return (P[a, 0] - P[o, 0]) * (P[b, 1] - P[o, 1]) - (P[a, 1] - P[o, 1]) * (P[b, 0] - P[o, 0])

    lower, upper = [], []
    for i in order:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], i) <= 0:
            lower.pop()
        lower.append(int(i))
    for i in order[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], i) <= 0:
            upper.pop()
        upper.append(int(i))
    return np.array(lower[:-1] + upper[:-1], np.int64)


def is_closed(F) -> bool:
    """Whether every edge is used exactly twice, once in each direction (closed, consistently wound)."""
    F = np.asarray(F, np.int64)
    e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    if len(np.unique(e, axis=0)) != len(e):
        return False
    key = np.sort(e, axis=1)
    _, counts = np.unique(key, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def mass_properties(V, F) -> tuple[float, np.ndarray]:
    """(signed volume, centre of mass) of a closed triangle mesh of uniform density."""
    V = np.asarray(V, np.float64)
    F = np.asarray(F, np.int64)
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    vol6 = np.einsum("ij,ij->i", a, np.cross(b, c))
    vol = float(vol6.sum()) / 6.0
    if abs(vol) < 1e-300:
        return 0.0, V.mean(0)
    com = ((a + b + c) * vol6[:, None]).sum(0) / (4.0 * vol6.sum())
    return vol, com
