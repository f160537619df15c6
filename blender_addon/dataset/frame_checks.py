"""What the reader (:mod:`.reader`) checks before it hands a frame's meta to anyone: the types of the
meta fields that readers use (CONTRACT.md, ``meta/NNNNNN.json``) and that every object's ``mesh``
stays inside the dataset's ``meshes/`` folder.

Each function returns the problems it finds as ``"<key path>: <what>"`` strings (the reader raises
the first as ``InputError(<meta file>, ...)``); fields a dataset may lack are checked only when present.
"""
from __future__ import annotations

import math
from pathlib import PurePosixPath, PureWindowsPath

from ..core.distortion import MODELS as DISTORTION_MODELS
from . import layout

MAX_ID = 65535   # instance ids live in a 16-bit map


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _matrix(v, n: int) -> bool:
    return isinstance(v, list) and len(v) == n and all(
        isinstance(row, list) and len(row) == n and all(_is_num(x) for x in row) for row in v)


def _int_list(v, n: int) -> bool:
    return isinstance(v, list) and len(v) == n and all(_is_int(x) for x in v)


def mesh_problem(mesh) -> str | None:
    """Why ``mesh`` is not a path inside the dataset's ``meshes/`` folder, or None."""
    if not isinstance(mesh, str) or not mesh:
        return f"expected a path in {layout.MESHES_DIR}/, got {_short(mesh)}"
    p = PurePosixPath(mesh.replace("\\", "/"))
    if p.is_absolute() or PureWindowsPath(mesh).drive or ".." in p.parts or len(p.parts) < 2 \
            or p.parts[0] != layout.MESHES_DIR:
        return f"{mesh!r} is not a path inside the dataset's {layout.MESHES_DIR}/ folder"
    return None


def _check_camera(camera) -> list[str]:
    if not isinstance(camera, dict):
        return [f"camera: expected an object, got {_short(camera)}"]
    out = []
    for key, n in (("K", 3), ("cam2world", 4), ("world2cam", 4)):
        if key in camera and not _matrix(camera[key], n):
            out.append(f"camera.{key}: expected a {n}x{n} matrix of numbers, got {_short(camera[key])}")
    K = camera.get("K")
    if _matrix(K, 3) and not (K[0][0] > 0 and K[1][1] > 0 and K[2] == [0, 0, 1]):
        out.append(f"camera.K: expected OpenCV intrinsics (fx, fy > 0, last row [0, 0, 1]), got {_short(K)}")
    if "distortion" in camera:
        out += _check_distortion(camera["distortion"])
    return out


def _check_distortion(d) -> list[str]:
    """meta ``camera.distortion``: ``{model, <that model's coefficients as numbers>}``."""
    if not isinstance(d, dict) or d.get("model") not in DISTORTION_MODELS:
        return [f"camera.distortion: expected {{model: {' | '.join(DISTORTION_MODELS)}, k1: ...}}, got {_short(d)}"]
    names = DISTORTION_MODELS[d["model"]]
    bad = [k for k, v in d.items() if k != "model" and (k not in names or not _is_num(v))]
    return [f"camera.distortion.{k}: expected a {d['model']} coefficient (a number), got {_short(d[k])}" for k in bad]


def _check_object(k: int, o) -> list[str]:
    where = f"objects[{k}]"
    if not isinstance(o, dict):
        return [f"{where}: expected an object, got {_short(o)}"]
    out = []
    iid = o.get("instance_id")
    if not (_is_int(iid) and 1 <= iid <= MAX_ID):
        out.append(f"{where}.instance_id: expected an integer in 1..{MAX_ID}, got {_short(iid)}")
    cid = o.get("category_id")
    if cid is not None and not (_is_int(cid) and cid >= 0):
        out.append(f"{where}.category_id: expected an integer >= 0, got {_short(cid)}")
    px = o.get("px_count_visib")
    if px is not None and not (_is_int(px) and px >= 0):
        out.append(f"{where}.px_count_visib: expected an integer >= 0, got {_short(px)}")
    if "bbox_visib" in o and not _int_list(o["bbox_visib"], 4):
        out.append(f"{where}.bbox_visib: expected [x, y, w, h] integers, got {_short(o['bbox_visib'])}")
    elif _is_int(px) and px > 0 and "bbox_visib" not in o:
        out.append(f"{where}.bbox_visib: missing for a visible object")
    for key in ("obj2world", "obj2cam"):
        if key in o and not _matrix(o[key], 4):
            out.append(f"{where}.{key}: expected a 4x4 matrix of numbers, got {_short(o[key])}")
    if "mesh" in o:
        problem = mesh_problem(o["mesh"])
        if problem:
            out.append(f"{where}.mesh: {problem}")
    for key in ("name", "category", "asset"):
        if o.get(key) is not None and not isinstance(o[key], str):
            out.append(f"{where}.{key}: expected a string, got {_short(o[key])}")
    return out


def _check_objects(objects) -> list[str]:
    if not isinstance(objects, list):
        return [f"objects: expected a list, got {type(objects).__name__}"]
    out, seen = [], set()
    for k, o in enumerate(objects):
        problems = _check_object(k, o)
        out += problems
        iid = o.get("instance_id") if isinstance(o, dict) else None
        if not problems and iid in seen:
            out.append(f"objects[{k}].instance_id: {iid} is used by another object")
        seen.add(iid)
    return out


def meta_problems(meta, image_size: tuple[int, int] | None) -> list[str]:
    """Problems of a frame's meta; ``image_size`` ``(W, H)``: the manifest's, which meta must equal."""
    if not isinstance(meta, dict):
        return [f"expected a JSON object, got {type(meta).__name__}"]
    out = []
    size = meta.get("image_size")
    if size is not None:
        if not (_int_list(size, 2) and min(size) > 0):
            out.append(f"image_size: expected [W, H] positive integers, got {_short(size)}")
        elif image_size is not None and tuple(size) != tuple(image_size):
            out.append(f"image_size {list(size)} differs from dataset.json's {list(image_size)}")
    if "camera" in meta:
        out += _check_camera(meta["camera"])
    if "objects" in meta:
        out += _check_objects(meta["objects"])
    if meta.get("sampled") is not None and not isinstance(meta["sampled"], dict):
        out.append(f"sampled: expected an object, got {type(meta['sampled']).__name__}")
    return out


def image_size_problem(size) -> str | None:
    """Why a manifest's ``image_size`` is not ``[W, H]`` positive integers, or None."""
    if not (_int_list(size, 2) and min(size) > 0):
        return f"image_size: expected [W, H] positive integers, got {_short(size)}"
    return None
