"""YOLO export in the Ultralytics layout.

```
E/data.yaml                 train, val, nc, names {0: first category, ...} (no ``path``: Ultralytics
                            then takes the yaml's own folder, so E can be moved); pose adds
                            kpt_shape, flip_idx, kpt_names
E/images/{train,val}/NNNNNN.png
E/labels/{train,val}/NNNNNN.txt   one line per visible labelled instance
```
Coordinates are normalised continuous image coordinates: 0 is the left (top) edge of the image, 1 the
right (bottom) edge, so the centre of the dataset's pixel ``(u, v)`` (at ``(u, v)`` in K's
convention) is written ``((u + 0.5) / W, (v + 0.5) / H)``. This is the frame Ultralytics' boxes and
augmentations (flip: ``x -> W - x``, scaling) work in, and its loader truncates a polygon's
``x * W`` to an integer before ``cv2.fillPoly``, which gives back exactly ``u``.

* ``detect``: ``cls cx cy w h`` from ``bbox_visib`` (pixel ``u`` spans ``[u, u+1)``, so the box edges
  are ``x`` and ``x + w``).
* ``segment``: ``cls x1 y1 x2 y2 ...``: the polygon through the centres of the instance mask's
  boundary pixels (``masks.mask_polygon``); parts and holes joined into one polygon by zero-width
  bridges, as Ultralytics' converters do. Filled as Ultralytics fills it, it gives back the mask
  exactly, plus the pixels under the bridges between separate parts.
* ``pose``: ``cls cx cy w h`` (``bbox_visib``) then ``x y v`` for each of ``kpt_shape[0]`` keypoint
  slots: the object's meta keypoints in its entry's order, ``v`` the dataset's COCO visibility
  (0 not in the image, 1 hidden, 2 visible); ``0 0 0`` for v = 0 and for the slots past the
  object's own keypoints (entries with fewer keypoints, or none, are padded to the largest count).
  ``flip_idx`` from the entries' ``keypoint_flip`` (``keypoint_sets.flip_index``).

Class indices are 0-based in the order of ``dataset.json``'s categories. The split is deterministic:
frames are ranked by a hash of their index and the first ``round(val_fraction * N)`` go to ``val``.
"""
from __future__ import annotations

import hashlib
import json

from ..core.errors import InputError
from . import layout
from ._export import checked, copy_file, finish_export, labelled, open_input, prepare_export, require
from .keypoint_sets import config_entries, entry_of, flip_index, visible_uv
from .masks import mask_polygon
from .writer import atomic_write_bytes

TASKS = ("detect", "segment", "pose")


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
    return json.dumps(str(s))


class _Pose:
    """The keypoint slots of a pose export: entries seen, slot count, flip_idx, names per class."""

    def __init__(self, ds, frames, cls_of: dict[int, int]):
        where = str(ds.root / "dataset.json")
        entries = config_entries(ds.manifest)
        seen: dict = {}
        self.names: dict[int, tuple[str, ...]] = {}
        for frame in frames:
            for o in labelled(frame):
                e = entry_of(o, entries, where)
                if e is not None:
                    seen.setdefault((e.entry, e.names), e)
                    self.names.setdefault(cls_of.get(int(o["category_id"]), -1), e.names)
        if not seen:
            raise InputError(str(ds.root), "export yolo --task pose needs keypoints in meta; render with "
                                           "scene.objects[].keypoints and render.outputs including keypoints")
        used = list(seen.values())
        self.n = max([len(e.names) for e in used] + [e.count for e in entries if e is not None])
        self.flip = flip_index(used, self.n, where)

    def values(self, o: dict, W: int, H: int) -> list[float]:
        vals = []
        kps = o.get("keypoints") or []
        for k in range(self.n):
            u, v, vis = visible_uv(kps[k]) if k < len(kps) else (0.0, 0.0, 0)
            vals += [(u + 0.5) / W, (v + 0.5) / H, vis] if vis else [0.0, 0.0, 0]
        return vals

    def yaml(self, n_classes: int) -> str:
        names = "".join(f"  {c}: [{', '.join(_yaml_str(s) for s in self._padded(c))}]\n"
                        for c in range(n_classes))
        return (f"kpt_shape: [{self.n}, 3]\nflip_idx: [{', '.join(map(str, self.flip))}]\n"
                f"kpt_names:\n{names}")

    def _padded(self, c: int) -> list[str]:
        own = list(self.names.get(c, ()))
        return own + [str(k) for k in range(len(own), self.n)]


def _row(task: str, o: dict, frame, W: int, H: int, pose: _Pose | None) -> list[float] | None:
    """The label values of one object (after its class), None to leave it out."""
    x, y, w, h = o.get("bbox_visib") or [-1, -1, 0, 0]
    if int(o.get("px_count_visib") or 0) <= 0 or w <= 0 or h <= 0:
        return None
    box = [(x + w / 2) / W, (y + h / 2) / H, w / W, h / H]
    if task == "detect":
        return box
    if task == "pose":
        return box + pose.values(o, W, H)
    poly = mask_polygon(frame.instance == int(o["instance_id"]))
    if len(poly) < 3:
        return None
    return ((poly + 0.5) / [W, H]).ravel().tolist()


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
    categories = list(ds.categories)
    cls_of = {int(c["id"]): i for i, c in enumerate(categories)}
    pose = _Pose(ds, checked(ds), cls_of) if task == "pose" else None
    out = prepare_export(out_dir, ds, "yolo", overwrite)
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
            vals = _row(task, o, frame, W, H, pose)
            if vals is not None:
                lines.append(" ".join([str(cls_of[cid])] + [_fmt(v) for v in vals]))
        n_labels += len(lines)
        atomic_write_bytes(out / "labels" / split / f"{stem}.txt",
                           "".join(line + "\n" for line in lines).encode())
    for split in ("train", "val"):  # Ultralytics expects both folders
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    names = "".join(f"  {i}: {_yaml_str(c['name'])}\n" for i, c in enumerate(categories))
    data_yaml = (f"# synthblend YOLO export ({task}) of {_yaml_str(ds.root.name)}; paths are relative to "
                 "this file's folder (no 'path' key)\n"
                 "train: images/train\nval: images/val\n"
                 f"nc: {len(categories)}\nnames:\n{names}"
                 + (pose.yaml(len(categories)) if pose else ""))
    atomic_write_bytes(out / "data.yaml", data_yaml.encode())
    finish_export(out, "yolo", ds)
    summary = {"train": counts["train"], "val": counts["val"], "labels": n_labels, "task": task,
               "data_yaml": str(out / "data.yaml")}
    if pose:
        summary["kpt_shape"] = [pose.n, 3]
    return summary
