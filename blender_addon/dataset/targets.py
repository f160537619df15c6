"""Training targets of one frame as numpy arrays (no torch): detection, instance, semantic, depth, pose.

What :mod:`.torch_data` wraps into torchvision tensors, computed from the frame's own maps and meta:

- Target objects: meta objects with ``category_id > 0`` (labelled; ground, distractors and
  unlabelled .blend objects are 0) and at least ``min_visible_pixels`` pixels of their
  ``instance_id`` in the instance map, in meta order (ascending ``instance_id`` as written).
- ``boxes``: float32 (N, 4) ``[x_min, y_min, x_max, y_max]`` in pixels from the instance map, with
  the pixel-edge convention of torchvision (and COCO): a box covers pixel columns ``x_min ..
  x_max - 1``, so ``x_max`` is the last column + 1. Meta's ``bbox_visib [x, y, w, h]`` (w = last
  column - first column + 1) is the same box: ``[x, y, x + w, y + h]``. Pixel (u, v) covers
  ``[u, u + 1) x [v, v + 1)`` here, while K puts its centre at (u, v): the box edges lie half a pixel
  outside the outermost pixel centres.
- ``labels``: int64 (N,) category ids (the manifest's ids, >= 1; 0 is background), ``instance_ids``
  int64 (N,), ``masks``: uint8 (N, H, W), 1 where the instance map holds the object.
- ``semantic``: int64 (H, W) category ids (the semantic output, else computed from the instance map
  and meta's category ids), 0 = background.
- ``depth``: float32 (H, W) planar depth in metres (along the optical axis), 0 where no surface;
  ``valid``: bool (H, W), depth > 0.
- ``K``: float32 (3, 3) OpenCV intrinsics (pixel centres at integers); ``obj2cam``: float32 (N, 4, 4)
  from each target object's raw asset coordinates (scale included) to the OpenCV camera frame
  (x right, y down, z forward; metres); ``scale``: float32 (N,) the asset scale folded into obj2cam.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from ..core.outputs import semantic_from_instance
from . import layout
from .masks import visibility

#: target name -> (what it holds, the dataset outputs it needs: every one of a tuple, or any of a set)
TARGETS = {
    "detection": ("boxes, labels, instance_ids", ("instance",)),
    "instance": ("boxes, labels, instance_ids, masks", ("instance",)),
    "semantic": ("semantic", {"semantic", "instance"}),
    "depth": ("depth, valid", ("depth",)),
    "pose": ("K, obj2cam, scale, boxes, labels, instance_ids", ("instance",)),
}

#: target keys with one entry per target object (first dimension N)
PER_INSTANCE = ("boxes", "labels", "instance_ids", "masks", "obj2cam", "scale")


def parse_targets(target, root) -> tuple[str, ...]:
    """``target`` (a name of :data:`TARGETS`, or a list of them) as a tuple; InputError if unknown."""
    if not isinstance(target, (str, list, tuple)):
        raise InputError(str(root), f"target: expected a target name or a list of them, got {target!r} "
                                    "(a function is transform=, or transforms= with a target)")
    names = (target,) if isinstance(target, str) else tuple(target)
    if not names:
        raise InputError(str(root), "target: expected a target name or a list of them, got none")
    for t in names:
        if t not in TARGETS:
            raise InputError(str(root), f"target: unknown target {t!r} (one of {', '.join(TARGETS)})")
    return names


def check_outputs(names, inputs, outputs, root) -> None:
    """InputError naming dataset.json when the dataset lacks an output a target or input needs."""
    where = str(root / layout.MANIFEST)
    for t in names:
        needs = TARGETS[t][1]
        if isinstance(needs, set) and not needs & set(outputs):
            raise InputError(where, f"outputs: target {t!r} needs one of {sorted(needs)}, "
                                    "which this dataset was rendered without")
        for out in () if isinstance(needs, set) else needs:
            if out not in outputs:
                raise InputError(where, f"outputs: target {t!r} needs the {out} output, which this "
                                        "dataset was rendered without")
    for name in inputs:
        if name not in outputs:
            raise InputError(where, f"outputs: input {name!r} is not an output of this dataset "
                                    f"(it has {', '.join(outputs)})")


def required(frame, output: str) -> np.ndarray:
    """The frame's ``output`` map; InputError naming its file if the file is missing."""
    a = frame.load(output)
    if a is None:
        raise InputError(str(frame.path(output)), f"missing: the frame has no {output} file")
    return a


def target_objects(frame, instance: np.ndarray, min_visible_pixels: int) -> list[tuple[dict, list]]:
    """``[(meta object, bbox_visib [x, y, w, h] from the instance map), ...]`` of the target objects."""
    labelled = [o for o in frame.objects if int(o.get("category_id") or 0) > 0]
    vis = visibility(instance, [o["instance_id"] for o in labelled])
    return [(o, vis[o["instance_id"]][1]) for o in labelled
            if vis[o["instance_id"]][0] >= min_visible_pixels]


def _instances(objs, instance: np.ndarray, with_masks: bool) -> dict[str, np.ndarray]:
    ids = np.array([o["instance_id"] for o, _ in objs], dtype=np.int64)
    boxes = np.array([[x, y, x + w, y + h] for _, (x, y, w, h) in objs], dtype=np.float32)
    out = {"boxes": boxes.reshape(-1, 4),
           "labels": np.array([o["category_id"] for o, _ in objs], dtype=np.int64),
           "instance_ids": ids}
    if with_masks:
        out["masks"] = (instance[None] == ids[:, None, None]).astype(np.uint8)
    return out


def _semantic(frame) -> np.ndarray:
    sem = frame.load("semantic")
    if sem is None:
        sem = semantic_from_instance(required(frame, "instance"),
                                     {o["instance_id"]: o.get("category_id") or 0 for o in frame.objects})
    return sem.astype(np.int64)


def _pose(frame, objs) -> dict[str, np.ndarray]:
    o2c = np.array([o.get("obj2cam") for o, _ in objs], dtype=np.float64).reshape(-1, 4, 4)
    # the asset scale folded into obj2cam: the length of its first column (uniform scale)
    scale = np.linalg.norm(o2c[:, :3, 0], axis=1)
    return {"K": frame.K.astype(np.float32), "obj2cam": o2c.astype(np.float32),
            "scale": scale.astype(np.float32)}


def frame_targets(frame, names, min_visible_pixels: int = 1) -> dict[str, np.ndarray]:
    """The keys of every target in ``names`` for one frame, merged into one dict of numpy arrays."""
    out: dict[str, np.ndarray] = {}
    if {"detection", "instance", "pose"} & set(names):
        instance = required(frame, "instance")
        objs = target_objects(frame, instance, min_visible_pixels)
        out.update(_instances(objs, instance, with_masks="instance" in names))
        if "pose" in names:
            missing = [o["instance_id"] for o, _ in objs if o.get("obj2cam") is None]
            if missing:
                raise InputError(str(frame.path("meta")),
                                 f"objects: instance {missing[0]} has no obj2cam (target 'pose')")
            out.update(_pose(frame, objs))
    if "semantic" in names:
        out["semantic"] = _semantic(frame)
    if "depth" in names:
        depth = required(frame, "depth").astype(np.float32)
        out["depth"], out["valid"] = depth, depth > 0
    return out
