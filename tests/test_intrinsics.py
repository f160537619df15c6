"""A real camera's K (camera.intrinsics / camera.K / camera.calibration / camera.preset): meta's K is the
given K to 1e-9, and points project to the same pixels with Blender's own projection
(``world_to_camera_view`` on the camera the engine set up) and with OpenCV's ``projectPoints``; a
rendered image agrees with an independent trimesh ray cast through K^-1 pixel centres. Calibration
files are written by OpenCV itself (``cv2.FileStorage``) and in ROS camera_info form.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import load_meta, run_cli, write_config
from synthblend.core import camera as cam
from synthblend.core.camera_calib import load_calibration, parse_calibration
from synthblend.core.camera_presets import PRESETS
from synthblend.core.config import Config
from synthblend.core.sampling import sample

# W, H, fx, fy, cx, cy: fx != fy, off-centre principal points, odd and portrait sizes (BlenderProc #1235:
# cy goes wrong with a shift on non-square images)
CASES = [
    (641, 479, 600.3, 598.5, 319.2, 241.7),
    (161, 283, 190.7, 221.3, 70.1, 150.9),       # portrait, fy > fx, both off-centre
    (333, 517, 420.0, 380.0, 180.25, 230.6),     # portrait, fx > fy
    (97, 61, 80.0, 95.5, 20.0, 45.0),            # landscape, far off-centre
    (255, 255, 300.0, 300.0, 127.0, 127.0),      # square, centred
    (320, 240, 250.0, 125.0, 100.0, 200.0),      # pixel aspect 2
]


def _random_cases(n=16, seed=15):
    """Random cameras: sizes 4..900 either way, fx / fy in 1/3..3, principal points anywhere from a
    quarter outside to a quarter past the image."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        W, H = (int(x) for x in rng.integers(4, 900, 2))
        fx = float(rng.uniform(0.4, 3.0) * W)
        fy = float(fx * np.exp(rng.uniform(-np.log(3), np.log(3))))
        cx, cy = float(rng.uniform(-0.25, 1.25) * W), float(rng.uniform(-0.25, 1.25) * H)
        out.append((W, H, fx, fy, cx, cy))
    return out


def _K(fx, fy, cx, cy):
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _config(W, H, K, **camera):
    c = {"look_at": [0.1, -0.05, 0.2], "distance": 3.0, "elevation_deg": {"uniform": [20, 60]},
         "azimuth_deg": {"uniform": [0, 360]}, "roll_deg": {"uniform": [-20, 20]},
         "K": np.asarray(K).tolist()}
    c.update(camera)
    return Config({"render": {"resolution": [W, H]}, "camera": c})


@pytest.mark.parametrize("case", CASES + _random_cases())
def test_blender_values_reproduce_K(case):
    W, H, fx, fy, cx, cy = case
    b = cam.blender_from_K(_K(fx, fy, cx, cy), W, H)
    K = cam.intrinsics(b["focal_length_mm"], b["sensor_width_mm"], W, H, sensor_fit=b["sensor_fit"],
                       shift_x=b["shift_x"], shift_y=b["shift_y"], pixel_aspect_x=b["pixel_aspect"][0],
                       pixel_aspect_y=b["pixel_aspect"][1])
    assert np.abs(K - _K(fx, fy, cx, cy)).max() < 1e-9
    assert min(b["pixel_aspect"]) == 1.0 and b["focal_length_mm"] >= 1.0


def test_meta_K_is_the_given_K():
    from synthblend.dataset.meta import frame_meta
    for W, H, fx, fy, cx, cy in CASES:
        for cfg in (_config(W, H, _K(fx, fy, cx, cy)),
                    Config({"render": {"resolution": [W, H]},
                            "camera": {"intrinsics": {"fx": fx, "fy": fy, "cx": cx, "cy": cy}}})):
            spec = sample(cfg, 1, 0)
            meta = frame_meta(spec, np.zeros((H, W), np.uint16), {})
            assert np.abs(np.array(meta["camera"]["K"]) - _K(fx, fy, cx, cy)).max() < 1e-9
            assert meta["image_size"] == [W, H]
            if fx != fy:
                ax, ay = meta["camera"]["pixel_aspect"]
                assert ax / ay == pytest.approx(fy / fx, rel=1e-12)


