"""Mesh assets as plain triangles (numpy), loaded with trimesh; the built-in primitives.

``load_mesh(path)`` returns the asset's raw vertex coordinates exactly as
``trimesh.load(path, force="mesh", process=False)`` reads them: no recentring, re-orienting, merging
or scaling (``scale`` in the config and ``obj2world`` in meta account for units; the file's up axis is
:func:`up_axis_matrix`, from :mod:`.asset_pose`, folded into ``obj2world``). Bad assets (Draco without
DracoPy, degenerate triangles) raise InputError naming the file (:mod:`.asset_checks`). Primitives are
generated deterministically here (except ``monkey``, which only Blender can make) at unit size:
cube edge 1 m; sphere, cylinder and cone diameter 1 m (cylinder and cone 1 m tall); torus outer
diameter 1 m (tube radius 0.125 m); all centred on the origin, axis along +z.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .asset_checks import check_gltf, check_triangles
from .errors import InputError
from .mesh_limits import check_mesh_limits
from .up_axis import up_axis_matrix  # noqa: F401  (re-exported: the interface is core.assets.up_axis_matrix)

PRIMITIVE_SMOOTH = {"sphere": True, "torus": True, "monkey": True,
                    "cube": False, "cylinder": False, "cone": False}


def load_mesh(path, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(vertices Nx3 float64, faces Mx3 int64) of a mesh file. Bad files raise InputError, and so do
    files over the size limits of :mod:`.mesh_limits` (checked before trimesh reads a byte)."""
    import trimesh

    path = Path(path)
    label = where or str(path)
    if not path.exists():
        raise InputError(label, f"mesh file not found: {path}")
    if not path.is_file():
        raise InputError(label, f"mesh path is not a file: {path}")
    try:
        check_mesh_limits(path)       # a regular file within the size and count limits
        if path.stat().st_size == 0:
            raise InputError(str(path), "mesh file is empty")
        check_gltf(path, str(path))  # geometry trimesh would read as zeros (Draco without DracoPy)
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except InputError as e:
        if e.where != str(path):
            raise                     # a bad limit in the environment: the error names the variable
        raise InputError(label, f"{e.what}: {path}") from None   # the path in `what`: asset_errors keeps only it
    except PermissionError as e:
        raise InputError(label, f"cannot read mesh file {path}: {e.strerror}") from None
    except Exception as e:  # trimesh raises many types for corrupt files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(label, f"cannot load mesh file {path}: {msg}") from None
    if not isinstance(mesh, trimesh.Trimesh):
        raise InputError(label, f"no triangle mesh in {path} (got {type(mesh).__name__})")
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    check_triangles(v, f, path, label)    # no faces, bad indices, NaN/inf, zero extent, zero area
    return v, f


def primitive(shape: str) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of a built-in primitive other than ``monkey`` (see module docstring)."""
    import trimesh.creation as tc

    if shape == "cube":
        m = tc.box(extents=(1.0, 1.0, 1.0))
    elif shape == "sphere":
        m = tc.icosphere(subdivisions=4, radius=0.5)
    elif shape == "cylinder":
        m = tc.cylinder(radius=0.5, height=1.0, sections=64)
    elif shape == "cone":
        m = tc.cone(radius=0.5, height=1.0, sections=64)
        m.apply_translation((0.0, 0.0, -0.5))
    elif shape == "torus":
        m = tc.torus(major_radius=0.375, minor_radius=0.125, major_sections=64, minor_sections=32)
    else:
        raise ValueError(f"no pure primitive {shape!r}")
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


def ground_plane(size: float) -> tuple[np.ndarray, np.ndarray]:
    """A square of edge ``size`` m at z = 0, centred on the origin, normal +z (two triangles)."""
    h = size / 2.0
    v = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]])
    f = np.array([[0, 1, 2], [0, 2, 3]])
    return v, f
