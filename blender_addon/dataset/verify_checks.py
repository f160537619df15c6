"""Per-frame comparisons of ``synthblend verify``: a dataset's maps and meta against the ray cast.

Maps are HxW, row ``v`` and column ``u`` of the pixel whose centre is at integer ``(u, v)``:
``instance`` (0 = nothing hit, else an object's ``instance_id``), planar ``depth`` in meters along
the OpenCV camera z axis (0 = nothing hit) and ``semantic`` (category ids). Each ``check_*``
function fills figures of a :class:`FrameCheck` and records a failure (``"<figure>: <what>"``)
when its figure misses the :class:`Thresholds`; each takes ``None`` for a map that is absent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import layout
from .codecs import load_png
from .exr import read_exr
from .verify_report import FrameCheck, Thresholds

__all__ = ["load_map", "check_instance", "check_depth", "check_objects", "check_zero_depth",
           "check_semantic", "check_visibility", "check_poses", "write_debug_png", "coplanar_with_ground",
           "COPLANAR_HINT"]

COPLANAR_TOL_M = 1e-5    # a face this close to z = 0 (m) is in the ground plane for a float32 renderer


# --------------------------------------------------------------------------------------- reading


def read_labels(path: Path) -> np.ndarray:
    """A single-channel 16-bit (or 8-bit) label PNG as an int64 HxW array."""
    a = load_png(path)
    if a.ndim != 2:
        raise ValueError(f"expected a single-channel label PNG, got {a.shape[2]} channels")
    return a.astype(np.int64)


def read_depth(path: Path) -> np.ndarray:
    """The depth channel (``Y``; else the only channel) of an EXR file, as float64 HxW meters."""
    chans = read_exr(path)
    if "Y" in chans:
        arr = chans["Y"]
    elif len(chans) == 1:
        arr = next(iter(chans.values()))
    else:
        raise ValueError(f"no depth channel 'Y' (channels: {sorted(chans)})")
    if arr.ndim != 2:
        raise ValueError(f"depth channel has shape {arr.shape}, expected HxW")
    return arr.astype(np.float64)


READERS = {"instance": read_labels, "semantic": read_labels, "depth": read_depth}


def load_map(fc: FrameCheck, root: Path, kind: str, outputs) -> np.ndarray | None:
    """Map ``kind`` of frame ``fc.frame``, or None when absent, unreadable or not ``fc``'s size.

    Absent is a failure only when ``outputs`` (dataset.json's list, or None) promises the map.
    """
    rel = layout.output_path(kind, fc.frame)
    path = Path(root) / rel
    if not path.exists():
        if outputs is not None and kind in outputs:
            fc.errors.append(f"{rel} is missing")
            fc.fail(f"{kind}: file missing ({rel})")
        return None
    try:
        arr = READERS[kind](path)
    except Exception as e:  # any decoder error (PIL, OpenEXR, zlib): this map cannot be checked
        fc.errors.append(f"{rel}: {type(e).__name__}: {e}")
        fc.fail(f"{kind}: unreadable ({rel}: {e})")
        return None
    if arr.shape != (fc.height, fc.width):
        fc.errors.append(f"{rel} is {arr.shape[1]}x{arr.shape[0]}, meta says {fc.width}x{fc.height}")
        fc.fail(f"{kind}: wrong size ({fc.errors[-1]})")
        return None
    return arr


# ------------------------------------------------------------------------------------ comparisons


def check_instance(fc: FrameCheck, inst, inst_ray, known_ids, thr: Thresholds):
    """Instance agreement and ids unknown to meta. Returns the pixels whose depth is compared:
    both agree on a hit (with no instance map: both the ray cast and ``depth > 0`` hit), or None."""
    agree = inst == inst_ray
    fc.instance_agreement = float(agree.mean())
    fc.instance_disagree = int((~agree).sum())
    fc.ray_hit_map_empty = int(((inst_ray > 0) & (inst == 0)).sum())
    fc.map_hit_ray_miss = int(((inst_ray == 0) & (inst > 0)).sum())
    fc.different_ids = fc.instance_disagree - fc.ray_hit_map_empty - fc.map_hit_ray_miss
    if fc.instance_agreement < thr.instance_agreement:
        fc.fail(f"instance: agreement {fc.instance_agreement:.6f} < {thr.instance_agreement} "
                f"({fc.instance_disagree} px: {fc.ray_hit_map_empty} ray hit / map 0, "
                f"{fc.map_hit_ray_miss} map id / ray miss, {fc.different_ids} different ids)")
    unknown = sorted(set(np.unique(inst).tolist()) - set(known_ids) - {0})
    if unknown:
        fc.unknown_ids = [int(i) for i in unknown]
        fc.fail(f"instance: ids {fc.unknown_ids[:10]} are in the map but not in meta")
    return agree & (inst_ray > 0)


def check_depth(fc: FrameCheck, depth, depth_ray, compare, thr: Thresholds):
    """Relative depth error on the ``compare`` pixels (median, p99 'higher', max); returns the mask
    of pixels over the p99 bar (for the debug image), or None."""
    if depth is None or compare is None:
        return None
    fc.depth_compared = int(compare.sum())
    if not fc.depth_compared:
        return None
    ref = depth_ray[compare]
    with np.errstate(invalid="ignore"):
        rel = np.abs(depth[compare] - ref) / ref
    rel = np.where(np.isfinite(rel), rel, np.inf)
    fc.depth_rel_median = float(np.median(rel))
    fc.depth_rel_p99 = float(np.percentile(rel, 99, method="higher"))
    fc.depth_rel_max = float(rel.max())
    if fc.depth_rel_median > thr.depth_rel_median:
        fc.fail(f"depth: relative error median {fc.depth_rel_median:.3g} > {thr.depth_rel_median}")
    if fc.depth_rel_p99 > thr.depth_rel_p99:
        fc.fail(f"depth: relative error p99 {fc.depth_rel_p99:.3g} > {thr.depth_rel_p99}")
    bad = np.zeros(compare.shape, bool)
    bad[compare] = rel > thr.depth_rel_p99
    return bad


def _depth_medians(depth, depth_ray, inst_ray, compare, n: int):
    """Per instance id (< n): (lower median of the relative depth error, compared pixels)."""
    med = np.full(n, np.nan)
    ncmp = np.zeros(n, np.int64)
    if depth is None or compare is None or not compare.any():
        return med, ncmp
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
    return med, ncmp


def _edge_pixels(inst_ray, n: int) -> np.ndarray:
    """Per instance id (< n): its boundary pixels in the ray cast (a 4-neighbour has another id)."""
    b = np.zeros(inst_ray.shape, bool)
    dx = inst_ray[:, 1:] != inst_ray[:, :-1]
    dy = inst_ray[1:, :] != inst_ray[:-1, :]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:, :] |= dy
    b[:-1, :] |= dy
    return np.bincount(inst_ray[b], minlength=n)


def _cause(i: int, coplanar) -> str:
    """``"; likely cause: ..."`` for a failing object whose faces lie in the ground plane, else ""."""
    if coplanar is None:
        return ""
    try:
        ids = coplanar()
    except Exception:  # the diagnosis must never hide the failure itself
        return ""
    return f"; likely cause: {COPLANAR_HINT}" if i in ids else ""


def _worst(old, new, pick):
    return new if old is None else pick(old, new)


def coplanar_with_ground(meta: dict, geometry, tol_m: float = COPLANAR_TOL_M) -> set[int]:
    """Instance ids of the frame's objects with a triangle lying in the ground plane: all three
    vertices within ``tol_m`` meters of z = 0 (world frame), inside the ground's x-y extent, when the
    frame has a ground (meta ``kind`` or ``asset`` ``"ground"``). Such faces z-fight with the ground: the
    renderer and the ray cast may pick either surface."""
    from .verify_geometry import frame_triangles

    objects = meta.get("objects", [])
    if not any(o.get("kind") == "ground" or o.get("asset") == "ground" for o in objects):
        return set()
    V, F, face_id, _ = frame_triangles(meta, geometry)
    ground_ids = {int(o["instance_id"]) for o in objects
                  if o.get("kind") == "ground" or o.get("asset") == "ground"}
    is_ground = np.isin(face_id, list(ground_ids))
    gv = V[np.unique(F[is_ground])]
    lo, hi = gv[:, :2].min(axis=0) - tol_m, gv[:, :2].max(axis=0) + tol_m
    tri = V[F[~is_ground]]                                   # T x 3 x 3
    flat = np.all(np.abs(tri[:, :, 2]) <= tol_m, axis=1)
    c = tri[:, :, :2].mean(axis=1)
    inside = np.all((c >= lo) & (c <= hi), axis=1)
    return {int(i) for i in np.unique(face_id[~is_ground][flat & inside])}


COPLANAR_HINT = "coplanar with the ground (faces at z = 0): lift it or use rest_on_ground"


def check_objects(fc: FrameCheck, objects, inst, inst_ray, depth, depth_ray, compare, thr: Thresholds,
                  coplanar=None):
    """Per object in view: pixels in the map and in the ray cast, how many differ against how many
    may (its edge), mask IoU, depth error median (``fc.objects_detail``, one dict per object).
    ``coplanar``: optional callable returning the ids of :func:`coplanar_with_ground`, asked only when
    an object fails; a failing object among them is named with that likely cause."""
    ids = np.array([int(o["instance_id"]) for o in objects], np.int64)
    if inst is None or ids.size == 0:
        return
    n = int(max(ids.max(), inst.max(), inst_ray.max())) + 1
    in_map = np.bincount(inst.ravel(), minlength=n)
    in_ray = np.bincount(inst_ray.ravel(), minlength=n)
    inter = np.bincount(inst[inst == inst_ray], minlength=n)
    med, ncmp = _depth_medians(depth, depth_ray, inst_ray, compare, n)
    edge = _edge_pixels(inst_ray, n)
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
        fc.object_worst_iou = _worst(fc.object_worst_iou, iou, min)
        if thr.object_edge_frac is not None:
            allowed = max(thr.object_edge_min_px, thr.object_edge_frac * int(edge[i]))
            fc.object_worst_edge = _worst(fc.object_worst_edge, differ / allowed, max)
            if differ > allowed:
                bad_edge.append(f"id {i} ({o.get('name')}): {differ} px differ, {allowed:.0f} "
                                f"allowed ({in_map[i]} px in map, {in_ray[i]} in ray cast, "
                                f"{edge[i]} edge px){_cause(i, coplanar)}")
        if m is not None and ncmp[i] >= thr.object_min_px:
            fc.object_worst_depth = _worst(fc.object_worst_depth, m, max)
            if thr.object_depth_rel_median is not None and m > thr.object_depth_rel_median:
                bad_depth.append(f"id {i} ({o.get('name')}): {m:.3g}")
    if bad_edge:
        fc.fail("object mask: " + "; ".join(bad_edge[:5]))
    if bad_depth:
        fc.fail(f"object depth: relative error median > {thr.object_depth_rel_median}: "
                + "; ".join(bad_depth[:5]))


def check_zero_depth(fc: FrameCheck, depth, inst):
    """Depth is 0 exactly where the instance map is 0, and finite; returns the bad pixels or None."""
    if depth is None or inst is None:
        return None
    bad = ((depth == 0) != (inst == 0)) | ~np.isfinite(depth)
    fc.zero_depth_mismatch = int(bad.sum())
    if fc.zero_depth_mismatch:
        n_bg = int(((inst == 0) & (depth != 0)).sum())
        fc.fail(f"zero depth: {fc.zero_depth_mismatch} px ({n_bg} background px with depth != 0, "
                f"{fc.zero_depth_mismatch - n_bg} hit px with depth 0 or not finite)")
    return bad


def check_semantic(fc: FrameCheck, sem, inst, id_to_cat: dict):
    """Semantic equals the category id of the instance map's object everywhere (0 where nothing
    is hit); returns the bad pixels or None."""
    if sem is None or inst is None:
        return None
    n = max([int(inst.max()) if inst.size else 0] + list(id_to_cat)) + 1
    lut = np.full(n, -1, np.int64)
    lut[0] = 0
    for i, c in id_to_cat.items():
        if i > 0:
            lut[i] = c
    bad = sem != lut[inst]
    fc.semantic_mismatch = int(bad.sum())
    if fc.semantic_mismatch:
        fc.fail(f"semantic: {fc.semantic_mismatch} px differ from the category of their instance")
    return bad


def _visibility(inst: np.ndarray, ids) -> dict[int, tuple[int, list[int]]]:
    """Pixel count and ``[x, y, w, h]`` box of each id; computed here, independently of
    ``dataset.masks.visibility`` (which wrote the values under test)."""
    out = {}
    for i in ids:
        ys, xs = np.nonzero(inst == i)
        if len(xs) == 0:
            out[i] = (0, [-1, -1, 0, 0])
        else:
            x0, y0 = int(xs.min()), int(ys.min())
            out[i] = (len(xs), [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1])
    return out


def check_visibility(fc: FrameCheck, objects, inst) -> None:
    """Each meta object's ``px_count_visib`` and ``bbox_visib`` equal those of the instance map."""
    if inst is None:
        return
    vis = _visibility(inst, [int(o["instance_id"]) for o in objects])
    for o in objects:
        i = int(o["instance_id"])
        count, bbox = vis[i]
        if o.get("px_count_visib") != count:
            fc.px_count_mismatch.append([i, o.get("px_count_visib"), count])
        if list(o.get("bbox_visib") or []) != bbox:
            fc.bbox_mismatch.append([i, o.get("bbox_visib"), bbox])
    if fc.px_count_mismatch:
        fc.fail("px_count_visib: " + "; ".join(f"id {i}: meta {a}, map {b}"
                                                for i, a, b in fc.px_count_mismatch[:5]))
    if fc.bbox_mismatch:
        fc.fail("bbox_visib: " + "; ".join(f"id {i}: meta {a}, map {b}"
                                            for i, a, b in fc.bbox_mismatch[:5]))


