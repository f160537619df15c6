"""The files an asset file refers to (pure; no mesh is loaded): an OBJ's ``.mtl`` libraries and their
texture maps, a glTF/GLB's external buffers and images, a URDF's meshes (and theirs). Their content is
part of what a dataset is rendered from, so their hashes join ``dataset.json``'s ``asset_hashes``
(``--resume`` refuses a dataset whose textures or materials changed: dataset/outdir.py).

Only files that exist are listed (a missing one is the loader's and ``check``'s business). A .blend's
linked libraries are not followed.
"""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import unquote

_MTLLIB = re.compile(rb"^[ \t]*mtllib[ \t]+(.+?)[ \t]*\r?$", re.M)
# texture statements of an .mtl: map_Kd, map_Ks, map_Bump, bump, disp, decal, refl, norm, map_Pr ...
_MAP = re.compile(r"^[ \t]*(map_\w+|bump|disp|decal|refl|norm)[ \t]+(.+?)[ \t]*$", re.M | re.I)
MAX_DEPTH = 4            # URDF -> mesh -> .mtl -> texture


def _existing(base: Path, name: str) -> Path | None:
    name = name.strip().strip('"')
    if not name:
        return None
    p = (base / name.replace("\\", "/")).resolve()
    return p if p.is_file() else None


def _one_name(base: Path, rest: str) -> list[Path]:
    """A file named by the rest of a statement: all of it (names with spaces), else its last word
    (after options such as ``-s 1 1 1``), else each word (``mtllib a.mtl b.mtl``)."""
    p = _existing(base, rest)
    if p is not None:
        return [p]
    words = rest.split()
    last = _existing(base, words[-1]) if words else None
    if last is not None:
        return [last]
    return [q for q in (_existing(base, w) for w in words) if q is not None]


def obj_refs(path: Path) -> list[Path]:
    """An OBJ's material libraries and the texture maps they name."""
    out: list[Path] = []
    data = path.read_bytes()
    for m in _MTLLIB.finditer(data):
        for mtl in _one_name(path.parent, m.group(1).decode("utf-8", "replace")):
            out.append(mtl)
            text = mtl.read_text(errors="replace")
            for t in _MAP.finditer(text):
                out.extend(_one_name(mtl.parent, t.group(2)))
    return out


def _gltf_json(path: Path) -> dict | None:
    if path.suffix.lower() == ".gltf":
        try:
            return json.loads(path.read_text(errors="replace"))
        except ValueError:
            return None
    with open(path, "rb") as f:                  # GLB: 12-byte header, then the JSON chunk
        head = f.read(20)
        if len(head) < 20 or head[:4] != b"glTF":
            return None
        n, kind = struct.unpack("<II", head[12:20])
        if kind != 0x4E4F534A or n > 64 << 20:
            return None
        try:
            return json.loads(f.read(n))
        except ValueError:
            return None


def gltf_refs(path: Path) -> list[Path]:
    """A glTF/GLB's external buffers and images (``uri`` that is not a ``data:`` URI)."""
    doc = _gltf_json(path)
    if not isinstance(doc, dict):
        return []
    out = []
    for key in ("buffers", "images"):
        for item in doc.get(key) or []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                p = _existing(path.parent, unquote(uri))
                if p is not None:
                    out.append(p)
    return out


def urdf_refs(path: Path) -> list[Path]:
    """A URDF's visual and collision mesh files (resolved as :mod:`.urdf` resolves them)."""
    from .urdf import mesh_filenames

    return [p for p in mesh_filenames(path) if p.is_file()]


REFS = {".obj": obj_refs, ".gltf": gltf_refs, ".glb": gltf_refs, ".urdf": urdf_refs}


def referenced_files(path, depth: int = 0) -> list[Path]:
    """Every file ``path`` refers to, recursively (sorted, unique; ``path`` itself not included).
    Unreadable or malformed files refer to nothing here."""
    path = Path(path)
    fn = REFS.get(path.suffix.lower())
    if fn is None or depth >= MAX_DEPTH:
        return []
    try:
        direct = fn(path)
    except (OSError, ValueError):
        return []
    out = set(direct)
    for p in direct:
        out.update(referenced_files(p, depth + 1))
    out.discard(path.resolve())
    return sorted(out)


def with_references(files) -> set[Path]:
    """``files`` and every file they refer to."""
    out = set(files)
    for p in list(out):
        out.update(referenced_files(p))
    return out
