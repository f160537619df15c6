"""YOLO export in the Ultralytics layout.

```
E/data.yaml                 path, train, val, nc, names {0: first category, ...}
E/images/{train,val}/NNNNNN.png
E/labels/{train,val}/NNNNNN.txt   one line per visible labelled instance
```
``detect``: ``cls cx cy w h`` normalised by the image size, from ``bbox_visib`` (pixel ``u``
spans ``[u, u+1)``, so the box edges are ``x`` and ``x + w``). ``segment``: ``cls x1 y1 x2 y2 ...``,
the exact pixel-corner outline of the instance mask; masks in several parts are joined into one
polygon by zero-width bridges, as Ultralytics' own converters do. Class indices are 0-based in
the order of ``dataset.json``'s categories. The split is deterministic: frames are ranked by a hash
of their index and the first ``round(val_fraction * N)`` go to ``val``.
"""
from __future__ import annotations

import hashlib

from ..core.errors import InputError
from . import layout
from ._export import checked, copy_file, finish_export, labelled, open_input, prepare_export, require
from .masks import mask_polygons, merge_polygons
from .writer import atomic_write_bytes

TASKS = ("detect", "segment")


def split_frames(indices: list[int], val_fraction: float) -> set[int]:
    """The frame indices that go to ``val``: deterministic, independent of the order given."""
    n_val = int(round(val_fraction * len(indices)))
    if val_fraction > 0 and len(indices) >= 2:
        n_val = max(1, min(n_val, len(indices) - 1))
    rank = sorted(indices, key=lambda i: (hashlib.sha256(f"synthblend:{i}".encode()).digest(), i))
    return set(rank[:n_val])


def _fmt(v: float) -> str:
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def _yaml_str(s: str) -> str:
    """A YAML scalar that always reads back as the same string."""
    import json
    return json.dumps(str(s))


def export_yolo(dataset_dir, out_dir, task: str = "detect", val_fraction: float = 0.2,
                overwrite: bool = False) -> dict:
    """Write the Ultralytics export of ``dataset_dir`` into ``out_dir``; returns a small summary.
    ``out_dir`` follows the export folder rules (``dataset/_export.py``; ``overwrite``: any folder)."""
    if task not in TASKS:
        raise InputError("--task", f"must be one of {', '.join(TASKS)}, not {task!r}")
    val_fraction = float(val_fraction)
    if not 0.0 <= val_fraction < 1.0:
        raise InputError("--val-fraction", f"must be in [0, 1), not {val_fraction}")
    ds = open_input(dataset_dir)
    require(ds, ["rgb"] + (["instance"] if task == "segment" else []), f"export yolo --task {task}")
    out = prepare_export(out_dir, ds, "yolo", overwrite)
    categories = list(ds.categories)
    cls_of = {int(c["id"]): i for i, c in enumerate(categories)}
    val = split_frames(ds.indices, val_fraction)
    counts = {"train": 0, "val": 0}
    n_labels = 0
    for frame in checked(ds):
        split = "val" if frame.index in val else "train"
        counts[split] += 1
        stem = layout.frame_stem(frame.index)
        copy_file(frame.path("rgb"), out / "images" / split / f"{stem}.png")
        W, H = frame.meta.get("image_size") or ds.image_size
        lines = []
        for o in labelled(frame):
            cid = int(o["category_id"])
            if cid not in cls_of:
                raise InputError(str(frame.path("meta")),
                                 f"object {o.get('name')!r} has category_id {cid}, "
                                 "which dataset.json does not list")
            x, y, w, h = o.get("bbox_visib") or [-1, -1, 0, 0]
            if int(o.get("px_count_visib") or 0) <= 0 or w <= 0 or h <= 0:
                continue
            if task == "detect":
                vals = [(x + w / 2) / W, (y + h / 2) / H, w / W, h / H]
            else:
                poly = merge_polygons(mask_polygons(frame.instance == int(o["instance_id"])))
                if len(poly) < 3:
                    continue
                vals = (poly / [W, H]).ravel().tolist()
            lines.append(" ".join([str(cls_of[cid])] + [_fmt(v) for v in vals]))
        n_labels += len(lines)
        atomic_write_bytes(out / "labels" / split / f"{stem}.txt",
                           "".join(line + "\n" for line in lines).encode())
    for split in ("train", "val"):  # Ultralytics expects both folders
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    names = "".join(f"  {i}: {_yaml_str(c['name'])}\n" for i, c in enumerate(categories))
    data_yaml = (f"# synthblend YOLO export ({task}) of {_yaml_str(str(ds.root))}\n"
                 f"path: {_yaml_str(str(out.resolve()))}\n"
                 "train: images/train\nval: images/val\n"
                 f"nc: {len(categories)}\nnames:\n{names}")
    atomic_write_bytes(out / "data.yaml", data_yaml.encode())
    finish_export(out, "yolo", ds)
    return {"train": counts["train"], "val": counts["val"], "labels": n_labels, "task": task,
            "data_yaml": str(out / "data.yaml")}