def check_poses(fc: FrameCheck, meta: dict, tol: float = 1e-6) -> None:
    """Warn (not fail) when meta's redundant poses disagree: world2cam vs cam2world, obj2cam."""
    cam = meta["camera"]
    c2w = np.asarray(cam["cam2world"], np.float64)
    R = c2w[:3, :3]
    if np.abs(R.T @ R - np.eye(3)).max() > tol or np.linalg.det(R) < 0:
        fc.warnings.append("camera.cam2world's rotation is not orthonormal right-handed")
    if "world2cam" not in cam:
        return
    w2c = np.asarray(cam["world2cam"], np.float64)
    if np.abs(w2c @ c2w - np.eye(4)).max() > tol:
        fc.warnings.append("camera.world2cam is not the inverse of cam2world")
    for o in meta.get("objects", []):
        if "obj2cam" in o:
            want = w2c @ np.asarray(o["obj2world"], np.float64)
            if np.abs(np.asarray(o["obj2cam"], np.float64) - want).max() > tol * max(1.0, np.abs(want).max()):
                fc.warnings.append(f"object {o.get('instance_id')}: obj2cam != world2cam @ obj2world")


# ------------------------------------------------------------------------------------------ debug


def write_debug_png(path: Path, inst_map, inst_ray, depth_bad, sem_bad, zero_bad) -> None:
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