BLENDER_SCRIPT = r"""
import json, sys
import bpy
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector
from synthblend.core.config import Config
from synthblend.core.sampling import sample
from synthblend.engine.features.camera import Camera
cases, points = json.loads(sys.stdin.read())
bpy.ops.wm.read_factory_settings(use_empty=True)
class Builder:             # what the engine's camera feature uses of engine.scene.SceneBuilder
    scene = bpy.context.scene
    collection = bpy.context.scene.collection
    camera = None
b = Builder()
feature = Camera(b); feature.build()
out = []
for raw in cases:
    cfg = Config(raw)
    W, H = cfg.resolution
    b.scene.render.resolution_x, b.scene.render.resolution_y = W, H
    b.scene.render.resolution_percentage = 100
    res = []
    for frame in range(3):
        spec = sample(cfg, 5, frame)
        feature.apply(spec)
        bpy.context.view_layer.update()
        uv = []
        for p in points:
            v = world_to_camera_view(b.scene, b.camera, Vector(p))
            uv.append([v.x * W - 0.5, (1.0 - v.y) * H - 0.5, v.z])
        res.append({"uv": uv, "world2cam": spec.camera.world2cam.tolist()})
    out.append(res)
print("RESULT" + json.dumps(out))
"""


def test_points_project_like_blender_and_opencv():
    """The engine's Blender camera (lens, sensor, shift, pixel aspect from blender_from_K) projects 3-D
    points where cv2.projectPoints puts them with the given K and the spec's pose."""
    rng = np.random.default_rng(3)
    raws, Ks = [], []
    cases = CASES + _random_cases()
    for W, H, fx, fy, cx, cy in cases:
        K = _K(fx, fy, cx, cy)
        raws.append(_config(W, H, K).raw)
        Ks.append(K)
    points = (rng.uniform(-0.6, 0.6, (60, 3)) + [0.1, -0.05, 0.2]).tolist()
    proc = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT], input=json.dumps([raws, points]),
                          capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line is not None, proc.stderr[-3000:]
    for case, K, frames in zip(cases, Ks, json.loads(line[6:]), strict=True):
        for fr in frames:
            w2c = np.array(fr["world2cam"])
            rvec, _ = cv2.Rodrigues(w2c[:3, :3])
            uv_cv, _ = cv2.projectPoints(np.array(points), rvec, w2c[:3, 3], K, None)
            bl = np.array(fr["uv"])
            err = np.abs(uv_cv.reshape(-1, 2) - bl[:, :2]).max()
            assert err < 2e-3, f"{case}: Blender vs OpenCV max pixel error {err}"


# ------------------------------------------------------------------------------------ calibration files


def _cv_write(path, K, dist, size, fmt_json=False):
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE | (cv2.FILE_STORAGE_FORMAT_JSON if fmt_json else 0))
    fs.write("image_width", size[0])
    fs.write("image_height", size[1])
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", np.asarray(dist, float).reshape(1, -1))
    fs.release()


@pytest.mark.parametrize("ext", ["yaml", "json"])
def test_opencv_filestorage_files(tmp_path, ext):
    K = _K(612.25, 610.5, 322.75, 238.125)
    dist = [-0.28, 0.08, 0.001, -0.0015, 0.01]
    p = tmp_path / f"calib.{ext}"
    _cv_write(p, K, dist, (640, 480), fmt_json=ext == "json")
    c = load_calibration(p)
    assert np.array_equal(c.K, K) and c.size == (640, 480)
    assert c.distortion == {"model": "opencv", "k1": -0.28, "k2": 0.08, "p1": 0.001, "p2": -0.0015, "k3": 0.01}
    _cv_write(p, K, [0, 0, 0, 0, 0], (640, 480), fmt_json=ext == "json")
    assert load_calibration(p).distortion is None                # zeros: a pinhole


ROS_YAML = """image_width: 1280
image_height: 720
camera_name: narrow_stereo/left
camera_matrix:
  rows: 3
  cols: 3
  data: [640.5, 0, 639.25, 0, 641.0, 360.75, 0, 0, 1]
distortion_model: {model}
distortion_coefficients:
  rows: 1
  cols: {n}
  data: {coeffs}
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [640.5, 0, 639.25, 0, 0, 641.0, 360.75, 0, 0, 0, 1, 0]
"""


