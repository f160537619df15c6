"""The OSL lens (engine/osl/distorted_camera.osl) against OpenCV, on real Cycles renders.

Independent references: ``cv2.projectPoints`` / ``cv2.fisheye.projectPoints`` of the surface points
Cycles' Position pass reports (a ray read back: it must land on the pixel centre it was shot through,
plus Cycles' first-sample filter offset), an analytic plane (planar depth 2 m everywhere), Blender's
own perspective camera (zero distortion must give the same rays), and the anti-aliased colour of an
emissive ball (its centroid must sit on the instance mask's: no half-pixel shift).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from distortion_render_scenes import render_cases, world_to_opencv

from synthblend.dataset.verify_raycast import CYCLES_SAMPLE_OFFSET_PX as OFF

pytestmark = pytest.mark.render
ROOT = Path(__file__).resolve().parents[1]

OPENCV = {"model": "opencv", "k1": -0.28, "k2": 0.08, "p1": 0.001, "p2": -0.0012, "k3": 0.01}
RATIONAL = {"model": "opencv", "k1": 0.3, "k2": -0.05, "p1": -0.0008, "p2": 0.0005, "k3": 0.0,
            "k4": 0.1, "k5": 0.02, "k6": 0.0}
FISHEYE = {"model": "fisheye", "k1": -0.02, "k2": 0.003, "k3": -0.0005, "k4": 0.0001}
K_LAND = np.array([[80.0, 0, 47.3], [0, 83.0, 36.1], [0, 0, 1]])          # 97 x 71, fx != fy
K_PORT = np.array([[70.0, 0, 28.2], [0, 66.0, 47.9], [0, 0, 1]])          # 61 x 89, portrait
K_FISH = np.array([[30.0, 0, 47.3], [0, 31.0, 36.1], [0, 0, 1]])          # 97 x 71, sees past 90 deg
K_CENTRED = np.array([[80.0, 0, 47.5], [0, 80.0, 35.5], [0, 0, 1]])       # 96 x 72, as Blender's pinhole
ZERO = {"model": "opencv", "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0, "k3": 0.0}

CASES = {
    "opencv": dict(W=97, H=71, K=K_LAND, dist=OPENCV),
    "rational_portrait": dict(W=61, H=89, K=K_PORT, dist=RATIONAL),
    "fisheye": dict(W=97, H=71, K=K_FISH, dist=FISHEYE),
    "plane_opencv": dict(W=97, H=71, K=K_LAND, dist=OPENCV, scene="plane"),
    "plane_fisheye": dict(W=97, H=71, K=K_FISH, dist=FISHEYE, scene="plane"),
    "zero_custom": dict(W=96, H=72, K=K_CENTRED, dist=ZERO, scene="ball", samples=16),
    "zero_persp": dict(W=96, H=72, K=K_CENTRED, dist=None, scene="ball", samples=16, lens="persp"),
    "ball_opencv": dict(W=96, H=72, K=K_CENTRED, dist=OPENCV, scene="ball", samples=64),
    # the same lenses as rows of a lens table (engine/features/lens.py: a row per frame's K and
    # coefficients), other rows with other K and coefficients: the row picked is the case's lens
    "opencv_row2": dict(W=97, H=71, K=K_LAND, dist=OPENCV, row=2,
                        table=[(K_PORT, RATIONAL), (K_CENTRED, ZERO), (K_LAND, {**OPENCV, "k1": -0.2})]),
    "fisheye_row1": dict(W=97, H=71, K=K_FISH, dist=FISHEYE, row=1,
                         table=[(K_LAND, {**FISHEYE, "k1": 0.05}), (K_FISH, {**FISHEYE, "k2": 0.0})]),
    "ball_fisheye": dict(W=97, H=71, K=[[60.0, 0, 48.2], [0, 61.5, 35.3], [0, 0, 1]], dist=FISHEYE,
                         scene="ball", samples=64),
}


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    names = list(CASES)
    out = render_cases(tmp_path_factory.mktemp("lens"), [CASES[n] for n in names])
    return dict(zip(names, out, strict=True))


def _cv_project(P_cam, K, dist) -> np.ndarray:
    pts = P_cam.reshape(-1, 1, 3)
    if dist["model"] == "fisheye":
        D = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "k3", "k4")])
        uv, _ = cv2.fisheye.projectPoints(pts, np.zeros(3), np.zeros(3), K, D)
    else:
        D = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")])
        uv, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, D)
    return uv.reshape(-1, 2)


def _sample_positions(W, H) -> np.ndarray:
    """HxWx2: where Cycles' first sample of each pixel goes (its centre + the filter offset)."""
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    return np.stack([u + OFF[0], v + OFF[1]], -1)


