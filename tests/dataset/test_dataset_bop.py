import json

import numpy as np
import pytest
import trimesh
from PIL import Image

from synthblend.core.errors import InputError
from synthblend.dataset.bop import export_bop
from synthblend.dataset.reader import open_dataset
from synthdata import raster_silhouette, synth_dataset  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def bop_export(synth_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("bop")
    return out, export_bop(synth_dataset, out)


def _png(p):
    return np.asarray(Image.open(p))


def _load(p):
    return json.loads(p.read_text())


def test_models(bop_export, synth_dataset):
    out, summary = bop_export
    info = _load(out / "models/models_info.json")
    # box (mm asset, scale 0.001), sphere primitive, cylinder primitive
    assert summary["objects"] == 3 and sorted(info) == ["1", "2", "3"]
    smap = _load(out / "models/synthblend_models.json")
    box_id = next(k for k, v in smap.items() if v["asset"] == "assets/box_mm.ply")
    m = trimesh.load(out / f"models/obj_{int(box_id):06d}.ply", force="mesh", process=False)
    # the box asset is 80 x 60 x 100 mm at scale 0.001 -> the model is in mm
    assert np.allclose(m.extents, [80, 60, 100], atol=1e-3)
    i = info[box_id]
    assert i["size_x"] == pytest.approx(80, abs=1e-3)
    assert i["diameter"] == pytest.approx(np.sqrt(80**2 + 60**2 + 100**2), abs=1e-3)
    sphere_id = next(k for k, v in smap.items() if v["asset"] == "primitive:sphere")
    assert info[sphere_id]["diameter"] == pytest.approx(100, rel=1e-3)  # radius 1 x 0.05 m


def test_scene_files_and_masks(bop_export, synth_dataset):
    out, _ = bop_export
    ds = open_dataset(synth_dataset)
    sd = out / "train_pbr/000000"
    gt_all, cam_all, info_all = (_load(sd / n) for n in
                                 ("scene_gt.json", "scene_camera.json", "scene_gt_info.json"))
    assert sorted(map(int, gt_all)) == ds.indices
    cam = _load(out / "camera.json")
    assert (cam["width"], cam["height"]) == ds.image_size
    n_checked = 0
    for f in ds:
        W, H = ds.image_size
        sid = str(f.index)
        c = cam_all[sid]
        K = np.reshape(c["cam_K"], (3, 3))
        assert np.allclose(K, f.K)
        # depth PNG x depth_scale = mm, within one step
        d = _png(sd / f"depth/{f.index:06d}.png")
        assert d.dtype == np.uint16
        assert np.all(np.abs(d * c["depth_scale"] - f.depth * 1000) <= c["depth_scale"] / 2 + 1e-3)
        assert np.array_equal(d > 0, f.depth > 0)
        assert (sd / f"rgb/{f.index:06d}.png").read_bytes() == f.path("rgb").read_bytes()
        # world -> camera of the camera pose
        Rw = np.reshape(c["cam_R_w2c"], (3, 3))
        assert np.allclose(Rw, f.world2cam[:3, :3])
        assert np.allclose(c["cam_t_w2c"], f.world2cam[:3, 3] * 1000)
        objs = [o for o in f.objects if o["category_id"] > 0]
        assert len(gt_all[sid]) == len(objs) == len(info_all[sid])
        for gt_id, (gt, info, o) in enumerate(zip(gt_all[sid], info_all[sid], objs, strict=True)):
            R = np.reshape(gt["cam_R_m2c"], (3, 3))
            t = np.asarray(gt["cam_t_m2c"])
            assert np.allclose(R @ R.T, np.eye(3), atol=1e-6) and np.linalg.det(R) > 0
            model = trimesh.load(out / f"models/obj_{gt['obj_id']:06d}.ply", force="mesh",
                                 process=False)
            v_cam = model.vertices @ R.T + t  # mm, camera frame
            # the model in mm with this pose reproduces the dataset's obj2cam (meters)
            raw = trimesh.load(synth_dataset / o["mesh"], force="mesh", process=False)
            ref = raw.vertices @ np.asarray(o["obj2cam"])[:3, :3].T + np.asarray(o["obj2cam"])[:3, 3]
            assert np.allclose(v_cam / 1000, ref, atol=1e-6)
            name = f"{f.index:06d}_{gt_id:06d}.png"
            mask = _png(sd / "mask" / name)
            visib = _png(sd / "mask_visib" / name)
            assert set(np.unique(mask)) <= {0, 255} and set(np.unique(visib)) <= {0, 255}
            mask, visib = mask > 0, visib > 0
            assert np.array_equal(visib, f.instance == o["instance_id"])
            assert not np.any(visib & ~mask)  # mask_visib is inside mask
            if np.all(v_cam[:, 2] > 0):
                indep = raster_silhouette(v_cam, model.faces, K, W, H)
                union = (indep | mask).sum()
                iou = (indep & mask).sum() / union if union else 1.0
                assert iou >= 0.995, (f.index, gt_id, iou)
                assert (indep ^ mask).sum() <= 2
                n_checked += 1
            assert info["px_count_visib"] == visib.sum() == o["px_count_visib"]
            assert info["px_count_all"] >= mask.sum()
            assert info["px_count_valid"] == (mask & (f.depth > 0)).sum()
            if info["px_count_all"]:
                assert info["visib_fract"] == pytest.approx(info["px_count_visib"] / info["px_count_all"])
            if visib.any():
                ys, xs = np.nonzero(visib)
                assert info["bbox_visib"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
                x, y, w, h = info["bbox_obj"]
                assert x <= xs.min() and y <= ys.min() and x + w >= xs.max() and y + h >= ys.max()
            else:
                assert info["bbox_visib"] == [-1, -1, -1, -1] and info["visib_fract"] == 0
    assert n_checked >= 10


def test_truncated_object_counts_all_pixels(tmp_path):
    """An object cut by the image border: px_count_all covers the part outside the image."""
    import synthdata
    root = synthdata.make_dataset(tmp_path / "ds", frames=1, W=40, H=30, seed=3)
    meta_p = root / "meta/000000.json"
    meta = json.loads(meta_p.read_text())
    # move object 1 so that it straddles the left border of the image
    o = meta["objects"][0]
    obj2cam = np.asarray(o["obj2cam"])
    K = np.asarray(meta["camera"]["K"])
    z = obj2cam[2, 3]
    obj2cam[0, 3] = (0 - K[0, 2]) * z / K[0, 0]
    obj2cam[1, 3] = 0.0
    o["obj2cam"] = obj2cam.tolist()
    meta_p.write_text(json.dumps(meta))
    out = tmp_path / "bop"
    export_bop(root, out)
    info = _load(out / "train_pbr/000000/scene_gt_info.json")["0"][0]
    mask = _png(out / "train_pbr/000000/mask/000000_000000.png") > 0
    assert mask[:, 0].any()
    assert info["px_count_all"] > mask.sum() * 1.3


def test_bad_inputs(synth_dataset, tmp_path):
    with pytest.raises(InputError):
        export_bop(tmp_path / "nope", tmp_path / "o")
    with pytest.raises(InputError, match="depth-scale"):
        export_bop(synth_dataset, tmp_path / "o", depth_scale=0)
    with pytest.raises(InputError, match="inside the input dataset"):
        export_bop(synth_dataset, synth_dataset / "meshes" / "bop")


def test_missing_depth_output(tmp_path):
    import synthdata
    root = synthdata.make_dataset(tmp_path / "ds", frames=1, W=20, H=16,
                                  outputs=("rgb", "instance"))
    with pytest.raises(InputError, match="'depth' output"):
        export_bop(root, tmp_path / "bop")
