"""What makes a mesh file a bad asset, checked around trimesh's load (pure: numpy and the standard
library; trimesh only where it is the reader).

* glTF/GLB geometry compression: ``KHR_draco_mesh_compression`` is decoded by trimesh through
  DracoPy (an optional dependency, ``synthblend[assets]``); without DracoPy trimesh fills the
  geometry with zeros and only logs a warning, so such a file is refused, naming it.
  ``EXT_meshopt_compression`` has no decoder in trimesh: always refused.
* Degenerate triangles: no faces, face indices outside the vertex list, NaN or infinite coordinates,
  zero extent (every vertex at one point), or every triangle of zero area (all collinear).
* OBJ appearance files: an ``mtllib`` that does not exist, or a material's ``map_Kd`` texture that does
  not exist, leave the object a plain colour: a warning (not an error) naming both files.

Coordinates are the file's raw ones (units of the file), as ``trimesh.load(path, force="mesh",
process=False)`` reads them.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from .errors import InputError

DRACO = "KHR_draco_mesh_compression"
MESHOPT = ("EXT_meshopt_compression", "KHR_meshopt_compression")
# every triangle's doubled area below this fraction of the extent squared: no surface at all
ZERO_AREA_REL = 1e-12

__all__ = ["gltf_extensions", "check_gltf", "check_triangles", "obj_appearance_problems", "DRACO"]


def _glb_json(data: bytes) -> dict | None:
    """The JSON chunk of a GLB (binary glTF 2.0), or None when the bytes are not one."""
    if len(data) < 20 or data[:4] != b"glTF":
        return None
    n, kind = struct.unpack("<I4s", data[12:20])
    if kind != b"JSON":
        return None
    return json.loads(data[20:20 + n])


def gltf_extensions(path) -> set[str]:
    """Extensions a glTF (.gltf JSON or .glb) file declares in ``extensionsUsed`` /
    ``extensionsRequired`` or on its mesh primitives; empty for other files or unreadable headers
    (trimesh then reports what is wrong)."""
    path = Path(path)
    if path.suffix.lower() not in (".glb", ".gltf"):
        return set()
    try:
        data = path.read_bytes()
        doc = _glb_json(data) if data[:4] == b"glTF" else json.loads(data)
    except (OSError, ValueError, struct.error):
        return set()
    if not isinstance(doc, dict):
        return set()
    found = set()
    for key in ("extensionsUsed", "extensionsRequired"):
        found.update(x for x in doc.get(key) or [] if isinstance(x, str))
    for mesh in doc.get("meshes") or []:
        for prim in (mesh or {}).get("primitives") or [] if isinstance(mesh, dict) else []:
            if isinstance(prim, dict) and isinstance(prim.get("extensions"), dict):
                found.update(prim["extensions"])
    return found


def draco_available() -> bool:
    try:
        import DracoPy  # noqa: F401
    except ImportError:
        return False
    return True


def check_gltf(path, label: str) -> None:
    """Refuse a glTF whose geometry trimesh would read as zeros (see the module docstring); the
    message leaves the path to the caller (``load_mesh`` appends it)."""
    ext = gltf_extensions(path)
    if DRACO in ext and not draco_available():
        raise InputError(label, f"Draco-compressed glTF ({DRACO}) needs the DracoPy package to decode "
                                f"(pip install DracoPy, or synthblend[assets]); without it its geometry "
                                "reads as zeros")
    for name in MESHOPT:
        if name in ext:
            raise InputError(label, f"glTF geometry compressed with {name}, which trimesh cannot decode; "
                                    "re-export it without compression")


def check_triangles(v: np.ndarray, f: np.ndarray, path, label: str) -> None:
    """Raise InputError for triangles no renderer or ray cast can use (see the module docstring)."""
    if len(v) == 0 or len(f) == 0:
        raise InputError(label, f"mesh file has no triangles: {path}")
    if f.ndim != 2 or f.shape[1] != 3 or f.min() < 0 or f.max() >= len(v):
        raise InputError(label, f"mesh file has face indices outside its {len(v)} vertices: {path}")
    if not np.all(np.isfinite(v)):
        raise InputError(label, f"mesh file has non-finite vertex coordinates: {path}")
    used = v[np.unique(f)]
    extent = float(np.ptp(used, axis=0).max())
    if extent == 0.0:
        raise InputError(label, f"mesh has zero extent (every vertex at {used[0].tolist()}): {path}")
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    doubled = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    if float(doubled.max()) <= ZERO_AREA_REL * extent * extent:
        raise InputError(label, f"mesh is degenerate: all {len(f)} triangles have zero area: {path}")


def _statements(path: Path, keyword: str) -> list[str]:
    """The arguments of every ``keyword`` line of an OBJ or MTL text file (case-insensitive)."""
    out = []
    kw = keyword.lower()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == kw:
                out.append(parts[1].strip())
    return out


def obj_appearance_problems(path) -> list[str]:
    """Why an OBJ file's own appearance cannot load: each ``mtllib`` that is missing, and each
    ``map_Kd`` texture of an existing MTL that is missing (paths relative to the file that names
    them, as trimesh resolves them). Empty for other formats and for complete OBJ files."""
    path = Path(path)
    if path.suffix.lower() != ".obj":
        return []
    problems = []
    for lib in _statements(path, "mtllib"):
        mtl = path.parent / lib
        if not mtl.is_file():
            problems.append(f"{path} names material library {mtl}, which is missing: the object gets a "
                            "plain colour")
            continue
        for arg in _statements(mtl, "map_Kd"):
            # the file ends the statement, after options such as -s 1 1 1 (or is all of it: spaces)
            candidates = [mtl.parent / a.replace("\\", "/") for a in (arg, arg.split()[-1])]
            if not any(c.is_file() for c in candidates):
                problems.append(f"{mtl} (material library of {path.name}) names texture {candidates[1]}, "
                                "which is missing: the object gets a plain colour")
    return problems
