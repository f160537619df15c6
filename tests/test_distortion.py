"""core/distortion.py against OpenCV (an independent implementation of the same models):
``cv2.projectPoints`` / ``cv2.fisheye.projectPoints`` for the forward maps, ``cv2.undistortPointsIter``
with tight criteria and ``cv2.fisheye.undistortPoints`` for the inverse, and the invertibility check
on models that fold over within the image."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from synthblend.core import distortion as D

TIGHT = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)

OPENCV_CASES = [
    # (W, H, K, dist): fx != fy, off-centre principal point, odd and portrait sizes
    (640, 480, [[600.0, 0, 319.2], [0, 598.5, 241.7], [0, 0, 1]],
     {"model": "opencv", "k1": -0.28, "k2": 0.08, "p1": 0.001, "p2": -0.001, "k3": 0.0}),
    (641, 479, [[520.0, 0, 300.3], [0, 530.0, 250.9], [0, 0, 1]],
     {"model": "opencv", "k1": 0.3, "k2": -0.05, "p1": -0.002, "p2": 0.0015, "k3": 0.01}),
    (333, 517, [[410.0, 0, 170.5], [0, 400.0, 250.0], [0, 0, 1]],
     {"model": "opencv", "k1": -0.3, "k2": 0.1, "p1": 0.0, "p2": 0.0, "k3": -0.01}),
    (320, 240, [[250.0, 0, 161.0], [0, 251.0, 118.0], [0, 0, 1]],      # rational model (k4..k6)
     {"model": "opencv", "k1": 0.2, "k2": -0.1, "p1": 0.0005, "p2": 0.0, "k3": 0.02, "k4": 0.1,
      "k5": -0.02, "k6": 0.005}),
]

FISHEYE_CASES = [
    (640, 480, [[220.0, 0, 320.5], [0, 221.0, 239.5], [0, 0, 1]],
     {"model": "fisheye", "k1": 0.05, "k2": -0.01, "k3": 0.002, "k4": -0.0005}),
    (301, 401, [[140.0, 0, 150.0], [0, 139.0, 203.0], [0, 0, 1]],       # portrait, > 180 deg corners
     {"model": "fisheye", "k1": -0.02, "k2": 0.003, "k3": 0.0, "k4": 0.0}),
]


def _pixels(W, H):
    vv, uu = np.mgrid[0:H, 0:W]
    return np.stack([uu.ravel(), vv.ravel()], 1).astype(np.float64)


@pytest.mark.parametrize("W,H,K,dist", OPENCV_CASES)
def test_opencv_forward_matches_project_points(W, H, K, dist):
    rng = np.random.default_rng(0)
    P = np.concatenate([rng.uniform(-0.6, 0.6, (500, 2)), np.ones((500, 1))], 1) * rng.uniform(0.5, 3, (500, 1))
    K = np.array(K)
    ref, _ = cv2.projectPoints(P, np.zeros(3), np.zeros(3), K, D.coefficients(dist))
    uv, z = D.project(K, np.eye(4), P, dist)
    assert np.abs(uv - ref.reshape(-1, 2)).max() < 1e-9
    assert np.allclose(z, P[:, 2])


@pytest.mark.parametrize("W,H,K,dist", OPENCV_CASES)
def test_opencv_inverse_is_converged(W, H, K, dist):
    """Every pixel centre: our inverse agrees with undistortPointsIter (tight criteria) to 1e-6 px and
    re-projects through cv2.projectPoints onto the pixel to 1e-8 px; plain undistortPoints (5
    iterations) is measurably worse where the distortion is strong."""
    K = np.array(K)
    uv = _pixels(W, H)
    c = D.coefficients(dist)
    assert D.check_invertible(K, W, H, dist) is None
    xy = D.undistort_pixels(uv, K, dist)
    assert np.isfinite(xy).all()
    it = cv2.undistortPointsIter(uv.reshape(-1, 1, 2), K, c, None, None, TIGHT).reshape(-1, 2)
    assert np.abs((xy - it) * K[[0, 1], [0, 1]]).max() < 1e-6
    P = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    back, _ = cv2.projectPoints(P, np.zeros(3), np.zeros(3), K, c)
    assert np.abs(back.reshape(-1, 2) - uv).max() < 1e-8
    if abs(dist["k1"]) >= 0.28:
        plain = cv2.undistortPoints(uv.reshape(-1, 1, 2), K, c).reshape(-1, 2)
        assert np.abs((plain - xy) * K[[0, 1], [0, 1]]).max() > 1e-3


@pytest.mark.parametrize("W,H,K,dist", FISHEYE_CASES)
def test_fisheye_forward_matches_cv2(W, H, K, dist):
    rng = np.random.default_rng(1)
    P = np.concatenate([rng.uniform(-3, 3, (500, 2)), np.ones((500, 1))], 1) * rng.uniform(0.5, 3, (500, 1))
    K = np.array(K)
    ref, _ = cv2.fisheye.projectPoints(P.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, D.coefficients(dist))
    uv, _ = D.project(K, np.eye(4), P, dist)
    assert np.abs(uv - ref.reshape(-1, 2)).max() < 1e-9
    xy = P[:, :2] / P[:, 2:]
    ref_d = cv2.fisheye.distortPoints(xy.reshape(-1, 1, 2), K, D.coefficients(dist)).reshape(-1, 2)
    assert np.abs(D.distort_pixels(xy, K, dist) - ref_d).max() < 1e-9


@pytest.mark.parametrize("W,H,K,dist", FISHEYE_CASES)
def test_fisheye_inverse(W, H, K, dist):
    """Valid pixels re-project exactly (cv2.fisheye.projectPoints); where theta_d < 90 deg (OpenCV
    clamps theta_d there) cv2.fisheye.undistortPoints agrees; pixels whose ray is at theta >= 90 deg
    are NaN, and exactly those: their neighbours' thetas approach 90 deg."""
    K = np.array(K)
    uv = _pixels(W, H)
    c = D.coefficients(dist)
    assert D.check_invertible(K, W, H, dist) is None
    xy = D.undistort_pixels(uv, K, dist)
    ok = np.isfinite(xy[:, 0])
    assert ok.sum() > 0.5 * len(ok)
    P = np.concatenate([xy[ok], np.ones((ok.sum(), 1))], 1)
    back, _ = cv2.fisheye.projectPoints(P.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, c)
    assert np.abs(back.reshape(-1, 2) - uv[ok]).max() < 1e-6
    xd = D.pixels_to_distorted(uv, K)
    theta_d = np.hypot(xd[:, 0], xd[:, 1])
    sel = ok & (theta_d < np.pi / 2 - 1e-3)
    ref = cv2.fisheye.undistortPoints(uv[sel].reshape(-1, 1, 2), K, c,
                                      criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14))
    ref = ref.reshape(-1, 2)
    ang = np.arctan(np.hypot(*xy[sel].T))
    assert np.abs(np.arctan(np.hypot(*ref.T)) - ang).max() < 1e-9
    # theta >= 90 deg: NaN exactly beyond the model's reach at 90 deg
    reach = np.polyval([c[3], 0, c[2], 0, c[1], 0, c[0], 0, 1, 0], np.pi / 2)
    assert np.array_equal(~ok, theta_d >= reach)
    rays = D.pixel_rays(K, W, H, dist).reshape(-1, 3)
    assert np.allclose(np.linalg.norm(rays[ok], axis=1), 1.0)
    assert np.isnan(rays[~ok]).all()


