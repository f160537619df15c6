"""Exact nearest hits of camera rays with triangles, in plain numpy (no Embree, rtree or scipy, so
it runs the same in Blender's own Python and gives the same bits everywhere).

Frames and units: the OpenCV camera frame (x right, y down, z forward), meters; pixel ``(u, v)``
has its centre at integer coordinates, so its ray is ``d = K^-1 [u, v, 1]``, scaled to ``z = 1``; with
a lens distortion (``CameraSpec.distortion``, meta ``camera.distortion``) it is ``(x, y, 1)`` with
``(x, y)`` the converged undistortion of ``K^-1 [u, v, 1]`` (core/distortion.py), and a pixel without
such a ray (a fisheye ray at theta >= 90 deg) hits nothing.
Rays leave the camera centre along ``d = (x, y, 1)`` (normalized image coordinates, camera frame), so
a hit's ray parameter is its planar depth. Triangles are clipped at ``z = clip_start`` (what Cycles
does with the near clip), projected to the plane ``z = 1``, binned on a grid, and each candidate
(ray, triangle) pair is tested exactly in float64: the ray's point inside the projected triangle
(edges inclusive) and the depth from the triangle's plane, ``t = (n . a) / (n . d)``. Equal depths:
the lowest triangle index wins.

:func:`nearest_hit` is what the ground truth uses (normals, amodal masks, keypoints). For whole
images, :func:`cast_camera_rays` (``synthblend verify``) takes world coordinates and ``cam2world``
and has two backends: ``numpy`` (:func:`nearest_hit`, in bands of image rows) and, optionally,
``embree`` (``embreex`` through trimesh, imported only then: Embree's float32 closest hit, whose
depth is then recomputed in float64 from the hit triangle's plane with the same formula as
:func:`nearest_hit`, so both backends give the same bits wherever they pick the same unclipped
triangle).
"""
from __future__ import annotations

import numpy as np

from . import distortion as lens
from .grid2d import box_pairs


