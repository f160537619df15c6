"""Ground truth beyond the render's passes (pure numpy; exact ray casts by :mod:`.raycam`):
3-D boxes, keypoints with visibility, amodal masks and visible fractions, camera-frame normals.

Conventions: OpenCV camera frame (x right, y down, z forward), pixel (u, v) centred at (u, v), rays
through pixel centres ``K^-1 [u, v, 1]`` (so a hit's ray parameter is its planar depth), meters.
With a lens distortion (``spec.camera.distortion``, core/distortion.py) every map and projection is
that of the distorted camera: a pixel's ray is the converged undistortion of ``K^-1 [u, v, 1]``
(still scaled to z = 1; none for a fisheye pixel at theta >= 90 deg) and a point projects to
``K distort(x / z, y / z)`` (``corners_px``, keypoints' ``uv``); a keypoint counts as inside the image
only where that projection is the point's own pixel (undistorting it gives its ray back), not where a
model folds back from outside the image.

* ``bbox3d``: the axis-aligned box of the mesh's rendered vertices in the asset's own coordinates
  (``local_min``, ``local_max``), its 8 corners in the camera frame (``corners_cam``) and projected
  (``corners_px``, through K; a corner behind the camera has no meaningful projection: check its z).
  Corner k takes x from max if bit 0 of k is set (else min), y from bit 1, z from bit 2:
  0 = (x0, y0, z0), 1 = (x1, y0, z0), 2 = (x0, y1, z0), 3 = (x1, y1, z0), 4 = (x0, y0, z1), ...
  ``center_cam``, ``size`` (edge lengths in meters, scale included) and ``R_box2cam`` (the box's axes
  in the camera frame) complete it.
* ``keypoints``: the config's points (asset coordinates) -> ``xyz_cam``, ``uv`` (pixels), and
  ``visibility`` as COCO counts it: 0 outside the image (or behind the camera / clipped), 1 inside
  but hidden (a surface of any object, itself included, lies in front of it along its ray: more than
  ``max(0.1 mm, 1e-4 z)`` nearer), 2 visible.
* amodal: the object ALONE, ray cast exactly through every pixel centre (its triangles as rendered);
  hits nearer than ``clip_start`` or farther than ``clip_end`` (planar) do not count. The mask is
  joined with the object's visible pixels of the instance map, so ``visible <= amodal`` holds even
  where Cycles and this float64 ray cast round a silhouette pixel differently. ``px_count_all`` counts it,
  ``bbox_obj`` boxes it (``[x, y, w, h]``, w = xmax - xmin + 1) and ``visib_fract`` =
  ``px_count_visib / px_count_all`` (BOP's definition; 0 for an object not in the image).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import distortion as lens
from .camera import invert_pose
from .raycam import barycentric, first_hits_by_radius, nearest_depth, nearest_hit, pixel_xy

DR_GT_KINDS = ("object", "distractor")


def to_cam(V, obj2cam) -> np.ndarray:
    T = np.asarray(obj2cam, np.float64)
    return np.asarray(V, np.float64) @ T[:3, :3].T + T[:3, 3]


def project(K, P_cam, dist=None) -> np.ndarray:
    """Camera-frame points (Nx3) -> pixels (Nx2). Without ``dist``: ``K P / z`` (a point behind the
    camera still gets this, meaningless, value); with one: ``K distort(x / z, y / z)``, NaN for
    z <= 0."""
    P = np.asarray(P_cam, np.float64)
    if dist:
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = P[:, :2] / P[:, 2:3]
        xy[P[:, 2] <= 0] = np.nan
        return lens.distort_pixels(xy, K, dist)
    uvw = P @ np.asarray(K, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return uvw[:, :2] / uvw[:, 2:3]


def image_xy(K, size, dist) -> np.ndarray:
    """(H*W)x2 undistorted normalized coordinates of every pixel centre's ray, row-major (NaN: no
    ray); cached for the last few cameras (a read-only array)."""
    W, H = (int(x) for x in size)
    key = tuple(sorted((k, v) for k, v in (dist or {}).items()))
    return _image_xy(np.asarray(K, np.float64).tobytes(), W, H, key)


@lru_cache(maxsize=4)
def _image_xy(K_bytes: bytes, W: int, H: int, dist_items: tuple) -> np.ndarray:
    K = np.frombuffer(K_bytes, np.float64).reshape(3, 3)
    xy, _ = pixel_xy(K, 0, 0, W, H, dict(dist_items) or None)
    xy.setflags(write=False)
    return xy


def own_pixel(uv, xy, K, dist) -> np.ndarray:
    """Where the projection ``uv`` (Nx2) of rays ``xy`` (Nx2, undistorted normalized) is the point's
    own pixel: its undistortion gives the ray back (to 1e-9), which fails only where a distortion
    folds back from outside its one-to-one region. Without ``dist``: all True."""
    if not dist:
        return np.ones(len(uv), bool)
    back = lens.undistort_pixels(uv, K, dist)
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(back - xy) <= 1e-9 * (1 + np.abs(xy)), axis=1)


def bbox3d(V, obj2cam, K, dist=None) -> dict:
    V = np.asarray(V, np.float64)
    lo, hi = V.min(0), V.max(0)
    k = np.arange(8)
    corners = np.stack([np.where(k & 1, hi[0], lo[0]), np.where(k & 2, hi[1], lo[1]),
                        np.where(k & 4, hi[2], lo[2])], axis=1)
    T = np.asarray(obj2cam, np.float64)
    cc = to_cam(corners, T)
    s = np.linalg.norm(T[:3, :3], axis=0)
    return {
        "local_min": lo.tolist(), "local_max": hi.tolist(),
        "corners_cam": cc.tolist(), "corners_px": project(K, cc, dist).tolist(),
        "center_cam": to_cam(((lo + hi) / 2)[None], T)[0].tolist(),
        "size": ((hi - lo) * s).tolist(),
        "R_box2cam": (T[:3, :3] / s).tolist(),
    }


def keypoints(points, obj2cam, K, size, clip, scene_V, scene_F, dist=None) -> list[dict]:
    """``points``: [(name, (x, y, z))] in asset coordinates; ``scene_*``: every triangle of the
    frame in the camera frame (occluders); ``dist``: the lens distortion (None: pinhole)."""
    W, H = size
    names = [n for n, _ in points]
    P = to_cam(np.array([p for _, p in points], np.float64), obj2cam)
    uv = project(K, P, dist)
    z = P[:, 2]
    with np.errstate(invalid="ignore"):
        inside = (z > clip[0]) & (z < clip[1]) & (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) \
            & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
    if dist and inside.any():
        i = np.flatnonzero(inside)
        inside[i] = own_pixel(uv[i], P[i, :2] / z[i, None], K, dist)
    vis = np.zeros(len(P), np.int64)
    if inside.any():
        zin = z[inside]
        t = nearest_depth(scene_V, scene_F, P[inside, :2] / zin[:, None], clip[0], clip[1])
        hidden = np.isfinite(t) & (t < zin - np.maximum(1e-4, 1e-4 * zin))
        vis[inside] = np.where(hidden, 1, 2)
    return [{"name": n, "xyz_cam": P[i].tolist(), "uv": uv[i].tolist(), "visibility": int(vis[i])}
            for i, n in enumerate(names)]


def amodal_mask(V_cam, F, K, size, clip, dist=None) -> np.ndarray:
    """HxW bool: pixels whose centre ray hits the triangles (camera frame) within the clip range
    (``dist``: the lens distortion, None: pinhole)."""
    W, H = size
    mask = np.zeros((H, W), bool)
    V_cam = np.asarray(V_cam, np.float64)
    if len(F) == 0 or np.all(V_cam[:, 2] <= clip[0]):
        return mask
    if dist:
        return _amodal_distorted(V_cam, F, K, size, clip, dist)
    x0, y0, x1, y1 = 0, 0, W, H
    if np.all(V_cam[:, 2] > 1e-9):
        uv = project(K, V_cam)
        x0 = max(0, int(np.floor(uv[:, 0].min())) - 1)
        y0 = max(0, int(np.floor(uv[:, 1].min())) - 1)
        x1 = min(W, int(np.ceil(uv[:, 0].max())) + 2)
        y1 = min(H, int(np.ceil(uv[:, 1].max())) + 2)
    if x0 >= x1 or y0 >= y1:
        return mask
    xy, shape = pixel_xy(K, x0, y0, x1, y1)
    t = nearest_depth(V_cam, F, xy, clip[0], clip[1])
    mask[y0:y1, x0:x1] = np.isfinite(t).reshape(shape)
    return mask


def _amodal_distorted(V_cam, F, K, size, clip, dist) -> np.ndarray:
    """:func:`amodal_mask` of a distorted camera: the rays of the whole image, limited to those whose
    direction lies in the box of the vertices' directions when all are in front (exact: a ray meets
    a triangle in front of the camera only inside the triangle's projection onto z = 1)."""
    W, H = size
    xy = image_xy(K, size, dist)
    ok = np.isfinite(xy[:, 0])
    if np.all(V_cam[:, 2] > 1e-9):
        q = V_cam[:, :2] / V_cam[:, 2:3]
        lo, hi = q.min(0), q.max(0)
        with np.errstate(invalid="ignore"):
            ok &= np.all((xy >= lo) & (xy <= hi), axis=1)
    rows = np.flatnonzero(ok)
    mask = np.zeros(H * W, bool)
    if len(rows):       # grouped by radius: a fisheye's rays are far from evenly spread
        ray, _, _ = first_hits_by_radius(V_cam, F, xy[rows], clip[0], clip[1], 1 << 15)
        mask[rows[ray]] = True
    return mask.reshape(H, W)


