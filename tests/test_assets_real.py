"""Real third-party assets upright and resting on the ground (issue 14, part 1).

Y-up glTF written by a third-party writer (Blender's own glTF exporter, in the bpy module) and read
back by Blender's own importer, which converts it to Z-up: ``up_axis_matrix`` @ the file's raw
coordinates (as trimesh reads them) must equal the importer's world coordinates. The OBJ files of
``pybullet_data`` (installed with pybullet, referenced in place) render upright with their textures,
and the ground truth passes the independent ray cast built from the original files and meta's poses.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from conftest import load_meta, run_cli, write_config
from synthblend.core.asset_pose import asset_pose
from synthblend.core.config import load_config
from synthblend.core.sampling import sample
from synthblend.core.up_axis import AXES, axis_rotation, up_axis_matrix

pybullet_data = pytest.importorskip("pybullet_data")
DATA = Path(pybullet_data.getDataPath())
DUCK = DATA / "duck.obj"                   # Y-up (its URDF turns it +90 deg about x), texture duckCM.png

EXPORT = r"""
import bpy, json, sys
out = sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_cube_add(size=1)
ob = bpy.context.active_object
ob.scale = (0.1, 0.2, 0.6)                                   # tall along Blender's z, 0.6 m
ob.location = (0.0, 0.0, 0.3)                                # base at z = 0, front towards -y
bpy.ops.object.transform_apply(location=True, scale=True)
ob.data.vertices[0].co.y -= 0.05                             # asymmetric: no symmetry can hide a flip
bpy.ops.export_scene.gltf(filepath=out + "/tall.glb", export_format="GLB")
bpy.ops.export_scene.gltf(filepath=out + "/tall_draco.glb", export_format="GLB",
                          export_draco_mesh_compression_enable=True)
res = {}
for name in ("tall.glb", "tall_draco.glb"):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=out + "/" + name)
    obs = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    res[name] = [list(o.matrix_world @ v.co) for o in obs for v in o.data.vertices]
