"""The one module that writes the synthblend dataset layout (CONTRACT.md, "Dataset layout").

Every file is written under a temporary name in its destination folder and then ``os.replace``d,
so a reader never sees a half-written file. A frame's meta JSON is moved into place last: a frame
with meta is complete. Output bytes depend only on the inputs (fixed PNG compression level, no
timestamps, sorted JSON keys), so re-rendering a frame gives byte-identical files.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import numpy as np

from . import layout
from .exr import write_depth_exr, write_normals_exr

# zlib level 1: ~5x faster than the default 6 on rendered (noisy) images for ~15% larger files;
# Blender itself saves PNGs at a similar level (15%).
PNG_COMPRESS_LEVEL = 1


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def dumps_json(obj) -> str:
    """Canonical JSON text: sorted keys, indent 2, numpy values as plain numbers/lists, final newline."""
    return json.dumps(obj, sort_keys=True, indent=2, default=_json_default) + "\n"


def _tmp_path(final: Path) -> Path:
    """A unique hidden sibling of ``final`` (created with default permissions, unlike mkstemp)."""
    return final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _unlink_quiet(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


def atomic_write(final, write_fn) -> None:
    """Write ``final`` via ``write_fn(tmp_path)`` to a temporary sibling, then ``os.replace``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(final)
    try:
        write_fn(tmp)
        os.replace(tmp, final)
    except BaseException:
        _unlink_quiet(tmp)
        raise


def atomic_write_bytes(final, data: bytes) -> None:
    atomic_write(final, lambda p: p.write_bytes(data))


def write_json(path, obj) -> None:
    """Atomically write canonical JSON (see :func:`dumps_json`)."""
    atomic_write_bytes(path, dumps_json(obj).encode("utf-8"))


# ------------------------------------------------------------------------------------ images


def save_png(path, image: np.ndarray) -> None:
    """8-bit RGB / gray (uint8) or 16-bit gray (uint16) PNG with fixed settings (deterministic)."""
    from PIL import Image

    a = np.ascontiguousarray(image)
    if a.dtype == np.uint16 and a.ndim == 2:
        img = Image.frombytes("I;16", (a.shape[1], a.shape[0]), a.astype("<u2").tobytes())
    elif a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        img = Image.fromarray(a)
    else:
        raise ValueError(f"cannot save array of dtype {a.dtype} and shape {a.shape} as PNG")
    img.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)


def load_png(path) -> np.ndarray:
    """Read a PNG as uint8 (8-bit) or uint16 (16-bit gray) numpy array."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode.startswith("I"):  # 16-bit gray: "I;16" (or "I" from some writers)
            return np.asarray(img).astype(np.uint16)
        if img.mode not in ("RGB", "RGBA", "L"):
            img = img.convert("RGB")
        return np.asarray(img)


# ------------------------------------------------------------------------------------ meshes


def ply_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """Binary little-endian PLY: float32 x, y, z; faces as ``list uchar int vertex_indices``."""
    v = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if f.size and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError("face indices out of range")
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
              f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    rec = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    rec["n"] = 3
    rec["i"] = f
    return header.encode("ascii") + v.tobytes() + rec.tobytes()


# ------------------------------------------------------------------------------------ writer


class DatasetWriter:
    """Writes frames, meshes and the manifest of one dataset folder."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def write_manifest(self, manifest: dict) -> Path:
        """``DIR/dataset.json`` (sorted keys, indent 2)."""
        p = self.path(layout.MANIFEST)
        write_json(p, manifest)
        return p

    def write_mesh(self, name: str, vertices, faces) -> str:
        """Write ``meshes/<sanitized name>.ply`` and return that relative path.

        Idempotent: an existing file with the same bytes is left untouched.
        """
        rel = layout.mesh_path(name)
        data = ply_bytes(vertices, faces)
        p = self.path(rel)
        try:
            if p.stat().st_size == len(data) and p.read_bytes() == data:
                return rel
        except FileNotFoundError:
            pass
        atomic_write_bytes(p, data)
        return rel

    def write_frame(self, index: int, meta: dict, rgb=None, depth=None, instance=None,
                    semantic=None, normals=None, amodal=None) -> None:
        """Write the given outputs of frame ``index``, then its meta (the completion marker).

        ``rgb``: HxWx3 uint8 (sRGB); ``depth``: HxW float32 meters, 0 = no hit;
        ``instance`` and ``semantic``: HxW uint16. All outputs are first written to temporary
        files; on any error (e.g. ``OSError`` ENOSPC) the temporaries are removed and the error
        propagates, leaving the frame as it was. An existing meta is removed before the new
        files are moved into place, so a frame is never marked complete with mixed contents.
        """
        arrays = {"rgb": rgb, "depth": depth, "instance": instance, "semantic": semantic,
                  "normals": normals}
        jobs = []  # (final path, writer function)
        for name, a in arrays.items():
            if a is None:
                continue
            a = _check_output(name, a)
            jobs.append((self.path(layout.output_path(name, index)), _WRITERS[name], a))
        for iid, m in sorted((amodal or {}).items()):   # HxW bool masks -> 0/255 PNGs
            a = np.where(np.asarray(m, bool), 255, 0).astype(np.uint8)
            jobs.append((self.path(layout.amodal_path(index, iid)), _write_png, a))
        meta_bytes = dumps_json(meta).encode("utf-8")
        staged: list[tuple[Path, Path]] = []
        try:
            for final, fn, a in jobs:
                final.parent.mkdir(parents=True, exist_ok=True)
                tmp = _tmp_path(final)
                staged.append((tmp, final))
                fn(tmp, a)
            meta_final = self.path(layout.meta_path(index))
            meta_final.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_path(meta_final)
            staged.append((tmp, meta_final))
            tmp.write_bytes(meta_bytes)
            _unlink_quiet(meta_final)
            for tmp, final in staged:  # meta is last in the list
                os.replace(tmp, final)
        except BaseException:
            for tmp, _ in staged:
                _unlink_quiet(tmp)
            raise

    def is_complete(self, index: int) -> bool:
        return self.path(layout.meta_path(index)).is_file()

    def complete_frames(self) -> set[int]:
        return complete_frames(self.root)


def complete_frames(root) -> set[int]:
    """Indices of the frames of ``root`` that have a meta file."""
    d = Path(root) / layout.META_DIR
    if not d.is_dir():
        return set()
    out = set()
    for e in os.scandir(d):
        i = layout.parse_meta_name(e.name)
        if i is not None and e.is_file():
            out.add(i)
    return out


def _check_output(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if name == "rgb":
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise ValueError(f"rgb must be HxWx3 uint8, got {a.dtype} {a.shape}")
    elif name == "normals":
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype.kind != "f":
            raise ValueError(f"normals must be HxWx3 float, got {a.dtype} {a.shape}")
        a = a.astype(np.float32, copy=False)
    elif name == "depth":
        if a.ndim != 2 or a.dtype.kind != "f":
            raise ValueError(f"depth must be HxW float, got {a.dtype} {a.shape}")
        a = a.astype(np.float32, copy=False)
    else:
        if a.ndim != 2 or a.dtype.kind not in "ui":
            raise ValueError(f"{name} must be HxW uint16, got {a.dtype} {a.shape}")
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{name} values must fit in uint16")
        a = a.astype(np.uint16, copy=False)
    return a


def _write_png(path: Path, a: np.ndarray) -> None:
    save_png(path, a)


_WRITERS = {"rgb": _write_png, "depth": write_depth_exr, "instance": _write_png,
            "semantic": _write_png, "normals": write_normals_exr}
