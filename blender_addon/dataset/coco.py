"""COCO export: ``E/annotations.json`` + ``E/images/NNNNNN.png``.

``file_name`` is relative to the image folder ``E/images/`` (``000000.png``), as in COCO's own
annotation files (``annotations/instances_val2017.json`` next to ``val2017/``): readers take
``(E/images, E/annotations.json)``, e.g. ``torchvision.datasets.CocoDetection(E/"images",
E/"annotations.json")``. One annotation per visible instance of a labelled category: an RLE mask
exactly as pycocotools encodes it (``counts`` a string), ``area`` = mask pixels, ``bbox`` =
pycocotools' box of the mask, ``iscrowd`` 0 and an extra ``instance_id`` tying it to the instance map.
Image ids are frame index + 1 (COCO ids start at 1); each image also carries ``frame`` = its frame
index. Datasets of scenes (``scene.views``, ``sequence``; meta ``scene`` and ``view``) are
videos as CocoVID (mmtracking, TAO, YouTube-VIS style) writes them: a top-level ``videos`` list
(``id`` = scene + 1, ``name`` ``scene_SSSSSS``) and per image ``video_id`` (its scene + 1) and
``frame_id`` (its view: 0, 1, ... in the scene's order); instance ids are constant within a
scene, so ``instance_id`` tracks an object through its video.

Keypoints (:func:`_keypoint_categories`): a category whose objects carry meta keypoints lists their
names under ``keypoints`` and its ``skeleton`` (COCO's 1-based index pairs, from the entries'
``skeleton``); each of its annotations has ``keypoints`` ``[x, y, v] * K`` with ``(x, y)`` the
dataset's ``uv`` (pixel indices, pixel ``(u, v)`` centred at ``(u, v)``, as COCO's keypoints are) and
``v`` the dataset's visibility (0 not in the image, then x = y = 0; 1 hidden; 2 visible), and
``num_keypoints`` = the count with ``v > 0``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import InputError
from . import layout
from ._export import checked, copy_file, finish_export, labelled, open_input, prepare_export, require
from .keypoint_sets import config_entries, entry_of, visible_uv
from .writer import write_json


def _keypoint_categories(ds, frames) -> dict[int, tuple[tuple[str, ...], list[list[int]]]]:
    """``{category_id: (keypoint names, skeleton as 1-based pairs)}`` of the categories whose objects
    carry keypoints; InputError when the entries of one category name different keypoints."""
    where = str(ds.root / "dataset.json")
    entries = config_entries(ds.manifest)
    out: dict[int, tuple[tuple[str, ...], list[list[int]]]] = {}
    for frame in frames:
        for o in labelled(frame):
            e = entry_of(o, entries, where)
            if e is None:
                continue
            cid = int(o["category_id"])
            names, skel = out.setdefault(cid, (e.names, []))
            if names != e.names:
                raise InputError(where, f"category {o.get('category')!r}: its objects name different keypoints "
                                        f"({', '.join(names)} / {', '.join(e.names)}); COCO takes one list "
                                        "per category")
            for i, j in e.skeleton:
                if [i + 1, j + 1] not in skel:
                    skel.append([i + 1, j + 1])
    return out


def _keypoints(o: dict, n: int) -> dict:
    kps = o.get("keypoints") or []
    flat = []
    for k in range(n):
        u, v, vis = visible_uv(kps[k]) if k < len(kps) else (0.0, 0.0, 0)
        flat += [u, v, vis]
    return {"keypoints": flat, "num_keypoints": sum(1 for k in range(2, len(flat), 3) if flat[k] > 0)}


def _video_fields(frame, videos: dict) -> dict:
    """``{video_id, frame_id}`` of a frame of a scene (meta ``scene``, ``view``; the scene's video is
    added to ``videos``), ``{}`` for a dataset of independent frames."""
    scene, view = frame.meta.get("scene"), frame.meta.get("view")
    if scene is None or view is None:
        return {}
    for k, v in (("scene", scene), ("view", view)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(str(frame.path("meta")), f"{k} must be an integer >= 0, got {v!r}")
    videos.setdefault(scene, {"id": scene + 1, "name": f"scene_{scene:06d}"})
    return {"video_id": scene + 1, "frame_id": view}


def export_coco(dataset_dir, out_dir, min_visible_pixels: int = 0, overwrite: bool = False) -> dict:
    """Write the COCO export of ``dataset_dir`` into ``out_dir``; returns a small summary.

    Instances with fewer than ``max(1, min_visible_pixels)`` visible pixels are left out. ``out_dir``
    follows the export folder rules (``dataset/_export.py``; ``overwrite``: write into any folder).
    """
    from pycocotools import mask as mask_util

    if int(min_visible_pixels) < 0:
        raise InputError("--min-visible-pixels", "must be >= 0")
    ds = open_input(dataset_dir)
    require(ds, ["rgb", "instance"], "export coco")
    kp_cats = _keypoint_categories(ds, checked(ds))
    out = prepare_export(out_dir, ds, "coco", overwrite)
    W, H = ds.image_size
    categories = sorted(ds.categories, key=lambda c: int(c["id"]))
    cat_ids = {int(c["id"]) for c in categories}
    images, annotations, videos = [], [], {}
    min_px = max(1, int(min_visible_pixels))
    for frame in checked(ds):
        file_name = f"{layout.frame_stem(frame.index)}.png"
        copy_file(frame.path("rgb"), out / "images" / file_name)
        inst = frame.instance
        h, w = inst.shape
        image_id = frame.index + 1
        images.append({"id": image_id, "file_name": file_name, "width": int(w), "height": int(h),
                       "frame": frame.index, **_camera(frame), **_video_fields(frame, videos)})
        for o in labelled(frame):
            iid, cid = int(o["instance_id"]), int(o["category_id"])
            if cid not in cat_ids:
                raise InputError(str(frame.path("meta")),
                                 f"object {o.get('name')!r} has category_id {cid}, "
                                 "which dataset.json does not list")
            mask = inst == iid
            area = int(mask.sum())
            if area < min_px:
                continue
            rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": cid,
                "segmentation": {"size": [int(h), int(w)], "counts": rle["counts"].decode("ascii")},
                "area": area, "bbox": [float(v) for v in mask_util.toBbox(rle)],
                "iscrowd": 0, "instance_id": iid,
                **(_keypoints(o, len(kp_cats[cid][0])) if cid in kp_cats else {})})
    coco = {
        "info": {"description": f"synthblend dataset {ds.root.name}",
                 "version": str((ds.manifest.get("format") or {}).get("version", "")),
                 "contributor": "synthblend"},
        "licenses": [],
        "categories": [{"id": int(c["id"]), "name": str(c["name"]),
                        "supercategory": str(c.get("supercategory", "object")),
                        **({"keypoints": list(kp_cats[int(c["id"])][0]), "skeleton": kp_cats[int(c["id"])][1]}
                           if int(c["id"]) in kp_cats else {})}
                       for c in categories],
        **({"videos": [videos[k] for k in sorted(videos)]} if videos else {}),
        "images": images,
        "annotations": annotations,
    }
    write_json(out / "annotations.json", coco)
    finish_export(out, "coco", ds)
    return {"images": len(images), "annotations": len(annotations),
            "annotations_json": str(Path(out) / "annotations.json")}


def _camera(frame) -> dict:
    """``{"camera": {"K", "distortion"}}`` for a frame of a distorted camera (COCO has no camera
    field; readers ignore extra keys of ``images[]``, so its model and coefficients travel there),
    else ``{}`` (exports of pinhole datasets stay as they were)."""
    dist = (frame.meta.get("camera") or {}).get("distortion")
    if not dist:
        return {}
    return {"camera": {"K": frame.K.tolist(), "distortion": dict(dist)}}