print("RESULT" + json.dumps(res))
"""


@pytest.fixture(scope="module")
def blender_glbs(tmp_path_factory):
    """tall.glb and tall_draco.glb from Blender's exporter, and Blender's import of each (world xyz)."""
    d = tmp_path_factory.mktemp("glb")
    r = subprocess.run([sys.executable, "-c", EXPORT, str(d)], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    return d, {k: np.asarray(v) for k, v in json.loads(line[6:]).items()}


def _same_points(a, b, atol):
    """The two point sets are equal (each point of one within atol of one of the other)."""
    a, b = np.unique(np.round(a, 9), axis=0), np.unique(np.round(b, 9), axis=0)
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    return d.min(axis=1).max() <= atol and d.min(axis=0).max() <= atol


def test_axis_rotations_are_proper_and_map_up_and_forward():
    for up, fwd in itertools.product(AXES, AXES):
        u, f = (np.eye(3)["xyz".index(a[-1])] * (-1 if a.startswith("-") else 1) for a in (up, fwd))
        if abs(u @ f) > 0.5:
            with pytest.raises(ValueError):
                axis_rotation(up, fwd)
            continue
        C = axis_rotation(up, fwd)
        assert np.allclose(C @ C.T, np.eye(3)) and np.isclose(np.linalg.det(C), 1.0)
        assert np.allclose(C @ u, [0, 0, 1]) and np.allclose(C @ f, [0, 1, 0])
    # glTF: +90 deg about x, (x, y, z) -> (x, -z, y); every other format: identity
    assert np.array_equal(up_axis_matrix({"mesh": "a/b.GLB"})[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    assert np.array_equal(up_axis_matrix({"mesh": "a.obj"}), np.eye(4))
    assert np.array_equal(up_axis_matrix({"primitive": "cube"}), np.eye(4))
    assert np.array_equal(up_axis_matrix({"mesh": "a.glb", "up_axis": "z"}), np.eye(4))
    assert np.array_equal(up_axis_matrix({"mesh": "a.obj", "up_axis": "y"}), up_axis_matrix({"mesh": "a.glb"}))


def test_glb_lands_as_blenders_importer_puts_it(blender_glbs):
    """Default glTF conversion == Blender's glTF importer, for the plain and the Draco file (decoded
    by trimesh through DracoPy; Blender decodes with its own Draco library)."""
    d, imported = blender_glbs
    C = up_axis_matrix({"mesh": "tall.glb"})[:3, :3]
    for name in ("tall.glb", "tall_draco.glb"):
        raw = np.asarray(trimesh.load(str(d / name), force="mesh", process=False).vertices)
        assert np.ptp(raw[:, 1]) > 0.59 and np.ptp(raw[:, 2]) < 0.26    # tall along the file's +y
        world = raw @ C.T
        assert _same_points(world, imported[name], atol=1e-6), name
        assert np.ptp(world[:, 2]) > 0.59 and abs(world[:, 2].min()) < 1e-4   # upright, on the ground
    plain = np.asarray(trimesh.load(str(d / "tall.glb"), force="mesh", process=False).vertices)
    draco = np.asarray(trimesh.load(str(d / "tall_draco.glb"), force="mesh", process=False).vertices)
    assert _same_points(plain, draco, atol=0.65 * 2.0 ** -13)       # Draco's 14-bit quantization


def test_check_refuses_forward_parallel_to_up(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", {"scene": {"objects": [
        {"mesh": str(DUCK), "up_axis": "y", "forward": "-y"}]}})
    r = run_cli("check", cfg)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "scene.objects[0].forward: forward '-y' must be perpendicular to up_axis 'y'" in r.stderr


def test_rest_on_ground_puts_the_lowest_point_at_the_gap(tmp_path):
    """For the Y-up duck, random rotation and scale: the lowest of the file's vertices (trimesh,
    independently of the sampler's support points) mapped by obj2world is at z = position z."""
    cfg = load_config(write_config(tmp_path / "c.yaml", {"seed": 3, "scene": {"objects": [
        {"mesh": str(DUCK), "up_axis": "y", "rest_on_ground": True, "count": 3, "rotation": "uniform_so3",
         "scale": {"uniform": [0.05, 0.2]}, "position": {"uniform": [[-0.3, -0.3, 0.0], [0.3, 0.3, 0.02]]}}]}}))
    v = np.asarray(trimesh.load(str(DUCK), force="mesh", process=False).vertices)
    for frame in range(4):
        spec = sample(cfg, cfg.seed, frame)
        gaps = [p[2] for p in spec.sampled["scene.objects[0].position"]]
        for o, gap in zip(spec.objects, gaps, strict=True):
            T = np.asarray(o.obj2world)
            assert abs((v @ T[:3, :3].T + T[:3, 3])[:, 2].min() - gap) < 1e-12
    upright = load_config(write_config(tmp_path / "u.yaml", {"scene": {"objects": [
        {"mesh": str(DUCK), "up_axis": "y", "rest_on_ground": True}]}}))
    T = np.asarray(sample(upright, 0, 0).objects[0].obj2world)
    assert np.allclose(T[:3, :3] @ [0, 1, 0], [0, 0, 1])                 # the duck's +y is up
    assert np.isclose((v @ T[:3, :3].T)[:, 2].min() + T[2, 3], 0.0, atol=1e-15)


def _lowest_over_frames(cfg, n=300):
    v = np.asarray(trimesh.creation.box(extents=(1, 1, 1)).vertices)
    low = np.inf
    for i in range(n):
        for o in sample(cfg, cfg.seed, i).objects:
            if o.kind.value == "object":
                T = np.asarray(o.obj2world)
                low = min(low, float((v @ T[:3, :3].T + T[:3, 3])[:, 2].min()))
    return low


