"""Optical flow between the frames of a scene or sequence (pure numpy): the ``flow_forward`` and
``flow_backward`` outputs.

Units and frames: pixels, OpenCV image axes (u right, v down), pixel (u, v) centred at (u, v);
cameras in the OpenCV camera frame (x right, y down, z forward), meters.

For every pixel with a surface (instance id > 0) of frame t:

1. its surface point in its object's own (raw asset) coordinates, from an exact ray cast of the pixel
   centre against that object's triangles (:func:`.object_coords.surface_points`; the render's depth
   where that misses);
2. moved with its object: world point at the other frame ``o = t +- 1`` = ``obj2world_o @ X`` (static
   objects, the ground included, have the same ``obj2world`` and stay); the object is found in the
   other frame by its instance id (constant over a scene or sequence);
3. projected with the other frame's camera: ``p_o = K_o [R|t]_world2cam_o``, ``z_o`` its planar depth
   (through the other camera's lens distortion when it has one, :func:`.distortion.distort_pixels`).

``U, V = p_o - (u, v)``. ``valid`` is 1 when the point is seen in the other frame, by a depth test
against that frame's depth and instance maps at the pixel ``q = floor(p_o + 0.5)`` (the pixel whose
area holds ``p_o``): ``p_o`` inside the image (``-0.5 <= u_o < W - 0.5``, same for v),
``z_o >= clip_start``, q has a surface of the SAME instance id, and

    |z_o - depth_o[q]| <= 1 mm + 2 % z_o + |u_o - q_u| s_u + |v_o - q_v| s_v

where ``s_u`` (``s_v``) is the smaller absolute depth difference between q and its left or right
(upper or lower) neighbour pixel of the same instance (0 where neither is): the surface's slope per
pixel from its smoother side, so a surface seen at a grazing angle (the ground towards the horizon)
is not taken for occluded by the depth it gains over the fraction of a pixel between ``p_o`` and q's
centre; the 1 mm + 2 % absorb curvature and the depth map's rounding. Otherwise (occluded there,
out of the image, the object absent there, no surface here, or no other frame: the last frame's
forward and the first frame's backward flow) ``valid = U = V = 0``.
"""
from __future__ import annotations

import numpy as np

from . import distortion as lens
from .camera import invert_pose
from .object_coords import surface_points

DEPTH_TOL_M = 1e-3
DEPTH_TOL_REL = 0.02


def _moved_to(points, owner, other_spec) -> tuple[np.ndarray, np.ndarray]:
    """(Nx3 world points at the other frame, N bool: the object exists there) of local ``points``
    (Nx3) owned by instance ids ``owner`` (N)."""
    poses = {o.instance_id: np.asarray(o.obj2world, np.float64) for o in other_spec.objects}
    out = np.zeros_like(points)
    found = np.zeros(len(points), bool)
    for iid in np.unique(owner):
        T = poses.get(int(iid))
        if T is None:
            continue
        m = owner == iid
        out[m] = points[m] @ T[:3, :3].T + T[:3, 3]
        found[m] = True
    return out, found


def slope_maps(D, inst) -> tuple[np.ndarray, np.ndarray]:
    """(s_u, s_v), HxW: at each pixel of depth map ``D`` (m) with instance map ``inst``, the smaller
    absolute depth step to the left/right (up/down) neighbour of the same instance with a surface, m
    per pixel (0 where there is none): the local slope of the surface, from its smoother side."""
    out = []
    for axis in (1, 0):
        best = np.full(D.shape, np.inf)
        for shift in (-1, 1):
            nd = np.full(D.shape, np.nan)
            ni = np.full(inst.shape, -1, np.int64)
            src = [slice(None)] * 2
            dst = [slice(None)] * 2
            src[axis], dst[axis] = (slice(None, -1), slice(1, None)) if shift < 0 else (slice(1, None), slice(None, -1))
            nd[tuple(dst)], ni[tuple(dst)] = D[tuple(src)], inst[tuple(src)]     # the neighbour at index + shift
            ok = (ni == inst) & (nd > 0)
            best = np.where(ok, np.minimum(best, np.abs(np.where(ok, nd, 0.0) - D)), best)
        out.append(np.where(np.isfinite(best), best, 0.0))
    return out[0], out[1]


