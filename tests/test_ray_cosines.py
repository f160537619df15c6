"""core/ray_cosines.py (planar depth of a distorted camera = distance along the ray x cosine) against
OpenCV: the cosine of every pixel's ray from ``cv2.undistortPointsIter`` / ``cv2.fisheye.undistortPoints``
(converged criteria) at the pixel's sample position, on lenses and image sizes the interpolation grid
is not tuned to."""
from __future__ import annotations

import numpy as np
import pytest

from synthblend.core.ray_cosines import _cubic, _interpolate, grid_px, ray_cosines

cv2 = pytest.importorskip("cv2")

OFF = (5.2675e-4, -5.2675e-4)
CRIT = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)

LENSES = {
    "opencv_k1_-0.3_vga": (np.array([[520.0, 0, 318.7], [0, 515.0, 241.3], [0, 0, 1]]), 640, 480,
                           {"model": "opencv", "k1": -0.3, "k2": 0.09, "p1": 0.0012, "p2": -0.0009, "k3": -0.01}),
    "opencv_k1_+0.3_odd_portrait": (np.array([[70.0, 0, 28.2], [0, 66.0, 47.9], [0, 0, 1]]), 61, 89,
                                    {"model": "opencv", "k1": 0.3, "k2": -0.05, "p1": -0.0008, "p2": 0.0005}),
    "rational_hd": (np.array([[1400.0, 0, 955.0], [0, 1390.0, 545.0], [0, 0, 1]]), 1920, 1080,
                    {"model": "opencv", "k1": 0.25, "k2": -0.1, "p1": 0.001, "p2": -0.001, "k3": 0.02,
                     "k4": 0.1, "k5": 0.01, "k6": 0.0}),
    "fisheye_past_90": (np.array([[30.0, 0, 47.3], [0, 31.0, 36.1], [0, 0, 1]]), 97, 71,
                        {"model": "fisheye", "k1": -0.02, "k2": 0.003, "k3": -0.0005, "k4": 0.0001}),
    # OpenCV's fisheye undistortion clamps theta_d to 90 deg: this one's corners stay below (1.5 rad)
    "fisheye_wide": (np.array([[267.0, 0, 320.4], [0, 266.0, 239.1], [0, 0, 1]]), 640, 480,
                     {"model": "fisheye", "k1": 0.05, "k2": -0.01, "k3": 0.002, "k4": -0.0003}),
}


def _cv_cosines(K, W, H, dist):
    u, v = np.meshgrid(np.arange(W) + OFF[0], np.arange(H) + OFF[1])
    pts = np.stack([u.ravel(), v.ravel()], 1).reshape(-1, 1, 2).astype(np.float64)
    if dist["model"] == "fisheye":
        D = np.array([dist.get(f"k{i}", 0.0) for i in range(1, 5)])
        xy = cv2.fisheye.undistortPoints(pts, K, D, criteria=CRIT).reshape(H, W, 2)
        # OpenCV gives (x, y) = tan(theta) (cos, sin); theta from theta_d to tell rays past 90 deg
        td = np.hypot((u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1])
        t = np.linspace(0, np.pi / 2, 200001)
        k = [dist[f"k{i}"] for i in range(1, 5)]
        reach = (t * (1 + k[0] * t**2 + k[1] * t**4 + k[2] * t**6 + k[3] * t**8))[-1]
        c = 1.0 / np.sqrt(1.0 + (xy**2).sum(-1))
        return np.where(td < reach, c, np.nan)
    D = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")])
    xy = cv2.undistortPointsIter(pts, K, D, None, None, CRIT).reshape(H, W, 2)
    return 1.0 / np.sqrt(1.0 + (xy**2).sum(-1))


@pytest.mark.parametrize("name", list(LENSES))
def test_ray_cosines_match_opencv_undistorted_rays(name):
    K, W, H, dist = LENSES[name]
    got = ray_cosines(K, W, H, dist, OFF)
    want = _cv_cosines(K, W, H, dist)
    assert got.shape == (H, W)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    ok = np.isfinite(want)
    rel = np.abs(got[ok] / want[ok] - 1.0)
    assert rel.max() < 1e-7, (name, rel.max())       # float32 depth itself: ~6e-8
    if dist["model"] == "fisheye" and name == "fisheye_past_90":
        assert 0.05 < (~ok).mean() < 0.5


def test_pinhole_cosines_are_exact():
    K = np.array([[300.0, 0, 100.2], [0, 290.0, 80.9], [0, 0, 1]])
    u, v = np.meshgrid(np.arange(201) + OFF[0], np.arange(161) + OFF[1])
    x, y = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    np.testing.assert_allclose(ray_cosines(K, 201, 161, None, OFF), 1 / np.sqrt(1 + x * x + y * y), rtol=1e-15)


@pytest.mark.parametrize("n,step", [(7, 3), (8, 3), (97, 4), (480, 5), (1081, 14)])
def test_cubic_interpolation_reproduces_cubics(n, step):
    """The interpolation is exact for cubic polynomials in x and y (and its nodes span the image),
    so its error on the smooth cosine is of 4th order in the node spacing."""
    t, A = _cubic(n, step)
    assert t[0] == 0 and t[-1] == n - 1 and A.shape == (n, len(t))
    assert np.all((A != 0).sum(1) <= 4)
    tv, Av = _cubic(9, 3)
    x = np.arange(n, dtype=float)
    f = lambda z: 0.3 - 0.02 * z + 1e-3 * z**2 - 2e-6 * z**3   # noqa: E731
    h = lambda z: 1.0 + 0.1 * z - 0.01 * z**3                   # noqa: E731
    got = _interpolate(h(tv)[:, None] * f(t)[None, :], Av, A)
    np.testing.assert_allclose(got, h(np.arange(9.0))[:, None] * f(x)[None, :], rtol=1e-9, atol=1e-9)


def test_grid_spacing_follows_the_focal_length():
    assert grid_px(np.diag([70.0, 66.0, 1.0])) == 1
    assert grid_px(np.diag([520.0, 515.0, 1.0])) == 6
    assert grid_px(np.diag([5000.0, 5000.0, 1.0])) == 16


def test_the_damped_inverse_takes_over_where_plain_newton_does_not_converge(monkeypatch):
    """Plain Newton (the fast path) must end below 1e-12 everywhere, else the damped, checked
    inverse computes the nodes: both give OpenCV's rays."""
    import synthblend.core.ray_cosines as rc

    K, W, H, dist = LENSES["opencv_k1_-0.3_vga"]
    assert rc.opencv_newton(np.array([0.5]), np.array([0.4]), rc.coefficients(dist), iters=1) is None
    fast = ray_cosines(K, W, H, dist, OFF)
    monkeypatch.setattr(rc, "opencv_newton", lambda xd, yd, c: None)
    damped = ray_cosines(K, W, H, dist, OFF)
    np.testing.assert_allclose(fast, damped, rtol=1e-12)
    want = _cv_cosines(K, W, H, dist)
    assert np.abs(damped / want - 1).max() < 1e-7
