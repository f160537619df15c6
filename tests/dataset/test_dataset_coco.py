import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_util
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from synthshapes import shapes_dataset  # noqa: F401 (fixture)

from synthblend.core.errors import InputError
from synthblend.dataset.coco import export_coco
from synthblend.dataset.reader import open_dataset
from synthdata import synth_dataset  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def coco_export(synth_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("coco")
    summary = export_coco(synth_dataset, out)
    return out, summary


def test_masks_decode_to_instance_map(synth_dataset, coco_export):
    out, summary = coco_export
    data = json.loads((out / "annotations.json").read_text())
    ds = open_dataset(synth_dataset)
    assert [c["id"] for c in data["categories"]] == [1, 2, 3, 4]
    assert summary["images"] == len(ds) == len(data["images"])
    by_image = {}
    for a in data["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
        assert isinstance(a["segmentation"]["counts"], str) and a["iscrowd"] == 0
    ids = [a["id"] for a in data["annotations"]]
    assert ids == list(range(1, len(ids) + 1))
    for img in data["images"]:
        f = ds.frame(img["frame"])
        assert img["id"] == f.index + 1 and img["file_name"] == f"{f.index:06d}.png"  # relative to images/
        assert (out / "images" / img["file_name"]).read_bytes() == f.path("rgb").read_bytes()
        expected = {o["instance_id"]: o for o in f.objects
                    if o["category_id"] > 0 and o["px_count_visib"] > 0}
        anns = by_image.get(img["id"], [])
        assert sorted(a["instance_id"] for a in anns) == sorted(expected)
        rebuilt = np.zeros_like(f.instance)
        for a in anns:
            m = mask_util.decode(a["segmentation"]).astype(bool)
            assert np.array_equal(m, f.instance == a["instance_id"])
            o = expected[a["instance_id"]]
            assert a["area"] == o["px_count_visib"] == m.sum()
            assert a["bbox"] == o["bbox_visib"]
            assert a["category_id"] == o["category_id"]
            rebuilt[m] = a["instance_id"]
        labelled = np.isin(f.instance, list(expected))
        assert np.array_equal(rebuilt, np.where(labelled, f.instance, 0))


def test_cocoeval_self_is_perfect(coco_export):
    out, _ = coco_export
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(out / "annotations.json"))
        for iou_type in ("segm", "bbox"):
            res = [{"image_id": a["image_id"], "category_id": a["category_id"],
                    "segmentation": a["segmentation"], "bbox": a["bbox"], "score": 1.0}
                   for a in gt.dataset["annotations"]]
            dt = gt.loadRes(res)
            ev = COCOeval(gt, dt, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0), iou_type  # AP@[.5:.95]
            assert ev.stats[1] == pytest.approx(1.0), iou_type  # AP@.5


def test_min_visible_pixels(synth_dataset, tmp_path):
    export_coco(synth_dataset, tmp_path / "a", min_visible_pixels=300)
    data = json.loads((tmp_path / "a/annotations.json").read_text())
    assert data["annotations"] and all(a["area"] >= 300 for a in data["annotations"])


def test_deterministic(synth_dataset, tmp_path):
    export_coco(synth_dataset, tmp_path / "a")
    export_coco(synth_dataset, tmp_path / "b")
    assert (tmp_path / "a/annotations.json").read_bytes() == \
        (tmp_path / "b/annotations.json").read_bytes()


def test_bad_inputs(synth_dataset, tmp_path):
    with pytest.raises(InputError, match="no such dataset"):
        export_coco(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a synthblend dataset"):
        export_coco(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        export_coco(synth_dataset, tmp_path / "file")
    with pytest.raises(InputError, match="inside the input dataset"):
        export_coco(synth_dataset, synth_dataset / "coco")
    with pytest.raises(InputError, match="inside the input dataset"):
        export_coco(synth_dataset, synth_dataset)
    assert not (synth_dataset / "coco").exists()


def test_no_keypoint_fields_without_keypoints(coco_export):
    out, _ = coco_export
    data = json.loads((out / "annotations.json").read_text())
    assert not any("keypoints" in c or "skeleton" in c for c in data["categories"])
    assert not any("keypoints" in a for a in data["annotations"])


def test_keypoints_read_by_pycocotools(shapes_dataset, tmp_path):
    """pycocotools reads the keypoints back exactly as meta has them (uv, visibility; zeros when not
    in the image), categories carry the entry's keypoint names and 1-based skeleton, and the
    keypoint evaluation of the ground truth against itself is perfect."""
    export_coco(shapes_dataset, tmp_path / "c")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "c" / "annotations.json"))
    ring, u, blob, speck = (gt.loadCats(i)[0] for i in (1, 2, 3, 4))
    assert ring["keypoints"] == ["left", "right", "top", "centre"]
    assert ring["skeleton"] == [[1, 3], [3, 2], [4, 1]]          # left-top, top-right, centre-left
    assert u["keypoints"] == ["0", "1"] and u["skeleton"] == []
    assert "keypoints" not in blob and "keypoints" not in speck
    ds = open_dataset(shapes_dataset)
    seen = {0: 0, 1: 0, 2: 0}
    for f in ds:
        by_iid = {a["instance_id"]: a for a in gt.loadAnns(gt.getAnnIds(imgIds=[f.index + 1]))}
        for o in f.objects:
            a = by_iid.get(o["instance_id"])
            if a is None or "keypoints" not in o:
                assert a is None or "keypoints" not in a
                continue
            k = np.reshape(a["keypoints"], (-1, 3))
            assert len(k) == len(o["keypoints"])
            assert a["num_keypoints"] == sum(kp["visibility"] > 0 for kp in o["keypoints"])
            for row, kp in zip(k, o["keypoints"], strict=True):
                seen[kp["visibility"]] += 1
                assert row[2] == kp["visibility"]
                assert list(row[:2]) == (kp["uv"] if kp["visibility"] else [0, 0])
    assert all(seen.values())
    for cat, n in ((1, 4), (2, 2)):
        with contextlib.redirect_stdout(io.StringIO()):
            res = [{**a, "score": 1.0} for a in gt.loadAnns(gt.getAnnIds(catIds=[cat]))]
            ev = COCOeval(gt, gt.loadRes(res), "keypoints")
            ev.params.catIds = [cat]
            ev.params.kpt_oks_sigmas = np.full(n, 0.05)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), cat


