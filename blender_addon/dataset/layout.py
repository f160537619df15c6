"""Where things live in a synthblend dataset folder (CONTRACT.md, "Dataset layout").

All paths are relative to the dataset root and use ``/``; join them with the root to open a file.
"""
from __future__ import annotations

import re

from ..core.outputs import BY_NAME, FILE_OUTPUTS

MANIFEST = "dataset.json"
RGB_DIR = "rgb"
DEPTH_DIR = "depth"
INSTANCE_DIR = "instance"
SEMANTIC_DIR = "semantic"
META_DIR = "meta"
NORMALS_DIR = "normals"
AMODAL_DIR = "amodal"
MESHES_DIR = "meshes"
LOGS_DIR = "logs"

FORMAT_NAME = "synthblend"
FORMAT_VERSION = 1

#: output name -> (folder, file extension) of the outputs stored in files (core/outputs.py)
OUTPUTS = {o.name: (o.folder, o.ext) for o in FILE_OUTPUTS if not o.per_object}
#: folders holding frame files (a frame's files are ``<folder>/NNNNNN.*`` or ``<folder>/NNNNNN/``)
FRAME_DIRS = tuple(dict.fromkeys([o.folder for o in FILE_OUTPUTS] + [META_DIR]))
#: every folder the tool writes into a dataset (what ``--overwrite`` of another config removes)
OWNED_DIRS = FRAME_DIRS + (MESHES_DIR,)


def frame_stem(index: int) -> str:
    """``000042`` for frame 42."""
    index = int(index)
    if index < 0:
        raise ValueError(f"frame index must be >= 0, got {index}")
    return f"{index:06d}"


def rgb_path(index: int) -> str:
    return f"{RGB_DIR}/{frame_stem(index)}.png"


def depth_path(index: int) -> str:
    return f"{DEPTH_DIR}/{frame_stem(index)}.exr"


def instance_path(index: int) -> str:
    return f"{INSTANCE_DIR}/{frame_stem(index)}.png"


def semantic_path(index: int) -> str:
    return f"{SEMANTIC_DIR}/{frame_stem(index)}.png"


def meta_path(index: int) -> str:
    return f"{META_DIR}/{frame_stem(index)}.json"


def output_path(output: str, index: int) -> str:
    """Path of a per-frame file output (``rgb``, ``depth``, ``instance``, ``semantic``, ``normals``)."""
    folder, ext = OUTPUTS[output]
    return f"{folder}/{frame_stem(index)}{ext}"


def object_output_path(output: str, index: int, instance_id: int) -> str:
    """``<folder>/NNNNNN/IIIIII<ext>``: a per-object output's file (e.g. an amodal mask)."""
    o = BY_NAME[output]
    return f"{o.folder}/{frame_stem(index)}/{int(instance_id):06d}{o.ext}"


def amodal_path(index: int, instance_id: int) -> str:
    """``amodal/NNNNNN/IIIIII.png``: object ``instance_id``'s amodal mask in frame ``index``."""
    return object_output_path("amodal", index, instance_id)


def mesh_path(name: str) -> str:
    """``meshes/<sanitized name>.ply``."""
    return f"{MESHES_DIR}/{sanitize_name(name)}.ply"


_STEM = re.compile(r"^(\d{6,})\.json$")


def parse_meta_name(filename: str) -> int | None:
    """Frame index of a ``meta/`` file name (``000042.json`` -> 42), None for anything else."""
    m = _STEM.match(filename)
    return int(m.group(1)) if m else None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_name(s: str) -> str:
    """A file-name-safe form of ``s``: only ``[A-Za-z0-9._-]``, no path separators, no ``..``.

    Runs of other characters become ``_``; leading dots are dropped (no hidden files, no ``..``);
    an empty result becomes ``_``. Deterministic, so the same name always maps to the same file.
    """
    s = _UNSAFE.sub("_", str(s))
    while ".." in s:
        s = s.replace("..", ".")
    s = s.lstrip(".")
    return s or "_"
