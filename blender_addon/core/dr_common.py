"""Helpers shared by the domain-randomization samplers (pure: numpy, trimesh; no bpy)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .rotations import euler_xyz_to_matrix, quat_to_matrix, uniform_quaternion


def plain(v):
    """A drawn value as JSON-ready data."""
    if isinstance(v, (tuple, list, np.ndarray)):
        return [plain(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


class Draw:
    """Draws from one stream and records the random values under their config path.

    ``multi=True`` appends to a list (one value per object, in instance-id order)."""

    def __init__(self, rng: np.random.Generator, sampled: dict):
        self.rng = rng
        self.sampled = sampled

    def __call__(self, dist, path: str, multi: bool = False):
        v = dist.sample(self.rng)
        if dist.is_random:
            self.record(path, v, multi)
        return v

    def record(self, path: str, value, multi: bool = False):
        if multi:
            self.sampled.setdefault(path, []).append(plain(value))
        else:
            self.sampled[path] = plain(value)

    def rotation(self, rot, path: str) -> np.ndarray:
        """A rotation from a parsed ``rotation`` value (core.schema.parse_rotation)."""
        kind, arg = rot
        if kind == "named" and arg == "none":
            return np.eye(3)
        if kind == "named" and arg == "uniform_so3":
            q = uniform_quaternion(self.rng)
            self.record(path, q, multi=True)
            return quat_to_matrix(q)
        if kind == "euler_deg":
            return euler_xyz_to_matrix(self(arg, path, multi=True))
        if kind == "quaternion":
            return quat_to_matrix(arg)
        raise AssertionError(rot)  # pragma: no cover


def matrix_to_quat(R) -> list[float]:
    """3x3 rotation -> unit quaternion [w, x, y, z] with w >= 0."""
    R = np.asarray(R, float)
    t = np.trace(R)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2]) * 2
        q = [(R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s]
    elif R[1, 1] > R[2, 2]:
        s = np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2]) * 2
        q = [(R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1]) * 2
        q = [(R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s]
    q = np.asarray(q) / np.linalg.norm(q)
    return [float(x) for x in (q if q[0] >= 0 else -q)]


@functools.lru_cache(maxsize=None)
def default_section(name: str) -> dict:
    """Parsed defaults of a domain-randomization section (e.g. the material block)."""
    from .config import config_from_dict

    if name == "materials":
        return config_from_dict({"materials": {}}).parsed["materials"]
    raise KeyError(name)


# ------------------------------------------------------------------------------------ geometry


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
def _geometry_cached(key: str, mtime: float) -> Geometry:
    from . import assets

    if key.startswith("primitive:"):
        shape = key.split(":", 1)[1]
        if shape == "monkey":
            from ._monkey import monkey_arrays
            return geometry_from_arrays(*monkey_arrays())
        return geometry_from_arrays(*assets.primitive(shape))
    return geometry_from_arrays(*assets.load_mesh(Path(key)))


def geometry(asset: str, base_dir: Path | None = None) -> Geometry:
    """Geometry of ``primitive:<shape>`` or of a mesh file (relative to ``base_dir``); cached."""
    if asset.startswith("primitive:"):
        return _geometry_cached(asset, 0.0)
    p = Path(asset)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    p = p.resolve()
    return _geometry_cached(str(p), p.stat().st_mtime)
