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


def _tolerance(P) -> float:
    """The coplanarity tolerance: relative to the point cloud's size (absolute coordinates and extent)."""
    scale = float(np.abs(P).max()) if len(P) else 1.0
    ext = float(np.ptp(P, axis=0).max()) if len(P) else 0.0
    return 1e-10 * max(scale, ext, 1e-300) + 1e-300


def _start(P, eps):
    """(points, initial simplex): flat or colinear points are thickened first."""
    init = _initial_simplex(P, eps * 10)
    if init is None:
        P = _thicken(P, eps)
        init = _initial_simplex(P, eps * 10)
        if init is None:  # pragma: no cover - a single point
            raise ValueError("cannot build a convex hull of a single point")
    return P, init


class _Quickhull:
    """The state of one Quickhull run: faces (vertex triples, counter-clockwise from outside) and
    their planes by id (ids in creation order), the face on each directed edge, and the points
    outside each face that still wait to be added."""

    def __init__(self, P, eps, init):
        self.P = P
        self.eps = eps
        self.faces: dict[int, list] = {}
        self.planes: dict[int, tuple] = {}
        self.edge_face: dict[tuple, int] = {}
        self.outside: dict[int, np.ndarray] = {}
        self.next_id = 0
        i0, i1, i2, i3 = init
        centre = P[[i0, i1, i2, i3]].mean(0)
        new = [self._add_oriented(i0, i1, i2, centre), self._add_oriented(i0, i1, i3, centre),
               self._add_oriented(i0, i2, i3, centre), self._add_oriented(i1, i2, i3, centre)]
        self._assign(np.setdiff1d(np.arange(len(P)), [i0, i1, i2, i3]), new)

    def _new_face(self, a, b, c, n, d) -> int:
        fid = self.next_id
        self.next_id += 1
        self.faces[fid] = [a, b, c]
        self.planes[fid] = (n, d)
        for e in ((a, b), (b, c), (c, a)):
            self.edge_face[e] = fid
        return fid

    def _add_oriented(self, a, b, c, centre) -> int:
        """A face of the initial simplex, wound so that ``centre`` is inside."""
        n, d = _plane(self.P, (a, b, c))
        if n @ centre + d > 0:
            a, b = b, a
            n, d = -n, -d
        return self._new_face(a, b, c, n, d)

    def _assign(self, pts, fids) -> None:
        """Give each point of ``pts`` to the first face of ``fids`` it lies outside of."""
        rest = pts
        for f in fids:
            if len(rest) == 0:
                break
            n, d = self.planes[f]
            dist = self.P[rest] @ n + d
            out = dist > self.eps
            if out.any():
                self.outside[f] = rest[out]
                rest = rest[~out]

    def _visible(self, f0, p) -> set:
        """The faces point ``p`` sees: flood from ``f0`` across edges."""
        visible = {f0}
        stack = [f0]
        while stack:
            f = stack.pop()
            a, b, c = self.faces[f]
            for e in ((b, a), (c, b), (a, c)):
                g = self.edge_face.get(e)
                if g is None or g in visible:
                    continue
                ng, dg = self.planes[g]
                if self.P[p] @ ng + dg > self.eps:
                    visible.add(g)
                    stack.append(g)
        return visible

    def _horizon(self, visible) -> list:
        """The edges of the visible faces whose other face is not visible, in face-id order."""
        horizon = []
        for f in sorted(visible):
            a, b, c = self.faces[f]
            for e in ((a, b), (b, c), (c, a)):
                g = self.edge_face.get((e[1], e[0]))
                if g is not None and g not in visible:
                    horizon.append(e)
        return horizon

    def _remove(self, visible) -> list:
        """Delete the visible faces; returns their outside point sets, in face-id order."""
        orphans = [self.outside.pop(f) for f in sorted(visible) if f in self.outside]
        for f in visible:
            a, b, c = self.faces.pop(f)
            self.planes.pop(f)
            for e in ((a, b), (b, c), (c, a)):
                if self.edge_face.get(e) == f:
                    del self.edge_face[e]
        return orphans

    def _add_farthest_point(self, f0) -> None:
        """Add the point farthest outside face ``f0``: replace what it sees by a cone to the horizon."""
        n, d = self.planes[f0]
        pts = self.outside[f0]
        p = int(pts[np.argmax(self.P[pts] @ n + d)])
        visible = self._visible(f0, p)
        horizon = self._horizon(visible)
        orphans = self._remove(visible)
        made = [self._new_face(a, b, p, *_plane(self.P, (a, b, p))) for a, b in horizon]
        if orphans:
            pts = np.concatenate(orphans)
            pts = pts[pts != p]
            self._assign(pts, made)

    def run(self) -> None:
        while True:
            open_faces = [f for f in sorted(self.outside) if len(self.outside[f])]
            if not open_faces:
                break
            self._add_farthest_point(open_faces[0])

    def hull(self) -> Hull3:
        faces, edge_face = self.faces, self.edge_face
        ids = sorted(faces)
        S = np.array([faces[f] for f in ids], np.int64)
        eq = np.array([[*self.planes[f][0], self.planes[f][1]] for f in ids], np.float64)
        pos = {f: k for k, f in enumerate(ids)}
        nb = np.empty((len(ids), 3), np.int64)
        for k, f in enumerate(ids):
            a, b, c = faces[f]
            # opposite vertex j: the edge not containing it
            for j, e in enumerate(((b, c), (c, a), (a, b))):
                nb[k, j] = pos[edge_face[(e[1], e[0])]]
        return Hull3(self.P, S, eq, nb, np.unique(S))


def convex_hull(points) -> Hull3:
    """Quickhull of ``points`` (Nx3)."""
    P = np.asarray(points, np.float64)
    eps = _tolerance(P)
    P, init = _start(P, eps)
    qh = _Quickhull(P, eps, init)
    qh.run()
    return qh.hull()


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
