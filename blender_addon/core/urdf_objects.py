"""URDF entries of ``scene.objects`` (pure): their config keys' checks and their per-frame draws.

An entry ``urdf: robot.urdf`` is by default ONE instance per ``count``: the visual parts of every link,
posed at the entry's joint values, merged into one mesh in the model's base frame (meta ``mesh``;
``obj2world`` maps the base frame to the world; asset ``urdf:<path as written>``). That needs the
joint values to be the same in every frame (constants, or none given). Joint values drawn per frame
(a distribution, or ``joints: random``: uniform within each joint's limits) need ``per_link: true``:
then each link with visual geometry is an instance of its own (its mesh in its link frame, asset
``urdf:<path>#<link>``, ``obj2world`` = base pose @ link pose, name ``<category>_<entry>_<k>_<link>``).

Draws, on the entry's stream ``scene.objects[i]`` after each instance's rotation: its joints in the
URDF's joint order, recorded as ``scene.objects[i].joints.<name>`` (degrees / meters).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import camera as cam
from .errors import InputError
from .spec import ObjectKind, ObjectSpec


def parse_joints(raw):
    """``None`` | ``"random"`` | ``{joint name: value or float distribution}`` (degrees / meters)."""
    from .distributions import parse

    if raw is None or raw == "random":
        return raw
    if not isinstance(raw, dict) or not raw:
        raise ValueError("expected random or a mapping {joint name: value or distribution}")
    return {str(k): parse(v, "float") for k, v in raw.items()}


def _joint_dists(model, joints) -> dict:
    """Joint name -> Dist of every joint the entry sets (``random``: uniform within its limits)."""
    from .distributions import parse

    if joints == "random":
        return {j.name: parse({"uniform": [j.lower, j.upper]}, "float") for j in model.joints}
    return dict(joints or {})


def check_entry(v, parts: list, o: dict, p: dict, placement: str | None) -> int:
    """Check a URDF entry (``o`` resolved, ``p`` parsed); parse the model into ``p["urdf_model"]``,
    the joints' distributions into ``p["urdf_joints"]`` and fill in the default category. Returns the
    objects one instance makes (its links with ``per_link``, else 1), for the instance limit."""
    from .urdf import load_model

    path = p.get("urdf")
    if path is None:
        return 1
    if not Path(path).is_file():
        v.err(parts + ["urdf"], f"file not found: {path}")
        return 1
    for k in ("up_axis", "forward", "rest_on_ground"):
        if o.get(k):
            v.err(parts + [k], "not for a URDF entry (URDF models are z-up, in meters)")
    try:
        model = load_model(path)
        visuals = model.parts               # every visual mesh loads (bad ones: exit 2 naming the file)
    except InputError as e:
        v.err(parts + ["urdf"], f"{e.where}: {e.what}" if e.where != str(path) else e.what)
        return 1
    if not visuals:
        v.err(parts + ["urdf"], f"no link of {path} has visual geometry")
        return 1
    if p.get("joints") is None and o.get("joints") is not None:
        return                              # did not parse: reported already
    dists = _joint_dists(model, p.get("joints"))
    names = {j.name: j for j in model.joints}
    for name, d in dists.items():
        if name not in names:
            v.err(parts + ["joints", name], f"no movable joint {name!r} in the URDF; movable joints: "
                                            f"{', '.join(names) or 'none'}")
            continue
        lo, hi = (min(d.values()), max(d.values())) if d.values() is not None else d.bounds()
        j = names[name]
        if lo < j.lower - 1e-9 or hi > j.upper + 1e-9:
            v.err(parts + ["joints", name], f"values [{lo:g}, {hi:g}] outside the joint's limits "
                                            f"[{j.lower:g}, {j.upper:g}] ({'m' if j.type == 'prismatic' else 'deg'})")
    drawn = any(d.is_random for d in dists.values())
    if drawn and not o.get("per_link"):
        v.err(parts + ["joints"], "joint values drawn per frame need per_link: true (one instance per link); "
                                  "the whole model as one instance needs constant joint values")
    if placement not in (None, "free"):
        v.err(parts + ["urdf"], f"placement {placement} does not move URDF models yet; use placement: free")
    p["urdf_model"], p["urdf_joints"] = model, dists
    if o.get("category") is None:
        o["category"] = Path(o["urdf"]).stem
    if isinstance(o.get("category"), str):
        p["category"] = o["category"]
    return len(model.links) if o.get("per_link") else 1


def urdf_asset(data: dict, link: str | None = None) -> str:
    """Meta's ``asset`` of a URDF instance: ``urdf:<path as written>`` (``#<link>`` per link)."""
    return f"urdf:{data['urdf']}" + (f"#{link}" if link is not None else "")


def fixed_joint_values(p: dict) -> dict:
    """The constant joint values of a whole-model entry (config units)."""
    return {k: float(d.sample(np.random.default_rng(0))) for k, d in p["urdf_joints"].items()}


def sample_urdf(ctx, i: int, o: dict, data: dict, d, color) -> None:
    """A URDF entry's instances on its stream ``d``: count, then per instance scale, position,
    rotation and joints; one ObjectSpec per instance, or per link (``per_link``)."""
    config = ctx.config
    base = f"scene.objects[{i}]"
    model = o["urdf_model"]
    n = d(o["count"], f"{base}.count")
    for k in range(n):
        s = d(o["scale"], f"{base}.scale", multi=True)
        p = d(o["position"], f"{base}.position", multi=True)
        R = d.rotation(o["rotation"], f"{base}.rotation")
        T = cam.pose_matrix(R @ np.diag([s, s, s]), p)
        values = {name: float(d(dist, f"{base}.joints.{name}", multi=True))
                  for name, dist in o["urdf_joints"].items()}
        cat, cid = o["category"], config.category_id(o["category"])
        if not data.get("per_link"):
            ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"{cat}_{i}_{k}", ObjectKind.OBJECT, i, k,
                                               cat, cid, urdf_asset(data), T, color))
            continue
        poses = model.link_poses(values)
        for link in model.links:
            ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"{cat}_{i}_{k}_{link}", ObjectKind.OBJECT,
                                               i, k, cat, cid, urdf_asset(data, link), T @ poses[link], color,
                                               asset_key=link_key(link)))


def link_key(link: str) -> str:
    """``asset_key`` of a link's instances (the source ``(OBJECT, entry, key)`` of its mesh): the link's
    name (the engine sanitises it for DIR/meshes)."""
    return link
