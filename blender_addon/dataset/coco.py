"""COCO export: ``E/annotations.json`` + ``E/images/NNNNNN.png``.

One annotation per visible instance of a labelled category: an RLE mask exactly as pycocotools
encodes it (``counts`` a string), ``area`` = mask pixels, ``bbox`` = pycocotools' box of the mask,
``iscrowd`` 0 and an extra ``instance_id`` tying it to the instance map. Image ids are frame index
+ 1 (COCO ids start at 1); each image also carries ``frame`` = its frame index.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import InputError
from . import layout
from ._export import checked, copy_file, finish_export, labelled, open_input, prepare_export, require
from .writer import write_json


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
    out = prepare_export(out_dir, ds, "coco", overwrite)
    W, H = ds.image_size
    categories = sorted(ds.categories, key=lambda c: int(c["id"]))
    cat_ids = {int(c["id"]) for c in categories}
    images, annotations = [], []
    min_px = max(1, int(min_visible_pixels))
    for frame in checked(ds):
        file_name = f"images/{layout.frame_stem(frame.index)}.png"
        copy_file(frame.path("rgb"), out / file_name)
        inst = frame.instance
        h, w = inst.shape
        image_id = frame.index + 1
        images.append({"id": image_id, "file_name": file_name, "width": int(w), "height": int(h),
                       "frame": frame.index})
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
                "iscrowd": 0, "instance_id": iid})
    coco = {
        "info": {"description": f"synthblend dataset {ds.root.name}",
                 "version": str((ds.manifest.get("format") or {}).get("version", "")),
                 "contributor": "synthblend"},
        "licenses": [],
        "categories": [{"id": int(c["id"]), "name": str(c["name"]),
                        "supercategory": str(c.get("supercategory", "object"))}
                       for c in categories],
        "images": images,
        "annotations": annotations,
    }
    write_json(out / "annotations.json", coco)
    finish_export(out, "coco", ds)
    return {"images": len(images), "annotations": len(annotations),
            "annotations_json": str(Path(out) / "annotations.json")}
