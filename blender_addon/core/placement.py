"""Object placement (pure, deterministic): ``free``, ``non_overlapping`` and ``physics``.

``free``: poses as sampled.

``non_overlapping``: objects are taken in instance-id order; an object whose convex hull overlaps one
already placed (or, with a ground, reaches below z = 0) is redrawn from its own position and rotation
distributions, from the stream ``placement``, up to :data:`MAX_TRIES` times. An object that pierces
the ground is first lifted to stand on it. Overlap is a separating-axis test over both hulls' face
normals: conservative (it may call two hulls that only an edge-edge axis separates overlapping, never
the reverse). Redrawn poses are recorded in ``sampled['scene.placement.redraws']``.

``physics``: a quasi-static settle, without Blender and bit-for-bit reproducible. Objects are dropped
one by one, lowest sampled position first (ties: instance id). Each one
  1. turns to the resting face its sampled orientation rolls onto: starting from the convex-hull face
     that gravity (from the centre of mass) points through, it topples over the edge beyond which the
     centre of mass projects, until the projection lies inside the face (the quasi-static model behind
     trimesh's ``compute_stable_poses``); the turn is the smallest rotation putting that face down, so
     the sampled yaw is kept;
  2. falls straight down, from above everything, until its triangles touch the ground plane z = 0 or
     the triangles of an object already settled. The contact height is exact for triangle meshes: the
     largest gap over vertex-above-triangle, triangle-above-vertex and edge-crosses-edge pairs of the
     two meshes' vertical projections (a uniform grid finds the candidate pairs);
  3. if it lands on other objects and its centre of mass is not above the convex hull of the contact
     points, it slides horizontally away from them (a quarter of its radius, growing by half each
     step, at most :data:`MAX_SLIDES` steps) and falls again.
So every object ends on the ground or touching another object, never inside one. The model has no
momentum, no friction and no pushing: an object resting on others keeps its ground-resting
orientation, and objects already settled never move. The sampled (drop) poses stay in ``sampled``;
the settled poses are the ObjectSpecs' ``obj2world`` (and the poses in meta). The ground plane is
taken as infinite, but drop positions are pulled inside the ground square when there is a ground.
"""
from __future__ import annotations

import numpy as np

from .draw import Draw, matrix_to_quat, plain
from .geometry import Geometry
from .grid2d import box_pairs as _pairs

MAX_TRIES = 100        # non_overlapping: draws per object
MAX_SLIDES = 16        # physics: horizontal slides per object
CONTACT_TOL = 1e-4     # m: pairs within this of the contact height count as contacts
SUPPORT_TOL = 5e-4     # m: how far outside its support polygon the centre of mass may project
EPS = 1e-12


# ------------------------------------------------------------------------------- rotations


def rotation_between(a, b) -> np.ndarray:
    """Smallest rotation taking unit vector ``a`` to unit vector ``b``."""
    a = np.asarray(a, float) / np.linalg.norm(a)
    b = np.asarray(b, float) / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # 180 degrees about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    k = v / s
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    ang = np.arctan2(s, c)
    return np.eye(3) + np.sin(ang) * Kx + (1 - np.cos(ang)) * (Kx @ Kx)


def resting_facet(g: Geometry, down_local) -> int:
    """Hull facet the body comes to rest on when dropped with local gravity ``down_local``."""
    eq = g.hull_equations
    n, d = eq[:, :3], eq[:, 3]
    c = g.com
    down = np.asarray(down_local, float) / np.linalg.norm(down_local)
    ng = n @ down
    dist = -(n @ c + d)                     # >= 0: centre of mass to each facet plane
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(ng > 1e-12, dist / np.where(ng > 1e-12, ng, 1.0), np.inf)
    f = int(np.argmin(s))
    V = g.vertices
    for _ in range(4 * len(eq) + 8):
        nf = n[f]
        p = c - (nf @ c + d[f]) * nf        # centre of mass projected onto the facet plane
        a, b, cc = V[g.hull_simplices[f]]
        bary = _barycentric(p, a, b, cc)
        if bary.min() >= -1e-9:
            return f
        j = int(np.argmin(bary))
        f = int(g.hull_neighbors[f][j])
    return int(np.argmin(dist))             # pragma: no cover - a cycle: the lowest facet


def _barycentric(p, a, b, c) -> np.ndarray:
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
    d20, d21 = v2 @ v0, v2 @ v1
    den = d00 * d11 - d01 * d01
    if abs(den) < 1e-300:
        return np.array([-1.0, -1.0, -1.0])
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    return np.array([1.0 - v - w, v, w])


