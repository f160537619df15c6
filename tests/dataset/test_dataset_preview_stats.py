import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from synthblend.core.errors import InputError
from synthblend.dataset.bop import export_bop
from synthblend.dataset.coco import export_coco
from synthblend.dataset.preview import make_preview
from synthblend.dataset.stats import make_stats, summarize_sampled
from synthblend.dataset.yolo import export_yolo
from synthdata import synth_dataset  # noqa: F401 (fixture)


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_preview(synth_dataset, tmp_path):
    out = make_preview(synth_dataset, tmp_path / "sub" / "preview.png")
    with Image.open(out) as im:
        w, h = im.size
        a = np.asarray(im.convert("RGB"))
    assert w > 800 and h > 300 and a.std() > 20  # a real picture, not blank
    out2 = make_preview(synth_dataset, tmp_path / "two.png", frames=[1, 3])
    with Image.open(out2) as im:
        assert im.size[1] < h  # fewer rows


def test_preview_bad_input(synth_dataset, tmp_path):
    with pytest.raises(InputError, match="frame 99"):
        make_preview(synth_dataset, tmp_path / "p.png", frames=[0, 99])
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        make_preview(synth_dataset, tmp_path / "d")
    with pytest.raises(InputError, match="inside the input dataset"):
        make_preview(synth_dataset, synth_dataset / "preview.png")
    with pytest.raises(InputError, match="no such dataset"):
        make_preview(tmp_path / "missing", tmp_path / "p.png")


def test_stats(synth_dataset, tmp_path):
    s = make_stats(synth_dataset, tmp_path / "report")
    for p in s["plots"]:
        with Image.open(tmp_path / "report" / p) as im:
            assert im.size[0] > 300
    data = json.loads((tmp_path / "report/summary.json").read_text())
    assert data["frames"] == 4
    meta_keys = set(json.loads((synth_dataset / "meta/000000.json").read_text())["sampled"])
    assert set(data["sampled"]) == meta_keys  # every randomized parameter is covered
    assert data["sampled"]["lighting.type"]["kind"] == "categorical"
    assert len(data["sampled"]["scene.objects[0].position"]["components"]) == 3
    cats = {c["name"]: c for c in data["categories"]}
    assert cats["box"]["instances"] == 8 and cats["never_seen"]["instances"] == 0
    assert "| `camera.distance` | numeric |" in (tmp_path / "report/summary.md").read_text()
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        make_stats(synth_dataset, tmp_path / "file")


def test_summarize_sampled():
    s = summarize_sampled([1.0, 2, 3])
    assert s["kind"] == "numeric" and s["min"] == 1 and s["max"] == 3 and "components" not in s
    s = summarize_sampled([[1, 2], [3]])  # per-light values with a varying light count
    assert s["kind"] == "numeric" and s["count"] == 3 and "components" not in s
    s = summarize_sampled([[[0, 0, 1], [1, 1, 2]], [[2, 2, 3]]])
    assert [c["max"] for c in s["components"]] == [2, 2, 3]
    s = summarize_sampled(["a", ["a", "b"], True, None])
    assert s["kind"] == "categorical" and s["counts"] == {"a": 2, "True": 1, "b": 1}


def test_exports_never_touch_the_input(synth_dataset, tmp_path):
    before = _tree(synth_dataset)
    export_coco(synth_dataset, tmp_path / "coco")
    export_bop(synth_dataset, tmp_path / "bop")
    export_yolo(synth_dataset, tmp_path / "yolo", task="segment")
    make_preview(synth_dataset, tmp_path / "p.png")
    make_stats(synth_dataset, tmp_path / "stats")
    assert _tree(synth_dataset) == before


def test_dataset_package_never_imports_bpy():
    code = ("import sys\n"
            "import synthblend\n"
            "from synthblend.dataset import exr, layout, masks, writer, reader, coco, bop, yolo, "
            "preview, stats\n"
            "synthblend.open_dataset\n"
            "assert 'bpy' not in sys.modules, 'bpy imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
