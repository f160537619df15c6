"""The independent ground-truth check: re-derive every frame by ray casting and compare.

``verify_dataset(DIR)`` rebuilds each frame's scene ONLY from what the dataset says about it
(``meta/NNNNNN.json``: K, cam2world, each object's obj2world) and the ORIGINAL asset files (the
config's mesh paths, resolved next to ``dataset.json``'s ``config_path``; ``DIR/meshes/...`` for
primitives, the ground, missing sources, or ``use_source_assets=False``). It casts one ray per pixel
through the pixel centre, ``d = cam2world[:3, :3] @ K^-1 [u, v, 1]`` from the camera centre, finds the
nearest surface, and compares with the dataset's maps:

* ``instance``: fraction of pixels whose id equals the ray cast's (0 = nothing hit);
* ``depth``: relative error of the planar depth on pixels where both agree on a hit (median, p99);
  ``d``'s camera-frame z is exactly 1, so the ray parameter ``t`` of a hit IS its planar depth;
* ``semantic``: equals the category id of the instance map's object everywhere (exact);
* ``zero depth``: depth == 0 exactly where the instance map is 0, and only there (exact);
* ``px_count_visib`` and ``bbox_visib`` of every object in meta equal those of the instance map (exact);
* per object (frame-wide fractions hide one small misplaced object): pixels where map and ray cast
  disagree on it <= max(3, 5% of its edge pixels), and its depth error median <= 2e-5.

Nearest hit: Embree (``embreex``, through trimesh) returns the closest hit of each ray, in float32;
each hit's distance is then refined in float64 by intersecting the ray exactly with the hit triangle
(Moeller-Trumbore), so the check resolves relative depth errors far below the 2e-5 bar. Without
embreex an exact float64 z-buffer of ray/triangle intersections does the same (each triangle tested
against the pixels of its projected box; trimesh's ``ray_triangle`` is not used: on a 320x240 frame
with a 4 m ground its candidate search ran for minutes and past 20 GB). Hits nearer than the camera's
``clip_start`` or farther than ``clip_end`` (planar, as Cycles clips) are ignored.

Pure: numpy, trimesh, Pillow, OpenEXR; never bpy. ``python -m synthblend.dataset.verify DIR`` prints
the report and exits 0 when every frame passes, 1 when one fails, 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Thresholds", "FrameCheck", "VerifyReport", "verify_dataset", "verify_frame",
           "format_report", "cast_camera_rays", "main"]


@dataclass(frozen=True)
class Thresholds:
    """The acceptance bar. Semantic, zero depth, px_count_visib and bbox_visib are always exact."""

    instance_agreement: float = 0.9995     # per frame, fraction of all pixels
    depth_rel_median: float = 2e-5         # |depth - ray| / ray, over pixels agreeing on a hit
    depth_rel_p99: float = 2e-4
    # Per object: a frame-wide fraction hides one small misplaced object among 70 000 ground pixels.
    # An object's disagreeing pixels (map vs ray cast, symmetric difference) may be at most
    # max(object_edge_min_px, object_edge_frac * its boundary pixels): ties on an edge are rare and
    # random, while a systematic shift of even 0.1-0.3 px flips a run of edge pixels. None disables.
    # Measured on Cycles renders (320x240, 60 objects): at most 1 disagreeing pixel per object, and a
    # per-object depth median <= 5e-6.
    object_edge_frac: float | None = 0.05
    object_edge_min_px: int = 3
    object_depth_rel_median: float | None = 2e-5   # objects with >= object_min_px compared pixels
    object_min_px: int = 100


@dataclass
class FrameCheck:
    """Figures for one frame. ``None`` means the figure could not be computed (map absent)."""

    frame: int
    width: int = 0
    height: int = 0
    objects: int = 0
    from_source: int = 0                   # objects whose geometry came from the original asset
    instance_agreement: float | None = None
    instance_disagree: int = 0             # pixels whose id differs from the ray cast's
    ray_hit_map_empty: int = 0             # ...of which: ray hits, map says 0
    map_hit_ray_miss: int = 0              # ...map has an id, ray hits nothing
    different_ids: int = 0                 # ...both hit, different ids
    depth_compared: int = 0
    depth_rel_median: float | None = None
    depth_rel_p99: float | None = None
    depth_rel_max: float | None = None
    semantic_mismatch: int | None = None
    zero_depth_mismatch: int | None = None  # (depth == 0) != (instance == 0), or depth not finite
    object_worst_iou: float | None = None   # lowest mask IoU (map vs ray) of an object in view
    object_worst_edge: float | None = None  # highest disagreeing px / allowed px of an object
    object_worst_depth: float | None = None  # highest per-object depth rel. error median
    objects_detail: list = field(default_factory=list)      # per object in view, see _per_object
    px_count_mismatch: list = field(default_factory=list)   # [instance_id, meta, map]
    bbox_mismatch: list = field(default_factory=list)       # [instance_id, meta, map]
    unknown_ids: list = field(default_factory=list)         # ids in the map that meta lacks
    errors: list = field(default_factory=list)              # could not check (missing/bad file)
    warnings: list = field(default_factory=list)
    failures: list = field(default_factory=list)            # one line per failed figure
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class VerifyReport:
    dataset_dir: str
    thresholds: Thresholds
    frames: list = field(default_factory=list)             # FrameCheck, in frame order
    backend: str = ""
    errors: list = field(default_factory=list)             # dataset-level problems
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.frames) and not self.errors and all(f.passed for f in self.frames)

    @property
    def failed_frames(self) -> list[int]:
        return [f.frame for f in self.frames if not f.passed]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        for fd, f in zip(d["frames"], self.frames):
            fd["passed"] = f.passed
        return d


# --------------------------------------------------------------------------------------- reading


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _read_label_png(path: Path) -> np.ndarray:
    """A 16-bit (or 8-bit) single-channel PNG as an int64 HxW array."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode not in ("I;16", "I;16B", "I;16L", "I", "L", "P"):
            raise ValueError(f"{path.name}: expected a single-channel label PNG, got mode {im.mode}")
        return np.asarray(im).astype(np.int64)