def _fisheye_sees(K, W, H, dist) -> np.ndarray:
    """HxW: whether the pixel's ray exists (theta < 90 deg). theta_d(theta) increases on [0, 90 deg]
    for these coefficients (checked), so that is theta_d < theta_d(90 deg)."""
    k = [dist[f"k{i}"] for i in range(1, 5)]
    t = np.linspace(0, np.pi / 2, 2001)
    td = t * (1 + k[0] * t**2 + k[1] * t**4 + k[2] * t**6 + k[3] * t**8)
    assert np.all(np.diff(td) > 0)
    s = _sample_positions(W, H)
    xd, yd = (s[..., 0] - K[0, 2]) / K[0, 0], (s[..., 1] - K[1, 2]) / K[1, 1]
    return np.hypot(xd, yd) < td[-1]


@pytest.mark.parametrize("name", ["opencv", "rational_portrait", "fisheye", "opencv_row2", "fisheye_row1"])
def test_rendered_rays_land_where_opencv_projects_them(renders, name):
    """Each pixel's ray, read back as the point it hit, projects through OpenCV onto the pixel's
    sample position: the OSL inverse is converged (float32: measured max 2.5e-5 px)."""
    c, r = CASES[name], renders[name]
    hit = r["index"] > 0
    P = world_to_opencv(r["P"])[hit]
    err = np.linalg.norm(_cv_project(P, c["K"], c["dist"]) - _sample_positions(c["W"], c["H"])[hit], axis=1)
    assert err.max() < 1e-4, (name, err.max())
    from synthblend.core.distortion import distort_pixels  # the numpy model the rest of synthblend uses
    uv = distort_pixels(P[:, :2] / P[:, 2:3], c["K"], c["dist"])
    assert np.abs(uv - _sample_positions(c["W"], c["H"])[hit]).max() < 1e-4
    if c["dist"]["model"] == "fisheye":
        sees = _fisheye_sees(c["K"], c["W"], c["H"], c["dist"])
        assert 0.05 < 1 - sees.mean() < 0.5                       # the corners look past 90 deg
        np.testing.assert_array_equal(hit, sees)                   # no ray there: nothing hit
        assert np.all(r["Z"][~sees] >= 1e9)
    else:
        assert hit.all()


def test_custom_camera_depth_pass_is_distance_along_the_ray(renders):
    """What Cycles' Z pass holds for a custom camera: the distance from the camera to the hit, not
    the planar depth its perspective camera writes (the reason Lens.finish converts it)."""
    r = renders["opencv"]
    dist_to_hit = np.linalg.norm(r["P"].astype(np.float64), axis=-1)
    assert np.abs(r["Z"] - dist_to_hit).max() < 1e-5
    planar = world_to_opencv(r["P"])[..., 2]
    assert np.abs(r["Z"] - planar).max() > 0.5


@pytest.mark.parametrize("name", ["plane_opencv", "plane_fisheye"])
def test_planar_depth_of_a_plane_is_exact(renders, name):
    """A plane 2 m ahead, facing the camera: the engine's planar depth (Cycles' distance along the
    ray x the ray's cosine to the axis, core/ray_cosines.py) is 2 on every pixel with a surface:
    relative error median <= 1e-6, and at most 1e-6 (1 + tan theta) per pixel. The OSL ray's angle
    theta is float32 (~1e-7 rad off the exact inverse), which moves a grazing ray's hit on the plane
    by tan theta times that: measured 1.8e-7 median, 4.9e-5 at the fisheye's 89.4 deg (bars of the
    issue: median 2e-5, p99 2e-4). Pixels without a ray (fisheye past 90 deg): 0."""
    from synthblend.core.ray_cosines import ray_cosines
    from synthblend.engine.features.lens import planar_depth

    c, r = CASES[name], renders[name]
    hit = r["index"] > 0
    cos = ray_cosines(c["K"], c["W"], c["H"], c["dist"], OFF)
    depth = planar_depth(np.where(hit, r["Z"], 0.0), cos)
    rel = np.abs(depth[hit] / 2.0 - 1.0)
    tan = np.sqrt(1.0 - cos[hit] ** 2) / cos[hit]
    assert hit.mean() > 0.5
    assert np.median(rel) <= 1e-6 and np.all(rel <= 1e-6 * (1.0 + tan)), (np.median(rel), (rel / (1 + tan)).max())
    assert np.all(depth[~hit] == 0)
    if c["dist"]["model"] == "fisheye":
        sees = _fisheye_sees(c["K"], c["W"], c["H"], c["dist"])    # the 400 m plane ends at 89.4 deg
        assert not (hit & ~sees).any() and (sees & ~hit).mean() < 0.01
    else:
        assert hit.all()


