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

from ..core.errors import InputError
from ..core.outputs import BY_NAME
from . import layout
from .codecs import CODECS


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


def atomic_write(final, write_fn, mkdir: bool = True) -> None:
    """Write ``final`` via ``write_fn(tmp_path)`` to a temporary sibling, then ``os.replace``
    (which replaces a link at ``final`` itself, never the file it points to)."""
    final = Path(final)
    if mkdir:
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(final)
    try:
        write_fn(tmp)
        os.replace(tmp, final)
    except BaseException:
        _unlink_quiet(tmp)
        raise


def atomic_write_bytes(final, data: bytes, mkdir: bool = True) -> None:
    atomic_write(final, lambda p: p.write_bytes(data), mkdir)


def write_json(path, obj) -> None:
    """Atomically write canonical JSON (see :func:`dumps_json`)."""
    atomic_write_bytes(path, dumps_json(obj).encode("utf-8"))


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


def _folder_id(p: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DatasetWriter:
    """Writes frames, meshes and the manifest of one dataset folder.

    A writer opened on a dataset (``dataset.json`` there) writes into that folder only: before each frame
    and mesh it checks that the folder is the same one (inode) and still holds ``dataset.json``, never
    creates the folder again, and otherwise raises InputError (the output folder was deleted or replaced
    during the run: the run stops with exit 2)."""

    def __init__(self, root):
        self.root = Path(root)
        self._home = _folder_id(self.root) if (self.root / layout.MANIFEST).is_file() else None

    def path(self, rel: str) -> Path:
        return self.root / rel

    def check_folder(self) -> None:
        """InputError when the dataset folder this writer was opened on is gone or replaced."""
        if self._home is None:
            return
        if _folder_id(self.root) != self._home or not (self.root / layout.MANIFEST).is_file():
            raise InputError(str(self.root), "the output folder was deleted or replaced during the run "
                                             "(its dataset.json is gone); stopped, nothing more is written")

    def _mkdirs(self, d: Path) -> None:
        """Create ``d`` below the root; a guarded writer never creates the root itself again."""
        if self._home is None:
            d.mkdir(parents=True, exist_ok=True)
            return
        p = self.root
        for part in d.relative_to(self.root).parts:
            p = p / part
            p.mkdir(exist_ok=True)

    def write_manifest(self, manifest: dict) -> Path:
        """``DIR/dataset.json`` (sorted keys, indent 2)."""
        p = self.path(layout.MANIFEST)
        write_json(p, manifest)
        return p

    def write_mesh(self, name: str, vertices, faces) -> str:
        """Write ``meshes/<sanitized name>.ply`` and return that relative path.

        Idempotent: an existing file with the same bytes is left untouched.
        """
        self.check_folder()
        rel = layout.mesh_path(name)
        data = ply_bytes(vertices, faces)
        p = self.path(rel)
        try:
            if p.stat().st_size == len(data) and p.read_bytes() == data:
                return rel
        except FileNotFoundError:
            pass
        self._mkdirs(p.parent)
        atomic_write_bytes(p, data, mkdir=False)
        return rel

    def write_frame(self, index: int, meta: dict, **outputs) -> None:
        """Write the given outputs of frame ``index``, then its meta (the completion marker).

        ``outputs``: name -> value as ``core.outputs`` computes it (``rgb=`` HxWx3 uint8 sRGB,
        ``depth=`` HxW float32 m with 0 = no hit, ``instance=``/``semantic=`` HxW uint16,
        ``normals=`` HxWx3 float32, ``amodal=`` {instance_id: HxW bool}); None or a meta-only output
        writes no file. All files are first written to temporary names; on any error (e.g.
        ``OSError`` ENOSPC) the temporaries are removed and the error propagates, leaving the frame as
        it was. An existing meta is removed before the new files are moved into place, so a frame is
        never marked complete with mixed contents. Meta records ``files``: each file's path (relative
        to the root) and size in bytes, which ``--resume`` checks (``dataset/outdir.py``).
        """
        self.check_folder()
        jobs = []  # (relative path, writer function, checked array)
        for name, value in outputs.items():
            out = BY_NAME.get(name)
            if out is None:
                raise ValueError(f"unknown output {name!r}")
            if value is None or not out.has_files:
                continue
            codec = CODECS[out.codec]
            if out.per_object:
                for iid, a in sorted(value.items()):
                    jobs.append((layout.object_output_path(name, index, iid), codec.write, codec.check(name, a)))
            else:
                jobs.append((layout.output_path(name, index), codec.write, codec.check(name, value)))
        staged: list[tuple[Path, Path]] = []
        try:
            self._stage_and_replace(index, meta, jobs, staged)
        except BaseException as e:
            for tmp, _ in staged:
                _unlink_quiet(tmp)
            if isinstance(e, FileNotFoundError):
                self.check_folder()       # the folder went away while writing: say so (bad input, exit 2)
            raise

    def _stage_and_replace(self, index: int, meta: dict, jobs, staged: list) -> None:
        """Write every file of ``jobs`` under a temporary name (recording its size), then meta, then move
        them into place, meta last."""
        files = {}
        for rel, fn, a in jobs:
            final = self.path(rel)
            self._mkdirs(final.parent)
            tmp = _tmp_path(final)
            staged.append((tmp, final))
            fn(tmp, a)
            files[rel] = os.stat(tmp).st_size
        meta_final = self.path(layout.meta_path(index))
        self._mkdirs(meta_final.parent)
        tmp = _tmp_path(meta_final)
        staged.append((tmp, meta_final))
        tmp.write_bytes(dumps_json({**meta, "files": files}).encode("utf-8"))
        _unlink_quiet(meta_final)
        for tmp, final in staged:  # meta is last in the list
            os.replace(tmp, final)

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
