"""3-D ground truth: normals, boxes3d, keypoints, amodal masks and visib_fract.

Pure parts against independent computation (trimesh/Embree, closed forms); rendered parts with the
real CLI on tiny images, checked against the dataset's own maps and the independent verifier.
"""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from conftest import load_meta, run_cli, write_config
from synthblend.core import groundtruth3d as gt
from synthblend.core.raycam import nearest_depth, pixel_xy
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.verify import verify_dataset

K = np.array([[80.0, 0, 31.5], [0, 80.0, 23.5], [0, 0, 1]])
W, H = 64, 48


def _embree_depth(V, F, xy):
    from trimesh.ray.ray_pyembree import RayMeshIntersector
    d = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    locs, ray, _ = RayMeshIntersector(trimesh.Trimesh(V, F, process=False)).intersects_location(
        np.zeros_like(d), d, multiple_hits=False)
    t = np.full(len(d), np.nan)
    t[ray] = locs[:, 2]
    return t


@pytest.mark.parametrize("seed", range(3))
def test_raycam_matches_embree(seed):
    pytest.importorskip("embreex")
    rng = np.random.default_rng(seed)
    m = trimesh.creation.icosphere(subdivisions=2, radius=0.3)
    m.vertices += rng.normal(scale=0.02, size=m.vertices.shape)       # irregular, non-convex
    m.vertices += [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 1.5]
    xy, shape = pixel_xy(K, 0, 0, W, H)
    mine = nearest_depth(m.vertices, m.faces, xy, 0.01)
    ref = _embree_depth(m.vertices, m.faces, xy)
    both = np.isfinite(mine) & np.isfinite(ref)
    assert (np.isfinite(mine) != np.isfinite(ref)).sum() <= 2          # float32 Embree on an edge
    assert np.abs(mine[both] - ref[both]).max() < 1e-5


def test_raycam_clips_at_the_near_plane():
    # a big square spanning z = 0.5 .. 1.5 seen through its middle: clipped at clip_start = 1
    V = np.array([[-1, -1, 0.5], [1, -1, 0.5], [1, 1, 1.5], [-1, 1, 1.5]], float)
    F = np.array([[0, 1, 2], [0, 2, 3]])
    xy = np.array([[0.0, -0.1], [0.0, 0.1]])              # hits at z = 0.95 (clipped) and 1.05
    d = nearest_depth(V, F, xy, 1.0)
    assert np.isnan(d[0]) and np.isclose(d[1], 1 / 0.95, rtol=1e-12)     # plane z = 1 + y/2


def test_bbox3d_corners_project_through_K():
    V = np.array([[-1, -2, -3], [1, 2, 3], [0.5, 0, 0]], float)
    T = np.eye(4)
    T[:3, :3] = 0.1 * trimesh.transformations.rotation_matrix(0.3, [0, 1, 1])[:3, :3]
    T[:3, 3] = [0.05, -0.02, 2.0]
    b = gt.bbox3d(V, T, K)
    cc = np.array(b["corners_cam"])
    assert np.allclose(cc[0], gt.to_cam([[-1, -2, -3]], T)[0]) and np.allclose(cc[7], gt.to_cam([[1, 2, 3]], T)[0])
    assert np.allclose(cc[1], gt.to_cam([[1, -2, -3]], T)[0]) and np.allclose(cc[2], gt.to_cam([[-1, 2, -3]], T)[0])
    uv = cc @ K.T
    assert np.allclose(np.array(b["corners_px"]), uv[:, :2] / uv[:, 2:])
    assert np.allclose(b["size"], [0.2, 0.4, 0.6])
    assert np.allclose(b["center_cam"], cc.mean(0))


def test_keypoint_visibility():
    box = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    T = np.eye(4)
    T[:3, 3] = [0, 0, 1.0]
    Vc = gt.to_cam(box.vertices, T)
    pts = [("front", (0, 0, -0.1)), ("back", (0, 0, 0.1)), ("centre", (0, 0, 0)), ("off", (5, 0, 0))]
    kp = gt.keypoints(pts, T, K, (W, H), (0.01, 100.0), Vc, box.faces)
    vis = {k["name"]: k["visibility"] for k in kp}
    assert vis == {"front": 2, "back": 1, "centre": 1, "off": 0}
    assert np.allclose(kp[0]["uv"], [31.5, 23.5]) and np.isclose(kp[0]["xyz_cam"][2], 0.9)