def test_zero_distortion_is_blenders_perspective_camera(renders):
    """With all coefficients 0 the OSL lens shoots the rays of Blender's own perspective camera (the
    same raster position, filter offset included): the same ids on every pixel, the same hit points,
    and the same anti-aliased colour up to sampling noise."""
    a, b = renders["zero_custom"], renders["zero_persp"]
    np.testing.assert_array_equal(a["index"], b["index"])
    hit = a["index"] > 0
    assert 50 < hit.sum() < hit.size - 50
    assert np.abs(a["P"][hit] - b["P"][hit]).max() < 1e-5
    assert np.abs(a["rgb"] - b["rgb"]).mean() < 0.01


def _centroid(a) -> np.ndarray:
    v, u = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    return np.array([(a * u).sum(), (a * v).sum()]) / a.sum()


@pytest.mark.parametrize("name", ["ball_opencv", "ball_fisheye"])
def test_rgb_edges_line_up_with_the_instance_map(renders, name):
    """A white emissive ball on black, 64 samples. Its anti-aliased colour is the ball's coverage
    convolved with Cycles' symmetric pixel filter, so its centroid and area are those of the
    analytic coverage (16 x 16 OpenCV-undistorted rays per pixel against the analytic sphere):
    within 0.02 px (measured <= 0.005; a half-pixel shift would be 0.5). The instance map is the
    same analytic ball sampled at the pixel centres (all but <= 0.1% of pixels: the mesh's facets),
    so colour edges and labels sit on one silhouette."""
    from distortion_render_scenes import ball_coverage

    c, r = CASES[name], renders[name]
    lum = r["rgb"].astype(np.float64).mean(-1)
    mask = r["index"] > 0
    cov = ball_coverage(c["W"], c["H"], c["K"], c["dist"], 16)
    centres = ball_coverage(c["W"], c["H"], c["K"], c["dist"], 1, OFF) > 0
    assert 150 < mask.sum() < 0.5 * mask.size
    assert np.abs(_centroid(lum) - _centroid(cov)).max() < 0.02, (_centroid(lum), _centroid(cov))
    assert abs(lum.sum() / cov.sum() - 1) < 0.01
    assert (mask == centres).mean() >= 0.999
    shifted = ball_coverage(c["W"], c["H"], c["K"], c["dist"], 16, (0.5, 0.0))   # the test can fail
    assert np.abs(_centroid(lum) - _centroid(shifted)).max() > 0.4