def test_ros_camera_info():
    c = parse_calibration(ROS_YAML.format(model="plumb_bob", n=5, coeffs=[-0.1, 0.02, 0.0, 0.001, 0.0]))
    assert c.size == (1280, 720) and np.array_equal(c.K, _K(640.5, 641.0, 639.25, 360.75))
    assert c.distortion == {"model": "opencv", "k1": -0.1, "k2": 0.02, "p1": 0.0, "p2": 0.001, "k3": 0.0}
    coeffs = [0.1, 0.2, 0, 0, 0.3, 0.4, 0.5, 0.6]
    c = parse_calibration(ROS_YAML.format(model="rational_polynomial", n=8, coeffs=coeffs))
    assert c.distortion["model"] == "opencv" and c.distortion["k6"] == 0.6 and len(c.distortion) == 9
    c = parse_calibration(ROS_YAML.format(model="equidistant", n=4, coeffs=[0.1, -0.01, 0.002, -0.0003]))
    assert c.distortion == {"model": "fisheye", "k1": 0.1, "k2": -0.01, "k3": 0.002, "k4": -0.0003}
    echo = ("header: {seq: 0}\nheight: 480\nwidth: 640\ndistortion_model: plumb_bob\n"
            "D: [0.0, 0.0, 0.0, 0.0, 0.0]\nK: [500.0, 0.0, 320.5, 0.0, 501.0, 240.5, 0.0, 0.0, 1.0]\n")
    c = parse_calibration(echo)                                   # the message itself (rostopic echo)
    assert c.size == (640, 480) and c.K[1, 1] == 501.0 and c.distortion is None


@pytest.mark.parametrize("text, what", [
    ("camera_matrix: [1, 2, 3]", "9 numbers"),
    ("K: [[500, 1, 320], [0, 500, 240], [0, 0, 1]]", "no skew"),
    ("width: 640\nheight: 480\n", "no camera matrix"),
    ("K: [500, 0, 320, 0, 500, 240, 0, 0, 1]\ndistortion_model: division\nD: [0.1]", "not one of"),
    ("K: [500, 0, 320, 0, 500, 240, 0, 0, 1]\nD: [0.1, 0, 0]", "4, 5, 8, 12 or 14"),
    ("K: [500, 0, 320, 0, 500, 240, 0, 0, 1]\nD: [0.1, 0, 0, 0, 0, 0, 0, 0, 0.2, 0, 0, 0]", "thin-prism"),
    ("[: bad", "not a YAML"),
])
def test_bad_calibration_files(text, what):
    with pytest.raises(ValueError, match=what):
        parse_calibration(text)


def test_calibration_in_a_config_sets_resolution_K_and_distortion(tmp_path):
    K = _K(612.25, 610.5, 322.75, 238.125)
    _cv_write(tmp_path / "cam.yaml", K, [-0.2, 0.05, 0, 0, 0], (640, 480))
    cfg = Config({"camera": {"calibration": "cam.yaml"}}, base_dir=tmp_path)
    assert cfg.resolution == (640, 480)
    assert np.abs(sample(cfg, 0, 0).camera.K - K).max() < 1e-12
    assert cfg.data["camera"]["distortion"]["model"] == "opencv"
    assert cfg.data["camera"]["distortion"]["k1"] == -0.2
    # the same aspect ratio at a quarter of the size: K rescaled (pixel edges scale)
    _cv_write(tmp_path / "pin.yaml", K, [0, 0, 0, 0, 0], (640, 480))
    small = Config({"render": {"resolution": [160, 120]}, "camera": {"calibration": "pin.yaml"}}, base_dir=tmp_path)
    Ks = sample(small, 0, 0).camera.K
    assert Ks[0, 0] == K[0, 0] / 4 and Ks[0, 2] == (K[0, 2] + 0.5) / 4 - 0.5 and Ks[1, 2] == (K[1, 2] + 0.5) / 4 - 0.5


# ------------------------------------------------------------------------------------ presets


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets(name):
    p = PRESETS[name]
    cfg = Config({"camera": {"preset": name}})
    assert cfg.resolution == p.resolution
    K = sample(cfg, 0, 0).camera.K
    W, H = p.resolution
    assert math.degrees(2 * math.atan(W / 2 / K[0, 0])) == pytest.approx(p.hfov_deg, abs=1e-9)
    assert K[0, 0] == K[1, 1] and K[0, 2] == (W - 1) / 2 and K[1, 2] == (H - 1) / 2
    if p.baseline_m:
        st = Config({"frames": 2, "camera": {"preset": name, "stereo": {}}})
        assert st.data["camera"]["stereo"]["baseline_m"] == p.baseline_m


