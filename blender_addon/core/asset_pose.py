"""An instance's pose from its drawn values: the file's up axis (:mod:`.up_axis`) folded in, and
resting on the ground (pure, numpy only).

``obj2world = [R s | p] @ C`` (meters, world frame, Z up): it maps the asset file's raw vertex
coordinates. ``rest_on_ground``: the position's z is then the gap between the object's lowest point
(after rotation, scale and ``C``) and z = 0, instead of the height of the mesh origin.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .geometry import asset_cache_key
from .up_axis import up_axis_matrix

__all__ = ["asset_pose", "entry_pose", "lowest_z", "support_points"]


def lowest_z(points: np.ndarray, linear: np.ndarray) -> float:
    """Lowest world z of ``points`` (Nx3, raw coordinates) under the 3x3 ``linear`` map (origin at 0)."""
    return float(np.min(np.asarray(points, np.float64) @ np.asarray(linear, np.float64)[2]))


def asset_pose(data: dict, RS, p, points=None, asset: str | None = None) -> np.ndarray:
    """``obj2world`` (4x4, meters) of one instance: ``RS`` (3x3) the drawn rotation times the uniform
    scale (as the caller computes it), position ``p`` (world, m), then the entry's axis conversion
    ``C``: ``[RS @ C | p]``. A Z-up entry's ``RS`` is used as it is, so its poses keep their exact bits.
    With ``rest_on_ground``, ``points`` (Nx3 raw coordinates, :func:`support_points`) are needed and
    ``p``'s z is the gap between the lowest point and z = 0."""
    C = up_axis_matrix(data, asset)[:3, :3]
    M = np.array(RS, np.float64)
    if not np.array_equal(C, np.eye(3)):
        M = M @ C
    p = np.array(p, np.float64)
    if data.get("rest_on_ground"):
        if points is None:
            raise ValueError("rest_on_ground needs the asset's points")
        p[2] -= lowest_z(points, M)
    T = np.eye(4)
    T[:3, :3] = M
    T[:3, 3] = p
    return T


@functools.lru_cache(maxsize=64)
def _points_cached(key: str, mtime_ns: int) -> np.ndarray:
    from . import assets

    if key.startswith("primitive:"):
        shape = key.split(":", 1)[1]
        if shape == "monkey":
            from ._monkey import monkey_arrays
            V, F = monkey_arrays()
        else:
            V, F = assets.primitive(shape)
    else:
        V, F = assets.load_mesh(Path(key))
    V, F = np.asarray(V, np.float64), np.asarray(F, np.int64)
    pts = V[np.unique(F)]                     # what is rendered: vertices of some triangle
    pts.setflags(write=False)
    return pts


def support_points(asset: str, base_dir=None) -> np.ndarray:
    """Raw vertices (Nx3, the file's units) among which an instance's lowest point always is, under any
    rotation and scale: every vertex of some triangle (exact; no hull tolerance). ``asset``:
    ``primitive:<shape>`` or a mesh path (relative to ``base_dir``). Cached per file and mtime."""
    return _points_cached(*asset_cache_key(asset, base_dir))


def entry_pose(config, data: dict, RS, p, asset: str) -> np.ndarray:
    """:func:`asset_pose` of an instance of ``asset`` (``primitive:<shape>`` or a mesh path relative to
    the config's folder; ``RS`` rotation times scale), loading the asset's support points (cached) only
    when the entry rests on the ground. The one call the objects' sampler and the placement's redraws
    make."""
    points = support_points(asset, config.base_dir) if data.get("rest_on_ground") else None
    return asset_pose(data, RS, p, points, asset)
