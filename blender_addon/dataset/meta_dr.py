"""Domain-randomization additions to ``meta/NNNNNN.json`` (pure), all from the FrameSpec:

* each object: ``kind`` (object | ground | distractor | back_plane) and, where randomized, its
  ``material`` (the drawn values: HSV and linear RGB colours, roughness, metallic, specular, pattern,
  its scale, second colour and offset, the image);
* ``world``: the background's type and drawn parameters (replaces the uniform grey description);
* ``camera.dof`` / ``camera.motion_blur``: the effect's values (and how ground truth was taken);
* ``placement``: method, and for physics each object's drop pose and what it rests on;
* ``augment``: the post-render augmentation applied to ``rgb``;
* ``<name>``: what a feature's ``meta(spec)`` hook returns (core/features/__init__.py).
Ground truth beyond the render's passes (bbox3d, keypoints, amodal figures, visib_fract) is computed
by the output table (:mod:`synthblend.core.outputs`) and merged with :func:`add_ground_truth`.
"""
from __future__ import annotations

from ..core.features import FEATURES, NAMES


def extend_meta(meta: dict, spec) -> dict:
    by_id = {o.instance_id: o for o in spec.objects}
    for ob in meta["objects"]:
        o = by_id.get(ob["instance_id"])
        if o is None:
            continue
        ob["kind"] = o.kind.meta_name
        if getattr(o, "material", None) is not None:
            ob["material"] = o.material.to_meta()
        if getattr(o, "motion", None) is not None:
            ob["motion_translation"] = [float(x) for x in o.motion]
        if getattr(o, "asset_key", None) is not None:       # a library entry's chosen asset
            ob["asset_key"] = o.asset_key
        if getattr(o, "bop_obj_id", None) is not None:      # a BOP model set's obj id
            ob["bop_obj_id"] = int(o.bop_obj_id)
    if getattr(spec, "world", None) is not None:
        meta["world"] = spec.world.to_meta(spec.world_strength)
    if getattr(spec, "camera_fx", None) is not None:
        meta["camera"].update(spec.camera_fx.to_meta())
    if getattr(spec, "placement", None):
        meta["placement"] = spec.placement
    if getattr(spec, "augment", None):
        meta["augment"] = dict(spec.augment)
    for name, feature in zip(NAMES, FEATURES, strict=True):   # a feature's own meta hook, if it has one
        if hasattr(feature, "meta"):
            value = feature.meta(spec)
            if value is not None:
                meta[name] = value
    return meta


def add_ground_truth(meta: dict, extra: dict) -> dict:
    """Merge per-object ground truth ``{instance_id: {key: value}}`` into meta's objects."""
    for ob in meta["objects"]:
        d = extra.get(ob["instance_id"])
        if d:
            ob.update(d)
    return meta
