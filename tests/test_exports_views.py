"""Exports and previews of datasets of scenes (meta ``scene``/``view``): BOP writes one scene per
scene with im_id = view, COCO gets CocoVID ``videos``/``video_id``/``frame_id`` (read back by
pycocotools), datasets without scenes export as before; ``synthblend preview`` draws flow as a colour
wheel (checked against the Middlebury wheel's primaries) and writes animated GIF / MP4 previews of a
scene (read back by imageio). Synthetic datasets of tests/dataset/synthdata.py, no render."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from synthblend.dataset.bop import export_bop
from synthblend.dataset.coco import export_coco
from synthblend.dataset.preview import flow_to_color, flow_wheel_image
from synthblend.dataset.writer import DatasetWriter

sys.path.insert(0, str(Path(__file__).resolve().parent / "dataset"))   # the shared test helpers
from synthdata import make_dataset  # noqa: E402

SCENES = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]      # frame -> (scene, view)


def _with_scenes(root: Path, flow: bool = False) -> Path:
    """Give a synthetic dataset's frames meta scene/view (and a synthetic flow_forward)."""
    for i, (s, v) in enumerate(SCENES):
        p = root / "meta" / f"{i:06d}.json"
        meta = json.loads(p.read_text())
        meta["scene"], meta["view"] = s, v
        p.write_text(json.dumps(meta))
    if flow:
        man = json.loads((root / "dataset.json").read_text())
        man["outputs"] = man["outputs"] + ["flow_forward"]
        DatasetWriter(root).write_manifest(man)
        for i, (s, _v) in enumerate(SCENES):
            meta = json.loads((root / "meta" / f"{i:06d}.json").read_text())
            H, W = 48, 64
            fl = np.zeros((H, W, 3), np.float32)
            last = i + 1 == len(SCENES) or SCENES[i + 1][0] != s
            if not last:
                fl[..., 0], fl[..., 1], fl[..., 2] = 3.0, -1.0, 1.0
            meta.pop("files", None)
            DatasetWriter(root).write_frame(i, meta, flow_forward=fl)
    return root


@pytest.fixture(scope="module")
def scenes_dataset(tmp_path_factory):
    return _with_scenes(make_dataset(tmp_path_factory.mktemp("views") / "ds", frames=5))


def test_bop_writes_one_scene_per_scene_with_im_id_the_view(scenes_dataset, tmp_path):
    summary = export_bop(scenes_dataset, tmp_path / "bop")
    assert summary["scenes"] == 2
    split = tmp_path / "bop" / "train_pbr"
    assert sorted(p.name for p in split.iterdir()) == ["000000", "000001"]
    for scene, views in ((0, ["0", "1", "2"]), (1, ["0", "1"])):
        d = split / f"{scene:06d}"
        for name in ("scene_gt.json", "scene_camera.json", "scene_gt_info.json"):
            assert sorted(json.loads((d / name).read_text()), key=int) == views
        assert sorted(p.name for p in (d / "rgb").iterdir()) == [f"{int(v):06d}.png" for v in views]
    # scene 1 view 1 is frame 4: its rgb bytes and its camera
    rgb = (split / "000001" / "rgb" / "000001.png").read_bytes()
    assert rgb == (scenes_dataset / "rgb" / "000004.png").read_bytes()
    meta4 = json.loads((scenes_dataset / "meta" / "000004.json").read_text())
    cam = json.loads((split / "000001" / "scene_camera.json").read_text())["1"]
    w2c = np.asarray(meta4["camera"]["world2cam"])
    np.testing.assert_allclose(np.reshape(cam["cam_R_w2c"], (3, 3)), w2c[:3, :3], atol=1e-12)
    np.testing.assert_allclose(cam["cam_t_w2c"], w2c[:3, 3] * 1000, atol=1e-9)


def test_bop_without_scenes_is_unchanged(tmp_path):
    ds = make_dataset(tmp_path / "plain", frames=2)
    export_bop(ds, tmp_path / "bop")
    gt = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())
    assert sorted(gt) == ["0", "1"]


def test_coco_videos_and_frame_ids(scenes_dataset, tmp_path):
    from pycocotools.coco import COCO

    export_coco(scenes_dataset, tmp_path / "coco")
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert coco["videos"] == [{"id": 1, "name": "scene_000000"}, {"id": 2, "name": "scene_000001"}]
    got = [(im["frame"], im["video_id"], im["frame_id"]) for im in coco["images"]]
    assert got == [(i, s + 1, v) for i, (s, v) in enumerate(SCENES)]
    api = COCO(str(tmp_path / "coco" / "annotations.json"))
    assert len(api.getImgIds()) == 5 and api.dataset["videos"][1]["id"] == 2
    # an object keeps its instance_id through its video (same ids in every frame of the synthetic scenes)
    per_video = {}
    for a in coco["annotations"]:
        per_video.setdefault(api.imgs[a["image_id"]]["video_id"], set()).add(a["instance_id"])
    assert per_video