def test_published_figures():
    """The presets hold the spec sheets' figures (docs/cameras.md cites them)."""
    assert PRESETS["realsense_d435"].baseline_m == 0.050 and PRESETS["realsense_d455"].baseline_m == 0.095
    assert PRESETS["zed2"].baseline_m == 0.120 and PRESETS["azure_kinect_nfov"].resolution == (640, 576)
    assert PRESETS["webcam"].hfov_deg == pytest.approx(70.42, abs=0.01)       # C920: 78 deg diagonal
    # 26 mm (35 mm-equivalent: the 43.27 mm diagonal) on a 4:3 image: the width is 4/5 of the diagonal
    assert PRESETS["phone"].hfov_deg == pytest.approx(math.degrees(2 * math.atan(0.4 * math.hypot(36, 24) / 26)))


def test_preset_keys_are_overridable():
    base = PRESETS["realsense_d435"].K
    cfg = Config({"render": {"resolution": [320, 180]},
                  "camera": {"preset": "realsense_d435", "intrinsics": {"cx": 150.0}}})
    K = sample(cfg, 0, 0).camera.K
    assert K[0, 0] == pytest.approx(base[0, 0] / 4, rel=1e-15) and K[0, 2] == 150.0
    assert K[1, 2] == (base[1, 2] + 0.5) / 4 - 0.5
    cfg = Config({"camera": {"preset": "zed2", "stereo": {"baseline_m": 0.2}}, "frames": 2})
    assert cfg.parsed["camera"]["stereo"]["baseline_m"] == 0.2


# ------------------------------------------------------------------------------------ bad input: exit 2


