"""Each pixel's surface point in its object's own frame (pure numpy; exact ray casts by :mod:`.raycam`):
the ``object_coords`` and ``nocs`` outputs, and the surface points optical flow moves (:mod:`.flow`).

Conventions: OpenCV camera frame (x right, y down, z forward), pixel (u, v) centred at (u, v), rays
through pixel centres ``K^-1 [u, v, 1]`` (with ``camera.distortion``: through the undistorted direction
of the pixel centre, :func:`.distortion.undistort_pixels`); object coordinates are the raw asset coordinates that the
frame's ``obj2world`` maps (as ``trimesh.load(path, force="mesh", process=False)`` reads the file, so
in the file's units, e.g. millimetres, before the object's scale).

How a pixel's point is found: the instance map names the pixel's object; its centre ray is cast
exactly (float64, :func:`.raycam.nearest_hit`) against that object's rendered triangles alone
(``geometry_of(o)``, local frame) posed by ``world2cam @ obj2world``, and the hit is expressed by its
barycentric weights in the hit triangle's *local* vertices, so the point lies on the asset's triangle
without the rounding of an inverse transform. Where the object's own triangles are not hit by the
centre ray (Cycles' float32 and this float64 cast can round a silhouette pixel differently), the
render's planar depth is unprojected instead and mapped by ``inverse(obj2cam)``.

NOCS (Wang et al. 2019, "Normalized Object Coordinate Space"): ``nocs = (X - c) / d + 0.5`` with ``c``
the centre and ``d`` the diagonal length of the axis-aligned box of the object's rendered vertices in
its own coordinates, so an object fits the unit cube [0, 1]^3 with its box centred at 0.5
(:func:`nocs_from_object_coords` turns a dataset's ``object_coords`` into it with meta ``bbox3d`` or
the ``meshes/`` file).
"""
from __future__ import annotations

import numpy as np

from . import distortion as lens
from .camera import invert_pose
from .raycam import _clip_near, _plane_depth, barycentric, nearest_hit

_CACHE = "_surface_local"
FEW_TRIANGLES = 16      # meshes with at most this many triangles (a ground plane: 2) take the direct test


