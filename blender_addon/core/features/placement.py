"""Placement (pure): ``scene.placement`` applied to the config objects and distractors drawn so far.

``free`` keeps the sampled poses; ``non_overlapping`` redraws poses (from the objects' own
distributions, stream ``placement``) until no two convex hulls overlap (core/placement.py);
``physics`` drops every object in Bullet (core/physics/) onto the floor, the static supports and each
other, and keeps the poses at rest. What was done goes to ``spec.placement`` (meta ``placement``).

Physics draws (docs/physics.md). Stream ``scene.physics``: per dropped body in instance-id order its
``drop_height`` and, with ``into``, its x, y over the support's opening (``scene.physics.into_xy``,
world m: where its centre of mass is released). Stream ``scene.objects[i].physics``: per instance of
entry i its density (or mass), friction, restitution, rolling friction, recorded in ``sampled`` under
``scene.objects[i].physics.<key>``. Distractors take the defaults of ``scene.objects[].physics``.
The sampled x, y and orientation are kept; the sampled height is replaced by the drop.
"""
from __future__ import annotations

import numpy as np

from ..asset_pose import entry_pose
from ..geometry import geometry
from ..library import asset_file
from ..placement import non_overlapping
from ..spec import ObjectKind
from .distractors import redraw_pose
from .physics_drop import place  # physics; its static colliders: physics_drop.STATIC_SOURCES

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
    if method == "physics":
        spec.placement = place(ctx, movable)
        return
    by_id = {o.instance_id: o for o in movable}
    items = [(o.instance_id, _geometry_of(config, o), np.asarray(o.obj2world, float)) for o in movable]
    ground = config.data["scene"].get("ground")
    poses, redraws, failed = non_overlapping(items, _redraw_fn(config, spec, by_id), bool(ground),
                                             ctx.stream("placement"))
    if redraws:
        spec.sampled["scene.placement.redraws"] = redraws
    for k, T in poses.items():
        by_id[k].obj2world = T
    spec.placement = {"method": method, "redrawn": [r["instance_id"] for r in redraws],
                      "overlapping": failed}


