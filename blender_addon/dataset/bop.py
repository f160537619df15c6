"""BOP export (the layout bop_toolkit reads).

```
E/camera.json
E/models/obj_NNNNNN.ply            millimetres, scale baked in, with vertex normals
E/models/models_info.json          diameter, min_x/y/z, size_x/y/z (mm)
E/models/synthblend_models.json    obj_id -> asset, mesh, category, scale (not BOP; for people)
E/train_pbr/SSSSSS/                scene S = frames S*1000 .. S*1000+999; im_id = frame index; a dataset
                                   of scenes (scene.views / sequence: meta scene, view) writes one BOP
                                   scene per scene, S = meta scene, im_id = meta view
    rgb/IIIIII.png  depth/IIIIII.png (uint16, x depth_scale = mm)
    mask/IIIIII_GGGGGG.png          amodal silhouette (the object alone), 0/255
    mask_visib/IIIIII_GGGGGG.png    visible part, from the instance map, 0/255
    scene_gt.json  scene_camera.json  scene_gt_info.json
```
One obj_id per distinct (mesh, scale) of a labelled category: objects of a BOP model set
(``bop_models``, meta ``bop_obj_id``) keep their obj ids, the others are numbered after the largest
kept id (from 1 when there is none). Poses carry no scale. The amodal
masks come from an independent ray cast of ``DIR/meshes`` at the pixel centres (like the instance
map); ``scene_gt_info`` follows bop_toolkit's ``calc_gt_info.py``: px_count_all and bbox_obj are
measured on a canvas 3x the image (truncated parts count), boxes are ``[x, y, xmax-x, ymax-y]``
and ``[-1, -1, -1, -1]`` when nothing is visible.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from . import layout
from ._export import checked, copy_file, finish_export, labelled, need, open_input, prepare_export, require
from .codecs import save_png
from .writer import atomic_write_bytes, write_json

SCENE_SIZE = 1000
SPLIT = "train_pbr"


# ------------------------------------------------------------------------------------- geometry


def split_scale(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, s) with ``m = R @ diag(s)`` for a 3x3 rotation-times-axis-scale matrix."""
    s = np.linalg.norm(m, axis=0)
    if np.any(s <= 0):
        raise ValueError("degenerate object transform (zero scale)")
    return m / s, s


def _scale_key(s: np.ndarray) -> tuple:
    s = np.asarray(s, float)
    if np.allclose(s, s[0], rtol=1e-6, atol=0):
        s = np.full(3, s.mean())
    return tuple(float(f"{v:.7g}") for v in s)


class _MeshCache:
    """Meshes of DIR/meshes loaded once, with their ray intersectors."""

    def __init__(self, root: Path):
        self.root = root
        self._meshes = {}

    def get(self, rel: str):
        import trimesh

        if rel not in self._meshes:
            p = self.root / rel
            if not p.is_file():
                raise InputError(str(p), "mesh file referenced by the meta is missing")
            self._meshes[rel] = trimesh.load(p, force="mesh", process=False)
        return self._meshes[rel]