def test_pixel_rays_pinhole_and_opencv():
    K = np.array(OPENCV_CASES[0][2])
    r0 = D.pixel_rays(K, 64, 48)
    assert np.allclose(r0[..., 2], 1) and np.allclose(r0[5, 7, :2], np.linalg.solve(K, [7, 5, 1])[:2])
    dist = OPENCV_CASES[0][3]
    r = D.pixel_rays(K, 64, 48, dist)
    assert np.allclose(r[..., 2], 1)
    uv, _ = D.project(K, np.eye(4), r.reshape(-1, 3), dist)
    assert np.abs(uv - _pixels(64, 48)).max() < 1e-8


def test_no_distortion_is_identity():
    xy = np.random.default_rng(2).normal(size=(10, 2))
    assert np.array_equal(D.distort_normalized(xy, None), xy)
    assert np.array_equal(D.undistort_normalized(xy, None), xy)
    assert D.check_invertible(np.eye(3), 10, 10, None) is None


@pytest.mark.parametrize("dist", [
    {"model": "opencv", "k1": -0.9},                       # r (1 + k1 r^2) turns back inside the image
    {"model": "opencv", "k1": 0.0, "k2": -2.0},
    {"model": "opencv", "k1": 0.1, "k4": -3.0},            # rational denominator crosses 0
    {"model": "opencv", "p1": 0.4},                        # strong tangential: folds
])
def test_folding_opencv_is_refused(dist):
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    msg = D.check_invertible(K, 640, 480, dist)
    assert msg is not None and ("one-to-one" in msg or "no inverse" in msg)
    # and it really folds: some two distinct rays land on one pixel (independent of the check)
    x = np.linspace(-1.2, 1.2, 301)
    g = np.stack(np.meshgrid(x, x), -1).reshape(-1, 2)
    uv = D.distort_pixels(g, K, dist)
    inside = (uv[:, 0] > -0.5) & (uv[:, 0] < 639.5) & (uv[:, 1] > -0.5) & (uv[:, 1] < 479.5)
    back = D.undistort_pixels(uv[inside], K, dist)
    assert (~np.isfinite(back[:, 0]) | (np.abs(back - g[inside]).max(1) > 1e-6)).any()


