"""Distractors (pure): a random number of random primitives in the camera's view.

Each frame draws, from its own stream ``scene.distractors``: the count, then per distractor its
shape, size (``scale``: the primitive's 1 m extent becomes ``scale`` m), rotation and position.
``position: view`` picks a pixel uniformly over the image, follows its ray to the ground plane
(z = 0) and stands the distractor there, its lowest point ``height`` m above z = 0 (where the ray
misses the plane in front of the camera, or meets it beyond 4x the camera distance, the distractor
goes on the ray at the camera's look-at distance). Distractors get instance ids after the config
objects and before the ground; their category is ``scene.distractors.category`` (default none: 0).

With ``meshes`` (a folder or glob, listed once as a library: core/library.py) each distractor is one of
its assets instead of a shape, drawn uniformly from stream ``scene.distractors.meshes`` (so the
library's size moves no other draw) and scaled so that the mesh's largest bounding-box side is
``scale`` m; ``asset`` is then the file relative to the config's folder, ``asset_key`` its key.
"""
from __future__ import annotations

import numpy as np

from .. import camera as cam
from ..draw import Draw
from ..errors import InputError
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
    """Every shape a distractor can take (the engine builds a pool per shape); none with ``meshes``."""
    d = config.parsed["scene"].get("distractors")
    if not d or d.get("library") is not None:
        return []
    return list(dict.fromkeys(d["shapes"].values()))


def view_position(camera, rng, lowest_z: float, height: float) -> np.ndarray:
    """Where the ray through a uniformly drawn pixel meets z = 0; the object's origin placed so
    its lowest point is ``height`` above it. Returns the origin's world position."""
    W, H = camera.resolution
    u = rng.uniform(-0.5, W - 0.5)
    v = rng.uniform(-0.5, H - 0.5)
    c2w = np.asarray(camera.cam2world, float)
    ray = np.linalg.inv(camera.K) @ np.array([u, v, 1.0])       # the pinhole's
    lens = getattr(camera, "distortion", None)
    if lens:        # the pixel's own ray through the lens (none past a fisheye's 90 deg: the pinhole's)
        from ..distortion import undistort_pixels

        xy = undistort_pixels(np.array([[u, v]]), camera.K, lens)[0]
        if np.all(np.isfinite(xy)):
            ray = np.array([xy[0], xy[1], 1.0])
    d = c2w[:3, :3] @ ray
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
    """obj2world of one distractor (``shape``: a primitive's name, or a mesh file's absolute path;
    ``scale``: factor on its raw coordinates); records rotation, height, position."""
    R = draw.rotation(dcfg["rotation"], f"{PATH}.rotation")
    kind, pdist = dcfg["position"]
    if kind == "view":
        h = float(draw(dcfg["height"], f"{PATH}.height", multi=True))
        g = geometry(shape if "/" in shape or "\\" in shape else f"primitive:{shape}")
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
    lib = dcfg.get("library")
    pick = ctx.stream(f"{PATH}.meshes") if lib is not None else None
    for k in range(n):
        if lib is None:
            shape = draw(dcfg["shapes"], f"{PATH}.shapes", multi=True)
            asset, key, unit, geom = f"primitive:{shape}", None, 1.0, shape
        else:
            a = lib.assets[int(pick.integers(len(lib.assets)))]
            draw.record(f"{PATH}.meshes", a.key, multi=True)
            asset, key, unit, geom = a.rel, a.key, 1.0 / mesh_extent(a.path), str(a.path)
        scale = float(draw(dcfg["scale"], f"{PATH}.scale", multi=True))
        T = draw_pose(dcfg, geom, scale * unit, draw, ctx.spec.camera)
        slot = used.get(key or shape, 0)
        used[key or shape] = slot + 1
        ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"distractor_{k}", ObjectKind.DISTRACTOR, None,
                                           slot, category, cat_id, asset, T, (0.5, 0.5, 0.5), asset_key=key))


def mesh_extent(path) -> float:
    """Largest side of a mesh file's axis-aligned bounding box (its raw units)."""
    v = geometry(str(path)).vertices
    e = float(np.ptp(v, axis=0).max())
    if not e > 0:
        raise InputError(str(path), "mesh has zero extent (every vertex at one point)")
    return e


def redraw_pose(config, obj: ObjectSpec, draw: Draw, camera) -> np.ndarray:
    """A fresh pose for distractor ``obj`` (non_overlapping placement), same shape and size."""
    dcfg = config.parsed["scene"]["distractors"]
    if obj.asset_key is not None:
        shape = str(dcfg["library"].by_key[obj.asset_key].path)
    else:
        shape = obj.asset.split(":", 1)[1]
    scale = float(np.linalg.norm(np.asarray(obj.obj2world)[:3, 0]))
    return draw_pose(dcfg, shape, scale, draw, camera)
