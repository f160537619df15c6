"""Placement (pure): ``scene.placement`` applied to the config objects and distractors drawn so far.

``free`` keeps the sampled poses; ``non_overlapping`` redraws poses (from the objects' own
distributions, stream ``placement``) until no two convex hulls overlap; ``physics`` drops every object
from its sampled pose and lets it settle on the ground or on others (core/placement.py). What was done
goes to ``spec.placement`` (meta ``placement``).
"""
from __future__ import annotations

import numpy as np

from ..asset_pose import entry_pose
from ..draw import plain
from ..geometry import geometry
from ..library import asset_file
from ..placement import non_overlapping, settle
from ..spec import ObjectKind
from .distractors import redraw_pose

ORDER = 60  # place in the frame's features (core/features/__init__.py)

MOVABLE = (ObjectKind.OBJECT, ObjectKind.DISTRACTOR)


def _geometry_of(config, o):
    if o.asset.startswith("primitive:"):
        return geometry(o.asset)
    return geometry(str(asset_file(config, o)))


def _redraw_fn(config, spec, by_id):
    def redraw(key, draw):
        o = by_id[key]
        if o.kind is ObjectKind.DISTRACTOR:
            return redraw_pose(config, o, draw, spec.camera)
        e = config.parsed["scene"]["objects"][o.entry]
        s = float(np.linalg.norm(np.asarray(o.obj2world)[:3, 0]))
        p = np.asarray(draw(e["position"], "position", multi=True), float)
        R = draw.rotation(e["rotation"], "rotation")
        return entry_pose(config, config.data["scene"]["objects"][o.entry], R * s, p, o.asset)
    return redraw


def sample(ctx) -> None:
    config, spec = ctx.config, ctx.spec
    method = config.data["scene"].get("placement") or "free"
    if method == "free":
        return
    movable = [o for o in spec.objects if o.kind in MOVABLE]
    by_id = {o.instance_id: o for o in movable}
    items = [(o.instance_id, _geometry_of(config, o), np.asarray(o.obj2world, float)) for o in movable]
    ground = config.data["scene"].get("ground")
    info: dict = {"method": method}
    if method == "non_overlapping":
        poses, redraws, failed = non_overlapping(items, _redraw_fn(config, spec, by_id), bool(ground),
                                                 ctx.stream("placement"))
        if redraws:
            spec.sampled["scene.placement.redraws"] = redraws
        info["redrawn"] = [r["instance_id"] for r in redraws]
        info["overlapping"] = failed
    else:
        drop = {o.instance_id: plain(np.asarray(o.obj2world, float)) for o in movable}
        poses, supports = settle(items, ground["size"] / 2.0 if ground else None)
        info["drop_poses"] = {str(k): v for k, v in drop.items()}
        info["supports"] = {str(k): (v if isinstance(v, str) else int(v)) for k, v in supports.items()}
    for k, T in poses.items():
        by_id[k].obj2world = T
    spec.placement = info
