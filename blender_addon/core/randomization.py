"""Domain randomization on top of the base sample (pure): distractors, placement, materials, world,
camera effects and augmentation parameters.

:func:`randomize` runs at the end of :func:`synthblend.core.sampling.sample`. Every feature draws
from its own named stream of (seed, frame), so turning one on changes no draw of the others and no
draw of the base scene (camera, lights, object poses). Instance ids: config objects (as before),
then distractors, then the ground, then the back plane (``world.type: image``).
"""
from __future__ import annotations

import numpy as np

from . import camera as cam
from .background import back_plane_object, sample_world
from .camera_fx import sample_augment, sample_camera_fx
from .distractors import redraw_pose, sample_distractors
from .dr_common import geometry, plain
from .materials import assign_materials
from .placement import non_overlapping, settle


def _geometry_of(config, o):
    if o.asset.startswith("primitive:"):
        return geometry(o.asset)
    return geometry(str(config.parsed["scene"]["objects"][o.entry]["mesh"]))


def _redraw_fn(config, spec, by_id):
    def redraw(key, draw):
        o = by_id[key]
        if o.kind == "distractor":
            return redraw_pose(config, o, draw, spec.camera)
        e = config.parsed["scene"]["objects"][o.entry]
        s = float(np.linalg.norm(np.asarray(o.obj2world)[:3, 0]))
        p = np.asarray(draw(e["position"], "position", multi=True), float)
        R = draw.rotation(e["rotation"], "rotation")
        return cam.pose_matrix(R * s, p)
    return redraw


def place(config, spec, seed: int, frame: int, stream) -> None:
    """Apply ``scene.placement`` to the config objects and distractors of ``spec`` (in place)."""
    method = config.data["scene"].get("placement") or "free"
    if method == "free":
        return
    movable = [o for o in spec.objects if o.kind in ("object", "distractor") and
               (o.kind == "distractor" or o.entry >= 0)]
    by_id = {o.instance_id: o for o in movable}
    items = [(o.instance_id, _geometry_of(config, o), np.asarray(o.obj2world, float)) for o in movable]
    ground = config.data["scene"].get("ground")
    info: dict = {"method": method}
    if method == "non_overlapping":
        poses, redraws, failed = non_overlapping(items, _redraw_fn(config, spec, by_id), bool(ground),
                                                 stream(seed, frame, "placement"))
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


def randomize(config, spec, stream) -> None:
    """Add the domain-randomization parts to ``spec`` (in place)."""
    seed, frame = spec.seed, spec.frame
    ground = [o for o in spec.objects if o.entry == -1 and o.asset == "ground"]
    others = [o for o in spec.objects if not (o.entry == -1 and o.asset == "ground")]
    for g in ground:
        g.kind = "ground"
    next_id = 1 + max((o.instance_id for o in others), default=0)
    dis = sample_distractors(config, seed, frame, spec.sampled, spec.camera, stream, next_id)
    next_id += len(dis)
    for g in ground:
        g.instance_id = next_id
        next_id += 1
    spec.objects = others + dis + ground
    place(config, spec, seed, frame, stream)
    assign_materials(config, spec, seed, frame, stream)
    spec.world = sample_world(config, seed, frame, spec.sampled, stream)
    if spec.world is not None and spec.world.type == "image":
        spec.objects.append(back_plane_object(config, spec, spec.world, next_id))
    spec.camera_fx = sample_camera_fx(config, spec, seed, frame, stream)
    spec.augment = sample_augment(config, spec.sampled, stream(seed, frame, "augment"))
