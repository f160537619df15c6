"""Distractors (pure): a random number of random primitives in the camera's view.

Each frame draws, from its own stream ``scene.distractors``: the count, then per distractor its
shape, size (``scale``: the primitive's 1 m extent becomes ``scale`` m), rotation and position.
``position: view`` picks a pixel uniformly over the image, follows its ray to the ground plane
(z = 0) and stands the distractor there, its lowest point ``height`` m above z = 0 (where the ray
misses the plane in front of the camera, or meets it beyond 4x the camera distance, the distractor
goes on the ray at the camera's look-at distance). Distractors get instance ids after the config
objects and before the ground; their category is ``scene.distractors.category`` (default none: 0).
"""
from __future__ import annotations

import numpy as np

from .. import camera as cam
from ..draw import Draw
from ..geometry import geometry
from ..spec import ObjectKind, ObjectSpec

ORDER = 40  # place in the frame's features (core/features/__init__.py)

PATH = "scene.distractors"


def max_count(config) -> int:
    d = config.parsed["scene"].get("distractors")
    if not d:
        return 0
    c = d["count"]
    vals = c.values()
    return int(max(vals) if vals is not None else c.bounds()[1])


def shapes(config) -> list[str]:
    """Every shape a distractor can take (the engine builds a pool per shape)."""
    d = config.parsed["scene"].get("distractors")
    if not d:
        return []
    return list(dict.fromkeys(d["shapes"].values()))


def view_position(camera, rng, lowest_z: float, height: float) -> np.ndarray:
    """Where the ray through a uniformly drawn pixel meets z = 0; the object's origin placed so
    its lowest point is ``height`` above it. Returns the origin's world position."""
    W, H = camera.resolution
    u = rng.uniform(-0.5, W - 0.5)
    v = rng.uniform(-0.5, H - 0.5)
    c2w = np.asarray(camera.cam2world, float)
    d = c2w[:3, :3] @ (np.linalg.inv(camera.K) @ np.array([u, v, 1.0]))
    o = c2w[:3, 3]
    dist = float(np.linalg.norm(np.asarray(camera.look_at) - o))
    t = -o[2] / d[2] if abs(d[2]) > 1e-12 else -1.0
    if t > 0 and np.linalg.norm(t * d) <= 4.0 * dist:
        p = o + t * d
        p[2] = height - lowest_z
    else:
        p = o + d / np.linalg.norm(d) * dist
    return p


def draw_pose(dcfg, shape: str, scale: float, draw: Draw, camera, index: int | None = None):
    """(obj2world, position) of one distractor; records rotation, height, position."""
    R = draw.rotation(dcfg["rotation"], f"{PATH}.rotation")
    kind, pdist = dcfg["position"]
    if kind == "view":
        h = float(draw(dcfg["height"], f"{PATH}.height", multi=True))
        g = geometry(f"primitive:{shape}")
        lowest = float((g.vertices @ (R * scale).T)[:, 2].min())
        p = view_position(camera, draw.rng, lowest, h)
        draw.record(f"{PATH}.position", p, multi=True)
    else:
        p = np.asarray(draw(pdist, f"{PATH}.position", multi=True), float)
    return cam.pose_matrix(R * scale, p)


def sample(ctx) -> None:
    """The frame's distractors, instance ids after the config objects."""
    config = ctx.config
    dcfg = config.parsed["scene"].get("distractors")
    if not dcfg:
        return
    draw = ctx.draw(PATH)
    n = int(draw(dcfg["count"], f"{PATH}.count"))
    category = config.data["scene"]["distractors"].get("category")
    cat_id = config.category_id(category)
    used: dict[str, int] = {}
    for k in range(n):
        shape = draw(dcfg["shapes"], f"{PATH}.shapes", multi=True)
        scale = float(draw(dcfg["scale"], f"{PATH}.scale", multi=True))
        T = draw_pose(dcfg, shape, scale, draw, ctx.spec.camera)
        slot = used.get(shape, 0)
        used[shape] = slot + 1
        ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"distractor_{k}", ObjectKind.DISTRACTOR, None,
                                           slot, category, cat_id, f"primitive:{shape}", T, (0.5, 0.5, 0.5)))


def redraw_pose(config, obj: ObjectSpec, draw: Draw, camera) -> np.ndarray:
    """A fresh pose for distractor ``obj`` (non_overlapping placement), same shape and size."""
    dcfg = config.parsed["scene"]["distractors"]
    shape = obj.asset.split(":", 1)[1]
    scale = float(np.linalg.norm(np.asarray(obj.obj2world)[:3, 0]))
    return draw_pose(dcfg, shape, scale, draw, camera)