def _read_depth_exr(path: Path) -> np.ndarray:
    """The depth channel (``Y``; any single channel) of an EXR file, as float64 HxW."""
    try:
        import OpenEXR
    except ImportError:  # pragma: no cover - OpenEXR is a dependency
        from .exr import read_exr
        chans = read_exr(path)
    else:
        chans = {}
        with OpenEXR.File(str(path), separate_channels=True) as f:
            for part in f.parts:
                for name, ch in part.channels.items():
                    chans[name] = np.asarray(ch.pixels)
    if "Y" in chans:
        arr = chans["Y"]
    elif len(chans) == 1:
        arr = next(iter(chans.values()))
    else:
        raise ValueError(f"{path.name}: no depth channel 'Y' (channels: {sorted(chans)})")
    if arr.ndim != 2:
        raise ValueError(f"{path.name}: depth channel has shape {arr.shape}, expected HxW")
    return arr.astype(np.float64)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_]+:")   # "primitive:sphere", "blend:Cube"; not "C:\\"


class _Geometry:
    """Loads and caches meshes (raw vertex coordinates, as trimesh reads them)."""

    def __init__(self, dataset_dir: Path, config_dir: Path | None, use_source_assets: bool):
        self.dataset_dir = dataset_dir
        self.config_dir = config_dir
        self.use_source_assets = use_source_assets
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.warnings: set[str] = set()

    def _load(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        key = str(path.resolve())
        if key not in self._cache:
            import trimesh

            m = trimesh.load(str(path), force="mesh", process=False)
            if not isinstance(m, trimesh.Trimesh):
                raise ValueError(f"no triangle mesh in {path}")
            self._cache[key] = (np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64))
        return self._cache[key]

    def source_path(self, asset) -> Path | None:
        """The original asset file of an object, or None (primitive, ground, missing, disabled)."""
        if not self.use_source_assets or not isinstance(asset, str) or self.config_dir is None:
            return None
        if not asset or asset == "ground" or _SCHEME.match(asset):   # primitive:, blend:, ...
            return None
        p = Path(asset)
        p = p if p.is_absolute() else self.config_dir / p
        return p if p.is_file() else None

    def mesh_path(self, mesh) -> Path | None:
        if not isinstance(mesh, str) or not mesh:
            return None
        for p in (self.dataset_dir / mesh, self.dataset_dir / "meshes" / mesh):
            if p.is_file():
                return p
        return None

    def of(self, obj: dict) -> tuple[np.ndarray, np.ndarray, bool]:
        """(vertices, faces, from_source) of a meta object, in the frame obj2world applies to."""
        src = self.source_path(obj.get("asset"))
        if src is not None:
            try:
                v, f = self._load(src)
                return v, f, True
            except Exception as e:  # unreadable source: the dataset's copy still tells the truth
                self.warnings.add(f"cannot load source asset {src} ({type(e).__name__}: {e}); "
                                  f"using the dataset's {obj.get('mesh')}")
        mp = self.mesh_path(obj.get("mesh"))
        if mp is None:
            raise FileNotFoundError(
                f"object {obj.get('instance_id')} ({obj.get('name')}): no source asset "
                f"{obj.get('asset')!r} and no mesh file {obj.get('mesh')!r} in the dataset")
        v, f = self._load(mp)
        return v, f, False


# ------------------------------------------------------------------------------------ ray casting


def _embree_available() -> bool:
    try:
        import trimesh.ray.ray_pyembree  # noqa: F401
    except Exception:
        return False
    return True


def _moller_trumbore(orig, dirs, v0, v1, v2):
    """Ray parameter t and barycentrics (b1, b2) of rays ``orig + t dirs`` with triangles (float64).

    Rows pair one ray with one triangle. ``t`` is where the ray meets the triangle's plane (computed
    whether or not (b1, b2) lie inside); ``nan`` for a ray parallel to the plane or a degenerate one.
    """
    e1 = v1 - v0
    e2 = v2 - v0
    p = np.cross(dirs, e2)
    det = np.einsum("ij,ij->i", e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = orig - v0
        b1 = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, e1)
        b2 = np.einsum("ij,ij->i", dirs, q) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
    bad = ~np.isfinite(t) | (np.abs(det) <= 1e-300)
    t = np.where(bad, np.nan, t)
    return t, b1, b2


