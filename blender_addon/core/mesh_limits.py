"""Size limits of a mesh file, checked before trimesh reads it (trimesh holds the whole mesh, several
times over, while it parses: a 256 MB PLY took 2.9 GB, a 2 GB one more than 16.9 GB).

``check_mesh_limits(path)`` refuses a file over ``SYNTHBLEND_MAX_MESH_MB`` (default 512 MB), or one
whose vertex or face count, where the format states it cheaply, is over ``SYNTHBLEND_MAX_MESH_VERTICES``
(default 15,000,000) or ``SYNTHBLEND_MAX_MESH_FACES`` (default 5,000,000). Counts come from: the PLY
header (ASCII and binary), the OFF header, a binary STL's triangle count, OBJ ``v``/``f`` lines (one
streaming pass), and the accessors of a GLB's JSON chunk or a .gltf file (times the nodes using each
mesh). Other formats are held to the file size only. Faces are counted as the file lists them (a
polygon is one face).
"""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from .errors import InputError
from .files import MiB, check_size, env_limit, regular_file_size

MAX_MESH_MB = 512
MAX_MESH_VERTICES = 15_000_000
MAX_MESH_FACES = 5_000_000
HEADER_BYTES = 64 * 1024        # a PLY or OFF header must end within this
MAX_GLTF_JSON_MB = 64           # larger glTF JSON: counts not read (the file size limit still holds)


def check_mesh_limits(path: Path) -> None:
    """Raise InputError (where = the path) if the mesh file is not a regular file or is over a limit."""
    size = regular_file_size(path)
    check_size(path, size, env_limit("SYNTHBLEND_MAX_MESH_MB", MAX_MESH_MB), "SYNTHBLEND_MAX_MESH_MB",
               "the mesh file")
    counts = mesh_counts(path, size)
    if counts is None:
        return
    for n, env, default, what in ((counts[1], "SYNTHBLEND_MAX_MESH_FACES", MAX_MESH_FACES, "faces"),
                                  (counts[0], "SYNTHBLEND_MAX_MESH_VERTICES", MAX_MESH_VERTICES, "vertices")):
        limit = env_limit(env, default)
        if n > limit:
            raise InputError(str(path), f"the mesh file has {n:,} {what}, over the limit of {int(limit):,} "
                                        f"(set {env} to raise it)")


def mesh_counts(path: Path, size: int) -> tuple[int, int] | None:
    """(vertices, faces) as the file states them, or None where the format has no cheap count or the
    file is not what its suffix says (trimesh then reports what is wrong with it)."""
    reader = _COUNTERS.get(path.suffix.lower())
    if reader is None:
        return None
    with open(path, "rb") as f:
        return reader(f, size)


def _header_text(f, first: bytes, end: bytes) -> str | None:
    head = f.read(HEADER_BYTES)
    if not head.startswith(first):
        return None
    return head.split(end, 1)[0].decode("latin-1") if end in head else ""


def _ply(f, size):
    head = _header_text(f, b"ply", b"end_header")
    if head is None:
        return None
    if head == "" and size <= HEADER_BYTES:
        return None                     # a truncated header: trimesh says what is wrong with it
    if head == "":
        raise InputError(f.name, f"no PLY end_header within the first {HEADER_BYTES // 1024} KB")
    counts = dict(re.findall(r"^\s*element\s+(\S+)\s+(\d+)", head, re.M))
    return int(counts.get("vertex", 0)), int(counts.get("face", 0))


def _off(f, size):
    lines = f.read(HEADER_BYTES).decode("latin-1").splitlines()[:1000]
    words = [w for ln in lines for w in ln.split("#", 1)[0].split()][:3]
    if len(words) < 3 or not words[0].upper().endswith("OFF") or not (words[1] + words[2]).isdigit():
        return None
    return int(words[1]), int(words[2])


def _stl(f, size):
    head = f.read(84)
    if len(head) < 84:
        return None
    n = struct.unpack("<I", head[80:84])[0]
    if size != 84 + 50 * n:       # ASCII (or not an STL): the file size limit holds
        return None
    return 3 * n, n


def _obj(f, size):
    counts = {b"v": 0, b"f": 0}
    tail = b"\n"
    while chunk := f.read(4 * MiB):
        block = tail + chunk
        for key in counts:
            counts[key] += block.count(b"\n" + key + b" ") + block.count(b"\n" + key + b"\t")
        tail = block[-2:]   # a 3-byte line start split across chunks is counted once, in the next block
    return counts[b"v"], counts[b"f"]


def _gltf_counts(doc) -> tuple[int, int] | None:
    try:
        acc = doc.get("accessors") or []
        per_mesh = []
        for m in doc.get("meshes") or []:
            v = f = 0
            for prim in m.get("primitives") or []:
                nv = int(acc[prim["attributes"]["POSITION"]]["count"])
                idx = prim.get("indices")
                v += nv
                f += (int(acc[idx]["count"]) if idx is not None else nv) // 3
            per_mesh.append((v, f))
        uses = [0] * len(per_mesh)
        for node in doc.get("nodes") or []:
            if isinstance(node, dict) and node.get("mesh") is not None:
                uses[int(node["mesh"])] += 1
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None
    uses = [u or 1 for u in uses]
    return (sum(v * u for (v, _), u in zip(per_mesh, uses, strict=True)),
            sum(f * u for (_, f), u in zip(per_mesh, uses, strict=True)))


def _load_json(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _glb(f, size):
    head = f.read(20)
    if len(head) < 20 or head[:4] != b"glTF" or head[16:20] != b"JSON":
        return None
    n = struct.unpack("<I", head[12:16])[0]
    if n > MAX_GLTF_JSON_MB * MiB:
        return None
    doc = _load_json(f.read(n))
    return _gltf_counts(doc) if isinstance(doc, dict) else None


def _gltf(f, size):
    if size > MAX_GLTF_JSON_MB * MiB:
        return None
    doc = _load_json(f.read(size + 1))
    return _gltf_counts(doc) if isinstance(doc, dict) else None


_COUNTERS = {".ply": _ply, ".off": _off, ".stl": _stl, ".obj": _obj, ".glb": _glb, ".gltf": _gltf}
