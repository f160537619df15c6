"""The triangles ``synthblend verify`` casts against: each meta object's mesh, from the original
asset file or the dataset's own copy.

Coordinates are raw, as trimesh reads the file (no axis or unit conversion): a meta object's
``obj2world`` (4x4, meters, world frame) maps them to the world, scale included. Source assets are
the config's mesh paths, resolved next to the config file that ``dataset.json``'s ``config_path``
names; primitives, the ground, ``blend:`` objects, missing or unreadable sources and
``use_source_assets=False`` use ``DIR/meshes/...`` (the path in the object's ``mesh``).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .frame_checks import mesh_problem
from .layout import MESHES_DIR

__all__ = ["Geometry", "frame_triangles"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_]+:")   # "primitive:sphere", "blend:Cube"; not "C:\\"


class Geometry:
    """Loads and caches meshes (float64 vertices Nx3, int64 faces Mx3), one load per file."""

    def __init__(self, dataset_dir: Path, config_dir: Path | None, use_source_assets: bool):
        self.dataset_dir = Path(dataset_dir)
        self.config_dir = None if config_dir is None else Path(config_dir)
        self.use_source_assets = use_source_assets
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.warnings: set[str] = set()

    def _load(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        key = str(path.resolve())
        if key not in self._cache:
            import trimesh

            m = trimesh.load(str(path), force="mesh", process=False)
            if not isinstance(m, trimesh.Trimesh):
                raise ValueError(f"no triangle mesh in {path}")
            self._cache[key] = (np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64))
        return self._cache[key]

    def source_path(self, asset) -> Path | None:
        """The original asset file of an object, or None (primitive, ground, missing, disabled)."""
        if not self.use_source_assets or not isinstance(asset, str) or self.config_dir is None:
            return None
        if not asset or asset == "ground" or _SCHEME.match(asset):   # primitive:, blend:, ...
            return None
        p = Path(asset)
        p = p if p.is_absolute() else self.config_dir / p
        return p if p.is_file() else None

    def mesh_path(self, mesh) -> Path | None:
        """The dataset's copy of an object's mesh (``DIR/<mesh>`` or ``DIR/meshes/<mesh>``)."""
        if not isinstance(mesh, str) or not mesh:
            return None
        if mesh_problem(mesh) and mesh_problem(f"{MESHES_DIR}/{mesh}"):   # never a file outside meshes/
            return None
        for p in (self.dataset_dir / mesh, self.dataset_dir / "meshes" / mesh):
            if p.is_file():
                return p
        return None

    def of(self, obj: dict) -> tuple[np.ndarray, np.ndarray, bool]:
        """(vertices, faces, from_source) of a meta object, in the frame obj2world applies to.

        Raises FileNotFoundError when neither the source asset nor the dataset's mesh exists.
        """
        src = self.source_path(obj.get("asset"))
        if src is not None:
            try:
                v, f = self._load(src)
                return v, f, True
            except Exception as e:  # any loader error: the dataset's copy still tells the truth
                self.warnings.add(f"cannot load source asset {src} ({type(e).__name__}: {e}); "
                                  f"using the dataset's {obj.get('mesh')}")
        mp = self.mesh_path(obj.get("mesh"))
        if mp is None:
            raise FileNotFoundError(
                f"object {obj.get('instance_id')} ({obj.get('name')}): no source asset "
                f"{obj.get('asset')!r} and no mesh file {obj.get('mesh')!r} in the dataset")
        v, f = self._load(mp)
        return v, f, False


def frame_triangles(meta: dict, geometry: Geometry):
    """Every object of a frame's meta in world coordinates (meters): (vertices Nx3 float64, faces
    Mx3 int64, instance id of each face M int64, number of objects from source assets)."""
    verts, faces, ids = [], [], []
    offset = 0
    from_source = 0
    for obj in meta.get("objects", []):
        v, f, src = geometry.of(obj)
        from_source += int(src)
        T = np.asarray(obj["obj2world"], np.float64)
        verts.append(v @ T[:3, :3].T + T[:3, 3])
        faces.append(f + offset)
        ids.append(np.full(len(f), int(obj["instance_id"]), np.int64))
        offset += len(v)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), 0
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(ids), from_source