def test_amodal_is_the_object_alone():
    box = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    T = np.eye(4)
    T[:3, 3] = [0.02, 0.01, 1.0]
    m = gt.amodal_mask(gt.to_cam(box.vertices, T), box.faces, K, (W, H), (0.01, 100))
    xy, shape = pixel_xy(K, 0, 0, W, H)
    pytest.importorskip("embreex")
    ref = np.isfinite(_embree_depth(gt.to_cam(box.vertices, T), box.faces, xy)).reshape(shape)
    assert (m != ref).sum() <= 2 and m.sum() > 100
    far = gt.amodal_mask(gt.to_cam(box.vertices, T), box.faces, K, (W, H), (0.01, 0.5))   # beyond clip_end
    assert not far.any()


def test_normals_to_camera():
    c2w = np.eye(4)
    c2w[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]      # camera z (forward) = world +y
    nw = np.zeros((2, 2, 3), np.float32)
    nw[..., 1] = -2.0                                       # world -y: towards the camera
    inst = np.array([[1, 1], [0, 1]])
    n = gt.normals_to_camera(nw, inst, c2w)
    assert np.allclose(n[0, 0], [0, 0, -1]) and np.allclose(n[1, 0], 0)


# ------------------------------------------------------------------------------------ rendered


def _cfg(outputs, **scene):
    return {
        "seed": 5, "frames": 3,
        "render": {"resolution": [96, 72], "samples": 2, "denoise": False, "outputs": outputs},
        "scene": {"objects": [
            {"primitive": "cube", "count": 2, "scale": 0.12,
             "position": {"uniform": [[-0.1, -0.1, 0.0], [0.1, 0.1, 0.3]]}, "rotation": "uniform_so3",
             "keypoints": {"top": [0, 0, 0.5], "corner": [0.5, 0.5, 0.5], "centre": [0, 0, 0]}},
            {"primitive": "torus", "scale": 0.15, "position": {"uniform": [[-0.1, -0.1, 0.0], [0.1, 0.1, 0.2]]},
             "rotation": "uniform_so3"}],
            "ground": {"size": 3}, "placement": "physics", "distractors": {"count": {"randint": [1, 3]}}, **scene},
        "camera": {"look_at": [0, 0, 0.05], "distance": 0.8, "elevation_deg": {"uniform": [25, 70]},
                   "azimuth_deg": {"uniform": [0, 360]}},
        "lighting": {"count": 1, "power_w": 200},
    }


@pytest.fixture(scope="module")
def gt_dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gt3d")
    cfg = write_config(tmp / "gt.yaml", _cfg(["rgb", "depth", "instance", "semantic", "normals", "boxes3d",
                                              "keypoints", "amodal"]))
    r = run_cli("render", cfg, "--out", tmp / "ds", "--quiet")
    assert r.returncode == 0, r.stderr
    return tmp / "ds"


@pytest.mark.render
def test_rendered_ground_truth_passes_the_independent_check(gt_dataset):
    report = verify_dataset(gt_dataset)
    assert report.passed, [f.failures for f in report.frames]


@pytest.mark.render
def test_rendered_normals(gt_dataset):
    ds = open_dataset(gt_dataset)
    for fr in ds:
        n = fr.normals
        hit = fr.instance > 0
        assert np.allclose(np.linalg.norm(n[hit], axis=-1), 1, atol=1e-4)
        assert (n[~hit] == 0).all()
        ground = next(o for o in fr.objects if o["kind"] == "ground")
        w2c = np.array(fr.meta["camera"]["world2cam"])
        up = w2c[:3, :3] @ [0, 0, 1]
        g = fr.instance == ground["instance_id"]
        # interior ground pixels (not next to another id) face up exactly
        inner = g.copy()
        for ax in (0, 1):
            for s in (1, -1):
                inner &= np.roll(g, s, axis=ax)
        assert inner.sum() > 100
        assert np.abs(n[inner] - up).max() < 1e-3
        # normals face the camera: n . (ray) < 0
        rays = np.stack(np.meshgrid(np.arange(96.0), np.arange(72.0)) + [np.ones((72, 96))], -1) @ np.linalg.inv(fr.K).T
        assert ((n[hit] * rays[hit]).sum(-1) < 1e-3).mean() > 0.99


