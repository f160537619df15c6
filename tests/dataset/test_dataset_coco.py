import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_util
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

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
        assert img["id"] == f.index + 1 and img["file_name"] == f"images/{f.index:06d}.png"
        assert (out / img["file_name"]).read_bytes() == f.path("rgb").read_bytes()
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
