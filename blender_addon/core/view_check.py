"""Which targets a camera sees (pure, numpy): the cheap check behind ``camera.trajectory.
min_visible_targets`` (docs/views.md).

A *target* is a labelled config object (``ObjectKind.OBJECT`` with a category id > 0) whose triangles
the core can load (a mesh file, a library's asset or a primitive; URDF and .blend objects are neither
targets nor occluders here). A target is *visible* when the camera ray through
the centre of a pixel that one of its sample points projects to (the nearest pixel centre, inside the
image) first meets the target: its centre of mass and up to :data:`N_POINTS` of its vertices (every
k-th, in file order), in world coordinates by its ``obj2world``, in front of the camera (planar depth >
``clip_start``). The first hit is exact (:func:`synthblend.core.raycam.nearest_hit`, the rule of the
ground truth: pixel-centre rays, near clip at ``clip_start``) among the triangles of every object of
the scene (config objects, distractors, supports, the ground; the target itself, so its far side does
not count). With a lens distortion (``camera.distortion``) the points are projected through it and
the rays are the pixel centres' undistorted ones, as the ground truth's are. So a visible target has
at least one pixel in the instance map; the check is
conservative: a target whose pixels are not the nearest to any of its sample points is reported as
not visible.
"""
from __future__ import annotations

import numpy as np

from .assets import ground_plane
from .camera import invert_pose
from .distortion import distort_pixels, undistort_pixels
from .raycam import nearest_hit
from .spec import ObjectKind

N_POINTS = 64           # vertices sampled per target


def triangles_of(config, o):
    """(vertices, faces) of ObjectSpec ``o`` in its local frame (``obj2world`` maps them), or None
    where the core cannot load them (URDF models, a .blend's objects, the back plane)."""
    from .geometry import geometry
    from .library import asset_file

    if o.kind in (ObjectKind.OBJECT, ObjectKind.DISTRACTOR):
        if o.asset.startswith("primitive:"):
            g = geometry(o.asset)
        else:
            path = asset_file(config, o)
            if path is None:
                return None
            g = geometry(str(path))
        return g.vertices, g.faces
    if o.kind is ObjectKind.GROUND:
        return ground_plane(float(config.data["scene"]["ground"]["size"]))
    if o.kind is ObjectKind.SUPPORT:
        from .supports import support_arrays

        return support_arrays(config, o.entry)
    return None


def _world(V, T) -> np.ndarray:
    T = np.asarray(T, float)
    return np.asarray(V, float) @ T[:3, :3].T + T[:3, 3]


def com_raw(config, o) -> np.ndarray:
    """An object's centre of mass in its raw asset coordinates: :func:`synthblend.core.geometry.geometry`'s
    ``com`` (uniform density; the hull's for an open mesh); the origin where the core cannot load its
    triangles (URDF models)."""
    from .geometry import geometry
    from .library import asset_file

    if o.asset.startswith("primitive:"):
        return np.asarray(geometry(o.asset).com, float)
    path = asset_file(config, o)
    return np.zeros(3) if path is None else np.asarray(geometry(str(path)).com, float)


def _sample_points(config, o, V) -> np.ndarray:
    """Points in the object's local frame: its centre of mass, then up to N_POINTS vertices."""
    step = max(1, int(np.ceil(len(V) / N_POINTS)))
    return np.vstack([com_raw(config, o)[None], np.asarray(V, float)[::step]])


def visible_targets(config, objects, camera) -> list[int]:
    """Instance ids of the targets among ``objects`` (ObjectSpecs with their poses) that ``camera``
    (a CameraSpec) sees, by the rule of the module docstring, in instance-id order."""
    tris = {o.instance_id: triangles_of(config, o) for o in objects}
    tris = {k: v for k, v in tris.items() if v is not None}
    if not tris:
        return []
    w2c = invert_pose(camera.cam2world)
    Vs, Fs, owner, off = [], [], [], 0
    for o in objects:
        if o.instance_id in tris:
            V, F = tris[o.instance_id]
            Vs.append(_world(V, o.obj2world) @ w2c[:3, :3].T + w2c[:3, 3])
            Fs.append(np.asarray(F, np.int64) + off)
            owner.append(np.full(len(F), o.instance_id))
            off += len(V)
    V_cam, F_all, face_owner = np.concatenate(Vs), np.concatenate(Fs), np.concatenate(owner)
    K = np.asarray(camera.K, float)
    dist = getattr(camera, "distortion", None)     # the lens (core/distortion.py): its projection, its rays
    W, H = camera.resolution
    pixels, owners = [], []
    for o in sorted(objects, key=lambda o: o.instance_id):
        if o.kind is not ObjectKind.OBJECT or o.category_id <= 0 or o.instance_id not in tris:
            continue
        pc = _world(_sample_points(config, o, tris[o.instance_id][0]), o.obj2world) @ w2c[:3, :3].T + w2c[:3, 3]
        front = pc[:, 2] > camera.clip_start
        uv = distort_pixels(pc[front, :2] / pc[front, 2:3], K, dist)       # pinhole when dist is None
        px = np.unique(np.rint(uv).astype(np.int64), axis=0)             # the nearest pixel centres
        px = px[(px[:, 0] >= 0) & (px[:, 0] < W) & (px[:, 1] >= 0) & (px[:, 1] < H)]
        pixels.append(px)
        owners.append(np.full(len(px), o.instance_id))
    if not pixels or not sum(len(p) for p in pixels):
        return []
    px, owner = np.concatenate(pixels), np.concatenate(owners)
    xy = undistort_pixels(px.astype(np.float64), K, dist)       # the pixel centres' rays (exact inverse)
    has_ray = np.isfinite(xy[:, 0])                              # a fisheye past 90 deg has none
    px, owner, xy = px[has_ray], owner[has_ray], xy[has_ray]
    if not len(px):
        return []
    _, tri = nearest_hit(V_cam, F_all, xy, camera.clip_start, camera.clip_end)   # one cast for all
    seen = (tri >= 0) & (face_owner[np.maximum(tri, 0)] == owner)
    return sorted(int(i) for i in np.unique(owner[seen]))