def normals_map(spec, geometry_of, vertex_normals_of, instance) -> np.ndarray:
    """HxWx3 float32 unit normals in the OpenCV camera frame at every pixel centre's hit; 0 where
    nothing is hit. Each pixel's object is the instance map's; its ray is cast against that object's
    triangles alone. Flat-shaded meshes give the face normal; smooth-shaded ones
    (``vertex_normals_of(o)`` not None: Blender's vertex normals) the interpolated, renormalized
    vertex normal, as Cycles shades them. Normals face the camera (a back face's is flipped, as
    Cycles does)."""
    c = spec.camera
    K = np.asarray(c.K, np.float64)
    w2c = invert_pose(c.cam2world)
    W, H = (int(x) for x in c.resolution)
    clip = (float(c.clip_start), float(c.clip_end))
    inst = np.asarray(instance).ravel()
    out = np.zeros((H * W, 3), np.float64)
    Kinv = np.linalg.inv(K)
    dist = getattr(c, "distortion", None)
    all_xy = image_xy(K, (W, H), dist) if dist else None
    for o in spec.objects:
        pix = np.flatnonzero(inst == o.instance_id)
        if all_xy is not None:
            pix = pix[np.isfinite(all_xy[pix, 0])]
        if len(pix) == 0:
            continue
        if all_xy is not None:
            xy = all_xy[pix]
        else:
            v, u = np.divmod(pix, W)
            d = np.stack([u, v, np.ones(len(u))], 1).astype(np.float64) @ Kinv.T
            xy = d[:, :2] / d[:, 2:3]
        V, F = geometry_of(o)
        F = np.asarray(F, np.int64)
        T = w2c @ np.asarray(o.obj2world, np.float64)
        Vc = to_cam(V, T)
        depth, tri = nearest_hit(Vc, F, xy, *clip)
        hit = tri >= 0
        if not hit.any():
            continue
        t = tri[hit]
        A, B, C = (Vc[F[t, k]] for k in range(3))
        ng = np.cross(B - A, C - A)
        ray = np.concatenate([xy[hit], np.ones((int(hit.sum()), 1))], 1)
        vn = vertex_normals_of(o)
        if vn is None:
            n = ng
        else:
            bary = barycentric(Vc, F, t, xy[hit], depth[hit])
            vn = np.asarray(vn, np.float64)
            nl = (vn[F[t, 0]] * bary[:, :1] + vn[F[t, 1]] * bary[:, 1:2] + vn[F[t, 2]] * bary[:, 2:3])
            n = nl @ np.linalg.inv(T[:3, :3])        # normals transform by the inverse transpose
        n = n / np.linalg.norm(n, axis=1, keepdims=True)
        back = np.einsum("ij,ij->i", ng, ray) > 0
        n[back] *= -1.0
        out[pix[hit]] = n
    return out.reshape(H, W, 3).astype(np.float32)