@pytest.mark.parametrize("obj, warned", [
    ({"rotation": "uniform_so3", "position": [0, 0, 0.6]}, True),       # corner reaches -0.266 m
    ({"rotation": "uniform_so3", "position": [0, 0, 0.9]}, False),      # 0.866 m half-diagonal fits
    ({"rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}, "position": [0, 0, 0.5]}, False),
    ({"position": {"uniform": [[0, 0, 0.3], [0, 0, 0.8]]}}, True),
    ({"rest_on_ground": True, "rotation": "uniform_so3", "position": [0, 0, 0]}, False),
    ({"rest_on_ground": True, "position": {"uniform": [[0, 0, -0.01], [0, 0, 0.1]]}}, True),
])
def test_check_warns_when_poses_can_go_below_the_ground(tmp_path, obj, warned):
    """The warning names the entry, and agrees with what the sampler really draws over many frames."""
    cfg_path = write_config(tmp_path / "c.yaml", {"scene": {"ground": {"size": 4}, "objects": [
        {"primitive": "sphere", "position": [0, 0, 1]}, {"primitive": "cube", **obj}]}})
    r = run_cli("check", cfg_path)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(lines) == int(warned), r.stderr
    if warned:
        assert f"{cfg_path}:" in lines[0] and "scene.objects[1]:" in lines[0]
        assert "below the ground" in lines[0] or "sinks into the ground" in lines[0]
    assert (_lowest_over_frames(load_config(cfg_path)) < -1e-9) == warned


def test_check_bounds_a_library_over_its_assets(tmp_path):
    """A folder of a 0.1 m and a 1 m cube at position z 0.3: only the big one reaches below the
    ground; the warning names it, and the sampler does put it there."""
    (tmp_path / "lib").mkdir()
    for name, e in (("small.ply", 0.1), ("big.ply", 1.0)):
        trimesh.creation.box(extents=(e, e, e)).export(tmp_path / "lib" / name)
    obj = {"mesh": "lib", "choose": 1, "position": [0, 0, 0.3]}
    cfg_path = write_config(tmp_path / "c.yaml", {"scene": {"ground": {"size": 4}, "objects": [obj]}})
    r = run_cli("check", cfg_path)
    warn = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert r.returncode == 0 and len(warn) == 1, r.stderr
    assert "scene.objects[0]: sampled poses can put the object below the ground: asset lib/big.ply" in warn[0]
    assert "z = -0.2 m" in warn[0]
    cfg = load_config(cfg_path)
    lows = {}
    for i in range(20):
        for o in (o for o in sample(cfg, 0, i).objects if o.kind.value == "object"):
            v = np.asarray(trimesh.load(tmp_path / o.asset, process=False).vertices)
            T = np.asarray(o.obj2world)
            lows[o.asset] = min(lows.get(o.asset, np.inf), float((v @ T[:3, :3].T + T[:3, 3])[:, 2].min()))
    assert lows == pytest.approx({"lib/big.ply": -0.2, "lib/small.ply": 0.25})
    obj["rest_on_ground"] = True
    r = run_cli("check", write_config(tmp_path / "c.yaml", {"scene": {"ground": {"size": 4}, "objects": [obj]}}))
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_no_warning_without_ground_or_with_physics(tmp_path):
    base = {"primitive": "cube", "rotation": "uniform_so3"}
    for scene in ({"objects": [base]}, {"objects": [base], "ground": {"size": 2}, "placement": "physics"}):
        r = run_cli("check", write_config(tmp_path / "c.yaml", {"scene": scene}))
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_flush_warning_only_for_uncovered_faces_in_the_ground_plane(tmp_path):
    """pybullet's lego brick is open underneath: resting on the ground its bottom rim is covered by its
    walls (a render of it passes verify), so no warning. A flat open plate lying at z = 0 is flagged;
    lifted by 1 mm, or standing on its edge, it is not."""
    from synthblend.core.asset_warnings import flush_with_ground

    lego = DATA / "lego" / "lego.obj"
    v = np.array([[-.1, -.1, 0], [.1, -.1, 0], [.1, .1, 0], [-.1, .1, 0]], float)
    trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False).export(tmp_path / "plate.ply")
    entries = [{"mesh": str(lego), "scale": 0.1, "up_axis": "y", "rest_on_ground": True,
                "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}},
               {"mesh": "plate.ply", "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}},
               {"mesh": "plate.ply", "position": [0, 0, 0.001]},
               {"mesh": "plate.ply", "rest_on_ground": True, "rotation": {"euler_deg": [90, 0, 0]}}]
    cfg = load_config(write_config(tmp_path / "c.yaml", {"scene": {"ground": {"size": 2}, "objects": entries}}))
    assert [flush_with_ground(cfg, i) is not None for i in range(4)] == [False, True, False, False]


def test_asset_pose_identity_conversion_keeps_old_poses_bit_for_bit():
    """Z-up entries without rest_on_ground: obj2world is the caller's R @ diag(s) bit for bit, signed
    zeros included (datasets stay byte-identical); a glTF's is [R s | p] @ C."""
    rng = np.random.default_rng(1)
    Rs = [np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(30)] + [np.array([[1, -0.0, 0], [0, 1, -0.0],
                                                                                  [-0.0, 0, 1]])]
    for R in Rs:
        s, p = float(rng.uniform(0.01, 3)), tuple(rng.normal(size=3))
        RS = R * s
        T = asset_pose({"mesh": "a.ply"}, RS, p)
        assert T[:3, :3].tobytes() == RS.tobytes() and T[:3, 3].tobytes() == np.asarray(p).tobytes()
        G = asset_pose({"mesh": "a.glb"}, RS, p)
        P = np.eye(4)
        P[:3, :3], P[:3, 3] = RS, p
        assert np.allclose(G, P @ up_axis_matrix({"mesh": "a.glb"}))


# ----------------------------------------------------------------------------------------- renders


@pytest.fixture(scope="module")
def real_dataset(tmp_path_factory, blender_glbs):
    return _gt_dataset(tmp_path_factory.mktemp("real"), blender_glbs)


def _gt_dataset(tmp_path, glbs):
    d, _ = glbs
    cfg = {"seed": 5, "frames": 2,
           "render": {"resolution": [96, 72], "samples": 2, "quality": "draft"},
           "scene": {"ground": {"size": 4}, "objects": [
               {"mesh": str(d / "tall.glb"), "position": [-0.25, 0.1, 0.0],
                "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}},
               {"mesh": str(d / "tall_draco.glb"), "position": [0.25, 0.1, 0.0]},
               {"mesh": str(DUCK), "up_axis": "y", "rest_on_ground": True, "scale": 0.12,
                "position": [0.0, -0.2, 0.0], "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}},
                "materials": {"keep_asset": True}},
               {"mesh": str(DATA / "table" / "table.obj"), "rest_on_ground": True, "scale": 0.12,
                "position": [0.3, -0.3, 0.0], "materials": {"keep_asset": True}},
               {"mesh": str(DATA / "lego" / "lego.obj"), "up_axis": "y", "rest_on_ground": True, "scale": 0.15,
                "position": [-0.3, -0.3, 0.0]}]},                 # open underneath: its rim on the ground
           "camera": {"look_at": [0, 0, 0.15], "distance": 1.6, "elevation_deg": {"uniform": [15, 35]},
                      "azimuth_deg": {"uniform": [-110, -70]}}}
    cfg_path = write_config(tmp_path / "real.yaml", cfg)
    out = tmp_path / "real"
    r = run_cli("render", cfg_path, "--out", out, "--quiet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.render
def test_real_assets_render_upright_textured_and_exact(real_dataset, blender_glbs):
    from synthblend.dataset.verify import verify_dataset

    out = real_dataset
    d, _ = blender_glbs
    report = verify_dataset(out, use_source_assets=True)        # ray cast from the ORIGINAL files
    assert report.passed, report.frames[0].failures + report.frames[-1].failures
    assert all(fc.from_source == 5 for fc in report.frames)
    raw = {str(d / "tall.glb"): None, str(d / "tall_draco.glb"): None, str(DUCK): None}
    for k in raw:
        raw[k] = np.asarray(trimesh.load(k, force="mesh", process=False).vertices)
    rgb_of = {}
    for i in range(2):
        meta = load_meta(out, i)
        objs = {o["asset"]: o for o in meta["objects"]}
        for asset, v in raw.items():
            T = np.asarray(objs[asset]["obj2world"])
            w = v @ T[:3, :3].T + T[:3, 3]
            if asset == str(DUCK):                                  # its +y (the URDF's up) is up
                up = T[:3, :3] @ [0, 1, 0]
                assert np.allclose(up / np.linalg.norm(up), [0, 0, 1])
            else:
                assert np.argmax(np.ptp(w, axis=0)) == 2, asset     # the box's long axis points up
            assert abs(w[:, 2].min()) < 1e-4, asset                # standing on the ground
            assert objs[asset]["px_count_visib"] > 30, asset
        rgb_of[i] = objs
    # textures: keep_asset gave the duck and the table their images (not a plain colour)
    from PIL import Image
    for i in range(2):
        inst = np.asarray(Image.open(out / "instance" / f"{i:06d}.png"))
        rgb = np.asarray(Image.open(out / "rgb" / f"{i:06d}.png"))[..., :3].astype(float)
        for asset in (str(DUCK), str(DATA / "table" / "table.obj")):
            o = rgb_of[i][asset]
            assert o["material"] == {"source": "asset"}, o.get("material")
            px = rgb[inst == o["instance_id"]]
            assert len(px) > 30
        duck = rgb[inst == rgb_of[i][str(DUCK)]["instance_id"]].mean(axis=0)
        assert duck[0] > duck[2] * 1.3 and duck[1] > duck[2] * 1.3      # duckCM.png: yellow, not grey


@pytest.mark.render
def test_bop_export_of_converted_assets_maps_its_models_into_the_camera(tmp_path, real_dataset):
    """BOP's R, t (mm) applied to its exported models reproduce meta's obj2cam @ the original files' raw
    vertices: the folded up-axis rotation survives the export."""
    from synthblend.dataset.bop import export_bop

    export_bop(real_dataset, tmp_path / "bop")
    gt = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())
    meta = load_meta(real_dataset, 0)
    want = {}
    for o in meta["objects"]:
        if o["kind"] == "object":
            v = np.asarray(trimesh.load(o["asset"], force="mesh", process=False).vertices)
            T = np.asarray(o["obj2cam"])
            w = (v @ T[:3, :3].T + T[:3, 3]) * 1000.0
            want[o["asset"]] = np.r_[w.min(axis=0), w.max(axis=0), w.mean(axis=0)]
    got = []
    for g in gt["0"]:
        m = trimesh.load(tmp_path / "bop" / "models" / f"obj_{g['obj_id']:06d}.ply", process=False)
        R, t = np.reshape(g["cam_R_m2c"], (3, 3)), np.asarray(g["cam_t_m2c"])
        w = np.asarray(m.vertices) @ R.T + t
        got.append(np.r_[w.min(axis=0), w.max(axis=0), w.mean(axis=0)])
    assert len(got) == len(want) == 5
    for asset, x in want.items():
        assert min(np.abs(g - x).max() for g in got) < 1e-2, asset        # 0.01 mm


@pytest.mark.render
def test_verify_names_coplanar_faces_with_the_ground(tmp_path):
    """An open plate lying in z = 0 z-fights with the ground in Cycles; verify says why."""
    from synthblend.dataset.verify import format_report, verify_dataset
    from synthblend.dataset.verify_checks import COPLANAR_HINT, coplanar_with_ground
    from synthblend.dataset.verify_geometry import Geometry

    v = np.array([[-.15, -.15, 0], [.15, -.15, 0], [.15, .15, 0], [-.15, .15, 0]], float)
    trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False).export(tmp_path / "plate.ply")
    cfg = {"frames": 1, "render": {"resolution": [64, 48], "samples": 1, "quality": "draft"},
           "scene": {"ground": {"size": 4}, "objects": [{"mesh": "plate.ply"},
                                                        {"mesh": "plate.ply", "position": [0.5, 0, 0.01]}]},
           "camera": {"look_at": [0.2, 0, 0], "distance": 1.5, "elevation_deg": 50}}
    out = tmp_path / "ds"
    r = run_cli("render", write_config(tmp_path / "plate.yaml", cfg), "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]    # check's warning too
    assert len(warn) == 1 and "scene.objects[0]: faces of this open mesh lie in the ground plane" in warn[0]
    meta = load_meta(out, 0)
    geo = Geometry(out, tmp_path, True)
    assert coplanar_with_ground(meta, geo) == {1}                  # the lifted plate is not
    report = verify_dataset(out)
    text = format_report(report)
    assert not report.passed and COPLANAR_HINT in text, text
    assert "id 1 (plate_0_0)" in text and "id 2 (plate_1_0)" not in text