def silhouette(mesh, obj2cam: np.ndarray, K: np.ndarray, W: int, H: int, pad: bool = True, dist=None):
    """Amodal silhouette of ``mesh`` (local frame) seen through ``K`` with pose ``obj2cam``.

    A ray is cast through each pixel centre ``K^-1 [u, v, 1]`` (in the mesh's local frame, so one
    acceleration structure serves every pose). With ``pad`` the canvas is ``[-W, 2W) x [-H, 2H)``
    as in bop_toolkit. With ``dist`` (a lens distortion, core/distortion.py) each pixel's ray is its
    undistorted direction and the canvas is the image (a lens has no image beyond its sensor; pass
    ``pad=False``). Returns ``(mask over the canvas, (x0, y0) of the canvas)``.
    """
    x0, y0, x1, y1 = (-W, -H, 2 * W, 2 * H) if pad else (0, 0, W, H)
    obj2cam = np.asarray(obj2cam, float)
    v_cam = mesh.vertices @ obj2cam[:3, :3].T + obj2cam[:3, 3]
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    if len(mesh.faces) == 0 or np.all(v_cam[:, 2] <= 0):
        return mask, (x0, y0)
    if dist:    # a distorted camera: every pixel of the image, through its undistorted ray
        from ..core.distortion import pixel_xy
        xy, shape = pixel_xy(K, 0, 0, W, H, dist)
        bx0, by0, bx1, by1 = 0, 0, W, H
        d_cam = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    else:
        if np.all(v_cam[:, 2] > 1e-9):  # limit the rays to the projected box
            uv = v_cam @ np.asarray(K, float).T
            uv = uv[:, :2] / uv[:, 2:3]
            lo = np.floor(uv.min(0)).astype(np.int64) - 1
            hi = np.ceil(uv.max(0)).astype(np.int64) + 1
            bx0, by0 = max(x0, lo[0]), max(y0, lo[1])
            bx1, by1 = min(x1, hi[0] + 1), min(y1, hi[1] + 1)
        else:
            bx0, by0, bx1, by1 = x0, y0, x1, y1
        if bx0 >= bx1 or by0 >= by1:
            return mask, (x0, y0)
        vv, uu = np.mgrid[by0:by1, bx0:bx1]
        shape = vv.shape
        pix = np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)], 1).astype(np.float64)
        d_cam = pix @ np.linalg.inv(K).T
    cam2obj = np.linalg.inv(obj2cam)
    d_obj = d_cam @ cam2obj[:3, :3].T
    d_obj /= np.linalg.norm(d_obj, axis=1, keepdims=True)
    ray = np.flatnonzero(np.isfinite(d_obj).all(1))      # a fisheye pixel past 90 deg has no ray
    hit = np.zeros(len(d_obj), bool)
    hit[ray] = mesh.ray.intersects_any(np.broadcast_to(cam2obj[:3, 3], (len(ray), 3)), d_obj[ray])
    mask[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0] = hit.reshape(shape)
    return mask, (x0, y0)


def _bop_bbox(mask: np.ndarray, x0: int = 0, y0: int = 0) -> list[int]:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return [-1, -1, -1, -1]
    return [int(xs[0] + x0), int(ys[0] + y0), int(xs[-1] - xs[0]), int(ys[-1] - ys[0])]


def _diameter(v: np.ndarray) -> float:
    pts = v
    try:
        from scipy.spatial import ConvexHull

        if len(v) > 4:
            pts = v[ConvexHull(v).vertices]
    except Exception:  # no scipy, or a flat/degenerate point set: use all points
        pts = v
    best = 0.0
    for i in range(0, len(pts), 512):
        d = np.linalg.norm(pts[i:i + 512, None, :] - pts[None, :, :], axis=-1)
        best = max(best, float(d.max()))
    return best