def _clip_near(T: np.ndarray, zn: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip triangles (Kx3x3, camera frame) to z >= zn; returns the kept/clipped triangles and the
    index of the triangle each came from."""
    z = T[:, :, 2]
    front = z >= zn
    nf = front.sum(1)
    out = [T[nf == 3]]
    src = [np.flatnonzero(nf == 3)]
    for want in (1, 2):
        S = T[nf == want]
        si = np.flatnonzero(nf == want)
        if len(S) == 0:
            continue
        fr = S[:, :, 2] >= zn
        # rotate each triangle so that vertex 0 is the odd one out (front if want=1, behind if 2)
        odd = np.argmax(fr if want == 1 else ~fr, axis=1)
        idx = (odd[:, None] + np.arange(3)[None]) % 3
        R = np.take_along_axis(S, idx[:, :, None], axis=1)
        a, b, c = R[:, 0], R[:, 1], R[:, 2]

        def cut(p, q):
            t = (zn - p[:, 2]) / (q[:, 2] - p[:, 2])
            return p + t[:, None] * (q - p)
        ab, ac = cut(a, b), cut(a, c)
        if want == 1:                       # a in front: one triangle (a, ab, ac)
            out.append(np.stack([a, ab, ac], 1))
            src.append(si)
        else:                               # a behind: quad (ab, b, c, ac) -> two triangles
            out.append(np.stack([ab, b, c], 1))
            out.append(np.stack([ab, c, ac], 1))
            src += [si, si]
    return np.concatenate(out), np.concatenate(src)


def _plane_depth(P3: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Planar depth ``t = (n . a) / (n . d)`` where the rays ``d = (x, y, 1)`` (``p``: Rx2) meet the
    planes of triangles ``P3`` (Rx3x3, camera frame, one per ray), ``n = (b - a) x (c - a)``;
    inf or nan for a ray parallel to its plane."""
    n = np.cross(P3[:, 1] - P3[:, 0], P3[:, 2] - P3[:, 0])
    d = np.concatenate([p, np.ones((len(p), 1))], 1)
    den = np.einsum("ij,ij->i", n, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.einsum("ij,ij->i", n, P3[:, 0]) / den


def nearest_hit(V_cam, F, xy, clip_start: float, clip_end: float = np.inf):
    """Nearest hit of each ray ``(x, y, 1)`` (``xy``: Rx2): (planar depth, nan where none;
    index into ``F`` of the triangle hit, -1 where none)."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    depth = np.full(len(xy), np.inf)
    tri = np.full(len(xy), -1, np.int64)
    V = np.asarray(V_cam, np.float64)
    F = np.asarray(F, np.int64)
    if len(F) == 0 or len(xy) == 0:
        return np.full(len(xy), np.nan), tri
    T, src = _clip_near(V[F], float(clip_start))
    if len(T):
        Q = T[:, :, :2] / T[:, :, 2:3]                       # projected to z = 1
        lo, hi = Q.min(1), Q.max(1)
        rlo, rhi = xy.min(0), xy.max(0)
        keep = np.all(hi >= rlo, 1) & np.all(lo <= rhi, 1)
        T, Q, lo, hi, src = T[keep], Q[keep], lo[keep], hi[keep], src[keep]
    if len(T):
        ext = np.maximum(np.minimum(hi, xy.max(0)) - np.maximum(lo, xy.min(0)), 0)
        span = float(max((xy.max(0) - xy.min(0)).max(), 1e-12))
        size = float(np.median(np.maximum(ext.max(1), 0)))
        n_side = max(1.0, np.sqrt(len(xy)))
        cell = max(size, span / n_side, span / 1024.0, 1e-12)
        origin = xy.min(0) - cell
        nx = int(np.ceil((xy.max(0)[0] - origin[0]) / cell)) + 3
        lo_c = np.maximum(lo, xy.min(0) - cell * 0.5)
        hi_c = np.minimum(hi, xy.max(0) + cell * 0.5)
        ri, ti = box_pairs(xy, xy, lo_c, hi_c, origin, cell, nx)
        if len(ri):
            p = xy[ri]
            q = Q[ti]
            a, b, c = q[:, 0], q[:, 1], q[:, 2]
            area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
            sgn = np.where(area >= 0, 1.0, -1.0)

            def edge(u, v):
                return sgn * ((v[:, 0] - u[:, 0]) * (p[:, 1] - u[:, 1]) - (v[:, 1] - u[:, 1]) * (p[:, 0] - u[:, 0]))
            tol = -1e-14
            inside = (np.abs(area) > 0) & (edge(a, b) >= tol) & (edge(b, c) >= tol) & (edge(c, a) >= tol)
            ri, ti, p = ri[inside], ti[inside], p[inside]
            t = _plane_depth(T[ti], p)
            ok = np.isfinite(t) & (t >= clip_start * (1 - 1e-12)) & (t <= clip_end)
            ri, ti, t = ri[ok], ti[ok], t[ok]
            # nearest per ray; ties: the lowest source triangle index (deterministic)
            order = np.lexsort((src[ti], t, ri))
            ri, ti, t = ri[order], ti[order], t[order]
            first = np.r_[True, ri[1:] != ri[:-1]] if len(ri) else np.zeros(0, bool)
            depth[ri[first]] = t[first]
            tri[ri[first]] = src[ti[first]]
    depth[~np.isfinite(depth)] = np.nan
    return depth, tri


def nearest_depth(V_cam, F, xy, clip_start: float, clip_end: float = np.inf) -> np.ndarray:
    """Planar depth of the nearest hit of each ray ``(x, y, 1)`` (``xy``: Rx2), nan where none."""
    return nearest_hit(V_cam, F, xy, clip_start, clip_end)[0]


def barycentric(V_cam, F, tri, xy, depth) -> np.ndarray:
    """Barycentric weights (Rx3) of the hit points ``depth * (x, y, 1)`` in triangles ``F[tri]``."""
    P = np.concatenate([xy, np.ones((len(xy), 1))], 1) * depth[:, None]
    A, B, C = (np.asarray(V_cam, np.float64)[np.asarray(F)[tri, k]] for k in range(3))
    v0, v1, v2 = B - A, C - A, P - A
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (d11 * d20 - d01 * d21) / den
        w = (d00 * d21 - d01 * d20) / den
    return np.stack([1 - v - w, v, w], 1)


def pixel_xy(K, x0: int, y0: int, x1: int, y1: int, dist=None) -> tuple[np.ndarray, tuple]:
    """Normalized image coordinates of the rays through the pixel centres of [x0, x1) x [y0, y1)
    (row-major): ``K^-1 [u, v, 1]``, undistorted when ``dist`` (a distortion dict) is given (NaN
    rows: no ray in front of the camera)."""
    if dist:
        return lens.pixel_xy(K, x0, y0, x1, y1, dist)
    vv, uu = np.mgrid[y0:y1, x0:x1]
    pix = np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)], 1).astype(np.float64)
    d = pix @ np.linalg.inv(np.asarray(K, np.float64)).T
    return d[:, :2] / d[:, 2:3], vv.shape


# ------------------------------------------------------------------------ whole images, two backends

BACKENDS = ("auto", "embree", "numpy")
MIN_CLIP = 1e-9   # the numpy backend's near plane when t_min is 0: a plane at z = 0 cannot be projected


def embree_available() -> bool:
    """Whether the optional ``embree`` backend can run (``embreex`` and trimesh import)."""
    try:
        import trimesh.ray.ray_pyembree  # noqa: F401
    except Exception:  # ImportError, or a broken native library
        return False
    return True


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``embree`` when it imports, else ``numpy``; ValueError for an unknown or
    unavailable backend."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown ray backend {backend!r} ({' | '.join(BACKENDS)})")
    if backend == "auto":
        return "embree" if embree_available() else "numpy"
    if backend == "embree" and not embree_available():
        raise ValueError("ray backend 'embree' needs embreex, which is not installed")
    return backend


def _embree_first_hits(V, F, C, D, t_min: float) -> tuple[np.ndarray, np.ndarray]:
    """(ray index, face index) of the nearest hit of each world ray ``C + t D`` with ``t >= t_min``
    that hits anything, by Embree (float32)."""
    import trimesh
    from trimesh.ray.ray_pyembree import RayMeshIntersector

    mesh = trimesh.Trimesh(V, F, process=False, validate=False)
    # multiple_hits=False without locations: one embree query, its closest hit (rtcIntersect)
    tri, ray = RayMeshIntersector(mesh).intersects_id(C + t_min * D, D, multiple_hits=False,
                                                       return_locations=False)
    return np.asarray(ray, np.int64), np.asarray(tri, np.int64)


def _numpy_first_hits(V_cam, F, xy, t_min: float, t_max: float, band: int):
    """(ray index, face index, planar depth) of the rays that hit, by :func:`nearest_hit` on
    ``band`` rays at a time (bounds the candidate pairs held at once; each ray's result does not
    depend on which other rays share its band)."""
    clip = max(float(t_min), MIN_CLIP)
    rays, faces, ts = [], [], []
    for a in range(0, len(xy), band):
        t, f = nearest_hit(V_cam, F, xy[a:a + band], clip, t_max)
        hit = np.flatnonzero(f >= 0)
        rays.append(hit + a)
        faces.append(f[hit])
        ts.append(t[hit])
    if not rays:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    return np.concatenate(rays), np.concatenate(faces), np.concatenate(ts)


def first_hits_by_radius(V_cam, F, xy, t_min: float, t_max: float, band: int):
    """:func:`_numpy_first_hits` on rays grouped by radius ``|xy|`` (octaves: [r, 2r)): a distorted
    camera's rays are far from evenly spread (a wide fisheye's reach 1e3 and more near 90 deg), and one
    grid over all of them would put most rays and triangles into the same cells. Each ray's result
    does not depend on its group."""
    r = np.hypot(xy[:, 0], xy[:, 1])
    octave = np.floor(np.log2(np.maximum(r, 0.125))).astype(np.int64)
    rays, faces, ts = [], [], []
    for o in np.unique(octave):
        idx = np.flatnonzero(octave == o)
        ray, face, t = _numpy_first_hits(V_cam, F, xy[idx], t_min, t_max, band)
        rays.append(idx[ray])
        faces.append(face)
        ts.append(t)
    return np.concatenate(rays), np.concatenate(faces), np.concatenate(ts)


def cast_camera_rays(vertices, faces, K, cam2world, width: int, height: int, t_min: float = 0.0,
                     t_max: float = np.inf, backend: str = "auto",
                     band: int = 1 << 15, dist=None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest surface along each pixel-centre ray ``C + t * d`` of a ``width`` x ``height`` image.

    ``vertices`` (Nx3, world, meters) and ``faces`` (Mx3); ``K`` 3x3 OpenCV intrinsics (pixel
    centres at integer ``(u, v)``); ``cam2world`` 4x4 with OpenCV camera axes; ``d = R K^-1 [u, v, 1]``
    with camera-frame z exactly 1, so ``t`` is planar depth. Hits with ``t`` outside
    ``[t_min, t_max]`` are ignored (planar clipping, as Cycles clips).

    Returns (face index HxW int64, -1 for none; ``t`` HxW float64, nan for none). ``backend``:
    ``numpy`` (exact, :func:`nearest_hit` on ``band`` rays at a time), ``embree`` (float32 closest
    hit, depth then recomputed in float64 from the hit triangle's plane) or ``auto`` (embree when
    embreex imports, else numpy). The numpy backend clips at ``max(t_min, 1e-9)`` and keeps
    ``t >= clip * (1 - 1e-12)``; embree starts each ray at ``t_min``. ``dist``: the camera's lens
    distortion (core/distortion.py): each pixel's ray is then the undistorted direction of its
    centre, still with camera-frame z = 1; pixels without one hit nothing.
    """
    backend = resolve_backend(backend)
    V = np.asarray(vertices, np.float64).reshape(-1, 3)
    F = np.asarray(faces, np.int64).reshape(-1, 3)
    c2w = np.asarray(cam2world, np.float64)
    C, R = c2w[:3, 3], c2w[:3, :3]
    tri = np.full(width * height, -1, np.int64)
    t = np.full(width * height, np.nan)
    if len(F) and width > 0 and height > 0:
        xy, _ = pixel_xy(K, 0, 0, width, height, dist)  # row-major: ray index = v * width + u
        rows = np.flatnonzero(np.isfinite(xy).all(1))   # pixels with a ray (all, without distortion)
        if len(rows) == 0:
            return tri.reshape(height, width), t.reshape(height, width)
        if len(rows) < len(xy):
            xy = xy[rows]
        V_cam = (V - C) @ R                              # camera frame
        if backend == "embree":
            D = np.concatenate([xy, np.ones((len(xy), 1))], 1) @ R.T
            ray, face = _embree_first_hits(V, F, C, D, float(t_min))
            hit_t = _plane_depth(V_cam[F[face]], xy[ray])
        elif dist:
            ray, face, hit_t = first_hits_by_radius(V_cam, F, xy, t_min, t_max, int(band))
        else:
            ray, face, hit_t = _numpy_first_hits(V_cam, F, xy, t_min, t_max, int(band))
        keep = np.isfinite(hit_t) & (hit_t <= t_max)
        if len(rows) < width * height:
            ray = rows[ray]
        tri[ray[keep]] = face[keep]
        t[ray[keep]] = hit_t[keep]
    return tri.reshape(height, width), t.reshape(height, width)