def test_folding_fisheye_is_refused():
    K = np.array([[200.0, 0, 320], [0, 200, 240], [0, 0, 1]])
    bad = {"model": "fisheye", "k1": -0.4}                 # theta (1 - 0.4 theta^2) peaks at 42 deg
    msg = D.check_invertible(K, 640, 480, bad)
    assert msg is not None and "one-to-one" in msg
    assert abs(np.degrees(D.fisheye_theta_max(D.coefficients(bad))) - np.degrees(np.sqrt(1 / 1.2))) < 1e-6
    # the same lens on a small image (corners before the peak) is fine
    assert D.check_invertible(np.array([[2000.0, 0, 32], [0, 2000, 24], [0, 0, 1]]), 64, 48, bad) is None


def test_check_accepts_strong_valid_models():
    for W, H, K, dist in OPENCV_CASES + FISHEYE_CASES:
        assert D.check_invertible(np.array(K), W, H, dist) is None


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown distortion model"):
        D.coefficients({"model": "kannala"})


# ------------------------------------------------------------------ config keys, sampling, meta

def _config(dist, **camera):
    from synthblend.core.config import config_from_dict
    return config_from_dict({"render": {"resolution": [64, 48]}, "scene": {"objects": [{"primitive": "cube"}]},
                             "camera": {"distortion": dist, **camera}})


def _error(dist, **camera) -> str:
    """The one error line of a config: at load (schema, names per model) or, for a distortion that
    folds over the image, from the lens feature's check (run by every plan and synthblend check)."""
    from synthblend.core.errors import InputError
    from synthblend.core.features.lens import config_errors
    try:
        errors = config_errors(_config(dist, **camera))
    except InputError as e:
        errors = [e]
    assert len(errors) == 1
    lines = errors[0].lines() if hasattr(errors[0], "lines") else [errors[0].line()]
    assert len(lines) == 1
    return lines[0]


def test_distortion_is_drawn_per_frame_and_recorded():
    from synthblend.core.sampling import sample
    from synthblend.dataset.meta import frame_meta

    cfg = _config({"model": "opencv", "k1": {"uniform": [-0.3, -0.2]}, "k2": 0.08, "p1": 0.001})
    a, b = sample(cfg, 5, 0), sample(cfg, 5, 1)
    assert a.camera.distortion["model"] == "opencv"
    assert set(a.camera.distortion) == {"model", *D.MODELS["opencv"]}
    assert -0.3 <= a.camera.distortion["k1"] <= -0.2 and a.camera.distortion["k1"] != b.camera.distortion["k1"]
    assert a.camera.distortion["k2"] == 0.08 and a.camera.distortion["p1"] == 0.001
    assert a.sampled["camera.distortion.k1"] == a.camera.distortion["k1"]
    assert sample(cfg, 5, 0).camera.distortion == a.camera.distortion          # deterministic per (seed, frame)
    # its own stream: every other draw is that of the same config without distortion
    plain = sample(_config(None), 5, 0)
    assert np.array_equal(plain.camera.cam2world, a.camera.cam2world) and plain.camera.distortion is None
    assert {k: v for k, v in a.sampled.items() if not k.startswith("camera.distortion")} == plain.sampled
    meta = frame_meta(a, np.zeros((48, 64), np.uint16), {o.source: "m" for o in a.objects})
    assert meta["camera"]["distortion"] == a.camera.distortion
    assert "distortion" not in frame_meta(plain, np.zeros((48, 64), np.uint16),
                                          {o.source: "m" for o in plain.objects})["camera"]
    fish = sample(_config({"model": "fisheye", "k1": 0.02}), 0, 0).camera.distortion
    assert fish == {"model": "fisheye", "k1": 0.02, "k2": 0.0, "k3": 0.0, "k4": 0.0}