def resting_rotation(g: Geometry, R0: np.ndarray) -> np.ndarray:
    """World rotation of the body at rest, closest to the drop rotation ``R0``."""
    down_local = R0.T @ np.array([0.0, 0.0, -1.0])
    f = resting_facet(g, down_local)
    n_world = R0 @ g.hull_equations[f, :3]
    return rotation_between(n_world, [0.0, 0.0, -1.0]) @ R0


# ------------------------------------------------------------------------ vertical contact


def _point_in_tri_z(P, T):
    """For pairs (point P[k] (x, y), triangle T[k] (3x3)): inside flag and triangle z at P."""
    a, b, c = T[:, 0], T[:, 1], T[:, 2]
    v0 = b[:, :2] - a[:, :2]
    v1 = c[:, :2] - a[:, :2]
    v2 = P[:, :2] - a[:, :2]
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    ok = np.abs(den) > 1e-18
    den = np.where(ok, den, 1.0)
    s = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    t = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    tol = 1e-12
    inside = ok & (s >= -tol) & (t >= -tol) & (s + t <= 1 + tol)
    z = a[:, 2] + s * (b[:, 2] - a[:, 2]) + t * (c[:, 2] - a[:, 2])
    return inside, z


def _segments_cross(A0, A1, B0, B1):
    """For pairs of segments: whether their xy projections cross, the crossing xy, zA and zB there."""
    r = A1[:, :2] - A0[:, :2]
    s = B1[:, :2] - B0[:, :2]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    ok = np.abs(den) > 1e-18
    den = np.where(ok, den, 1.0)
    q = B0[:, :2] - A0[:, :2]
    t = (q[:, 0] * s[:, 1] - q[:, 1] * s[:, 0]) / den
    u = (q[:, 0] * r[:, 1] - q[:, 1] * r[:, 0]) / den
    tol = 1e-12
    hit = ok & (t >= -tol) & (t <= 1 + tol) & (u >= -tol) & (u <= 1 + tol)
    za = A0[:, 2] + t * (A1[:, 2] - A0[:, 2])
    zb = B0[:, 2] + u * (B1[:, 2] - B0[:, 2])
    xy = A0[:, :2] + t[:, None] * r
    return hit, xy, za, zb


class Posed:
    """A body's triangles in world coordinates (what later bodies land on)."""

    def __init__(self, V: np.ndarray, F: np.ndarray, E: np.ndarray):
        self.V, self.F, self.E = V, F, E
        self.lo = V[:, :2].min(0)
        self.hi = V[:, :2].max(0)
        tri = V[F]
        self.tlo, self.thi = tri[:, :, :2].min(1), tri[:, :, :2].max(1)
        self.tzlo, self.tzhi = tri[:, :, 2].min(1), tri[:, :, 2].max(1)
        seg = V[E]
        self.elo, self.ehi = seg[:, :, :2].min(1), seg[:, :, :2].max(1)
        self.edge_size = float(np.median((self.ehi - self.elo).max(1))) if len(E) else 0.0

    def z_bounds(self, lo, hi) -> tuple[float, float]:
        """(lowest, highest) z of the triangles whose xy box meets the box [lo, hi]."""
        m = np.all(self.thi >= lo - 1e-12, 1) & np.all(self.tlo <= hi + 1e-12, 1)
        if not m.any():
            return np.inf, -np.inf
        return float(self.tzlo[m].min()), float(self.tzhi[m].max())


def lift_bound(A: Posed, B: Posed) -> float:
    """An upper bound of :func:`lift_over` (cheap: triangle z ranges over the overlap box)."""
    lo = np.maximum(A.lo, B.lo)
    hi = np.minimum(A.hi, B.hi)
    if np.any(lo > hi + 1e-12):
        return -np.inf
    a_low, _ = A.z_bounds(lo, hi)
    _, b_high = B.z_bounds(lo, hi)
    return b_high - a_low


