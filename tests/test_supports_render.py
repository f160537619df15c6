"""Static supports rendered (Cycles, 64x48, 2 samples): a labelled bin holding a cube, next to an
unlabelled table on legs and a mesh support (a block in mm, scaled). The instance and depth maps are
checked against a pixel-centre ray cast of boxes built here from the config's numbers alone (not from
core/supports.py), ``synthblend verify`` passes, meta labels them, and the COCO, BOP and YOLO exports
treat the labelled bin like an object and the unlabelled supports like the ground."""
from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from conftest import load_meta, run_cli, write_config
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.verify import verify_dataset

pytestmark = pytest.mark.render

IX, IY, WH, WT = 0.4, 0.3, 0.12, 0.015
TABLE = {"size": [0.5, 0.4], "height": 0.3, "thickness": 0.04, "leg_size": 0.04, "position": [0.55, 0.1, 0]}
CFG = {
    "seed": 2, "frames": 2,
    "render": {"resolution": [64, 48], "samples": 2, "quality": "draft",
               "outputs": ["rgb", "depth", "instance", "semantic"]},
    "scene": {
        "objects": [{"primitive": "cube", "category": "cube", "scale": 0.06, "position": [0.05, 0.02, 0.042],
                     "rotation": {"euler_deg": [0, 0, 20]}}],
        "supports": [
            {"type": "bin", "name": "bin", "category": "bin", "inner_size": [IX, IY], "wall_height": WH,
             "wall_thickness": WT, "yaw_deg": 15, "color": "#3060a0"},
            {"type": "table", "name": "table", **TABLE},
            {"mesh": "block_mm.ply", "scale": 0.001, "position": [-0.45, 0.2, 0.02], "yaw_deg": 45},
        ],
        "ground": {"size": 4},
    },
    "camera": {"look_at": [0.15, 0.0, 0.05], "distance": 1.3, "elevation_deg": {"uniform": [50, 70]},
               "azimuth_deg": {"uniform": [180, 260]}},
}


@pytest.fixture(scope="module")
def bin_dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("supports")
    trimesh.creation.box(extents=(200.0, 100.0, 40.0)).export(d / "block_mm.ply")   # mm, centred
    out = d / "ds"
    r = run_cli("render", write_config(d / "c.yaml", CFG), "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def _pose(yaw_deg, pos):
    T = trimesh.transformations.rotation_matrix(np.radians(yaw_deg), (0, 0, 1))
    T[:3, 3] = pos
    return T


def _box(extents, center, T):
    b = trimesh.creation.box(extents=extents)
    b.apply_translation(center)
    b.apply_transform(T)
    return b


def _expected_scene():
    """(id, mesh) of every object, from the config's numbers: the bin as an open box of inner size
    IX x IY, walls WH above a floor of WT, the table as a top on four legs."""
    T = _pose(15, (0, 0, 0))
    ox, oy = IX + 2 * WT, IY + 2 * WT
    bin_parts = [_box((ox, oy, WT), (0, 0, WT / 2), T)]
    for s in (-1, 1):
        bin_parts.append(_box((WT, oy, WH), (s * (IX + WT) / 2, 0, WT + WH / 2), T))
        bin_parts.append(_box((IX, WT, WH), (0, s * (IY + WT) / 2, WT + WH / 2), T))
    Tt = _pose(0, TABLE["position"])
    sx, sy = TABLE["size"]
    h, t, leg = TABLE["height"], TABLE["thickness"], TABLE["leg_size"]
    table = [_box((sx, sy, t), (0, 0, h - t / 2), Tt)]
    table += [_box((leg, leg, h - t), (cx * (sx - leg) / 2, cy * (sy - leg) / 2, (h - t) / 2), Tt)
              for cx in (-1, 1) for cy in (-1, 1)]
    cube = trimesh.creation.box(extents=(0.06,) * 3)
    cube.apply_transform(_pose(20, (0.05, 0.02, 0.042)))
    block = trimesh.creation.box(extents=(0.2, 0.1, 0.04))
    block.apply_transform(_pose(45, (-0.45, 0.2, 0.02)))
    ground = trimesh.Trimesh([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0]], [[0, 1, 2], [0, 2, 3]])
    return [(1, cube), (2, trimesh.util.concatenate(bin_parts)), (3, trimesh.util.concatenate(table)), (4, block),
            (5, ground)]