def _ply_with_normals(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> bytes:
    v = np.zeros(len(vertices), dtype=[("p", "<f4", (3,)), ("n", "<f4", (3,))])
    v["p"], v["n"] = vertices, normals
    f = np.zeros(len(faces), dtype=[("c", "u1"), ("i", "<i4", (3,))])
    f["c"], f["i"] = 3, faces
    header = ("ply\nformat binary_little_endian 1.0\ncomment synthblend BOP model, millimetres\n"
              f"element vertex {len(v)}\n"
              + "".join(f"property float {a}\n" for a in ("x", "y", "z", "nx", "ny", "nz"))
              + f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    return header.encode("ascii") + v.tobytes() + f.tobytes()


# ------------------------------------------------------------------------------------- export


def _models(ds, meshes: _MeshCache):
    """obj_id per (mesh, scale key): an object of a BOP model set keeps its ``bop_obj_id``; the other
    models are numbered after the largest kept id, in sorted key order (1, 2, ... without BOP sets)."""
    keys, kept = {}, {}
    for frame in checked(ds):   # every frame checked before anything is written
        for o in labelled(frame):
            _, s = split_scale(np.asarray(need(frame, o, "obj2cam", "export bop"), float)[:3, :3])
            k = (str(need(frame, o, "mesh", "export bop")), _scale_key(s))
            keys.setdefault(k, o)
            if o.get("bop_obj_id") is not None:
                _keep_id(frame, o, k, kept)
    ids = {k: int(keys[k]["bop_obj_id"]) for k in kept.values()}
    nxt = max(ids.values(), default=0)
    for k in sorted(keys):
        if k not in ids:
            nxt += 1
            ids[k] = nxt
    return {k: (ids[k], keys[k]) for k in sorted(keys)}


def _keep_id(frame, o, key, kept: dict) -> None:
    """Record BOP obj id ``o["bop_obj_id"]`` for model ``key``; one id is one model."""
    obj_id = o["bop_obj_id"]
    if isinstance(obj_id, bool) or not isinstance(obj_id, int) or obj_id < 1:
        raise InputError(str(frame.path("meta")), f"object {o.get('instance_id')}: bop_obj_id must be an "
                                               f"integer >= 1, got {obj_id!r}")
    if kept.setdefault(obj_id, key) != key:
        raise InputError(str(frame.path("meta")), f"bop_obj_id {obj_id} names two models ({kept[obj_id][0]} at "
                                               f"scale {kept[obj_id][1]}, {key[0]} at scale {key[1]}); a "
                                               "BOP obj id needs one mesh at one constant scale")


def scene_and_image(frame) -> tuple[int, int]:
    """(BOP scene id, im_id) of a frame: its meta ``scene`` and ``view`` when the dataset has scenes of
    several views or sequences, else ``(frame // 1000, frame index)``."""
    meta = frame.meta
    scene, view = meta.get("scene"), meta.get("view")
    if scene is None or view is None:
        return frame.index // SCENE_SIZE, frame.index
    for k, v in (("scene", scene), ("view", view)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(str(frame.path("meta")), f"{k} must be an integer >= 0, got {v!r}")
    return scene, view


def export_bop(dataset_dir, out_dir, depth_scale: float = 0.1, overwrite: bool = False) -> dict:
    """Write the BOP export of ``dataset_dir`` into ``out_dir``; returns a small summary.

    ``depth_scale``: millimetres per depth-PNG unit (BOP default 0.1: 6.5535 m max range);
    depths beyond the uint16 range are written as 0 (no data) with a warning. ``out_dir`` follows
    the export folder rules (``dataset/_export.py``; ``overwrite``: write into any folder).
    """
    depth_scale = float(depth_scale)
    if not depth_scale > 0:
        raise InputError("--depth-scale", "must be > 0")
    ds = open_input(dataset_dir)
    require(ds, ["rgb", "depth", "instance"], "export bop")
    W, H = ds.image_size
    meshes = _MeshCache(ds.root)
    models = _models(ds, meshes)
    out = prepare_export(out_dir, ds, "bop", overwrite)

    (out / "models").mkdir(parents=True, exist_ok=True)
    models_info, model_map = {}, {}
    for (mesh_rel, skey), (obj_id, o) in models.items():
        import trimesh

        mesh = meshes.get(mesh_rel)
        _, s = split_scale(np.asarray(o["obj2cam"], float)[:3, :3])  # exact, not the rounded key
        v = np.asarray(mesh.vertices, float) * s * 1000.0
        mm = trimesh.Trimesh(v, mesh.faces, process=False)
        atomic_write_bytes(out / "models" / f"obj_{obj_id:06d}.ply",
                           _ply_with_normals(v, mesh.faces, mm.vertex_normals))
        lo, hi = v.min(0), v.max(0)
        models_info[str(obj_id)] = {
            "diameter": _diameter(v), "min_x": lo[0], "min_y": lo[1], "min_z": lo[2],
            "size_x": hi[0] - lo[0], "size_y": hi[1] - lo[1], "size_z": hi[2] - lo[2]}
        model_map[str(obj_id)] = {"mesh": mesh_rel, "asset": o.get("asset"),
                                  "category_id": o["category_id"], "category": o.get("category"),
                                  "scale": list(skey), "bop_obj_id_kept": o.get("bop_obj_id") is not None}
    write_json(out / "models" / "models_info.json", models_info)
    write_json(out / "models" / "synthblend_models.json", model_map)

    first = ds[0]
    K0 = first.K
    write_json(out / "camera.json", {"cx": K0[0, 2], "cy": K0[1, 2], "fx": K0[0, 0],
                                     "fy": K0[1, 1], "width": W, "height": H,
                                     "depth_scale": depth_scale})

    scenes: dict[int, dict] = {}
    n_gt, n_clipped, n_distorted = 0, 0, 0
    for frame in ds:
        scene_id, im_id = scene_and_image(frame)
        sd = out / SPLIT / f"{scene_id:06d}"
        sc = scenes.setdefault(scene_id, {"gt": {}, "camera": {}, "info": {}})
        stem = layout.frame_stem(im_id)
        copy_file(frame.path("rgb"), sd / "rgb" / f"{stem}.png")

        depth_mm = frame.depth.astype(np.float64) * 1000.0
        units = np.round(depth_mm / depth_scale)
        too_far = units > 65535
        n_clipped += int(too_far.sum())
        units[too_far | ~np.isfinite(units) | (units < 0)] = 0
        (sd / "depth").mkdir(parents=True, exist_ok=True)
        save_png(sd / "depth" / f"{stem}.png", units.astype(np.uint16))

        K = frame.K
        w2c = frame.world2cam
        dist = (frame.meta.get("camera") or {}).get("distortion")
        n_distorted += bool(dist)
        sc["camera"][str(im_id)] = {"cam_K": K.ravel().tolist(), "depth_scale": depth_scale,
                                    "cam_R_w2c": w2c[:3, :3].ravel().tolist(),
                                    "cam_t_w2c": (w2c[:3, 3] * 1000.0).tolist()}
        inst, valid = frame.instance, frame.depth > 0
        gts, infos = [], []
        for gt_id, o in enumerate(labelled(frame)):
            m2c = np.asarray(o["obj2cam"], float)
            R, s = split_scale(m2c[:3, :3])
            obj_id = models[(str(o["mesh"]), _scale_key(s))][0]
            gts.append({"cam_R_m2c": R.ravel().tolist(),
                        "cam_t_m2c": (m2c[:3, 3] * 1000.0).tolist(), "obj_id": obj_id})
            big, (x0, y0) = silhouette(meshes.get(str(o["mesh"])), m2c, K, W, H, pad=not dist, dist=dist)
            visib = inst == int(o["instance_id"])
            amodal = big[-y0:-y0 + H, -x0:-x0 + W] | visib  # visible pixels are silhouette too
            px_all = int(big.sum() + (visib & ~big[-y0:-y0 + H, -x0:-x0 + W]).sum())
            px_visib = int(visib.sum())
            infos.append({
                "bbox_obj": _bop_bbox(big, x0, y0) if px_visib else [-1, -1, -1, -1],
                "bbox_visib": _bop_bbox(visib),
                "px_count_all": px_all,
                "px_count_valid": int((amodal & valid).sum()),
                "px_count_visib": px_visib,
                "visib_fract": px_visib / px_all if px_all else 0.0})
            name = f"{stem}_{gt_id:06d}.png"
            for sub, m in (("mask", amodal), ("mask_visib", visib)):
                (sd / sub).mkdir(parents=True, exist_ok=True)
                save_png(sd / sub / name, m.astype(np.uint8) * 255)
            n_gt += 1
        sc["gt"][str(im_id)] = gts
        sc["info"][str(im_id)] = infos

    for scene_id, sc in scenes.items():
        sd = out / SPLIT / f"{scene_id:06d}"
        write_json(sd / "scene_gt.json", sc["gt"])
        write_json(sd / "scene_camera.json", sc["camera"])
        write_json(sd / "scene_gt_info.json", sc["info"])
    finish_export(out, "bop", ds)
    if n_distorted:
        warnings.warn(f"{n_distorted} frames have a lens distortion, which the BOP format cannot hold "
                      "(scene_camera.json has cam_K only): their images and masks are those of the "
                      "distorted camera; meta/ keeps the model (README: exports)", stacklevel=2)
    if n_clipped:
        warnings.warn(f"{n_clipped} depth pixels are beyond {65535 * depth_scale / 1000:.3f} m "
                      f"(uint16 x depth_scale {depth_scale} mm) and were written as 0; "
                      "use a larger depth_scale", stacklevel=2)
    return {"images": len(ds), "objects": len(models), "instances": n_gt, "scenes": len(scenes),
            "depth_pixels_out_of_range": n_clipped}