def test_torchvision_reads_the_layout(synth_dataset, coco_export):
    """(images folder, annotations.json), as for COCO's own files."""
    tv = pytest.importorskip("torchvision")
    out, _ = coco_export
    data = tv.datasets.CocoDetection(str(out / "images"), str(out / "annotations.json"))
    ds = open_dataset(synth_dataset)
    assert len(data) == len(ds)
    for (img, anns), f in zip(data, ds, strict=True):
        assert img.size == tuple(ds.image_size)
        assert np.array_equal(np.asarray(img.convert("RGB")), np.asarray(f.load("rgb"))[..., :3])
        assert sorted(a["instance_id"] for a in anns) == sorted(
            o["instance_id"] for o in f.objects if o["category_id"] > 0 and o["px_count_visib"] > 0)


def test_one_keypoint_list_per_category(tmp_path):
    """Objects of one category naming different keypoints cannot share COCO's category list: exit 2
    (InputError naming dataset.json), nothing written."""
    from synthshapes import make_shapes_dataset

    ds = make_shapes_dataset(tmp_path / "ds", frames=2)
    meta_file = ds / "meta" / "000001.json"
    meta = json.loads(meta_file.read_text())
    meta["objects"][0]["keypoints"][0]["name"] = "port"
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="category 'ring': its objects name different keypoints"):
        export_coco(ds, tmp_path / "out")
    assert not (tmp_path / "out").exists()