@pytest.mark.render
def test_rendered_amodal_boxes_keypoints(gt_dataset):
    ds = open_dataset(gt_dataset)
    seen_hidden = 0
    for fr in ds:
        W_, H_ = fr.meta["image_size"]
        for o in fr.objects:
            if o["kind"] not in ("object", "distractor"):
                assert "visib_fract" not in o
                continue
            m = fr.amodal(o["instance_id"])
            vis = fr.instance == o["instance_id"]
            assert m is not None and m.shape == (H_, W_)
            assert not (vis & ~m).any()                                    # visible part of amodal
            assert o["px_count_all"] == int(m.sum()) and o["px_count_visib"] == int(vis.sum())
            assert np.isclose(o["visib_fract"], vis.sum() / m.sum() if m.sum() else 0.0)
            seen_hidden += o["visib_fract"] < 1
            b = o["bbox3d"]
            assert len(b["corners_cam"]) == 8 and len(b["corners_px"]) == 8
            T = np.array(o["obj2cam"])
            assert np.allclose(b["corners_cam"][7], T[:3, :3] @ b["local_max"] + T[:3, 3])
            if o["asset"] == "primitive:cube":
                kp = {k["name"]: k for k in o["keypoints"]}
                assert kp["centre"]["visibility"] in (0, 1)                # inside the cube: never visible
                for k in kp.values():
                    if k["visibility"] == 2:                   # visible: the object is there in the map
                        u, v = np.round(k["uv"]).astype(int)
                        near = fr.instance[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2]
                        assert (near == o["instance_id"]).any()
    assert seen_hidden > 0


@pytest.mark.render
def test_normals_only_need_the_normal_pass(tmp_path):
    cfg = _cfg(["depth", "instance", "normals"])
    cfg["frames"] = 1
    r = run_cli("render", write_config(tmp_path / "n.yaml", cfg), "--out", tmp_path / "ds", "--quiet")
    assert r.returncode == 0, r.stderr
    meta = load_meta(tmp_path / "ds", 0)
    assert (tmp_path / "ds" / "normals" / "000000.exr").is_file()
    assert not (tmp_path / "ds" / "amodal").exists()
    assert all("bbox3d" not in o and "visib_fract" not in o for o in meta["objects"])


NORMALS_VS_CYCLES = r"""
import json, sys, numpy as np
import bpy
from synthblend.core.config import config_from_dict
from synthblend.core.groundtruth3d import normals_map, normals_to_camera
from synthblend.core.sampling import sample
from synthblend.dataset.exr import read_exr
from synthblend.engine.render import decode
from synthblend.engine.worker import FrameRenderer
cfg = config_from_dict(json.loads(sys.argv[1]))
fr = FrameRenderer(cfg, sys.argv[2])
fr.builder.view_layer.use_pass_normal = True          # Cycles' own normals, for comparison
scene = fr.builder.scene
angles = []
for f in range(cfg.frames):
    spec = sample(cfg, cfg.seed, f)
    fr.builder.apply(spec)
    path = fr.scratch / "normals.exr"                  # render here: the engine decodes no Normal pass
    scene.render.filepath = str(path)
    scene.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)
    p = decode(path, want_rgb=False)
    ch = read_exr(path)
    normal = np.stack([next(a for k, a in ch.items() if k.endswith("Normal." + c)) for c in "XYZ"], -1)
    objects = fr.builder.objects
    mine = normals_map(spec, objects.geometry_of, objects.vertex_normals_of, p.instance)
    cyc = normals_to_camera(normal, p.instance, spec.camera.cam2world)
    inner = p.instance > 0
    for ax in (0, 1):
        for s in (1, -1):
            inner &= np.roll(p.instance, s, axis=ax) == p.instance
    angles += np.degrees(np.arccos(np.clip((mine[inner] * cyc[inner]).sum(-1), -1, 1))).tolist()
print(json.dumps(angles))
"""


@pytest.mark.render
def test_normals_match_cycles_normal_pass(tmp_path):
    """The ray-cast normals are the shading normals Cycles renders (smooth sphere and torus, flat cube
    and ground), away from silhouettes where Cycles' pass blends neighbouring pixels."""
    import json
    import subprocess
    import sys
    cfg = _cfg(["depth", "instance"])
    cfg["render"]["samples"] = 1
    cfg["scene"]["objects"].append({"primitive": "sphere", "scale": 0.2, "position": [0.0, 0.2, 0.1]})
    cfg["scene"].pop("distractors")
    r = subprocess.run([sys.executable, "-c", NORMALS_VS_CYCLES, json.dumps(cfg), str(tmp_path / "ds")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ang = np.array(json.loads(r.stdout.strip().splitlines()[-1]))
    assert len(ang) > 3000
    assert np.percentile(ang, 99.5) < 0.1 and (ang < 0.5).mean() > 0.998, (np.percentile(ang, 99.5), ang.max())