def lift_over(A: Posed, B: Posed) -> tuple[float, np.ndarray]:
    """How far ``A`` must move up (negative: may move down) to lie above ``B`` on every vertical
    line through both, and the xy of the pairs that decide it (within CONTACT_TOL).
    ``-inf`` when their vertical projections do not overlap."""
    lo = np.maximum(A.lo, B.lo)
    hi = np.minimum(A.hi, B.hi)
    if np.any(lo > hi + 1e-12):
        return -np.inf, np.zeros((0, 2))
    ext = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9))
    cell = max(A.edge_size, B.edge_size, ext / 256.0, 1e-9)
    origin = lo - cell
    nx = int(np.ceil((hi[0] - origin[0]) / cell)) + 3

    def within(lo_, hi_):
        return np.flatnonzero(np.all(hi_ >= lo - 1e-12, 1) & np.all(lo_ <= hi + 1e-12, 1))

    gaps, xys = [], []
    # vertices of A over triangles of B (gap zB - zA), then vertices of B under triangles of A
    # (gap zB - zA again: the sign flips with the roles)
    for V, T, sign in ((A, B, 1.0), (B, A, -1.0)):
        vv = np.flatnonzero(np.all(V.V[:, :2] >= lo - 1e-12, 1) & np.all(V.V[:, :2] <= hi + 1e-12, 1))
        tt = within(T.tlo, T.thi)
        i, j = _pairs(V.V[vv, :2], V.V[vv, :2], T.tlo[tt], T.thi[tt], origin, cell, nx)
        if len(i):
            P = V.V[vv[i]]
            inside, z = _point_in_tri_z(P, T.V[T.F[tt[j]]])
            gaps.append(sign * (z[inside] - P[inside, 2]))
            xys.append(P[inside, :2])
    # edges of A crossing edges of B
    ea, eb = within(A.elo, A.ehi), within(B.elo, B.ehi)
    i, j = _pairs(A.elo[ea], A.ehi[ea], B.elo[eb], B.ehi[eb], origin, cell, nx)
    if len(i):
        SA, SB = A.V[A.E[ea[i]]], B.V[B.E[eb[j]]]
        hit, xy, za, zb = _segments_cross(SA[:, 0], SA[:, 1], SB[:, 0], SB[:, 1])
        gaps.append(zb[hit] - za[hit])
        xys.append(xy[hit])
    if not gaps:
        return -np.inf, np.zeros((0, 2))
    g = np.concatenate(gaps)
    if len(g) == 0:
        return -np.inf, np.zeros((0, 2))
    xy = np.concatenate(xys)
    h = float(g.max())
    return h, xy[g >= h - CONTACT_TOL]


def _supported(com_xy, pts) -> bool:
    """Whether ``com_xy`` lies over the convex hull of the contact points (with SUPPORT_TOL)."""
    from .hull import hull_2d

    pts = np.unique(np.round(pts, 9), axis=0)
    if len(pts) == 0:
        return False
    if len(pts) >= 3:
        idx = hull_2d(pts)
        if len(idx) >= 3:
            poly = pts[idx]
            e = np.roll(poly, -1, axis=0) - poly
            area2 = float((poly[:, 0] * np.roll(poly, -1, 0)[:, 1] - np.roll(poly, -1, 0)[:, 0] * poly[:, 1]).sum())
            if area2 > 1e-14:
                # counter-clockwise: inside is left of every edge; distance outside each edge line
                ln = np.linalg.norm(e, axis=1)
                cross = e[:, 0] * (com_xy[1] - poly[:, 1]) - e[:, 1] * (com_xy[0] - poly[:, 0])
                return bool(np.all(cross / ln >= -SUPPORT_TOL))
    # one point or colinear points: distance to the segment through the extreme points
    if len(pts) == 1:
        return float(np.linalg.norm(com_xy - pts[0])) <= SUPPORT_TOL
    d = pts - pts.mean(0)
    axis = np.linalg.svd(d, full_matrices=False)[2][0]
    proj = d @ axis
    a, b = pts.mean(0) + proj.min() * axis, pts.mean(0) + proj.max() * axis
    ab = b - a
    t = np.clip((com_xy - a) @ ab / max(ab @ ab, EPS), 0.0, 1.0)
    return float(np.linalg.norm(com_xy - (a + t * ab))) <= SUPPORT_TOL