@pytest.mark.blender34
@pytest.mark.skipif(not shutil.which("blender"), reason="needs Debian's Blender 3.4: apt-get install blender")
def test_blender_34_refuses_distortion_with_one_line(tmp_path):
    """Blender 3.4 has no custom camera: ``camera.distortion`` exits 2 with one line naming the file,
    the key and the versions, and no frame is rendered."""
    import trimesh
    import yaml

    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "trimesh").symlink_to(Path(trimesh.__file__).parent)     # pure Python, for Blender's own
    cfg = tmp_path / "lens.yaml"
    cfg.write_text(yaml.safe_dump({"seed": 1, "frames": 1, "render": {"resolution": [32, 24], "samples": 1},
                                   "scene": {"objects": [{"primitive": "sphere", "category": "ball"}]},
                                   "camera": {"distortion": {"model": "opencv", "k1": -0.1}}}))
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "SYNTHBLEND_VENDOR": str(vendor)}
    p = subprocess.run(["blender", "-b", "-P", str(ROOT / "scripts" / "render.py"), "--", str(cfg), "--out",
                        str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=300, env=env)
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert p.returncode == 2, p.stderr[-3000:]
    assert errors == [f"error: {cfg}: camera.distortion: needs Blender 4.5 or newer (a Cycles custom OSL "
                      "camera); this is Blender 3.4.1: remove camera.distortion or render with the bpy 5.0 "
                      "module"], p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert not list((tmp_path / "out").glob("rgb/*.png"))


PIPELINE = {
    "opencv_portrait_fx_fy": {
        "camera": {"intrinsics": {"fx": 62.0, "fy": 58.5, "cx": 31.7, "cy": 40.2},
                   "distortion": {"model": "opencv", "k1": {"uniform": [-0.3, -0.2]}, "k2": 0.06,
                                  "p1": 0.0015, "p2": -0.001, "k3": -0.005}},
        "resolution": [61, 83]},
    "fisheye": {
        "camera": {"intrinsics": {"fx": 28.0, "fy": 28.0, "cx": 47.6, "cy": 35.2},
                   "distortion": {"model": "fisheye", "k1": {"uniform": [-0.03, 0.0]}, "k2": 0.002,
                                  "k3": 0.0, "k4": 0.0}},
        "resolution": [96, 72]},
}


@pytest.mark.parametrize("name", list(PIPELINE))
def test_rendered_dataset_matches_an_independent_opencv_ray_cast(tmp_path, name):
    """``synthblend render`` with a distorted lens (drawn per frame; fx != fy, odd portrait size, or
    a fisheye that sees past 90 deg): every frame's instance map agrees with a trimesh/Embree ray
    cast through OpenCV-undistorted pixel centres (from the dataset's own K, distortion and poses)
    on >= 99.95% of pixels, and planar depth has relative error median <= 2e-5, p99 <= 2e-4."""
    import yaml
    from distortion_render_scenes import independent_cast

    from conftest import run_cli
    from synthblend.dataset.reader import open_dataset

    p = PIPELINE[name]
    cfg = {"seed": 4, "frames": 2,
           "render": {"resolution": p["resolution"], "samples": 2, "outputs": ["rgb", "depth", "instance"]},
           "scene": {"objects": [{"primitive": "sphere", "category": "ball", "count": 2, "scale": 0.25,
                                  "position": {"uniform": [[-0.4, -0.4, 0.25], [0.4, 0.4, 0.3]]}},
                                 {"primitive": "torus", "category": "ring", "scale": 0.4,
                                  "position": {"uniform": [[-0.3, -0.3, 0.1], [0.3, 0.3, 0.1]]}}],
                     "ground": {"size": 60}},
           "camera": {"distance": {"uniform": [1.8, 2.4]}, "elevation_deg": {"uniform": [40, 65]},
                      **p["camera"]}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = run_cli("render", tmp_path / "c.yaml", "--out", tmp_path / "ds", "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    ks = set()
    for fr in open_dataset(tmp_path / "ds"):
        m = fr.meta
        assert m["camera"]["distortion"]["model"] == p["camera"]["distortion"]["model"]
        ks.add(m["camera"]["distortion"]["k1"])
        inst, depth = independent_cast(tmp_path / "ds", m, OFF)
        agree = (fr.instance == inst).mean()
        assert agree >= 0.9995, (name, m["frame"], agree)
        both = (fr.instance == inst) & (inst > 0)
        rel = np.abs(fr.depth[both] - depth[both]) / depth[both]
        assert np.median(rel) <= 2e-5 and np.percentile(rel, 99) <= 2e-4, (np.median(rel), np.percentile(rel, 99))
        assert np.all(fr.depth[fr.instance == 0] == 0)
        if name == "fisheye":
            assert (fr.instance == 0).mean() > 0.05          # the corners past 90 deg: no surface
    assert len(ks) == 2                                      # drawn per frame


def test_one_and_two_workers_write_the_same_bytes(tmp_path):
    """A distorted dataset does not depend on which worker rendered which frame (coefficients drawn
    per frame, the OSL lens compiled in each worker)."""
    import hashlib

    import yaml

    from conftest import run_cli

    cfg = {"seed": 9, "frames": 4, "render": {"resolution": [48, 36], "samples": 2,
                                              "outputs": ["rgb", "depth", "instance", "semantic"]},
           "scene": {"objects": [{"primitive": "sphere", "category": "ball", "scale": 0.3,
                                  "position": {"uniform": [[-0.3, -0.3, 0.3], [0.3, 0.3, 0.3]]}}]},
           "camera": {"distortion": {"model": "opencv", "k1": {"uniform": [-0.3, -0.1]}, "k2": 0.05}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    hashes = []
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        r = run_cli("render", tmp_path / "c.yaml", "--out", out, "--workers", n, "--quiet")
        assert r.returncode == 0, r.stderr[-2000:]
        hashes.append({p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in sorted(out.rglob("*")) if p.is_file() and "logs" not in p.parts})
    assert hashes[0] == hashes[1] and len([k for k in hashes[0] if k.startswith("depth/")]) == 4
