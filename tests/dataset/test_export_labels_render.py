"""A tiny Cycles render of real shapes (a torus: a hole; a cone; Blender's monkey) with keypoints,
keypoint_flip and skeleton in the config, exported through the CLI and read back by Ultralytics'
loader and pycocotools, against the dataset's own instance maps and meta keypoints."""
import contextlib
import io
import json

import numpy as np
import pytest
import yaml

from conftest import run_cli, write_config
from synthblend.dataset.reader import open_dataset

pytestmark = pytest.mark.render
pytest.importorskip("ultralytics")
ndimage = pytest.importorskip("scipy.ndimage")
import ultra  # noqa: E402

CONFIG = {
    "seed": 4, "frames": 3,
    "render": {"resolution": [96, 72], "quality": "draft", "samples": 1,
               "outputs": ["rgb", "instance", "semantic", "keypoints"]},
    "scene": {
        "objects": [
            {"primitive": "torus", "scale": 0.12,
             "position": {"uniform": [[-0.06, -0.06, 0.02], [0.0, 0.06, 0.02]]},
             "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [40, 40, 360]]}},
             "keypoints": {"left": [-0.375, 0, 0.125], "right": [0.375, 0, 0.125], "back": [0, 0.375, 0.125],
                           "inner": [0, 0, 0]},
             "keypoint_flip": [["left", "right"]], "skeleton": [["left", "back"], ["back", "right"]]},
            {"primitive": "cone", "scale": 0.06,
             "position": {"uniform": [[0.03, -0.06, 0.03], [0.07, 0.06, 0.03]]},
             "keypoints": [[0, 0, 0.5], [0, 0, -0.5]], "skeleton": [[0, 1]]},
            {"primitive": "monkey", "scale": 0.04,
             "position": {"uniform": [[-0.05, -0.05, 0.08], [0.05, 0.05, 0.1]]}},
        ],
        "ground": {"size": 1}},
    "camera": {"look_at": [0, 0, 0.02], "distance": 0.35, "elevation_deg": {"uniform": [50, 80]},
               "azimuth_deg": {"uniform": [0, 360]}},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("labels_render")
    r = run_cli("render", write_config(root / "c.yaml", CONFIG), "--out", root / "ds")
    assert r.returncode == 0, r.stderr
    return root


def _visible(f):
    return [o for o in f.objects if o["category_id"] > 0 and o["px_count_visib"] > 0]


def test_segment_and_pose_through_ultralytics(rendered):
    ds = open_dataset(rendered / "ds")
    for task in ("segment", "pose"):
        r = run_cli("export", "yolo", rendered / "ds", "--out", rendered / task, "--task", task, "--val-fraction", "0")
        assert r.returncode == 0, r.stderr
    data = yaml.safe_load((rendered / "pose" / "data.yaml").read_text())
    assert data["kpt_shape"] == [4, 3] and data["flip_idx"] == [1, 0, 2, 3]
    seg = ultra.load(rendered / "segment" / "data.yaml", "segment")
    pose = ultra.load(rendered / "pose" / "data.yaml", "pose")
    ious, n_kp, holes = [], 0, 0
    for f in ds:
        objs = _visible(f)
        s, p = seg[f"{f.index:06d}"], pose[f"{f.index:06d}"]
        assert len(s["masks"]) == len(objs) == len(p["keypoints"])
        for o, m, k in zip(objs, s["masks"], p["keypoints"], strict=True):
            want = f.instance == o["instance_id"]
            if want.sum() > 100:
                ious.append((m & want).sum() / (m | want).sum())
            if o["category"] == "torus":        # pixels seen through its hole stay out of its mask
                hole = ndimage.binary_fill_holes(want) & ~want
                holes += int(hole.sum())
                assert not (m & hole).any()
            kps = o.get("keypoints", [])
            assert np.all(k[len(kps):] == 0)
            for row, kp in zip(k, kps, strict=False):
                assert row[2] == kp["visibility"]
                if kp["visibility"]:
                    assert np.abs(row[:2] - 0.5 - kp["uv"]).max() < 1e-3
                    n_kp += 1
    print(f"rendered: segment IoU over {len(ious)} objects > 100 px: median {np.median(ious):.4f} min {min(ious):.4f}")
    assert len(ious) >= 5 and min(ious) >= 0.95 and n_kp >= 6 and holes > 0


def test_coco_keypoints_through_pycocotools(rendered):
    from pycocotools.coco import COCO

    r = run_cli("export", "coco", rendered / "ds", "--out", rendered / "coco")
    assert r.returncode == 0, r.stderr
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(rendered / "coco" / "annotations.json"))
    cats = {c["name"]: c for c in gt.loadCats(gt.getCatIds())}
    assert cats["torus"]["keypoints"] == ["left", "right", "back", "inner"]
    assert cats["torus"]["skeleton"] == [[1, 3], [3, 2]] and cats["cone"]["skeleton"] == [[1, 2]]
    assert "keypoints" not in cats["monkey"]
    ds = open_dataset(rendered / "ds")
    n = 0
    for f in ds:
        anns = {a["instance_id"]: a for a in gt.loadAnns(gt.getAnnIds(imgIds=[f.index + 1]))}
        for o in _visible(f):
            if "keypoints" in o:
                k = np.reshape(anns[o["instance_id"]]["keypoints"], (-1, 3))
                for row, kp in zip(k, o["keypoints"], strict=True):
                    assert list(row) == (kp["uv"] + [kp["visibility"]] if kp["visibility"] else [0, 0, 0])
                    n += 1
    assert n > 0
    assert json.loads((rendered / "coco" / "annotations.json").read_text())["images"][0]["file_name"] == "000000.png"
