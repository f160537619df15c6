"""Checks across config keys that the schema cannot express (``v`` is the validator of
:mod:`synthblend.core.config`: ``v.err(parts, what)`` records one problem; all are reported at once):
one of mesh/primitive per object, files that must exist, folders that must hold images, instance
limits, colours, clip range, outputs that need other keys."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import InputError
from .image_folders import HDRI_EXTS, IMAGE_EXTS, list_images
from .physics.checks import check_physics
from .schema import MAX_INSTANCES
from .supports import check_supports

_COLOUR = r"#[0-9a-fA-F]{6}"


def check_semantics(v, data: dict, parsed: dict) -> None:
    """Cross-key checks the schema cannot express."""
    objs = (data.get("scene") or {}).get("objects") or []
    n_instances = 0
    for i, (o, p) in enumerate(zip(objs, (parsed.get("scene") or {}).get("objects") or [], strict=True)):
        if not o or p is None:   # not a mapping: reported already
            continue
        n_instances += _check_object(v, ["scene", "objects", i], o, p)
    _check_file(v, ["scene", "blend"], (parsed.get("scene") or {}).get("blend"))
    check_supports(v, data, parsed, _check_file)
    check_physics(v, data)
    ground = (data.get("scene") or {}).get("ground")
    n_supports = len((data.get("scene") or {}).get("supports") or [])
    if n_instances + bool(ground) + n_supports > MAX_INSTANCES:
        v.err(["scene", "objects"], f"the objects' largest counts add up to {n_instances}"
                                    f"{' plus the ground' if ground else ''}"
                                    f"{f' plus {n_supports} supports' if n_supports else ''}; at most {MAX_INSTANCES} "
                                    "instances fit in Blender's object index")
    if ground and not re.fullmatch(_COLOUR, str(ground.get("color", ""))):
        v.err(["scene", "ground", "color"], f"expected a colour #rrggbb, got {ground.get('color')!r}")
    cam = data.get("camera") or {}
    if isinstance(cam.get("clip_start"), float) and isinstance(cam.get("clip_end"), float):
        if cam["clip_start"] >= cam["clip_end"]:
            v.err(["camera", "clip_end"], "must be greater than clip_start")
    try:
        check_randomization(v, data, parsed)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        if not v.errors:   # valid so far: a real bug. Otherwise malformed values, reported already
            raise


def _check_file(v, parts: list, path) -> None:
    """A path that must name an existing file (None: not given, nothing to check)."""
    if path is None:
        return
    if not path.exists():
        v.err(parts, f"file not found: {path}")
    elif not path.is_file():       # a folder, a device such as /dev/zero, a named pipe: never read
        v.err(parts, f"not a file: {path} (a regular file is needed)")


def _check_object(v, parts: list, o: dict, p: dict) -> int:
    """One scene.objects entry (``o`` resolved, ``p`` parsed); fills in its default category.
    Returns its largest instance count (0 without a count)."""
    n = 0
    count = p.get("count")
    if count is not None:
        n = int(max(count.values() if count.values() is not None else [count.bounds()[1]]))
    has_mesh, has_prim = o.get("mesh") is not None, o.get("primitive") is not None
    if has_mesh == has_prim:
        v.err(parts, "each object needs exactly one of 'mesh' or 'primitive'")
        return n
    if has_mesh:
        _check_file(v, parts + ["mesh"], p.get("mesh"))
    if o.get("category") is None and (p.get("mesh") is not None or p.get("primitive") is not None):
        o["category"] = Path(o["mesh"]).stem if has_mesh else o["primitive"]
        p["category"] = o["category"]
    color = o.get("color")
    if color is not None and not re.fullmatch(_COLOUR, str(color)):
        v.err(parts + ["color"], f"expected a colour #rrggbb, got {color!r}")
    return n


def _check_folder(v, parts, folder, exts, needed: bool, what: str):
    if folder is None:
        if needed:
            v.err(parts, f"{what} needs a folder of images")
        return
    p = Path(folder)
    if not p.exists():
        v.err(parts, f"folder not found: {p}")
    elif not p.is_dir():
        v.err(parts, f"not a folder: {p}")
    elif needed:
        try:
            if not list_images(p, exts):
                v.err(parts, f"no image files ({', '.join(exts)}) in {p}")
        except InputError as e:          # an entry that is not a regular file (a FIFO, a device, ...)
            v.err(parts, f"{e.where}: {e.what}")


def _uses(dist, value: str) -> bool:
    if dist is None:
        return False
    vals = dist.values()
    return vals is not None and value in vals


def _check_material(v, parsed: dict | None, parts: list):
    if not parsed:
        return
    _check_folder(v, parts + ["images"], parsed.get("images"), IMAGE_EXTS,
                  _uses(parsed.get("texture"), "image"), "texture: image")


def _largest(d) -> int:
    if d is None:
        return 0
    vals = d.values()
    return int(max(vals) if vals is not None else d.bounds()[1])


def _check_instances(v, sc: dict, dist: dict) -> None:
    n = sum(_largest(o.get("count")) for o in sc.get("objects", []) if o)
    n += _largest(dist.get("count")) + 2                 # + the ground and the back plane
    n += len(sc.get("supports") or [])
    if n > MAX_INSTANCES:
        v.err(["scene", "distractors", "count"],
              f"objects, supports, distractors, ground and back plane can add up to {n} instances; at most "
              f"{MAX_INSTANCES} fit in Blender's object index")


def check_randomization(v, data: dict, parsed: dict) -> None:
    """Materials, world, distractors and keypoints."""
    _check_material(v, parsed.get("materials"), ["materials"])
    sc = parsed.get("scene", {})
    for i, o in enumerate(sc.get("objects", [])):
        _check_material(v, o.get("materials"), ["scene", "objects", i, "materials"])
    dist = sc.get("distractors")
    if dist:
        _check_material(v, dist.get("materials"), ["scene", "distractors", "materials"])
        _check_instances(v, sc, dist)
    ground = sc.get("ground")
    if ground:
        _check_material(v, ground.get("materials"), ["scene", "ground", "materials"])
    w = parsed.get("world")
    if w:
        t = w.get("type")
        _check_folder(v, ["world", "hdri", "folder"], w["hdri"].get("folder"), HDRI_EXTS,
                      _uses(t, "hdri"), "world type hdri")
        _check_folder(v, ["world", "image", "folder"], w["image"].get("folder"), IMAGE_EXTS,
                      _uses(t, "image"), "world type image")
    outs = data.get("render", {}).get("outputs", [])
    if "keypoints" in outs and not any(o.get("keypoints") for o in data.get("scene", {}).get("objects", [])):
        v.err(["render", "outputs"], "output keypoints needs keypoints on at least one scene.objects entry")