def test_coco_without_scenes_has_no_video_fields(tmp_path):
    ds = make_dataset(tmp_path / "plain", frames=2)
    export_coco(ds, tmp_path / "coco")
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert "videos" not in coco and all("video_id" not in im for im in coco["images"])


def test_bad_scene_in_meta_is_one_line_error(tmp_path):
    ds = _with_scenes(make_dataset(tmp_path / "bad", frames=5))
    p = ds / "meta" / "000001.json"
    meta = json.loads(p.read_text())
    meta["view"] = -1
    p.write_text(json.dumps(meta))
    r = run_cli("export", "coco", ds, "--out", tmp_path / "e")
    assert r.returncode == 2 and "000001.json" in r.stderr and "view" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_flow_colour_wheel_directions():
    """The Middlebury wheel (55 colours; hue index = (atan2(-v, -u) / pi + 1) / 2 * 54): flow to the right
    is red, down (v grows downwards) orange-yellow, left cyan-blue, up blue-magenta, at full length;
    no motion is white; invalid pixels are the background."""
    f = np.zeros((1, 6, 3))
    f[0, :, 2] = 1
    f[0, 0, :2] = (-1, 0)          # left: index 27, 2/11 along cyan -> blue
    f[0, 1, :2] = (0, 1)           # down: index 13.5 of red -> yellow (15)
    f[0, 2, :2] = (1, 0)           # right: the wheel's seam, index 0 (atan2(-0.0, -1) = -pi): red
    f[0, 3, :2] = (0, -1)          # up: index 40.5, 4.5/13 along blue -> magenta
    f[0, 4, :2] = (0, 0)
    f[0, 5] = (1, 1, 0)            # invalid
    rgb, max_px = flow_to_color(f)
    assert max_px == pytest.approx(1.0)
    np.testing.assert_allclose(rgb[0, 0], (0, 9 / 11, 1), atol=1e-9)
    np.testing.assert_allclose(rgb[0, 1], (1, 13.5 / 15, 0), atol=1e-9)
    np.testing.assert_allclose(rgb[0, 2], (1, 0, 0), atol=1e-9)
    np.testing.assert_allclose(rgb[0, 3], (4.5 / 13, 0, 1), atol=1e-9)
    np.testing.assert_allclose(rgb[0, 4], (1, 1, 1))
    assert np.all(rgb[0, 5] < 0.1)
    half, _ = flow_to_color(f, max_px=2.0)                              # half length: half saturated
    np.testing.assert_allclose(half[0, 2], (1, 0.5, 0.5), atol=1e-9)
    key = flow_wheel_image(33)
    assert key.shape == (33, 33, 3) and np.allclose(key[16, 16], 1)


def test_preview_sheet_has_a_flow_column_and_animated_previews(tmp_path):
    import imageio.v3 as iio

    ds = _with_scenes(make_dataset(tmp_path / "flow", frames=5), flow=True)
    r = run_cli("preview", ds, "--out", tmp_path / "sheet.png")
    assert r.returncode == 0, r.stderr
    plain = make_dataset(tmp_path / "plain", frames=5)
    assert run_cli("preview", plain, "--out", tmp_path / "plain.png").returncode == 0
    from PIL import Image
    w_flow, w_plain = Image.open(tmp_path / "sheet.png").size[0], Image.open(tmp_path / "plain.png").size[0]
    assert w_flow > w_plain * 1.1                                        # one more column
    for ext in (".gif", ".mp4"):
        out = tmp_path / f"scene1{ext}"
        r = run_cli("preview", ds, "--out", out, "--scene", "1", "--fps", "4")
        assert r.returncode == 0, r.stderr
        frames = iio.imread(out, plugin="FFMPEG") if ext == ".mp4" else iio.imread(out)
        assert frames.shape[0] == 2 and frames.shape[2] > frames.shape[1]     # 2 views, panels side by side
    gif = iio.imread(tmp_path / "scene1.gif")
    # view 0 of scene 1 has flow (3, -1) everywhere: its flow panel (the last quarter) is one colour; view 1
    # (the scene's last) has none: the background colour
    H = gif.shape[1]
    panel0, panel1 = gif[0, H // 2:, -40:-10], gif[1, H // 2:, -40:-10]
    assert panel0.std(axis=(0, 1)).max() < 8 and panel0.mean() > 100
    assert panel1.mean() < 40
    r = run_cli("preview", ds, "--out", tmp_path / "x.gif", "--scene", "7")
    assert r.returncode == 2 and "--scene" in r.stderr and "Traceback" not in r.stderr


def test_torch_adapter_takes_flow_as_an_input(tmp_path):
    pytest.importorskip("torch")
    from synthblend.dataset.reader import open_dataset

    ds = open_dataset(_with_scenes(make_dataset(tmp_path / "t", frames=5), flow=True))
    x, _ = ds.torch(target="instance", inputs=("rgb", "flow_forward"))[0]
    fl = x["flow_forward"]
    assert tuple(fl.shape) == (3, 48, 64)                       # U, V, valid as channels
    assert float(fl[0].mean()) == pytest.approx(3.0) and float(fl[1].mean()) == pytest.approx(-1.0)
    assert float(fl[2].min()) == 1.0