def normals_to_camera(normals_world, instance, cam2world) -> np.ndarray:
    """World-space normals (HxWx3, e.g. Cycles' Normal pass) -> unit normals in the OpenCV camera
    frame; 0 where no hit."""
    R = np.asarray(cam2world, np.float64)[:3, :3]
    n = np.asarray(normals_world, np.float64) @ R          # R^T n per pixel
    ln = np.linalg.norm(n, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(ln > 1e-12, n / ln, 0.0)
    n[np.asarray(instance) == 0] = 0.0
    return n.astype(np.float32)


def _bbox(mask) -> list[int]:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return [-1, -1, 0, 0]
    return [int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)]


def _gt_objects(spec) -> list:
    """The objects that get 3-D ground truth: config objects and distractors."""
    return [o for o in spec.objects if o.kind in DR_GT_KINDS]


def boxes3d(spec, geometry_of) -> dict:
    """``{instance_id: bbox3d}`` of the frame's objects and distractors (see :func:`bbox3d`).
    ``geometry_of(o) -> (V, F)``: the triangles rendered for ObjectSpec ``o`` (local frame)."""
    K = np.asarray(spec.camera.K, np.float64)
    w2c = invert_pose(spec.camera.cam2world)
    dist = getattr(spec.camera, "distortion", None)
    return {o.instance_id: bbox3d(geometry_of(o)[0], w2c @ np.asarray(o.obj2world, np.float64), K, dist)
            for o in _gt_objects(spec)}