def _embree_first_hits(V, F, C, D, t_min: float):
    """(ray index, face index) of the nearest hit of each ray that hits, by Embree (float32)."""
    import trimesh
    from trimesh.ray.ray_pyembree import RayMeshIntersector

    mesh = trimesh.Trimesh(V, F, process=False, validate=False)
    # multiple_hits=False without locations: one embree query, its closest hit (rtcIntersect)
    tri, ray = RayMeshIntersector(mesh).intersects_id(C + t_min * D, D, multiple_hits=False,
                                                       return_locations=False)
    return ray, tri


def _numpy_hits(V, F, K, c2w, width: int, height: int, D, t_min: float, t_max: float,
                max_pairs: int = 2_000_000):
    """Exact float64 nearest hits of a pinhole camera's pixel-centre rays, without Embree.

    All rays share the camera centre, so each triangle only needs testing against the pixels inside
    its projected bounding box (the whole image when it reaches behind the camera plane): a
    z-buffer whose "fragments" are exact ray/triangle intersections. Returns (ray, face, t).
    """
    C = c2w[:3, 3]
    R = c2w[:3, :3]
    P = (V - C) @ R                                   # camera frame
    tri_c = P[F]                                      # M x 3 x 3
    z = tri_c[:, :, 2]
    # The part of each triangle with z >= zc (nothing nearer can count: t is planar depth) is a
    # polygon whose corners are the triangle's corners with z >= zc and its edges' crossings of
    # z = zc; its projection bounds the pixels a hit can lie in.
    zc = max(t_min, 1e-9)
    a, b = tri_c, np.roll(tri_c, -1, axis=1)                        # edges (a -> b), M x 3 x 3
    za, zb = a[:, :, 2], b[:, :, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (zc - za) / (zb - za)
        cross = a + w[:, :, None] * (b - a)
    pts = np.concatenate([a, cross], axis=1)                         # M x 6 x 3
    ok = np.concatenate([za >= zc, (za - zc) * (zb - zc) < 0], axis=1)
    ok &= (z.min(axis=1) <= t_max)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = pts @ np.asarray(K, np.float64).T
        u = np.where(ok, uvw[:, :, 0] / np.where(ok, uvw[:, :, 2], 1.0), np.nan)
        v = np.where(ok, uvw[:, :, 1] / np.where(ok, uvw[:, :, 2], 1.0), np.nan)
    relevant = ok.any(axis=1)
    u = np.where(relevant[:, None], u, 0.0)
    v = np.where(relevant[:, None], v, 0.0)
    lim = 4.0 * (width + height)                                     # keep int conversion sane
    x0 = np.clip(np.ceil(np.clip(np.nanmin(u, axis=1), -lim, lim) - 0.5), 0, width - 1)
    x1 = np.clip(np.floor(np.clip(np.nanmax(u, axis=1), -lim, lim) + 0.5), -1, width - 1)
    y0 = np.clip(np.ceil(np.clip(np.nanmin(v, axis=1), -lim, lim) - 0.5), 0, height - 1)
    y1 = np.clip(np.floor(np.clip(np.nanmax(v, axis=1), -lim, lim) + 0.5), -1, height - 1)
    x0, x1, y0, y1 = (q.astype(np.int64) for q in (x0, x1, y0, y1))
    nx, ny = np.maximum(x1 - x0 + 1, 0), np.maximum(y1 - y0 + 1, 0)
    # the camera-centre/triangle part of Moeller-Trumbore, once per triangle
    v0, e1, e2 = V[F[:, 0]], V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]]
    s = C - v0
    q = np.cross(s, e1)
    tnum = np.einsum("ij,ij->i", e2, q)
    best_t = np.full(width * height, np.inf)
    best_f = np.full(width * height, -1, np.int64)
    todo = np.flatnonzero((nx * ny > 0) & relevant)
    counts = (nx * ny)[todo]
    bounds = np.searchsorted(np.cumsum(counts), np.arange(max_pairs, counts.sum() + max_pairs,
                                                          max_pairs), side="right")
    start = 0
    for stop in np.unique(np.concatenate([bounds, [len(todo)]])):
        if stop <= start:
            continue
        f = todo[start:stop]
        start = stop
        n = nx[f] * ny[f]
        fi = np.repeat(f, n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)     # index within the box
        pix = (y0[fi] + k // nx[fi]) * width + x0[fi] + k % nx[fi]
        d = D[pix]
        p = np.cross(d, e2[fi])
        det = np.einsum("ij,ij->i", e1[fi], p)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / det
            b1 = np.einsum("ij,ij->i", s[fi], p) * inv
            b2 = np.einsum("ij,ij->i", d, q[fi]) * inv
            t = tnum[fi] * inv
        eps = 1e-12                                   # closes cracks on shared edges
        hit = ((det != 0) & (b1 >= -eps) & (b2 >= -eps) & (b1 + b2 <= 1 + eps)
               & (t >= t_min) & (t <= t_max))
        pix, t, fi = pix[hit], t[hit], fi[hit]
        order = np.lexsort((t, pix))
        pix, t, fi = pix[order], t[order], fi[order]
        first = np.ones(len(pix), bool)
        first[1:] = pix[1:] != pix[:-1]
        pix, t, fi = pix[first], t[first], fi[first]
        closer = t < best_t[pix]
        best_t[pix[closer]] = t[closer]
        best_f[pix[closer]] = fi[closer]
    ray = np.flatnonzero(best_f >= 0)
    return ray, best_f[ray], best_t[ray]


def cast_camera_rays(vertices, faces, K, cam2world, width: int, height: int, t_min: float = 0.0,
                     t_max: float = np.inf, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Nearest surface along each pixel-centre ray ``C + t * d``, ``d = R K^-1 [u, v, 1]``.

    ``vertices`` Nx3 and ``faces`` Mx3 in world coordinates; ``K`` 3x3 OpenCV; ``cam2world`` 4x4,
    OpenCV axes. Hits with t outside [t_min, t_max] are ignored (planar clipping: t is planar depth).
    Returns (face index HxW int64, -1 for none; t HxW float64, exact for the hit triangle in
    float64, nan for none). ``backend``: ``embree`` (float32 closest hit, then refined), ``numpy``
    (exact float64 z-buffer of ray/triangle intersections, no dependency) or ``auto`` (embree when
    embreex imports, else numpy).
    """
    V = np.asarray(vertices, np.float64)
    F = np.asarray(faces, np.int64).reshape(-1, 3)
    c2w = np.asarray(cam2world, np.float64)
    C = c2w[:3, 3]
    D = _pixel_dirs(K, c2w, width, height)
    tri = np.full(width * height, -1, np.int64)
    t = np.full(width * height, np.nan)
    if len(F):
        if backend == "auto":
            backend = "embree" if _embree_available() else "numpy"
        if backend == "embree":
            ray, face = _embree_first_hits(V, F, C, D, t_min)
            hit_t, _, _ = _moller_trumbore(np.broadcast_to(C, (len(ray), 3)), D[ray],
                                           *(V[F[face, k]] for k in range(3)))
        elif backend == "numpy":
            ray, face, hit_t = _numpy_hits(V, F, K, c2w, width, height, D, t_min, t_max)
        else:
            raise ValueError(f"unknown ray backend {backend!r} (embree | numpy | auto)")
        keep = np.isfinite(hit_t) & (hit_t <= t_max)
        tri[ray[keep]] = face[keep]
        t[ray[keep]] = hit_t[keep]
    return tri.reshape(height, width), t.reshape(height, width)


def _pixel_dirs(K, cam2world, width: int, height: int) -> np.ndarray:
    """(H*W)x3 world directions through pixel centres, row-major; camera-frame z of each is 1."""
    Kinv = np.linalg.inv(np.asarray(K, np.float64))
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    uv1 = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1)
    d_cam = uv1 @ Kinv.T
    d_cam /= d_cam[:, 2:3]                  # exactly 1 for a K whose last row is [0, 0, 1]
    return d_cam @ np.asarray(cam2world, np.float64)[:3, :3].T


def render_frame(meta: dict, geometry: _Geometry, backend: str = "auto"):
    """Ray-cast one frame from its meta: (instance HxW int64, planar depth HxW float64 (0 = none),
    number of objects from source assets)."""
    W, H = (int(x) for x in meta["image_size"])
    cam = meta["camera"]
    K = np.asarray(cam["K"], np.float64)
    c2w = np.asarray(cam["cam2world"], np.float64)
    verts, faces, ids = [], [], []
    offset = 0
    from_source = 0
    for obj in meta.get("objects", []):
        v, f, src = geometry.of(obj)
        from_source += int(src)
        T = np.asarray(obj["obj2world"], np.float64)
        verts.append(v @ T[:3, :3].T + T[:3, 3])
        faces.append(f + offset)
        ids.append(np.full(len(f), int(obj["instance_id"]), np.int64))
        offset += len(v)
    inst = np.zeros(H * W, np.int64)
    depth = np.zeros(H * W, np.float64)
    if verts:
        V, F, face_id = np.concatenate(verts), np.concatenate(faces), np.concatenate(ids)
        t_min = float(cam.get("clip_start") or 0.0)
        t_max = float(cam.get("clip_end") or np.inf)
        tri, t = cast_camera_rays(V, F, K, c2w, W, H, t_min, t_max, backend)
        tri, t = tri.ravel(), t.ravel()
        hit = tri >= 0
        inst[hit] = face_id[tri[hit]]
        depth[hit] = t[hit]
    return inst.reshape(H, W), depth.reshape(H, W), from_source


# -------------------------------------------------------------------------------------- comparing


def _visibility(inst: np.ndarray, ids) -> dict[int, tuple[int, list[int]]]:
    out = {}
    for i in ids:
        ys, xs = np.nonzero(inst == i)
        if len(xs) == 0:
            out[i] = (0, [-1, -1, 0, 0])
        else:
            x0, y0 = int(xs.min()), int(ys.min())
            out[i] = (len(xs), [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1])
    return out


def _debug_png(path: Path, inst_map, inst_ray, depth_bad, sem_bad, zero_bad):
    """Agreeing hit grey, agreeing background black; ray hit / map 0 green, map id / ray miss red,
    different ids yellow, depth error over the p99 bar blue, semantic wrong magenta, zero-depth
    wrong cyan."""
    from PIL import Image

    H, W = inst_ray.shape
    img = np.zeros((H, W, 3), np.uint8)
    img[inst_ray > 0] = (90, 90, 90)
    if inst_map is not None:
        img[(inst_ray > 0) & (inst_map == 0)] = (0, 255, 0)
        img[(inst_ray == 0) & (inst_map > 0)] = (255, 0, 0)
        img[(inst_ray > 0) & (inst_map > 0) & (inst_ray != inst_map)] = (255, 255, 0)
    for mask, colour in ((depth_bad, (0, 80, 255)), (sem_bad, (255, 0, 255)),
                         (zero_bad, (0, 255, 255))):
        if mask is not None:
            img[mask] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def verify_frame(dataset_dir, frame: int, geometry: _Geometry, thresholds: Thresholds,
                 outputs=None, backend: str = "auto", debug_dir=None) -> FrameCheck:
    """Check one frame (see the module docstring). Never raises for a bad frame: problems become
    ``errors`` (and failures) of the returned FrameCheck."""
    t0 = time.perf_counter()
    root = Path(dataset_dir)
    stem = f"{int(frame):06d}"
    fc = FrameCheck(frame=int(frame))
    thr = thresholds

    def fail(msg):
        fc.failures.append(msg)

    try:
        meta = _read_json(root / "meta" / f"{stem}.json")
        W, H = (int(x) for x in meta["image_size"])
        fc.width, fc.height = W, H
        objects = meta.get("objects", [])
        fc.objects = len(objects)
        inst_ray, depth_ray, fc.from_source = render_frame(meta, geometry, backend)
    except Exception as e:  # missing/corrupt meta, missing mesh: cannot check this frame
        fc.errors.append(f"{type(e).__name__}: {e}")
        fail(f"cannot check: {fc.errors[-1]}")
        fc.seconds = time.perf_counter() - t0
        return fc

    _check_poses(meta, fc)

    def load(kind, reader, ext):
        path = root / kind / f"{stem}{ext}"
        if not path.exists():
            if outputs is not None and kind in outputs:     # promised by dataset.json
                fc.errors.append(f"{kind}/{stem}{ext} is missing")
                fail(f"{kind}: file missing")
            return None
        try:
            arr = reader(path)
        except Exception as e:
            fc.errors.append(f"{kind}/{stem}{ext}: {type(e).__name__}: {e}")
            fail(f"{kind}: unreadable")
            return None
        if arr.shape != (H, W):
            fc.errors.append(f"{kind}/{stem}{ext} is {arr.shape[1]}x{arr.shape[0]}, meta says {W}x{H}")
            fail(f"{kind}: wrong size")
            return None
        return arr

    inst = load("instance", _read_label_png, ".png")
    depth = load("depth", _read_depth_exr, ".exr")
    sem = load("semantic", _read_label_png, ".png")

    id_to_cat = {int(o["instance_id"]): int(o.get("category_id") or 0) for o in objects}
    if inst is None and depth is None:
        fc.warnings.append("no instance or depth map: nothing compared with the ray cast")

    # instance agreement
    if inst is not None:
        agree = inst == inst_ray
        fc.instance_agreement = float(agree.mean())
        fc.instance_disagree = int((~agree).sum())
        fc.ray_hit_map_empty = int(((inst_ray > 0) & (inst == 0)).sum())
        fc.map_hit_ray_miss = int(((inst_ray == 0) & (inst > 0)).sum())
        fc.different_ids = fc.instance_disagree - fc.ray_hit_map_empty - fc.map_hit_ray_miss
        if fc.instance_agreement < thr.instance_agreement:
            fail(f"instance: agreement {fc.instance_agreement:.6f} < {thr.instance_agreement} "
                 f"({fc.instance_disagree} px: {fc.ray_hit_map_empty} ray hit / map 0, "
                 f"{fc.map_hit_ray_miss} map id / ray miss, {fc.different_ids} different ids)")
        unknown = sorted(set(np.unique(inst).tolist()) - set(id_to_cat) - {0})
        if unknown:
            fc.unknown_ids = [int(i) for i in unknown]
            fail(f"instance: ids {fc.unknown_ids[:10]} are in the map but not in meta")
        compare = agree & (inst_ray > 0)
    else:
        compare = (inst_ray > 0) & (depth > 0) if depth is not None else None

    # depth
    depth_bad = None
    if depth is not None:
        ref = depth_ray[compare]
        got = depth[compare]
        fc.depth_compared = int(compare.sum())
        if fc.depth_compared:
            with np.errstate(invalid="ignore"):
                rel = np.abs(got - ref) / ref
            rel = np.where(np.isfinite(rel), rel, np.inf)
            fc.depth_rel_median = float(np.median(rel))
            fc.depth_rel_p99 = float(np.percentile(rel, 99, method="higher"))
            fc.depth_rel_max = float(rel.max())
            if fc.depth_rel_median > thr.depth_rel_median:
                fail(f"depth: relative error median {fc.depth_rel_median:.3g} > {thr.depth_rel_median}")
            if fc.depth_rel_p99 > thr.depth_rel_p99:
                fail(f"depth: relative error p99 {fc.depth_rel_p99:.3g} > {thr.depth_rel_p99}")
            depth_bad = np.zeros((H, W), bool)
            depth_bad[compare] = rel > thr.depth_rel_p99

    # per object: mask IoU and depth median
    if inst is not None:
        _per_object(fc, objects, inst, inst_ray, depth, depth_ray, compare, thr, fail)

    # zero depth exactly where nothing is hit
    zero_bad = None
    if depth is not None and inst is not None:
        zero_bad = ((depth == 0) != (inst == 0)) | ~np.isfinite(depth)
        fc.zero_depth_mismatch = int(zero_bad.sum())
        if fc.zero_depth_mismatch:
            n_bg = int(((inst == 0) & (depth != 0)).sum())
            fail(f"zero depth: {fc.zero_depth_mismatch} px ({n_bg} background px with depth != 0, "
                 f"{fc.zero_depth_mismatch - n_bg} hit px with depth 0 or not finite)")

    # semantic = category of the instance's object
    sem_bad = None
    if sem is not None and inst is not None:
        n = max([int(inst.max()) if inst.size else 0] + list(id_to_cat)) + 1
        lut = np.full(n, -1, np.int64)
        lut[0] = 0
        for i, c in id_to_cat.items():
            if i > 0:
                lut[i] = c
        sem_bad = sem != lut[inst]
        fc.semantic_mismatch = int(sem_bad.sum())
        if fc.semantic_mismatch:
            fail(f"semantic: {fc.semantic_mismatch} px differ from the category of their instance")

    # px_count_visib and bbox_visib, from the instance map
    if inst is not None:
        vis = _visibility(inst, list(id_to_cat))
        for o in objects:
            i = int(o["instance_id"])
            count, bbox = vis[i]
            if o.get("px_count_visib") != count:
                fc.px_count_mismatch.append([i, o.get("px_count_visib"), count])
            if list(o.get("bbox_visib") or []) != bbox:
                fc.bbox_mismatch.append([i, o.get("bbox_visib"), bbox])
        if fc.px_count_mismatch:
            fail("px_count_visib: " + "; ".join(f"id {i}: meta {a}, map {b}"
                                                 for i, a, b in fc.px_count_mismatch[:5]))
        if fc.bbox_mismatch:
            fail("bbox_visib: " + "; ".join(f"id {i}: meta {a}, map {b}"
                                             for i, a, b in fc.bbox_mismatch[:5]))

    if debug_dir is not None:
        _debug_png(Path(debug_dir) / f"disagree_{stem}.png", inst, inst_ray, depth_bad, sem_bad,
                   zero_bad)
    fc.seconds = time.perf_counter() - t0
    return fc


def _per_object(fc, objects, inst, inst_ray, depth, depth_ray, compare, thr, fail) -> None:
    """Per object in view: pixels in the map and in the ray cast, how many differ against how many
    may (its edge), mask IoU, depth error median."""
    ids = np.array([int(o["instance_id"]) for o in objects], np.int64)
    if ids.size == 0:
        return
    n = int(max(ids.max(), inst.max(), inst_ray.max())) + 1
    in_map = np.bincount(inst.ravel(), minlength=n)
    in_ray = np.bincount(inst_ray.ravel(), minlength=n)
    inter = np.bincount(inst[inst == inst_ray], minlength=n)
    med = np.full(n, np.nan)
    ncmp = np.zeros(n, np.int64)
    if depth is not None and compare.any():
        lab = inst_ray[compare]
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(depth[compare] - depth_ray[compare]) / depth_ray[compare]
        rel = np.where(np.isfinite(rel), rel, np.inf)
        order = np.lexsort((rel, lab))
        lab, rel = lab[order], rel[order]
        ncmp = np.bincount(lab, minlength=n)
        start = np.concatenate([[0], np.cumsum(ncmp)[:-1]])
        has = ncmp > 0
        # lower median, like np.median for odd counts; exact enough for a threshold
        med[has] = rel[start[has] + (ncmp[has] - 1) // 2]
    # boundary pixels of each object in the ray cast: a 4-neighbour has another id
    b = np.zeros(inst_ray.shape, bool)
    dx = inst_ray[:, 1:] != inst_ray[:, :-1]
    dy = inst_ray[1:, :] != inst_ray[:-1, :]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:, :] |= dy
    b[:-1, :] |= dy
    edge = np.bincount(inst_ray[b], minlength=n)
    bad_edge, bad_depth = [], []
    for o in objects:
        i = int(o["instance_id"])
        union = int(in_map[i] + in_ray[i] - inter[i])
        if union == 0:
            continue
        iou = float(inter[i] / union)
        differ = union - int(inter[i])
        m = None if np.isnan(med[i]) else float(med[i])
        fc.objects_detail.append({"instance_id": i, "name": o.get("name"), "px_map": int(in_map[i]),
                                  "px_ray": int(in_ray[i]), "px_differ": differ,
                                  "edge_px": int(edge[i]), "iou": iou,
                                  "depth_compared": int(ncmp[i]), "depth_rel_median": m})
        fc.object_worst_iou = iou if fc.object_worst_iou is None else min(fc.object_worst_iou, iou)
        if thr.object_edge_frac is not None:
            allowed = max(thr.object_edge_min_px, thr.object_edge_frac * int(edge[i]))
            ratio = differ / allowed
            fc.object_worst_edge = (ratio if fc.object_worst_edge is None
                                    else max(fc.object_worst_edge, ratio))
            if differ > allowed:
                bad_edge.append(f"id {i} ({o.get('name')}): {differ} px differ, {allowed:.0f} "
                                f"allowed ({in_map[i]} px in map, {in_ray[i]} in ray cast, "
                                f"{edge[i]} edge px)")
        if m is not None and ncmp[i] >= thr.object_min_px:
            fc.object_worst_depth = m if fc.object_worst_depth is None else max(fc.object_worst_depth, m)
            if thr.object_depth_rel_median is not None and m > thr.object_depth_rel_median:
                bad_depth.append(f"id {i} ({o.get('name')}): {m:.3g}")
    if bad_edge:
        fail("object mask: " + "; ".join(bad_edge[:5]))
    if bad_depth:
        fail(f"object depth: relative error median > {thr.object_depth_rel_median}: "
             + "; ".join(bad_depth[:5]))


def _check_poses(meta: dict, fc: FrameCheck, tol: float = 1e-6) -> None:
    """Warn (not fail) when meta's redundant poses disagree: world2cam vs cam2world, obj2cam."""
    cam = meta["camera"]
    c2w = np.asarray(cam["cam2world"], np.float64)
    R = c2w[:3, :3]
    if np.abs(R.T @ R - np.eye(3)).max() > tol or np.linalg.det(R) < 0:
        fc.warnings.append("camera.cam2world's rotation is not orthonormal right-handed")
    if "world2cam" in cam:
        w2c = np.asarray(cam["world2cam"], np.float64)
        if np.abs(w2c @ c2w - np.eye(4)).max() > tol:
            fc.warnings.append("camera.world2cam is not the inverse of cam2world")
        for o in meta.get("objects", []):
            if "obj2cam" in o:
                want = w2c @ np.asarray(o["obj2world"], np.float64)
                if np.abs(np.asarray(o["obj2cam"], np.float64) - want).max() > tol * max(
                        1.0, np.abs(want).max()):
                    fc.warnings.append(f"object {o.get('instance_id')}: obj2cam != world2cam @ obj2world")


# ------------------------------------------------------------------------------------------ driver


def _frames_in(root: Path) -> list[int]:
    out = []
    for p in (root / "meta").glob("*.json"):
        if p.stem.isdigit():
            out.append(int(p.stem))
    return sorted(out)


def verify_dataset(dataset_dir, frames=None, use_source_assets: bool = True,
                   thresholds: Thresholds | None = None, debug_dir=None,
                   backend: str = "auto", progress=None) -> VerifyReport:
    """Re-derive every frame (or the given frame indices) of a dataset by ray casting and compare.

    ``use_source_assets``: take each mesh object's geometry from its original asset file (the
    config's mesh path, relative to the config file named in ``dataset.json``), falling back to
    ``DIR/meshes/...`` when it is missing; False: always ``DIR/meshes/...``. ``debug_dir``: write
    ``disagree_NNNNNN.png`` per frame there. ``backend``: ``auto`` | ``embree`` | ``numpy``.
    ``progress``: optional callable(FrameCheck) called after each frame.
    Raises FileNotFoundError when ``dataset_dir`` is not a dataset (no ``dataset.json``).
    """
    t0 = time.perf_counter()
    root = Path(dataset_dir)
    thr = thresholds or Thresholds()
    manifest_path = root / "dataset.json"
    if not manifest_path.is_file():
        raise FileNotFoundError("not a synthblend dataset (no dataset.json)")
    manifest = _read_json(manifest_path)
    report = VerifyReport(str(root), thr)
    if backend == "auto":
        backend = "embree" if _embree_available() else "numpy"
    report.backend = backend

    cfg = manifest.get("config_path")
    config_dir = Path(cfg).parent if cfg else None
    if use_source_assets and (config_dir is None or not config_dir.is_dir()):
        report.notes.append("the config's folder is unknown or absent: geometry from meshes/ only")
    geometry = _Geometry(root, config_dir, use_source_assets)
    outputs = manifest.get("outputs")
    outputs = set(outputs) if isinstance(outputs, list) else None

    available = _frames_in(root)
    if frames is None:
        frames = available
        if not frames:
            report.errors.append("no frames: meta/ holds no NNNNNN.json")
    for i in frames:
        fc = verify_frame(root, int(i), geometry, thr, outputs, backend, debug_dir)
        report.frames.append(fc)
        if progress is not None:
            progress(fc)
    report.notes.extend(sorted(geometry.warnings))
    report.seconds = time.perf_counter() - t0
    return report


# ------------------------------------------------------------------------------------------ report


def _fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def format_report(report: VerifyReport) -> str:
    """A fixed-width table, one row per frame, the reasons under each failing frame, and a verdict."""
    thr = report.thresholds
    frames = report.frames
    size = {(f.width, f.height) for f in frames if f.width}
    size_s = ", ".join(f"{w}x{h}" for w, h in sorted(size)) or "?"
    n_obj = sum(f.objects for f in frames)
    n_src = sum(f.from_source for f in frames)
    lines = [
        f"synthblend verify: {report.dataset_dir}",
        f"  {len(frames)} frame(s), {size_s}, ray caster {report.backend}; object geometry: "
        f"{n_src} from source assets, {n_obj - n_src} from meshes/",
        f"  bar: instance agreement >= {thr.instance_agreement}; depth rel. error median <= "
        f"{thr.depth_rel_median:g}, p99 <= {thr.depth_rel_p99:g}; semantic, zero depth, "
        f"px_count_visib, bbox_visib exact;",
        f"       per object: differing px <= max({thr.object_edge_min_px}, {thr.object_edge_frac} x "
        f"edge px), depth rel. error median <= {thr.object_depth_rel_median} (>= "
        f"{thr.object_min_px} px)",
        "",
        f"{'frame':>6}  {'instance':>8}  {'bad px':>6}  {'depth med':>9}  {'depth p99':>9}  "
        f"{'depth max':>9}  {'obj edge':>8}  {'obj dep':>8}  {'semantic':>8}  {'zero dep':>8}  "
        f"{'px/bbox':>7}  result",
    ]
    for f in frames:
        pxb = (f"{len(f.px_count_mismatch)}/{len(f.bbox_mismatch)}"
               if f.instance_agreement is not None else "n/a")
        lines.append(
            f"{f.frame:06d}  {_fmt(f.instance_agreement, '8.6f'):>8}  {f.instance_disagree:>6}  "
            f"{_fmt(f.depth_rel_median, '9.2e'):>9}  {_fmt(f.depth_rel_p99, '9.2e'):>9}  "
            f"{_fmt(f.depth_rel_max, '9.2e'):>9}  {_fmt(f.object_worst_edge, '8.2f'):>8}  "
            f"{_fmt(f.object_worst_depth, '8.1e'):>8}  {_fmt(f.semantic_mismatch, 'd'):>8}  "
            f"{_fmt(f.zero_depth_mismatch, 'd'):>8}  {pxb:>7}  {'PASS' if f.passed else 'FAIL'}")
        for msg in f.failures:
            lines.append(f"        FAIL {msg}")
        for msg in f.warnings:
            lines.append(f"        warn {msg}")
    for msg in report.notes:
        lines.append(f"note: {msg}")
    for msg in report.errors:
        lines.append(f"error: {msg}")
    lines.append("")
    ok = [f for f in frames if f.passed]
    worst = []
    agr = [f for f in frames if f.instance_agreement is not None]
    if agr:
        w = min(agr, key=lambda f: f.instance_agreement)
        worst.append(f"instance {w.instance_agreement:.6f} (frame {w.frame})")
    med = [f for f in frames if f.depth_rel_median is not None]
    if med:
        w = max(med, key=lambda f: f.depth_rel_median)
        worst.append(f"depth median {w.depth_rel_median:.2e} (frame {w.frame})")
        w = max(med, key=lambda f: f.depth_rel_p99)
        worst.append(f"depth p99 {w.depth_rel_p99:.2e} (frame {w.frame})")
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"{verdict}: {len(ok)}/{len(frames)} frames pass"
                 + (f"; failing: {', '.join(str(i) for i in report.failed_frames[:20])}"
                    if report.failed_frames else "")
                 + (f"; worst: {', '.join(worst)}" if worst else "")
                 + f"; {report.seconds:.1f} s")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- CLI


def _parse_frames(text: str) -> list[int]:
    """``0,3,5-7`` -> [0, 3, 5, 6, 7]."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            lo, hi = int(a), int(b)
            if hi < lo:
                raise ValueError(f"empty range {part!r}")
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    if any(i < 0 for i in out):
        raise ValueError("frame indices must be >= 0")
    return out


def build_parser(prog: str = "python -m synthblend.dataset.verify") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, description="Re-derive a dataset's ground truth by ray casting and compare.")
    p.add_argument("dir", help="dataset folder (holds dataset.json)")
    p.add_argument("--frames", help="frame indices, e.g. 0,3,5-7 (default: all)")
    p.add_argument("--no-source-assets", action="store_true",
                   help="use the dataset's meshes/ for every object, not the original asset files")
    p.add_argument("--debug-dir", help="write disagree_NNNNNN.png per frame here")
    p.add_argument("--json", dest="json_out", help="also write the report as JSON to this file")
    p.add_argument("--backend", choices=("auto", "embree", "numpy"), default="auto",
                   help="ray caster: embree (float32 closest hit, refined in float64) or numpy "
                        "(exact float64, no embreex needed); auto: embree when installed")
    return p


def main(argv=None) -> int:
    """Print the report; 0 when every frame passes, 1 when one fails, 2 on bad input."""
    p = build_parser()
    args = p.parse_args(argv)
    try:
        frames = _parse_frames(args.frames) if args.frames else None
    except ValueError as e:
        print(f"error: --frames: {e}", file=sys.stderr)
        return 2
    if args.backend == "embree" and not _embree_available():
        print("error: --backend: embreex is not installed", file=sys.stderr)
        return 2
    try:
        report = verify_dataset(args.dir, frames=frames, use_source_assets=not args.no_source_assets,
                                debug_dir=args.debug_dir, backend=args.backend)
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError) as e:
        print(f"error: {args.dir}: {e}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
