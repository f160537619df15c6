"""The YOLO export read back by Ultralytics' own loader (``tests/dataset/ultra.py``: offline, its
settings in a temp folder) and compared with the dataset's ground truth: the instance masks (filled
as Ultralytics fills its polygons), ``bbox_visib`` and the meta keypoints. Independent bounds:
``scipy.ndimage`` counts a mask's parts (4-connected, as the polygons are traced); a mask in several
parts may gain only the pixels under the bridges of a minimum spanning tree of its parts, at most
|dx| + |dy| - 1 per bridge (``cv2.fillPoly`` draws a bridge as a line, Ultralytics resamples it)."""
import shutil

import numpy as np
import pytest
import yaml
from synthshapes import make_shapes_dataset, shapes_dataset  # noqa: F401 (fixture)

from synthblend.core.errors import InputError
from synthblend.dataset.masks import mask_polygon
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.yolo import export_yolo
from synthdata import synth_dataset  # noqa: F401 (fixture)

pytest.importorskip("ultralytics")
ndimage = pytest.importorskip("scipy.ndimage")
import ultra  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402


def _bridge_budget(mask) -> int:
    """Sum over a city-block minimum spanning tree of the mask's 4-connected parts of (gap - 1):
    at most that many pixels lie under the bridges joining them."""
    lab, n = ndimage.label(mask)
    if n <= 1:
        return 0
    pts = [np.argwhere(lab == k + 1) for k in range(n)]
    d = np.array([[cdist(a, b, "cityblock").min() if i != j else 0 for j, b in enumerate(pts)]
                  for i, a in enumerate(pts)])
    joined, total = {0}, 0
    while len(joined) < n:
        i, j = min(((i, j) for i in joined for j in range(n) if j not in joined), key=lambda ij: d[ij])
        joined.add(j)
        total += int(d[i, j]) - 1
    return total


def _visible(f):
    return [o for o in f.objects if o["category_id"] > 0 and o["px_count_visib"] > 0]


def check_segment_export(dataset, out) -> list[float]:
    """Export, load with Ultralytics, compare its masks with the instance map; returns the IoUs of
    the objects over 100 px."""
    export_yolo(dataset, out, task="segment", val_fraction=0.0)
    got = ultra.load(out / "data.yaml", "segment")
    ds = open_dataset(dataset)
    ious = []
    for f in ds:
        objs, rec = _visible(f), got[f"{f.index:06d}"]
        assert len(rec["masks"]) == len(objs)
        for o, m, cls in zip(objs, rec["masks"], rec["cls"], strict=True):
            want = f.instance == o["instance_id"]
            assert cls == o["category_id"] - 1
            assert not (want & ~m).any(), o["name"]                    # every pixel of the mask
            assert (m & ~want).sum() <= _bridge_budget(want), o["name"]  # plus bridge pixels only
            iou = (m & want).sum() / (m | want).sum()
            if want.sum() > 100:
                ious.append(iou)
                if ndimage.label(want)[1] == 1:
                    assert iou == 1.0, o["name"]
    return ious


def test_segment_masks_as_ultralytics_fills_them(synth_dataset, shapes_dataset, tmp_path):
    ious = check_segment_export(synth_dataset, tmp_path / "a") + check_segment_export(shapes_dataset, tmp_path / "b")
    print(f"segment IoU over {len(ious)} objects > 100 px: median {np.median(ious):.4f} min {min(ious):.4f}")
    assert len(ious) >= 10 and np.median(ious) == 1.0 and min(ious) >= 0.9


def test_shapes_with_holes_and_parts(shapes_dataset, tmp_path):
    """The ring's hole stays empty, the U's slot too; the two blobs are one instance, one row."""
    export_yolo(shapes_dataset, tmp_path / "y", task="segment", val_fraction=0.0)
    got = ultra.load(tmp_path / "y" / "data.yaml", "segment")
    f = next(iter(open_dataset(shapes_dataset)))
    ring, u, blob, _ = _visible(f)
    masks = got[f"{f.index:06d}"]["masks"]
    hole = ndimage.binary_fill_holes(f.instance == ring["instance_id"]) & (f.instance != ring["instance_id"])
    assert hole.sum() > 20 and not masks[0][hole].any()
    assert np.array_equal(masks[1], f.instance == u["instance_id"])
    want = f.instance == blob["instance_id"]
    assert ndimage.label(want)[1] == 2 and not (want & ~masks[2]).any()


