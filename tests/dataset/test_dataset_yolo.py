import numpy as np
import pytest
import yaml
from matplotlib.path import Path as MplPath

from synthblend.core.errors import InputError
from synthblend.dataset.masks import mask_polygons, merge_polygons, polygon_area
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.yolo import export_yolo, split_frames
from synthdata import synth_dataset  # noqa: F401 (fixture)


def _read_labels(p):
    rows = []
    for line in p.read_text().splitlines():
        parts = line.split()
        rows.append((int(parts[0]), [float(v) for v in parts[1:]]))
    return rows


def _centres_inside(poly, H, W):
    """Pixels whose centre (u + 0.5 in pixel-corner coordinates) a polygon contains."""
    vv, uu = np.mgrid[0:H, 0:W]
    pts = np.stack([uu.ravel() + 0.5, vv.ravel() + 0.5], 1)
    return MplPath(poly).contains_points(pts).reshape(H, W)


def test_detect_labels_match_bbox_visib(synth_dataset, tmp_path):
    out = tmp_path / "yolo"
    summary = export_yolo(synth_dataset, out, val_fraction=0.25)
    ds = open_dataset(synth_dataset)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {i: c["name"] for i, c in enumerate(ds.categories)}
    assert data["nc"] == 4 and data["train"] == "images/train" and data["val"] == "images/val"
    assert "path" not in data       # Ultralytics then resolves train/val against the yaml's folder
    assert summary["val"] == 1 and summary["train"] == 3
    W, H = ds.image_size
    n = 0
    for f in ds:
        split = "val" if (out / f"labels/val/{f.index:06d}.txt").exists() else "train"
        assert (out / f"images/{split}/{f.index:06d}.png").read_bytes() == f.path("rgb").read_bytes()
        rows = _read_labels(out / f"labels/{split}/{f.index:06d}.txt")
        objs = [o for o in f.objects if o["category_id"] > 0 and o["px_count_visib"] > 0]
        assert len(rows) == len(objs)
        for (cls, (cx, cy, w, h)), o in zip(rows, objs, strict=True):
            assert cls == o["category_id"] - 1  # categories 1..4 in order
            assert all(0 <= v <= 1 for v in (cx, cy, w, h))
            x0, y0 = (cx - w / 2) * W, (cy - h / 2) * H  # back to pixels, as YOLO readers do
            box = [x0, y0, w * W, h * H]
            assert np.allclose(box, o["bbox_visib"], atol=1e-3 * max(W, H))
            n += 1
    assert n == summary["labels"] > 0


def test_segment_polygons_through_pixel_centres(synth_dataset, tmp_path):
    """Every vertex is a boundary pixel's centre ((u + 0.5) / W in the label), and the polygon spans
    the visible box from its first to its last pixel centre."""
    out = tmp_path / "seg"
    export_yolo(synth_dataset, out, task="segment", val_fraction=0.0)
    ds = open_dataset(synth_dataset)
    W, H = ds.image_size
    assert not list((out / "labels/val").iterdir())
    for f in ds:
        rows = _read_labels(out / f"labels/train/{f.index:06d}.txt")
        objs = [o for o in f.objects if o["category_id"] > 0 and o["px_count_visib"] > 0]
        assert len(rows) == len(objs)
        for (_cls, vals), o in zip(rows, objs, strict=True):
            uv = np.reshape(vals, (-1, 2)) * [W, H] - 0.5
            assert np.abs(uv - np.round(uv)).max() < 1e-3      # pixel centres
            ij = np.round(uv).astype(int)
            mask = f.instance == o["instance_id"]
            x, y, w, h = o["bbox_visib"]
            assert ij.min(0).tolist() == [x, y] and ij.max(0).tolist() == [x + w - 1, y + h - 1]
            inside = (ij[:, 0] >= 0) & (ij[:, 0] < W) & (ij[:, 1] >= 0) & (ij[:, 1] < H)
            assert inside.all() and mask[ij[:, 1], ij[:, 0]].all()   # on the instance's own pixels


def test_mask_polygons_exact_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(100):
        H, W = rng.integers(1, 14, 2)
        m = rng.random((H, W)) < rng.uniform(0.1, 0.9)
        loops = mask_polygons(m)
        assert sum(polygon_area(p) for p in loops) == m.sum()
        acc = np.zeros((H, W), int)
        for p in loops:
            acc += np.where(_centres_inside(p, H, W), np.sign(polygon_area(p)), 0).astype(int)
        assert np.array_equal(acc, m)
        if m.any():
            merged = merge_polygons(loops)
            assert polygon_area(merged) == pytest.approx(m.sum())
    square = np.zeros((5, 6), bool)
    square[1:3, 2:5] = True
    (loop,) = mask_polygons(square)
    assert loop.tolist() == [[2, 1], [5, 1], [5, 3], [2, 3]]


def test_split_deterministic():
    a = split_frames(list(range(100)), 0.2)
    assert len(a) == 20 and a == split_frames(list(reversed(range(100))), 0.2)
    assert split_frames([0, 1], 0.01) and not split_frames([0, 1], 0.0)
    assert len(split_frames([5], 0.5)) == 0  # a single frame stays in train
    # growing the dataset moves few frames
    b = split_frames(list(range(110)), 0.2)
    assert len(a - b) <= 3


def test_bad_inputs(synth_dataset, tmp_path):
    with pytest.raises(InputError, match="task"):
        export_yolo(synth_dataset, tmp_path / "o", task="obb")
    with pytest.raises(InputError, match="needs keypoints in meta"):
        export_yolo(synth_dataset, tmp_path / "o", task="pose")        # it has none
    with pytest.raises(InputError, match="val-fraction"):
        export_yolo(synth_dataset, tmp_path / "o", val_fraction=1.0)
    with pytest.raises(InputError, match="no such dataset"):
        export_yolo(tmp_path / "missing", tmp_path / "o")
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        export_yolo(synth_dataset, tmp_path / "f")


def test_third_party_reader_reads_the_boxes(synth_dataset, tmp_path):
    """globox (an independent annotation library) reads our YOLO export back to bbox_visib within 1 px."""
    from globox import AnnotationSet

    out = tmp_path / "yolo"
    export_yolo(synth_dataset, out, val_fraction=0.25)
    ds = open_dataset(synth_dataset)
    names = yaml.safe_load((out / "data.yaml").read_text())["names"]
    seen = 0
    for split in ("train", "val"):
        ann = AnnotationSet.from_yolo_v5(out / "labels" / split, image_folder=out / "images" / split,
                                         image_extension=".png")
        for a in ann:
            f = ds.frame(int(a.image_id.split(".")[0]))
            want = sorted((o["category"], o["bbox_visib"]) for o in f.meta["objects"]
                          if o["category_id"] > 0 and o["px_count_visib"] > 0)
            got = sorted((names[int(b.label)], b.ltrb) for b in a.boxes)
            assert [w[0] for w in want] == [g[0] for g in got]
            for (_, (x, y, w, h)), (_, (left, t, r, b)) in zip(want, got, strict=True):
                assert abs(left - x) <= 1 and abs(t - y) <= 1 and abs(r - (x + w)) <= 1 and abs(b - (y + h)) <= 1
                seen += 1
    assert seen > 0