def test_instance_and_depth_match_a_raycast_of_the_configured_boxes(bin_dataset):
    scene = _expected_scene()
    mesh = trimesh.util.concatenate([m for _, m in scene])
    tri_id = np.concatenate([np.full(len(m.faces), i) for i, m in scene])
    for fr in open_dataset(bin_dataset):
        K, c2w = np.array(fr.meta["camera"]["K"]), np.array(fr.meta["camera"]["cam2world"])
        W, H = fr.meta["image_size"]
        u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
        d_cam = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
        d = d_cam @ c2w[:3, :3].T
        n = np.linalg.norm(d, axis=1, keepdims=True)
        origins = np.repeat(c2w[:3, 3][None], len(d), 0)
        loc, ray, tri = mesh.ray.intersects_location(origins, d / n, multiple_hits=False)
        exp_id = np.zeros(len(d), int)
        exp_depth = np.zeros(len(d))
        exp_id[ray] = tri_id[tri]
        exp_depth[ray] = ((loc - origins[ray]) @ c2w[:3, 2])               # planar depth
        got_id = fr.instance.reshape(-1).astype(int)
        agree = (got_id == exp_id).mean()
        assert agree >= 0.99, agree                                        # edge pixels at most
        for k, least in ((2, 100), (3, 100), (4, 10)):
            e, g = exp_id == k, got_id == k
            assert e.sum() > least and (e & g).sum() / (e | g).sum() >= 0.98    # IoU (1.0 when rendered here)
        same = (got_id == exp_id) & (exp_id > 0)
        rel = np.abs(fr.depth.reshape(-1)[same] - exp_depth[same]) / exp_depth[same]
        assert np.median(rel) < 1e-5, np.median(rel)


def test_verify_passes_and_meta_labels_the_supports(bin_dataset):
    report = verify_dataset(bin_dataset)
    assert report.passed, [(f.frame, f.failures) for f in report.frames if not f.passed]
    m = load_meta(bin_dataset, 0)
    by = {o["name"]: o for o in m["objects"]}
    assert [(o["instance_id"], o["kind"]) for o in m["objects"]] == [
        (1, "object"), (2, "support"), (3, "support"), (4, "support"), (5, "ground")]
    assert (by["block_mm_2"]["asset"], by["block_mm_2"]["scale"]) == ("block_mm.ply", pytest.approx(0.001))
    assert (by["bin"]["category"], by["bin"]["category_id"], by["bin"]["asset"]) == ("bin", 2, "support:bin")
    assert (by["table"]["category"], by["table"]["category_id"], by["table"]["asset"]) == (None, 0, "support:table")
    cats = json.loads((bin_dataset / "dataset.json").read_text())["categories"]
    assert cats == [{"id": 1, "name": "cube"}, {"id": 2, "name": "bin"}]
    V = trimesh.load(bin_dataset / by["bin"]["mesh"], force="mesh", process=False).vertices   # meshes/ copy
    np.testing.assert_allclose(V.max(0) - V.min(0), (IX + 2 * WT, IY + 2 * WT, WT + WH), atol=1e-6)
    fr = next(iter(open_dataset(bin_dataset)))
    assert (fr.semantic[fr.instance == 2] == 2).all() and (fr.semantic[fr.instance == 3] == 0).all()


