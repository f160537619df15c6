"""Object placement without a physics engine (pure, deterministic): ``non_overlapping``.

``non_overlapping``: objects are taken in instance-id order; an object whose convex hull overlaps one
already placed (or, with a ground, reaches below z = 0) is redrawn from its own position and rotation
distributions, from the stream ``placement``, up to :data:`MAX_TRIES` times. An object that pierces
the ground is first lifted to stand on it. Overlap is a separating-axis test over both hulls' face
normals: conservative (it may call two hulls that only an edge-edge axis separates overlapping, never
the reverse). Redrawn poses are recorded in ``sampled['scene.placement.redraws']``. Nothing here
simulates gravity or contact: objects end where they were drawn (or redrawn), possibly in the air.

``physics`` is a real rigid-body simulation (Bullet): :mod:`synthblend.core.physics`.
"""
from __future__ import annotations

import numpy as np

from .draw import Draw, matrix_to_quat, plain
from .geometry import Geometry

MAX_TRIES = 100        # non_overlapping: draws per object


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
