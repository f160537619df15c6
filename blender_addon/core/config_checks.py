"""Checks across config keys that the schema cannot express (``v`` is the validator of
:mod:`synthblend.core.config`: ``v.err(parts, what)`` records one problem; all are reported at once):
one of mesh/primitive per object, files that must exist, folders that must hold images, instance
limits, colours, clip range, outputs that need other keys."""
from __future__ import annotations

import re
from pathlib import Path

from .camera_intrinsics import check as check_camera
from .distortion_checks import check_distortion
from .errors import InputError
from .image_folders import HDRI_EXTS, IMAGE_EXTS, list_images
from .library import is_library, is_library_entry, max_instances, resolve_library
from .motion_schema import check_motion
from .physics.checks import check_physics
from .schema import MAX_INSTANCES
from .schema_parsers import keypoint_pair_indices
from .sensor_checks import check_config as check_sensor
from .supports import check_supports
from .up_axis import AXES, axis_rotation, default_up_axis
from .urdf_objects import check_entry as check_urdf

_COLOUR = r"#[0-9a-fA-F]{6}"
#: the keys that say what an object entry is (exactly one per entry)
OBJECT_SOURCES = ("mesh", "primitive", "bop_models", "urdf")


def check_semantics(v, data: dict, parsed: dict) -> None:
    """Cross-key checks the schema cannot express. Each runs guarded: a check that trips over a value
    of the wrong type (which the schema walk has reported already) is skipped, not a traceback; on a
    config with no error so far the same exception is a real bug and is raised."""
    n_instances = _guarded(v, _check_objects, data, parsed) or 0
    _guarded(v, check_supports, data, parsed, _check_file)
    _guarded(v, check_physics, data)
    _guarded(v, check_camera, data, parsed)
    _guarded(v, check_motion, data, parsed)
    _guarded(v, _check_combinations, data, n_instances)
    _guarded(v, check_distortion, data, parsed)
    _guarded(v, check_sensor, data, parsed)
    _guarded(v, check_randomization, data, parsed)


def _guarded(v, check, *args):
    """``check(v, *args)``; an exception of a malformed value is skipped once the schema walk has
    recorded an error (it reported that value), and raised on a config valid so far (a real bug)."""
    try:
        return check(v, *args)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        if not v.errors:
            raise
        return None


def _check_objects(v, data: dict, parsed: dict) -> int:
    """Every scene.objects entry and scene.blend; returns the sum of the entries' largest counts."""
    objs = (data.get("scene") or {}).get("objects") or []
    n_instances = 0
    for i, (o, p) in enumerate(zip(objs, (parsed.get("scene") or {}).get("objects") or [], strict=True)):
        if not o or p is None:   # not a mapping: reported already
            continue
        n_instances += _check_object(v, ["scene", "objects", i], o, p, (data.get("scene") or {}).get("placement"))
    _check_file(v, ["scene", "blend"], (parsed.get("scene") or {}).get("blend"))
    return n_instances


def _check_combinations(v, data: dict, n_instances: int) -> None:
    """Keys that exclude each other, the instance limit, the ground's colour, the clip range."""
    if (data.get("scene") or {}).get("views") is not None and data.get("sequence") is not None:
        v.err(["scene", "views"], "give scene.views or sequence, not both (a sequence's frames are its views)")
    if (data.get("camera") or {}).get("stereo") is not None and (
            (data.get("scene") or {}).get("views") is not None or data.get("sequence") is not None):
        v.err(["camera", "stereo"], "stereo pairs with scene.views or sequence are not supported yet "
              "(a stereo pair is two frames of one scene); use one of them")
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


def _check_file(v, parts: list, path) -> None:
    """A path that must name an existing file (None: not given, nothing to check)."""
    if path is None:
        return
    if not path.exists():
        v.err(parts, f"file not found: {path}")
    elif not path.is_file():       # a folder, a device such as /dev/zero, a named pipe: never read
        v.err(parts, f"not a file: {path} (a regular file is needed)")