def test_config_errors_name_the_key():
    assert "camera.distortion.p1: not a coefficient of the fisheye model" in _error({"model": "fisheye", "p1": 0.1})
    assert "camera.distortion.model: unknown value 'kb'" in _error({"model": "kb"})
    msg = _error({"model": "opencv", "k1": -0.9})
    assert "camera.distortion: frame 0: the distortion opencv k1=-0.9" in msg and "folds" in msg
    # a range whose end folds, though the first frames' draws may not
    msg = _error({"model": "opencv", "k1": {"uniform": [-0.95, 0.0]}}, focal_length_mm=20.0)
    assert "camera.distortion" in msg and ("-0.95" in msg or "frame" in msg)
    # wide fisheye with a model that turns back inside the image
    assert "one-to-one" in _error({"model": "fisheye", "k1": -0.4}, focal_length_mm=8.0)
    from synthblend.core.features.lens import config_errors
    assert config_errors(_config({"model": "opencv", "k1": {"uniform": [-0.3, 0.3]}})) == []  # default lens
    # every frame is checked again when sampled
    from synthblend.core.errors import InputError
    from synthblend.core.sampling import sample
    with pytest.raises(InputError, match="camera.distortion: frame 3: the distortion opencv k1=-0.9"):
        sample(_config({"model": "opencv", "k1": -0.9}), 0, 3)


def test_cli_check_exit_2(tmp_path):
    import subprocess
    import sys

    import yaml
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"render": {"resolution": [64, 48]}, "scene": {"objects": [{"primitive": "cube"}]},
                                 "camera": {"distortion": {"model": "opencv", "k1": -0.9}}}))
    r = subprocess.run([sys.executable, "-m", "synthblend", "check", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and "camera.distortion" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "synthblend", "render", str(p), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "camera.distortion: frame 0" in r.stderr and "Traceback" not in r.stderr
    assert not (out / "meta").exists()


# ------------------------------------------------- ground truth of a distorted camera (pure, vs OpenCV)

def _cv_rays(K, W, H, dist):
    """Undistorted normalized xy of every pixel centre by OpenCV (tight), row-major."""
    vv, uu = np.mgrid[0:H, 0:W]
    uv = np.stack([uu.ravel(), vv.ravel()], 1).astype(np.float64).reshape(-1, 1, 2)
    if dist["model"] == "fisheye":
        return cv2.fisheye.undistortPoints(uv, K, D.coefficients(dist), criteria=TIGHT).reshape(-1, 2)
    return cv2.undistortPointsIter(uv, K, D.coefficients(dist), None, None, TIGHT).reshape(-1, 2)


def _inside_triangle(xy, tri_cam):
    """Whether the rays (x, y, 1) meet the camera-frame triangle (its projection on z = 1)."""
    q = tri_cam[:, :2] / tri_cam[:, 2:]
    a, b, c = q

    def side(p0, p1):
        return (p1[0] - p0[0]) * (xy[:, 1] - p0[1]) - (p1[1] - p0[1]) * (xy[:, 0] - p0[0])
    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


@pytest.mark.parametrize("W,H,K,dist", [OPENCV_CASES[0], OPENCV_CASES[2], FISHEYE_CASES[0]])
def test_ray_cast_and_amodal_use_the_undistorted_rays(W, H, K, dist):
    from synthblend.core.groundtruth3d import amodal_mask
    from synthblend.core.raycam import cast_camera_rays

    K = np.array(K)
    W, H = W // 4, H // 4
    K = K.copy()
    K[:2] /= 4.0
    K[:2, 2] += 0.5 / 4 - 0.5                                # the same lens on a 4x smaller sensor
    tri = np.array([[-0.5, -0.4, 1.5], [0.6, -0.1, 1.2], [-0.1, 0.5, 1.8]])   # camera frame
    plane = np.array([[-50, -50, 3.0], [50, -50, 3.0], [50, 50, 3.0], [-50, 50, 3.0]])
    V = np.concatenate([tri, plane])
    F = np.array([[0, 1, 2], [3, 4, 5], [3, 5, 6]])
    face, t = cast_camera_rays(V, F, K, np.eye(4), W, H, 0.01, 100.0, backend="numpy", dist=dist)
    xy = _cv_rays(K, W, H, dist)
    has = np.isfinite(xy).all(1)
    if dist["model"] == "fisheye":                          # OpenCV clamps theta_d: use only its valid range
        xd = D.pixels_to_distorted(np.argwhere(np.ones((H, W)))[:, ::-1].astype(float), K)
        has &= np.hypot(xd[:, 0], xd[:, 1]) < np.pi / 2 - 1e-3
    exp_tri = _inside_triangle(xy, tri) & has
    got = face.ravel()
    assert np.mean((got[has] == 0) == exp_tri[has]) > 0.998
    # the plane: planar depth 3 exactly wherever the ray reaches it and the triangle is not in front
    on_plane = has & ~exp_tri
    assert np.allclose(t.ravel()[on_plane & (got >= 1)], 3.0, rtol=1e-12)
    pin, _ = cast_camera_rays(V, F, K, np.eye(4), W, H, 0.01, 100.0, backend="numpy")
    assert np.mean(pin.ravel() != got) > 0.005                          # the distortion matters here
    m = amodal_mask(tri, np.array([[0, 1, 2]]), K, (W, H), (0.01, 100.0), dist).ravel()
    assert np.mean(m[has] == exp_tri[has]) > 0.998
    assert np.array_equal(m, got == 0)                     # the same rays as the whole-image cast


def test_keypoints_and_boxes_project_through_the_distortion():
    from synthblend.core.groundtruth3d import bbox3d, keypoints

    K = np.array([[100.0, 0, 99.5], [0, 100.0, 99.5], [0, 0, 1]])
    dist = {"model": "opencv", "k1": -0.3}
    pts = [("a", (0.2, -0.1, 1.0)), ("fold", (1.9, 0.0, 1.0)), ("behind", (0.0, 0.0, -1.0))]
    kps = keypoints(pts, np.eye(4), K, (200, 200), (0.01, 100.0), np.zeros((0, 3)), np.zeros((0, 3), int), dist)
    ref, _ = cv2.projectPoints(np.array([p for _, p in pts[:2]]), np.zeros(3), np.zeros(3), K, D.coefficients(dist))
    assert np.allclose([k["uv"] for k in kps[:2]], ref.reshape(-1, 2), atol=1e-9)
    assert kps[0]["visibility"] == 2
    # "fold" projects inside the image (u = 84) through the far branch of r (1 - 0.3 r^2): not its pixel
    assert -0.5 < kps[1]["uv"][0] < 199.5 and kps[1]["visibility"] == 0
    assert kps[2]["visibility"] == 0 and all(np.isnan(kps[2]["uv"]))
    V = np.array([[-0.1, -0.1, 0.9], [0.1, 0.1, 1.1]])
    b = bbox3d(V, np.eye(4), K, dist)
    ref, _ = cv2.projectPoints(np.array(b["corners_cam"]), np.zeros(3), np.zeros(3), K, D.coefficients(dist))
    assert np.allclose(b["corners_px"], ref.reshape(-1, 2), atol=1e-9)
    assert bbox3d(V, np.eye(4), K)["corners_px"] != b["corners_px"]


def test_preview_grid_is_straight_lines_through_opencv():
    from synthblend.dataset.preview_lens import grid_lines

    W, H, K, dist = OPENCV_CASES[0]
    K = np.array(K)
    lines = grid_lines(K, W, H, dist, n=5, samples=50)
    assert len(lines) == 10
    for uv in lines:
        ok = np.isfinite(uv[:, 0])
        assert ok.sum() > 10
        xy = cv2.undistortPointsIter(uv[ok].reshape(-1, 1, 2), K, D.coefficients(dist), None, None,
                                     TIGHT).reshape(-1, 2)
        # straight in the undistorted plane: one coordinate constant
        assert min(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])) < 1e-9
    # and curved in the image (barrel distortion bends them)
    assert max(min(np.ptp(uv[np.isfinite(uv[:, 0]), 0]), np.ptp(uv[np.isfinite(uv[:, 0]), 1])) for uv in lines) > 3