def test_polygons_of_random_masks():
    """Ultralytics' rasterisation (label -> float32 -> resample -> int32 -> cv2.fillPoly) of
    mask_polygon gives back random masks (holes, corner touches, specks) up to bridge pixels."""
    from ultralytics.data.utils import polygon2mask
    from ultralytics.utils.ops import resample_segments

    rng = np.random.default_rng(1)
    for _ in range(150):
        H, W = rng.integers(2, 24, 2)
        m = rng.random((H, W)) < rng.uniform(0.2, 0.9)
        if not m.any():
            continue
        poly = mask_polygon(m)
        label = np.array([float(f"{v:.6f}") for v in ((poly + 0.5) / [W, H]).ravel()], np.float32)
        seg = label.reshape(-1, 2) * np.array([W, H], np.float32)
        seg = resample_segments([seg], n=max(1000, len(seg) + 1))[0]
        got = polygon2mask((H, W), [seg.reshape(-1)]).astype(bool)
        assert not (m & ~got).any()
        assert (got & ~m).sum() <= _bridge_budget(m)


def test_detect_boxes(synth_dataset, tmp_path):
    export_yolo(synth_dataset, tmp_path / "d", task="detect", val_fraction=0.0)
    got = ultra.load(tmp_path / "d" / "data.yaml", "detect")
    for f in open_dataset(synth_dataset):
        objs, rec = _visible(f), got[f"{f.index:06d}"]
        want = [[x, y, x + w, y + h] for x, y, w, h in (o["bbox_visib"] for o in objs)]
        assert np.allclose(rec["boxes"], want, atol=1e-3)


def test_pose_keypoints(shapes_dataset, tmp_path):
    """Keypoints exact (uv = Ultralytics' x - 0.5), visibility as in meta, slots padded with zeros,
    kpt_shape, flip_idx (ring: left <-> right) and kpt_names from the config."""
    out = tmp_path / "p"
    summary = export_yolo(shapes_dataset, out, task="pose", val_fraction=0.0)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["kpt_shape"] == [4, 3] == summary["kpt_shape"]
    assert data["flip_idx"] == [1, 0, 2, 3]
    assert data["kpt_names"][0] == ["left", "right", "top", "centre"] and data["kpt_names"][1] == ["0", "1", "2", "3"]
    got = ultra.load(out / "data.yaml", "pose")
    n_vis = {0: 0, 1: 0, 2: 0}
    for f in open_dataset(shapes_dataset):
        objs, rec = _visible(f), got[f"{f.index:06d}"]
        assert rec["keypoints"].shape == (len(objs), 4, 3)
        for o, k, box in zip(objs, rec["keypoints"], rec["boxes"], strict=True):
            x, y, w, h = o["bbox_visib"]
            assert np.allclose(box, [x, y, x + w, y + h], atol=1e-3)
            kps = o.get("keypoints", [])
            for s in range(4):
                if s >= len(kps):
                    assert k[s, 2] == 0                       # padded slot
                    continue
                vis = kps[s]["visibility"]
                n_vis[vis] += 1
                assert k[s, 2] == vis
                if vis:
                    assert np.abs(k[s, :2] - 0.5 - kps[s]["uv"]).max() < 1e-3
    assert all(n_vis.values())