def settle(items, ground_half: float | None, floor: bool = True):
    """Quasi-static settle (module docstring). ``items``: list of (key, Geometry, obj2world drop
    pose). ``ground_half``: half the ground's edge (drop positions pulled inside), None: no pull.
    Returns ({key: settled obj2world}, {key: support}) where support is "ground", the key of an
    object it rests on, or "none" (no floor and nothing below)."""
    order = []
    for idx, (_key, g, T) in enumerate(items):
        T = np.asarray(T, float)
        low = float((g.vertices @ T[:3, :3].T + T[:3, 3])[:, 2].min())
        order.append((low, idx))
    order.sort()
    settled: list[tuple[object, Posed, np.ndarray]] = []
    poses, supports = {}, {}
    for _, idx in order:
        key, g, T0 = items[idx]
        T0 = np.asarray(T0, float)
        s = float(np.linalg.norm(T0[:3, 0]))
        R0 = T0[:3, :3] / s
        R = resting_rotation(g, R0)
        Rs = R * s
        com_w = T0[:3, 3] + T0[:3, :3] @ g.com
        xy = com_w[:2].copy()
        Vr = g.vertices @ Rs.T                       # rotated, com not yet placed
        com_r = Rs @ g.com
        r_xy = float(np.linalg.norm(Vr[:, :2] - com_r[:2], axis=1).max())
        if ground_half is not None:
            lim = max(ground_half - r_xy, 0.0)
            xy = np.clip(xy, -lim, lim)
        support = "none"
        z = com_w[2] - com_r[2]
        for it in range(MAX_SLIDES + 1):
            t = np.array([xy[0] - com_r[0], xy[1] - com_r[1], 0.0])
            V = Vr + t
            best, best_key, contacts = -np.inf, None, np.zeros((0, 2))
            if floor:
                best, best_key = -float(V[:, 2].min()), "ground"
            A = Posed(V, g.faces, g.edges)
            per = []
            bounds = sorted(((lift_bound(A, B), n) for n, (_, B, _) in enumerate(settled)), reverse=True)
            for ub, n in bounds:
                if ub < best - CONTACT_TOL:
                    break                            # neither higher nor a contact: nor the rest
                okey, B, _ = settled[n]
                h, pts = lift_over(A, B)
                per.append((h, okey, pts))
                if h > best:
                    best, best_key = h, okey
            if best == -np.inf:                      # no floor, nothing below: stay as sampled
                t[2] = z
                support = "none"
                break
            t[2] = best
            support = best_key
            if best_key == "ground":
                break
            if floor and -float(V[:, 2].min()) >= best - CONTACT_TOL:
                support = "ground"
                break
            contacts = np.concatenate([p for h, _, p in per if h >= best - CONTACT_TOL])
            com_xy = xy
            if _supported(com_xy, contacts) or it == MAX_SLIDES:
                break
            d = com_xy - contacts.mean(0)
            if np.linalg.norm(d) < 1e-9:
                d = com_xy - settled[[k for k, *_ in settled].index(best_key)][1].V[:, :2].mean(0)
            if np.linalg.norm(d) < 1e-9:
                d = np.array([1.0, 0.0])
            xy = xy + d / np.linalg.norm(d) * max(0.25 * r_xy, 2e-3) * 1.5 ** it
        T = np.eye(4)
        T[:3, :3] = Rs
        T[:3, 3] = t
        poses[key] = T
        supports[key] = support
        settled.append((key, Posed(Vr + t, g.faces, g.edges), T))
    return poses, supports


# ------------------------------------------------------------------------- non_overlapping


class Hull:
    """A posed convex hull for separating-axis tests."""

    def __init__(self, g: Geometry, T):
        T = np.asarray(T, float)
        self.P = g.hull_points @ T[:3, :3].T + T[:3, 3]
        s = float(np.linalg.norm(T[:3, 0]))
        self.N = g.hull_equations[:, :3] @ (T[:3, :3] / s).T
        self.c = T[:3, 3] + T[:3, :3] @ g.com
        self.r = g.radius * s

    def overlaps(self, o: "Hull", margin: float = 1e-6) -> bool:
        if np.linalg.norm(self.c - o.c) > self.r + o.r + margin:
            return False
        for N in (self.N, o.N):
            a = self.P @ N.T
            b = o.P @ N.T
            if np.any(a.max(0) + margin < b.min(0)) or np.any(b.max(0) + margin < a.min(0)):
                return False
        return True


def lift_to_ground(g: Geometry, T) -> np.ndarray:
    T = np.array(T, float)
    low = float((g.vertices @ T[:3, :3].T + T[:3, 3])[:, 2].min())
    if low < 0:
        T[2, 3] -= low
    return T


def non_overlapping(items, redraw, has_ground: bool, rng):
    """Rejection sampling (module docstring). ``items``: list of (key, Geometry, obj2world);
    ``redraw(key, draw) -> obj2world`` draws a fresh pose from ``draw`` (a Draw on ``rng``).
    Returns ({key: obj2world}, [{key, tries, position, rotation}] for redrawn objects, [keys that
    still overlap after MAX_TRIES])."""
    placed: list[Hull] = []
    poses, redraws, failed = {}, [], []
    for key, g, T in items:
        tries = 0
        while True:
            if has_ground:
                T = lift_to_ground(g, T)
            h = Hull(g, T)
            if not any(h.overlaps(o) for o in placed):
                break
            if tries >= MAX_TRIES:
                failed.append(key)
                break
            tries += 1
            T = redraw(key, Draw(rng, {}))
        if tries:
            s = float(np.linalg.norm(T[:3, 0]))
            redraws.append({"instance_id": key, "tries": tries, "position": plain(T[:3, 3]),
                            "rotation": matrix_to_quat(T[:3, :3] / s)})
        placed.append(h)
        poses[key] = T
    return poses, redraws, failed