def test_exports_treat_labelled_supports_as_objects(bin_dataset, tmp_path):
    for fmt in ("coco", "bop", "yolo"):
        r = run_cli("export", fmt, bin_dataset, "--out", tmp_path / fmt, env={"YOLO_CONFIG_DIR": str(tmp_path)})
        assert r.returncode == 0, (fmt, r.stderr)
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert sorted(c["name"] for c in coco["categories"]) == ["bin", "cube"]
    per_image = {}
    for a in coco["annotations"]:
        per_image.setdefault(a["image_id"], set()).add(a["instance_id"])
    assert list(per_image.values()) == [{1, 2}, {1, 2}]               # the bin, never the table or ground
    first = next(i["id"] for i in coco["images"] if i["file_name"].endswith("000000.png"))
    bin_ann = next(a for a in coco["annotations"] if a["instance_id"] == 2 and a["image_id"] == first)
    fr = next(iter(open_dataset(bin_dataset)))
    assert bin_ann["area"] == int((fr.instance == 2).sum())
    gt = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())
    assert all(len(v) == 2 for v in gt.values())                      # cube + bin per image
    info = json.loads((tmp_path / "bop" / "models" / "models_info.json").read_text())
    sizes = sorted((round(i["size_x"], 3), round(i["size_y"], 3), round(i["size_z"], 3)) for i in info.values())
    assert sizes == [(60.0, 60.0, 60.0), (430.0, 330.0, 135.0)]         # cube and bin models, mm
    labels = sorted((tmp_path / "yolo" / "labels").rglob("*.txt"))
    assert len(labels) == 2 and all(len(p.read_text().splitlines()) == 2 for p in labels)


def _slab_blend(path):
    """A .blend holding one mesh: a 0.6 x 0.4 x 0.2 m box (object scale), yawed 30 degrees, its top
    face at z = 0.2."""
    import subprocess
    import sys

    make = ("import bpy, math; bpy.ops.wm.read_factory_settings(use_empty=True); "
            "bpy.ops.mesh.primitive_cube_add(size=1, location=(0, 0, 0.1), rotation=(0, 0, math.radians(30)), "
            "scale=(0.6, 0.4, 0.2)); bpy.context.object.name = 'Slab'; "
            f"bpy.ops.wm.save_as_mainfile(filepath={str(path)!r})")
    r = subprocess.run([sys.executable, "-c", make], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and path.exists(), r.stderr[-2000:]


def test_a_blend_mesh_is_a_static_collider(tmp_path):
    """Physics placement collides with a .blend's meshes: two cubes dropped in any orientation over the
    .blend's slab come to rest on its top face (z = 0.2), recorded as resting on it, not on z = 0."""
    _slab_blend(tmp_path / "slab.blend")
    cfg = {"seed": 4, "frames": 1,
           "render": {"resolution": [48, 36], "samples": 1, "quality": "draft", "outputs": ["depth", "instance"]},
           "scene": {"blend": "slab.blend", "placement": "physics",
                     "objects": [{"primitive": "cube", "scale": 0.05, "position": [x, 0.02, 0.3],
                                  "rotation": "uniform_so3"} for x in (-0.15, 0.15)]},
           "camera": {"look_at": [0, 0, 0.2], "distance": 1.5, "elevation_deg": 40}}
    out = tmp_path / "ds"
    r = run_cli("render", write_config(tmp_path / "c.yaml", cfg), "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    m = load_meta(out, 0)
    cubes = [o for o in m["objects"] if o["asset"] == "primitive:cube"]
    assert len(cubes) == 2
    for o in cubes:
        R = np.array(o["obj2world"])[:3, :3] / 0.05
        corners = (np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)]) * 0.05) @ R.T
        bottom = np.array(o["obj2world"])[2, 3] + corners[:, 2].min()
        assert abs(bottom - 0.2) < 2e-3, bottom                       # on the slab, not on z = 0
    assert all(m["placement"]["supports"][str(o["instance_id"])] == "blend:Slab" for o in cubes)