@pytest.mark.parametrize("camera, render, where", [
    ({"intrinsics": {"fx": 500, "fy": 500, "cx": 320, "cy": 240}, "focal_length_mm": 50}, {},
     "camera.focal_length_mm: cannot be given with camera.intrinsics"),
    ({"K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "shift_x": 0.1}, {},
     "camera.shift_x: cannot be given with camera.K"),
    ({"intrinsics": {"fx": 500, "fy": 500, "cx": 320, "cy": 240}, "K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]]},
     {}, "camera.K: give camera.intrinsics or camera.K, not both"),
    ({"intrinsics": {"fx": 500, "cx": 320, "cy": 240}}, {}, "camera.intrinsics.fy: missing"),
    ({"K": [[500, 3, 320], [0, 500, 240], [0, 0, 1]]}, {}, "camera.K: must be [[fx, 0, cx]"),
    ({"intrinsics": {"fx": 1, "fy": 500, "cx": 320, "cy": 240}}, {}, "pixel aspect"),
    ({"preset": "realsense_d435"}, {"resolution": [640, 480]}, "render.resolution: 640x480 has another aspect ratio"),
    ({"preset": "nope"}, {}, "camera.preset"),
    ({"calibration": "missing.yaml"}, {}, "camera.calibration: missing.yaml: file not found"),
    ({"calibration": "/dev/zero"}, {}, "camera.calibration: zero: not a regular file"),
    ({"stereo": {}}, {}, "camera.stereo.baseline_m: missing"),
    ({"stereo": {"baseline_m": 0.1}, "distortion": {"model": "opencv", "k1": -0.1}},
     {"outputs": ["depth", "disparity"]}, "render.outputs: output disparity needs a rectified pair"),
    ({}, {"outputs": ["depth", "disparity"]}, "render.outputs: output disparity needs camera.stereo"),
])
def test_bad_camera_configs_exit_2(tmp_path, camera, render, where):
    p = write_config(tmp_path / "c.yaml", {"frames": 2, "render": render, "camera": camera})
    r = run_cli("check", p)
    assert r.returncode == 2, r.stderr
    assert where in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and str(p) in r.stderr


def test_odd_frames_with_stereo_exit_2(tmp_path):
    p = write_config(tmp_path / "c.yaml", {"frames": 3, "camera": {"stereo": {"baseline_m": 0.1}}})
    r = run_cli("check", p)
    assert r.returncode == 2 and "frames: must be even with camera.stereo" in r.stderr, r.stderr


# ------------------------------------------------------------------------------------ a rendered K


def _raycast(mesh_files, meta, W, H):
    """Instance ids and planar depth at every pixel centre, by trimesh (Embree when present), from meta's
    K and poses and the dataset's mesh files: independent of Blender and of core.raycam."""
    import trimesh
    K = np.array(meta["camera"]["K"])
    c2w = np.array(meta["camera"]["cam2world"])
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
    d_world = d_cam @ c2w[:3, :3].T
    origins = np.repeat(c2w[:3, 3][None], len(d_world), 0)
    meshes, ids = [], []
    for o in meta["objects"]:
        m = trimesh.load(mesh_files / o["mesh"], force="mesh", process=False)
        V = np.asarray(m.vertices) @ np.array(o["obj2world"])[:3, :3].T + np.array(o["obj2world"])[:3, 3]
        meshes.append(trimesh.Trimesh(V, m.faces, process=False))
        ids.append(o["instance_id"])
    scene = trimesh.util.concatenate(meshes)
    owner = np.concatenate([np.full(len(m.faces), i) for m, i in zip(meshes, ids, strict=True)])
    tri = scene.ray.intersects_first(origins, d_world)
    inst = np.zeros(len(d_world), np.int64)
    depth = np.zeros(len(d_world))
    hit = tri >= 0
    inst[hit] = owner[tri[hit]]
    locs, ray_idx, _ = scene.ray.intersects_location(origins[hit], d_world[hit], multiple_hits=False)
    full = np.flatnonzero(hit)[ray_idx]
    depth[full] = (locs - c2w[:3, 3]) @ c2w[:3, 2]
    return inst.reshape(H, W), depth.reshape(H, W)


@pytest.mark.render
@pytest.mark.parametrize("W, H, fx, fy, cx, cy", [(61, 91, 70.0, 84.0, 25.5, 52.25),    # portrait, fy > fx
                                                  (73, 41, 90.0, 60.0, 40.7, 15.2)])    # landscape, fx > fy
def test_rendered_K_matches_a_ray_cast(tmp_path, W, H, fx, fy, cx, cy):
    """Odd sizes (portrait and landscape), fx != fy both ways, off-centre cx and cy: Blender's instance
    map agrees with a ray cast through K^-1 [u, v, 1] on >= 99.95% of pixels and its depth to a median
    relative error <= 2e-5 (a wrong cy, as BlenderProc #1235, moves every edge)."""
    from synthblend.dataset.codecs import CODECS
    cfg = {"seed": 4, "frames": 2,
           "render": {"resolution": [W, H], "samples": 1, "outputs": ["depth", "instance"]},
           "scene": {"placement": "non_overlapping",     # no coplanar faces of two objects
                     "objects": [{"primitive": "cube", "scale": 0.25, "count": 2,
                                  "position": {"uniform": [[-0.3, -0.3, 0.15], [0.3, 0.3, 0.15]]}},
                                 {"primitive": "sphere", "scale": 0.2,
                                  "position": {"uniform": [[-0.3, -0.3, 0.1], [0.3, 0.3, 0.1]]}}],
                     "ground": {"size": 3}},
           "camera": {"distance": 2.0, "elevation_deg": 45, "azimuth_deg": {"uniform": [0, 360]},
                      "intrinsics": {"fx": fx, "fy": fy, "cx": cx, "cy": cy}}}
    p = write_config(tmp_path / "c.yaml", cfg)
    r = run_cli("render", p, "--out", tmp_path / "ds", "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    for i in range(2):
        meta = load_meta(tmp_path / "ds", i)
        assert np.abs(np.array(meta["camera"]["K"]) - _K(fx, fy, cx, cy)).max() < 1e-9
        inst = CODECS["png_u16"].read(tmp_path / "ds" / "instance" / f"{i:06d}.png")
        depth = CODECS["exr_depth"].read(tmp_path / "ds" / "depth" / f"{i:06d}.exr")
        ref_inst, ref_depth = _raycast(tmp_path / "ds", meta, W, H)
        agree = (inst == ref_inst).mean()
        assert agree >= 0.9995, f"frame {i}: {agree:.5f} of pixels agree"
        both = (inst == ref_inst) & (ref_depth > 0)
        rel = np.abs(depth[both] - ref_depth[both]) / ref_depth[both]
        assert np.median(rel) < 2e-5 and np.percentile(rel, 99) < 2e-4, rel


def test_outputs_of_the_wrong_type_are_one_line_not_a_crash_of_the_stereo_check(tmp_path):
    """Found by tests/test_fuzz.py: the stereo check read render.outputs before knowing it is a list."""
    cfg = write_config(tmp_path / "c.yaml", {"frames": 2, "render": {"outputs": 1.0}})
    r = run_cli("check", cfg)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "render.outputs" in r.stderr and "Traceback" not in r.stderr