def test_ultralytics_flip_mirrors_the_labels(shapes_dataset, tmp_path):
    """Ultralytics' horizontal flip (x -> W - x, slots through flip_idx) of the labels lands on the
    mirrored ground truth: masks = fliplr(instance masks), keypoint slot s = the mirror of slot
    flip_idx[s] (ring: left <-> right). With pixel-index coordinates (u / W) it would be 1 px off."""
    export_yolo(shapes_dataset, tmp_path / "s", task="segment", val_fraction=0.0)
    export_yolo(shapes_dataset, tmp_path / "p", task="pose", val_fraction=0.0)
    seg = ultra.load(tmp_path / "s" / "data.yaml", "segment", fliplr=True)
    pose = ultra.load(tmp_path / "p" / "data.yaml", "pose", fliplr=True)
    flip_idx = yaml.safe_load((tmp_path / "p" / "data.yaml").read_text())["flip_idx"]
    assert flip_idx == [1, 0, 2, 3]
    n = 0
    for f in open_dataset(shapes_dataset):
        W = f.instance.shape[1]
        objs, s, p = _visible(f), seg[f"{f.index:06d}"], pose[f"{f.index:06d}"]
        for o, m, k in zip(objs, s["masks"], p["keypoints"], strict=True):
            want = np.fliplr(f.instance == o["instance_id"])
            if ndimage.label(want)[1] == 1:
                assert np.array_equal(m, want), o["name"]
            kps = o.get("keypoints", [])
            for slot in range(len(kps)):
                kp = kps[flip_idx[slot]]
                assert k[slot, 2] == kp["visibility"]
                if kp["visibility"]:
                    u, v = kp["uv"]
                    assert np.abs(k[slot, :2] - 0.5 - [W - 1 - u, v]).max() < 1e-3
                    n += 1
    assert n >= 6


def test_pose_flip_conflict_and_bad_pairs(tmp_path):
    import json

    ds = make_shapes_dataset(tmp_path / "ds", frames=1)
    man = json.loads((ds / "dataset.json").read_text())
    man["config"]["scene"]["objects"][1]["keypoint_flip"] = [[1, 0]]     # u: slot 0 <-> 1 ...
    man["config"]["scene"]["objects"][0]["keypoint_flip"] = [["left", "top"]]  # ... ring: 0 <-> 2
    (ds / "dataset.json").write_text(json.dumps(man))
    with pytest.raises(InputError, match="one flip_idx for all classes"):
        export_yolo(ds, tmp_path / "o", task="pose")
    man["config"]["scene"]["objects"][0]["keypoint_flip"] = [["left", "nose"]]
    (ds / "dataset.json").write_text(json.dumps(man))
    with pytest.raises(InputError, match="no keypoint named 'nose'"):
        export_yolo(ds, tmp_path / "o", task="pose")
    assert not (tmp_path / "o").exists()


def test_moved_export_loads_from_another_folder(shapes_dataset, tmp_path, monkeypatch):
    out = tmp_path / "first" / "yolo"
    export_yolo(shapes_dataset, out, task="segment", val_fraction=0.34)
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    shutil.move(str(out), str(moved))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    data = ultra.check_data(moved / "data.yaml")
    assert data["train"] == str((moved / "images" / "train").resolve())
    got = {**ultra.load(moved / "data.yaml", "segment", "train"), **ultra.load(moved / "data.yaml", "segment", "val")}
    assert sorted(got) == ["000000", "000001", "000002"]
    assert not list(cwd.iterdir())                       # nothing written where it was run from


@pytest.mark.parametrize("task, model", [("segment", "yolov8n-seg.yaml"), ("pose", "yolov8n-pose.yaml")])
def test_moved_export_trains(task, model, tmp_path, monkeypatch):
    """One epoch of a YOLOv8n built from its yaml (no weights downloaded) on an export moved to
    another folder, run from a third one; Ultralytics' runs go under tmp_path, nothing to the cwd."""
    from ultralytics import YOLO

    ds = make_shapes_dataset(tmp_path / "ds", frames=6)
    export_yolo(ds, tmp_path / "first", task=task, val_fraction=0.34)
    shutil.move(str(tmp_path / "first"), str(tmp_path / "moved"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    ultra.check_data(tmp_path / "moved" / "data.yaml")          # offline settings, no font download
    YOLO(model).train(data=str(tmp_path / "moved" / "data.yaml"), epochs=1, imgsz=96, batch=2, workers=0,
                      amp=False, plots=False, project=str(tmp_path / "runs"), name=task, device="cpu",
                      verbose=False, exist_ok=True)
    assert (tmp_path / "runs" / task / "weights" / "last.pt").is_file()
    assert not list((tmp_path / "cwd").iterdir())