def depth_tolerance(z, offset, s_u, s_v) -> np.ndarray:
    """How far (m) a visible point's depth ``z`` may be from the depth at the pixel centre nearest to
    it, ``offset`` (Nx2, px) away: ``DEPTH_TOL_M + DEPTH_TOL_REL * z + |du| s_u + |dv| s_v``."""
    off = np.abs(np.asarray(offset, np.float64))
    return DEPTH_TOL_M + DEPTH_TOL_REL * z + off[:, 0] * s_u + off[:, 1] * s_v


def flow_between(f, other) -> np.ndarray:
    """HxWx3 float32 (U, V, valid) from FrameData ``f`` to FrameData ``other`` (its next or previous
    frame in the scene, or None: all invalid). See the module docstring."""
    c = f.spec.camera
    W, H = (int(x) for x in c.resolution)
    out = np.zeros((H, W, 3), np.float32)
    if other is None:
        return out
    P, owner = surface_points(f)
    pix = np.flatnonzero(owner.ravel() > 0)
    if len(pix) == 0:
        return out
    own = owner.ravel()[pix]
    Pw, found = _moved_to(P.reshape(-1, 3)[pix], own, other.spec)
    oc = other.spec.camera
    w2c = invert_pose(oc.cam2world)
    Pc = Pw @ w2c[:3, :3].T + w2c[:3, 3]
    z = Pc[:, 2]
    front = found & (z >= float(oc.clip_start))
    odist = getattr(oc, "distortion", None)
    if odist is None:
        uvw = Pc @ np.asarray(oc.K, np.float64).T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.where(front[:, None], uvw[:, :2] / np.where(front, z, 1.0)[:, None], 0.0)
    else:                           # through the other camera's lens distortion (core/distortion.py)
        xy = Pc[:, :2] / np.where(front, z, 1.0)[:, None]
        uv = lens.distort_pixels(xy, oc.K, odist)
        front &= np.isfinite(uv).all(1)
        uv = np.where(front[:, None], uv, 0.0)
    Wo, Ho = (int(x) for x in oc.resolution)
    inside = front & (uv[:, 0] >= -0.5) & (uv[:, 0] < Wo - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < Ho - 0.5)
    q = np.floor(uv + 0.5).astype(np.int64)
    qu, qv = np.clip(q[:, 0], 0, Wo - 1), np.clip(q[:, 1], 0, Ho - 1)
    D = np.asarray(other.depth, np.float64)
    inst_o = np.asarray(other.instance).astype(np.int64)
    d_o, i_o = D[qv, qu], inst_o[qv, qu]
    s_u, s_v = slope_maps(D, inst_o)
    tol = depth_tolerance(z, uv - np.stack([qu, qv], 1), s_u[qv, qu], s_v[qv, qu])
    valid = inside & (d_o > 0) & (i_o == own) & (np.abs(z - d_o) <= tol)
    v, u = np.divmod(pix, W)
    flow = np.where(valid[:, None], uv - np.stack([u, v], 1), 0.0)
    o = out.reshape(-1, 3)
    o[pix, 0], o[pix, 1], o[pix, 2] = flow[:, 0], flow[:, 1], valid
    return out


def flow_forward(f) -> np.ndarray:
    """Flow to the next frame of the scene (``f.next``; None at the scene's last frame)."""
    return flow_between(f, getattr(f, "next", None))


def flow_backward(f) -> np.ndarray:
    """Flow to the previous frame of the scene (``f.prev``; None at the scene's first frame)."""
    return flow_between(f, getattr(f, "prev", None))
