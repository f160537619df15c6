"""Flat synthetic datasets for the label exporters (YOLO segment/pose, COCO keypoints), made without
Blender: instance maps drawn analytically at pixel centres, with the shapes polygon labels get wrong
when holes and parts are mishandled (a ring, a U, one instance in two blobs, pixels touching only at a
corner, a one-pixel line), and keypoints in the meta format of ``core/groundtruth3d.py`` (``uv`` in
pixels, pixel (u, v) centred at (u, v); visibility 0 outside, 1 hidden, 2 visible).

The manifest's config has three entries with keypoints of different counts (ring: 4 with flip pairs
and a skeleton; u: 2; blob: none), so exporters must pad and tie objects to their entries by name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthblend.core.outputs import semantic_from_instance
from synthblend.dataset.masks import visibility
from synthblend.dataset.writer import DatasetWriter

CATEGORIES = [{"id": 1, "name": "ring"}, {"id": 2, "name": "u"}, {"id": 3, "name": "blob"},
              {"id": 4, "name": "speck"}]
ENTRIES = [
    {"primitive": "torus", "category": "ring",
     "keypoints": {"left": [-1, 0, 0], "right": [1, 0, 0], "top": [0, -1, 0], "centre": [0, 0, 0]},
     "keypoint_flip": [["left", "right"]], "skeleton": [["left", "top"], ["top", "right"], [3, 0]]},
    {"primitive": "cube", "category": "u", "keypoints": [[0, 0, 0], [1, 0, 0]]},
    {"primitive": "sphere", "category": "blob"},
    {"primitive": "cone", "category": "speck"},
]


def _disc(W, H, cx, cy, r):
    v, u = np.mgrid[0:H, 0:W]
    return np.hypot(u - cx, v - cy) <= r


def _shapes(W, H, rng):
    """[(entry, mask, keypoints or None)] for one frame (later shapes occlude earlier ones)."""
    cx, cy = rng.uniform(0.25 * W, 0.4 * W), rng.uniform(0.35 * H, 0.65 * H)
    r_out, r_in = rng.uniform(0.17, 0.22) * H, rng.uniform(0.07, 0.1) * H
    ring = _disc(W, H, cx, cy, r_out) & ~_disc(W, H, cx, cy, r_in)
    kp_ring = [("left", (cx - 0.5 * (r_out + r_in), cy), 2), ("right", (cx + 0.5 * (r_out + r_in), cy), 1),
               ("top", (cx, cy - r_out - 40.0), 0), ("centre", (cx, cy), 2)]     # top: outside the image
    u = np.zeros((H, W), bool)
    x0, y0 = int(rng.integers(int(0.6 * W), int(0.68 * W))), int(rng.integers(2, 6))
    u[y0:y0 + 22, x0:x0 + 20] = True
    u[y0:y0 + 15, x0 + 6:x0 + 14] = False                                     # the U's slot
    kp_u = [("0", (x0 + 0.0, y0 + 20.5), 2), ("1", (x0 + 19.0, y0 + 21.0), 2)]
    b = _disc(W, H, 0.62 * W, 0.78 * H, 5.5) | _disc(W, H, 0.86 * W, 0.8 * H, 4.2)   # one blob, two parts
    speck = np.zeros((H, W), bool)
    speck[H - 6, 3], speck[H - 5, 4], speck[H - 4, 5] = True, True, True      # corner-touching pixels
    speck[H - 8, 2:9] = True                                                  # and a one-pixel line
    return [(0, ring, kp_ring), (1, u, kp_u), (2, b, None), (3, speck, None)]


def make_shapes_dataset(root, frames: int = 3, W: int = 96, H: int = 72, seed: int = 3) -> Path:
    root = Path(root)
    w = DatasetWriter(root)
    cfg = {"seed": seed, "scene": {"objects": ENTRIES}}
    w.write_manifest({
        "format": {"name": "synthblend", "version": 1},
        "generator": {"name": "tests/dataset/synthshapes.py", "blender": None},
        "config": cfg, "seed": seed, "frames": frames, "image_size": [W, H], "categories": CATEGORIES,
        "units": {"length": "m"}, "outputs": ["rgb", "instance", "semantic", "keypoints"]})
    K = [[100.0, 0, (W - 1) / 2], [0, 100.0, (H - 1) / 2], [0, 0, 1]]
    for fi in range(frames):
        rng = np.random.default_rng([seed, fi])
        inst = np.zeros((H, W), np.uint16)
        objects = []
        for iid, (entry, mask, kps) in enumerate(_shapes(W, H, rng), start=1):
            inst[mask] = iid
            e = ENTRIES[entry]
            cat = next(c["id"] for c in CATEGORIES if c["name"] == e["category"])
            o = {"instance_id": iid, "name": f"{e['category']}_{entry}_0", "category_id": cat,
                 "category": e["category"], "asset": f"primitive:{e['primitive']}", "kind": "object",
                 "obj2world": np.eye(4).tolist(), "obj2cam": np.eye(4).tolist()}
            if kps is not None:
                o["keypoints"] = [{"name": n, "xyz_cam": [0.0, 0.0, 1.0], "uv": [float(x), float(y)],
                                   "visibility": vis} for n, (x, y), vis in kps]
            objects.append(o)
        vis = visibility(inst, [o["instance_id"] for o in objects])
        for o in objects:
            o["px_count_visib"], o["bbox_visib"] = vis[o["instance_id"]]
        sem = semantic_from_instance(inst, {o["instance_id"]: o["category_id"] for o in objects})
        rgb = np.stack([(inst * 50 % 256).astype(np.uint8)] * 3, -1)
        meta = {"frame": fi, "seed": seed, "image_size": [W, H],
                "camera": {"K": K, "cam2world": np.eye(4).tolist(), "world2cam": np.eye(4).tolist()},
                "objects": objects, "lights": [], "world": {}, "sampled": {}}
        w.write_frame(fi, meta, rgb=rgb, instance=inst, semantic=sem)
    return root


@pytest.fixture(scope="session")
def shapes_dataset(tmp_path_factory):
    """A 3-frame 96x72 shapes dataset (read-only: tests must not modify it)."""
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes") / "ds")