def few_triangles_hit(V_cam, F, xy, clip_start: float, clip_end: float = np.inf):
    """:func:`.raycam.nearest_hit` for a mesh of a few triangles, without its 2-D binning: every ray
    against every (near-clipped) triangle, with the same tests and formulas, so the same (depth,
    triangle) results, at a cost of rays x triangles (a ground plane seen by 300k pixels: 0.05 s
    instead of 1.5 s)."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    depth = np.full(len(xy), np.inf)
    tri = np.full(len(xy), -1, np.int64)
    V, F = np.asarray(V_cam, np.float64), np.asarray(F, np.int64)
    if len(F) and len(xy):
        T, src = _clip_near(V[F], float(clip_start))
        Q = T[:, :, :2] / T[:, :, 2:3]
        px, py = xy[:, 0], xy[:, 1]
        for k in range(len(T)):
            a, b, c = Q[k]
            area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            if not abs(area) > 0:
                continue
            sgn = 1.0 if area >= 0 else -1.0
            inside = np.ones(len(xy), bool)
            for u, v in ((a, b), (b, c), (c, a)):
                inside &= sgn * ((v[0] - u[0]) * (py - u[1]) - (v[1] - u[1]) * (px - u[0])) >= -1e-14
            idx = np.flatnonzero(inside)
            if len(idx) == 0:
                continue
            t = _plane_depth(np.broadcast_to(T[k], (len(idx), 3, 3)), xy[idx])
            ok = np.isfinite(t) & (t >= clip_start * (1 - 1e-12)) & (t <= clip_end)
            idx, t = idx[ok], t[ok]
            better = (t < depth[idx]) | ((t == depth[idx]) & (src[k] < tri[idx]))
            depth[idx[better]], tri[idx[better]] = t[better], src[k]
    depth[~np.isfinite(depth)] = np.nan
    return depth, tri


def surface_points(f) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 float64 surface points in each pixel's object's raw asset coordinates, HxW int64
    instance id, 0 = no hit) of FrameData ``f`` (spec, depth, instance, geometry_of); computed once
    per FrameData (cached on it: optical flow and object coordinates share it)."""
    cached = f.__dict__.get(_CACHE)
    if cached is not None:
        return cached
    c = f.spec.camera
    K = np.asarray(c.K, np.float64)
    Kinv = np.linalg.inv(K)
    dist = getattr(c, "distortion", None)      # camera.distortion (core/distortion.py) or None
    w2c = invert_pose(c.cam2world)
    W, H = (int(x) for x in c.resolution)
    clip = (float(c.clip_start), float(c.clip_end))
    inst = np.asarray(f.instance).astype(np.int64).ravel()
    depth = np.asarray(f.depth, np.float64).ravel()
    out = np.zeros((H * W, 3), np.float64)
    owner = np.zeros(H * W, np.int64)
    for o in f.spec.objects:
        pix = np.flatnonzero(inst == o.instance_id)
        if len(pix) == 0:
            continue
        v, u = np.divmod(pix, W)
        if dist is None:
            d = np.stack([u, v, np.ones(len(u))], 1).astype(np.float64) @ Kinv.T
            xy = d[:, :2] / d[:, 2:3]
        else:                       # the ray through the undistorted direction of the pixel centre
            xy = lens.undistort_pixels(np.stack([u, v], 1).astype(np.float64), K, dist)
            xy = np.where(np.isfinite(xy), xy, 0.0)   # no ray there: the render has no hit either
        T = w2c @ np.asarray(o.obj2world, np.float64)
        V, F = f.geometry_of(o)
        V = np.asarray(V, np.float64)
        F = np.asarray(F, np.int64)
        hit = np.zeros(len(pix), bool)
        if len(F):
            Vc = V @ T[:3, :3].T + T[:3, 3]
            cast = few_triangles_hit if len(F) <= FEW_TRIANGLES else nearest_hit
            t_hit, tri = cast(Vc, F, xy, *clip)
            hit = tri >= 0
            if hit.any():
                bary = barycentric(Vc, F, tri[hit], xy[hit], t_hit[hit])
                tri_v = V[F[tri[hit]]]                                # Rx3(vertex)x3(xyz), local
                out[pix[hit]] = np.einsum("rk,rkj->rj", bary, tri_v)
        miss = ~hit & (depth[pix] > 0)
        if miss.any():                                                # fallback: the render's depth
            P = np.concatenate([xy[miss], np.ones((int(miss.sum()), 1))], 1) * depth[pix[miss], None]
            Tinv = np.linalg.inv(T)
            out[pix[miss]] = P @ Tinv[:3, :3].T + Tinv[:3, 3]
        owner[pix[hit | miss]] = o.instance_id
    result = (out.reshape(H, W, 3), owner.reshape(H, W))
    f.__dict__[_CACHE] = result
    return result


def object_coords_map(f) -> np.ndarray:
    """HxWx3 float32: each pixel's surface point in its object's raw asset coordinates, 0 where
    nothing is hit (the ``object_coords`` output)."""
    P, _ = surface_points(f)
    return P.astype(np.float32)


def local_box(V) -> tuple[np.ndarray, np.ndarray]:
    """(centre, diagonal length) of the axis-aligned box of vertices ``V`` (Nx3, local frame)."""
    V = np.asarray(V, np.float64)
    lo, hi = V.min(0), V.max(0)
    return (lo + hi) / 2.0, float(np.linalg.norm(hi - lo))


def nocs_from_object_coords(coords, instance, boxes: dict) -> np.ndarray:
    """NOCS map (HxWx3 float32, 0 where no hit or no box) from an ``object_coords`` map, the
    instance map and ``boxes``: ``{instance_id: (local_min, local_max)}`` (meta ``bbox3d``'s
    ``local_min``/``local_max``, or a mesh's vertex bounds): ``(X - centre) / diagonal + 0.5``."""
    X = np.asarray(coords, np.float64)
    inst = np.asarray(instance).astype(np.int64)
    out = np.zeros(X.shape, np.float64)
    for iid, (lo, hi) in boxes.items():
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        diag = float(np.linalg.norm(hi - lo))
        m = inst == int(iid)
        if diag > 0 and m.any():
            out[m] = (X[m] - (lo + hi) / 2.0) / diag + 0.5
    return out.astype(np.float32)


def nocs_map(f) -> np.ndarray:
    """HxWx3 float32 NOCS map of FrameData ``f`` (the ``nocs`` output; see the module docstring),
    boxes from the rendered vertices ``geometry_of(o)``."""
    P, owner = surface_points(f)
    boxes = {}
    for o in f.spec.objects:
        V = np.asarray(f.geometry_of(o)[0], np.float64)
        if len(V) and (owner == o.instance_id).any():
            boxes[o.instance_id] = (V.min(0), V.max(0))
    return nocs_from_object_coords(P, owner, boxes)