def _check_object(v, parts: list, o: dict, p: dict, placement: str | None = None) -> int:
    """One scene.objects entry (``o`` resolved, ``p`` parsed); fills in its default category and
    lists a library's assets (``p["library"]``). Returns its largest instance count (0 without a count)."""
    n = max_instances(p)
    given = [k for k in OBJECT_SOURCES if o.get(k) is not None]
    if len(given) != 1:
        v.err(parts, f"each object needs exactly one of {', '.join(repr(k) for k in OBJECT_SOURCES)}")
        return n
    if is_library_entry(o, p):
        return _check_library(v, parts, o, p)
    if o.get("urdf") is not None:
        return n * check_urdf(v, parts, o, p, placement)    # per_link: one instance per link
    for k in ("joints", "per_link"):
        if o.get(k):
            v.err(parts + [k], "only a URDF entry (urdf: model.urdf) has joints and links")
    for k in ("choose", "weights"):
        if o.get(k) is not None:
            v.err(parts + [k], "only a library entry picks assets (mesh: a folder or a glob, or bop_models)")
    cat = p.get("category")
    if cat is not None and cat[0] != "fixed":
        v.err(parts + ["category"], "{from: folder} and {map: ...} need a library entry (mesh: a folder "
                                    "or a glob, or bop_models)")
    has_mesh = o.get("mesh") is not None
    if has_mesh:
        _check_file(v, parts + ["mesh"], p.get("mesh"))
    _check_axes(v, parts, o)
    if o.get("category") is None and (p.get("mesh") is not None or p.get("primitive") is not None):
        o["category"] = Path(o["mesh"]).stem if has_mesh else o["primitive"]
    if isinstance(o.get("category"), str):
        p["category"] = o["category"]
    color = o.get("color")
    if color is not None and not re.fullmatch(_COLOUR, str(color)):
        v.err(parts + ["color"], f"expected a colour #rrggbb, got {color!r}")
    return n


def _check_library(v, parts: list, o: dict, p: dict) -> int:
    """A library entry: list its assets once (core/library.py); problems name the key at fault."""
    if any(p.get(k) is None for k in ("mesh", "bop_models", "category", "choose", "weights") if o.get(k) is not None):
        return 0                               # a value that did not parse: reported already
    try:
        p["library"] = resolve_library(o, p, v.base_dir)
    except InputError as e:
        v.err(parts + [e.where], e.what)
        return 0
    by_default = {default_up_axis(a.rel): a.rel for a in p["library"].assets}   # formats' up axes
    for rel in list(by_default.values())[:1 if o.get("up_axis") else None]:
        _check_axes(v, parts, {**o, "mesh": rel})
    color = o.get("color")
    if color is not None and not re.fullmatch(_COLOUR, str(color)):
        v.err(parts + ["color"], f"expected a colour #rrggbb, got {color!r}")
    return max_instances(p)


def _check_axes(v, parts: list, o: dict) -> None:
    """``forward`` must be perpendicular to ``up_axis`` (or to the format's default up axis)."""
    if o.get("forward") is None or o.get("forward") not in AXES or o.get("up_axis") not in AXES + (None,):
        return                                     # absent, or a bad name reported by the schema
    try:
        axis_rotation(o.get("up_axis") or default_up_axis(o.get("mesh")), o["forward"])
    except ValueError as e:
        v.err(parts + ["forward"], str(e))


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
    n = sum(max_instances(o) for o in sc.get("objects", []) if o)
    n += _largest(dist.get("count")) + 2                 # + the ground and the back plane
    n += len(sc.get("supports") or [])
    if n > MAX_INSTANCES:
        v.err(["scene", "distractors", "count"],
              f"objects, supports, distractors, ground and back plane can add up to {n} instances; at most "
              f"{MAX_INSTANCES} fit in Blender's object index")


def _check_distractor_meshes(v, d: dict, p: dict) -> None:
    """``scene.distractors.meshes``: a folder or glob listed once, as an object library is."""
    if p.get("meshes") is None:
        return
    if not is_library({"mesh": d["meshes"]}) and not p["meshes"].exists():
        v.err(["scene", "distractors", "meshes"], f"folder not found: {p['meshes']}")
        return
    if p["meshes"].is_file():
        v.err(["scene", "distractors", "meshes"], f"takes a folder or a glob of mesh files, not one file: "
                                                   f"{p['meshes']}")
        return
    try:
        p["library"] = resolve_library({"mesh": d["meshes"]}, {"mesh": p["meshes"]}, v.base_dir)
    except InputError as e:
        v.err(["scene", "distractors", "meshes"], e.what)


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
        _check_distractor_meshes(v, data["scene"]["distractors"], dist)
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
    for i, o in enumerate(sc.get("objects", [])):
        _check_keypoint_pairs(v, ["scene", "objects", i], o)


def _check_keypoint_pairs(v, parts: list, o: dict) -> None:
    """keypoint_flip and skeleton name keypoints of their own entry."""
    for key in ("keypoint_flip", "skeleton"):
        if o.get(key):
            if not o.get("keypoints"):
                v.err(parts + [key], "needs keypoints on the same entry")
                continue
            try:
                keypoint_pair_indices(o[key], [n for n, _ in o["keypoints"]], swap=key == "keypoint_flip")
            except ValueError as e:
                v.err(parts + [key], str(e))