def frame_keypoints(spec, geometry_of, keypoints_of) -> dict:
    """``{instance_id: [keypoint, ...]}`` for the objects whose entry has keypoints
    (``keypoints_of(o)``: its config keypoints or None); every triangle of the frame occludes."""
    c = spec.camera
    objs = [o for o in _gt_objects(spec) if keypoints_of(o)]
    if not objs:
        return {}
    K = np.asarray(c.K, np.float64)
    w2c = invert_pose(c.cam2world)
    size = tuple(int(x) for x in c.resolution)
    clip = (float(c.clip_start), float(c.clip_end))
    Vs, Fs, off = [], [], 0
    for o in spec.objects:
        V, F = geometry_of(o)
        Vs.append(to_cam(V, w2c @ np.asarray(o.obj2world)))
        Fs.append(np.asarray(F, np.int64) + off)
        off += len(V)
    scene = (np.concatenate(Vs), np.concatenate(Fs))
    dist = getattr(c, "distortion", None)
    return {o.instance_id: keypoints(keypoints_of(o), w2c @ np.asarray(o.obj2world, np.float64), K, size,
                                     clip, *scene, dist=dist)
            for o in objs}


def amodal_masks(spec, geometry_of, instance) -> tuple[dict, dict]:
    """Amodal masks of the frame's objects and distractors and their meta values:
    (``{instance_id: HxW bool}``, ``{instance_id: {px_count_all, bbox_obj, visib_fract}}``)."""
    c = spec.camera
    K = np.asarray(c.K, np.float64)
    w2c = invert_pose(c.cam2world)
    size = tuple(int(x) for x in c.resolution)
    clip = (float(c.clip_start), float(c.clip_end))
    inst = np.asarray(instance)
    masks: dict = {}
    values: dict = {}
    for o in _gt_objects(spec):
        V, F = geometry_of(o)
        visible = inst == o.instance_id
        m = amodal_mask(to_cam(V, w2c @ np.asarray(o.obj2world, np.float64)), F, K, size, clip,
                        getattr(c, "distortion", None)) | visible
        n_all = int(m.sum())
        n_vis = int(visible.sum())
        values[o.instance_id] = {"px_count_all": n_all, "bbox_obj": _bbox(m),
                                 "visib_fract": float(n_vis / n_all) if n_all else 0.0}
        masks[o.instance_id] = m
    return masks, values
