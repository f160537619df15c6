"""An asset's triangles and what placement needs of them (pure: numpy only, so it runs in Blender's
own Python too): convex hull, edges, centre of mass, radius. Raw asset coordinates, as
``trimesh.load(path, force="mesh", process=False)`` reads them (meters after the entry's scale)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """An asset's triangles in its raw coordinates, with what placement needs."""

    vertices: np.ndarray       # Nx3 float64
    faces: np.ndarray          # Mx3 int64
    edges: np.ndarray          # Ex2 int64, unique
    hull_points: np.ndarray    # Hx3 hull vertices
    hull_equations: np.ndarray  # Kx4 outward unit normal n and offset d: n.x + d <= 0 inside
    hull_simplices: np.ndarray  # Kx3 indices into hull_points' source (vertices)
    hull_neighbors: np.ndarray  # Kx3 facet opposite each simplex vertex
    com: np.ndarray            # centre of mass (uniform density; the hull's if not watertight)
    radius: float              # max distance of a vertex from com


def _unique_edges(F: np.ndarray) -> np.ndarray:
    e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


def geometry_from_arrays(V, F) -> Geometry:
    """Geometry of triangles (numpy only: placement must run in Blender's Python, without scipy)."""
    from .hull import convex_hull, is_closed, mass_properties

    V = np.ascontiguousarray(V, np.float64)
    F = np.ascontiguousarray(F, np.int64)
    hull = convex_hull(V)
    inside = lambda c: bool(np.all(hull.equations[:, :3] @ c + hull.equations[:, 3] < 0))  # noqa: E731
    com = None
    if is_closed(F):
        vol, c = mass_properties(V, F)
        if abs(vol) > 1e-18 and inside(c):
            com = c
    if com is None:                          # open or inconsistent mesh: the hull's centre of mass
        com = mass_properties(hull.points, hull.simplices)[1]
    radius = float(np.linalg.norm(V - com, axis=1).max())
    # hull_points: the hull's vertices; simplices index ``hull.points`` (== V unless V was flat)
    return Geometry(V if len(hull.points) == len(V) else hull.points, F, _unique_edges(F),
                    hull.points[hull.vertices], hull.equations, hull.simplices, hull.neighbors, com, radius)


@functools.lru_cache(maxsize=64)
def _geometry_cached(key: str, mtime_ns: int) -> Geometry:
    from . import assets

    if key.startswith("primitive:"):
        shape = key.split(":", 1)[1]
        if shape == "monkey":
            from ._monkey import monkey_arrays
            return geometry_from_arrays(*monkey_arrays())
        return geometry_from_arrays(*assets.primitive(shape))
    return geometry_from_arrays(*assets.load_mesh(Path(key)))


def asset_cache_key(asset: str, base_dir: Path | None = None) -> tuple[str, int]:
    """(key, mtime in ns) under which an asset's derived data is cached: ``primitive:<shape>`` and 0,
    or a mesh file's resolved path (relative to ``base_dir``) and its modification time."""
    if asset.startswith("primitive:"):
        return asset, 0
    p = Path(asset)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    p = p.resolve()
    return str(p), p.stat().st_mtime_ns


def geometry(asset: str, base_dir: Path | None = None) -> Geometry:
    """Geometry of ``primitive:<shape>`` or of a mesh file (relative to ``base_dir``); cached."""
    return _geometry_cached(*asset_cache_key(asset, base_dir))
