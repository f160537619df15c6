"""The acceptance checks of issue 16 on a rendered dataset, from the dataset alone (its files, meta
and meshes/), independent of core/flow.py and core/object_coords.py: flow by unprojecting each hit
pixel with its depth, K and cam2world, moving it with its object's obj2world and projecting it with
the other frame's camera (OpenCV), the mask against the documented depth test, object coordinates
against trimesh's float64 ray cast of the object's mesh file. Shared by the render tests and
scripts/check_flow.py."""
from __future__ import annotations

import numpy as np


def pair_flow(fa, fb):
    """Independent flow of frame ``fa``'s hit pixels to frame ``fb`` (reader Frames):
    (pixel indices, Nx2 flow, N depth in fb's camera, N instance ids)."""
    import cv2

    depth, inst = fa.depth.astype(np.float64), fa.instance.astype(np.int64)
    H, W = depth.shape
    pix = np.flatnonzero((inst.ravel() > 0) & (depth.ravel() > 0))
    v, u = np.divmod(pix, W)
    d_cam = np.stack([u, v, np.ones(len(u))], 1) @ np.linalg.inv(fa.K).T
    P_cam = d_cam * depth.ravel()[pix, None] / d_cam[:, 2:3]
    c2w = fa.cam2world
    P = P_cam @ c2w[:3, :3].T + c2w[:3, 3]
    own = inst.ravel()[pix]
    pa = {o["instance_id"]: np.asarray(o["obj2world"], float) for o in fa.objects}
    pb = {o["instance_id"]: np.asarray(o["obj2world"], float) for o in fb.objects}
    for iid in np.unique(own):
        m = own == iid
        M = pb[int(iid)] @ np.linalg.inv(pa[int(iid)])
        P[m] = P[m] @ M[:3, :3].T + M[:3, 3]
    w2c = fb.world2cam
    rvec, _ = cv2.Rodrigues(w2c[:3, :3])
    uv, _ = cv2.projectPoints(P, rvec, w2c[:3, 3], fb.K, None)
    z = (P @ w2c[:3, :3].T + w2c[:3, 3])[:, 2]
    return pix, uv.reshape(-1, 2) - np.stack([u, v], 1), z, own


def depth_test(depth, instance, uv_o, z_o, own, tol_m=1e-3, tol_rel=0.02):
    """The depth test docs/views.md documents, pixel by pixel: the nearest pixel q of the projected
    point has the point's instance and a depth within 1 mm + 2 % + the slope allowance."""
    D, ids = np.asarray(depth, float), np.asarray(instance).astype(int)
    H, W = D.shape
    out = np.zeros(len(z_o), bool)
    for n, ((u, v), z, iid) in enumerate(zip(uv_o, z_o, own, strict=True)):
        if not (-0.5 <= u < W - 0.5 and -0.5 <= v < H - 0.5):
            continue
        qu, qv = int(np.floor(u + 0.5)), int(np.floor(v + 0.5))
        if D[qv, qu] <= 0 or ids[qv, qu] != iid:
            continue
        slopes = []
        for nbrs in (((qu - 1, qv), (qu + 1, qv)), ((qu, qv - 1), (qu, qv + 1))):
            steps = [abs(D[b, a] - D[qv, qu]) for a, b in nbrs
                     if 0 <= a < W and 0 <= b < H and ids[b, a] == iid and D[b, a] > 0]
            slopes.append(min(steps) if steps else 0.0)
        tol = tol_m + tol_rel * z + abs(u - qu) * slopes[0] + abs(v - qv) * slopes[1]
        out[n] = abs(z - D[qv, qu]) <= tol
    return out


def check_flow(ds) -> list[dict]:
    """Per frame pair (t, t +- 1 of one scene) and direction: flow error median and p99 on valid
    pixels, the fraction of hit pixels valid, and the mask's agreement with the depth test."""
    by_index = {f.index: f for f in ds}
    rows = []
    for t, fa in by_index.items():
        for name, other in (("flow_forward", t + 1), ("flow_backward", t - 1)):
            written = fa.load(name)
            fb = by_index.get(other)
            same = fb is not None and fb.meta.get("scene") == fa.meta.get("scene", t)
            if written is None:
                continue
            if not same:
                rows.append({"frame": t, "output": name, "other": None, "all_invalid": not written.any()})
                continue
            pix, exp, z, own = pair_flow(fa, fb)
            got = written.reshape(-1, 3)[pix]
            valid = got[:, 2] > 0
            err = np.linalg.norm(got[valid, :2] - exp[valid], axis=1)
            v, u = np.divmod(pix, fa.depth.shape[1])
            mask = depth_test(fb.depth, fb.instance, exp + np.stack([u, v], 1), z, own)
            rows.append({"frame": t, "output": name, "other": other, "valid_fraction": float(valid.mean()),
                         "median_px": float(np.median(err)) if len(err) else 0.0,
                         "p99_px": float(np.percentile(err, 99)) if len(err) else 0.0,
                         "mask_agreement": float(np.mean(mask == valid)),
                         "zero_where_invalid": bool(np.all(got[~valid, :2] == 0))})
    return rows


def check_object_coords(ds, frame) -> dict:
    """Max |object_coords - inverse(obj2world) @ hit| / the object's extent over the pixels whose
    centre ray (trimesh's float64 caster, the object's mesh file from meta) hits that object."""
    import trimesh
    from trimesh.ray.ray_triangle import RayMeshIntersector

    X = frame.object_coords.astype(np.float64)
    inst = frame.instance.astype(np.int64)
    H, W = inst.shape
    worst, n = 0.0, 0
    c2w = frame.cam2world
    for o in frame.objects:
        pix = np.flatnonzero(inst.ravel() == o["instance_id"])
        if len(pix) == 0:
            continue
        mesh = trimesh.load(ds.root / o["mesh"], force="mesh", process=False)
        T = np.asarray(o["obj2world"], float)
        world = trimesh.Trimesh(mesh.vertices @ T[:3, :3].T + T[:3, 3], mesh.faces, process=False)
        v, u = np.divmod(pix, W)
        d = np.stack([u, v, np.ones(len(u))], 1) @ np.linalg.inv(frame.K).T @ c2w[:3, :3].T
        orig = np.broadcast_to(c2w[:3, 3], d.shape)
        _, ray, loc = RayMeshIntersector(world).intersects_id(orig, d, multiple_hits=True, return_locations=True)
        if len(ray) == 0:
            continue
        dist = np.linalg.norm(loc - orig[ray], axis=1)
        order = np.lexsort((dist, ray))
        ray, loc = ray[order], loc[order]
        first = np.r_[True, ray[1:] != ray[:-1]]
        ray, loc = ray[first], loc[first]
        Tinv = np.linalg.inv(T)
        want = loc @ Tinv[:3, :3].T + Tinv[:3, 3]
        extent = float(np.linalg.norm(mesh.extents))
        err = np.abs(X.reshape(-1, 3)[pix[ray]] - want).max() / extent
        worst, n = max(worst, float(err)), n + len(ray)
    return {"frame": frame.index, "max_error_over_extent": worst, "pixels": n,
            "background_zero": bool(np.all(X[inst == 0] == 0))}