def test_wide_fisheye_numpy_cast_groups_rays_by_radius():
    """Past 80 deg a fisheye's rays reach |xy| ~ 1e3: one grid over all of them put every ray and
    triangle into the same cells (1.5 GB at 160x120); grouped by radius it is quick and the same as
    Embree's."""
    import resource

    import trimesh

    from synthblend.core.raycam import cast_camera_rays, embree_available
    W, H = 160, 120
    K = np.array([[0.3 * W, 0, (W - 1) / 2], [0, 0.3 * W, (H - 1) / 2], [0, 0, 1]])
    dist = {"model": "fisheye", "k1": 0.02, "k2": -0.004, "k3": 0.0005}
    m = trimesh.creation.uv_sphere(radius=0.25, count=[16, 16])
    V, F = np.asarray(m.vertices) + [0.1, -0.05, 1.2], np.asarray(m.faces)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    f1, t1 = cast_camera_rays(V, F, K, np.eye(4), W, H, 0.01, 100.0, "numpy", dist=dist)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 400_000      # kB
    assert (f1 >= 0).sum() > 100
    if embree_available():
        f2, t2 = cast_camera_rays(V, F, K, np.eye(4), W, H, 0.01, 100.0, "embree", dist=dist)
        assert (f1 == f2).mean() > 0.999
