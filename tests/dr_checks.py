"""Independent checks of physically plausible placement (trimesh only; no code shared with
synthblend.core.placement): resting on the ground or touching another object, and interpenetration.
"""
from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial import cKDTree

TOL = 2e-3        # m, the acceptance bar


def world_mesh(vertices, faces, obj2world) -> trimesh.Trimesh:
    T = np.asarray(obj2world, float)
    return trimesh.Trimesh(np.asarray(vertices) @ T[:3, :3].T + T[:3, 3], faces, process=False)


def surface_points(m: trimesh.Trimesh, n: int = 4000) -> np.ndarray:
    pts, _ = trimesh.sample.sample_surface_even(m, n, seed=0)
    return np.vstack([m.vertices, pts])


def placement_report(meshes: dict, tol: float = TOL) -> dict:
    """``meshes``: {id: world trimesh}. Returns {"penetration": max depth (m) of any surface point of
    one object inside another, "floating": [ids neither on the ground (lowest point within tol of
    z = 0) nor within tol of another object], "below_ground": min z}."""
    pts = {i: surface_points(m) for i, m in meshes.items()}
    trees = {i: cKDTree(p) for i, p in pts.items()}
    worst, floating = 0.0, []
    low = min(float(m.vertices[:, 2].min()) for m in meshes.values()) if meshes else 0.0
    for i, a in meshes.items():
        touching = abs(float(a.vertices[:, 2].min())) <= tol
        for j, b in meshes.items():
            if i == j:
                continue
            P = pts[i]
            lo, hi = b.bounds
            near = np.all((P >= lo - 0.01) & (P <= hi + 0.01), axis=1)
            if not near.any():
                continue
            P = P[near]
            inside = b.contains(P) if b.is_watertight else np.zeros(len(P), bool)
            if inside.any():
                _, d, _ = trimesh.proximity.closest_point(b, P[inside])
                worst = max(worst, float(d.max()))
            if not touching:
                dd, _ = trees[j].query(P, distance_upper_bound=0.01)
                cand = P[dd < 0.01]
                if len(cand):
                    _, d, _ = trimesh.proximity.closest_point(b, cand)
                    touching = bool(d.min() <= tol or inside.any())
        if not touching:
            floating.append(i)
    return {"penetration": worst, "floating": floating, "below_ground": low}
