"""What is placed by the camera's view follows its lens distortion, against OpenCV's model: the
world image's back plane covers the undistorted rays of the whole image outline, a distractor placed
at a drawn pixel projects through ``cv2.projectPoints`` back onto that pixel, and ``scene.physics.
in_view`` keeps exactly the centres of mass that OpenCV projects into the image. Each test also shows
that the pinhole of the same K would get it wrong."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import cv2
import numpy as np

from synthblend.core.config import config_from_dict
from synthblend.core.features.distractors import view_position
from synthblend.core.features.physics_drop import _inside_fn
from synthblend.core.features.world import back_plane_pose
from synthblend.core.sampling import sample

CRIT = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
BARREL = {"model": "opencv", "k1": -0.3, "k2": 0.08, "p1": 0.001, "p2": -0.0008}
D = np.array([BARREL.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3")])


def _camera():
    cfg = config_from_dict({"frames": 1, "render": {"resolution": [160, 120]},
                            "camera": {"focal_length_mm": 20.0, "distance": 2.0, "elevation_deg": 35,
                                       "azimuth_deg": 20, "distortion": BARREL},
                            "scene": {"objects": [{"primitive": "cube"}], "ground": {"size": 20}}})
    cam = sample(cfg, 1, 0).camera
    assert cam.distortion["k1"] == -0.3
    return cam


def _project(cam, P):
    w2c = np.linalg.inv(cam.cam2world)
    pc = np.asarray(P, float).reshape(-1, 3) @ w2c[:3, :3].T + w2c[:3, 3]
    uv, _ = cv2.projectPoints(pc.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), cam.K, D)
    return uv.reshape(-1, 2), pc[:, 2]


def _outline_rays(cam, n=200):
    W, H = cam.resolution
    t = np.linspace(0, 1, n)
    pts = np.concatenate([np.stack([t * (W - 1), np.zeros(n)], 1), np.stack([t * (W - 1), np.full(n, H - 1.0)], 1),
                          np.stack([np.zeros(n), t * (H - 1)], 1), np.stack([np.full(n, W - 1.0), t * (H - 1)], 1)])
    pts = pts + np.sign(pts - [(W - 1) / 2, (H - 1) / 2]) * 0.5          # the pixel corners' outline
    xy = cv2.undistortPointsIter(pts.reshape(-1, 1, 2), cam.K, D, None, None, CRIT).reshape(-1, 2)
    return np.column_stack([xy, np.ones(len(xy))])


def _window_hits(cam, T, window, rays, tol=1e-4):
    """Whether each camera-frame ray meets the back plane inside its visible window (to ``tol`` of
    the window: the outline is sampled, 257 points a side)."""
    R, o = cam.cam2world[:3, :3], cam.cam2world[:3, 3]
    d = rays @ R.T
    n, c = T[:3, 2] / np.linalg.norm(T[:3, 2]), T[:3, 3]
    t = ((c - o) @ n) / (d @ n)
    p = o + t[:, None] * d - c
    size = np.linalg.norm(T[:3, 0])
    lx, ly = p @ (T[:3, 0] / size) / size, p @ (T[:3, 1] / size) / size
    return (np.abs(lx) <= window[0] / 2 * (1 + tol)) & (np.abs(ly) <= window[1] / 2 * (1 + tol))


def test_the_back_plane_covers_the_distorted_view():
    cam = _camera()
    rays = _outline_rays(cam)
    T, window = back_plane_pose(cam, 1.0)
    assert _window_hits(cam, T, window, rays).all()
    T0, w0 = back_plane_pose(dataclasses.replace(cam, distortion=None), 1.0)
    assert not _window_hits(cam, T0, w0, rays).all()            # a pinhole's plane misses the corners


def test_a_distractor_in_view_lands_on_its_drawn_pixel():
    cam = _camera()
    W, H = cam.resolution
    errs, pinhole_errs = [], []
    for seed in range(40):
        twin = np.random.default_rng(seed)                 # the pixel view_position draws first
        u, v = twin.uniform(-0.5, W - 0.5), twin.uniform(-0.5, H - 0.5)
        p = view_position(cam, np.random.default_rng(seed), 0.0, 0.0)
        if abs(p[2]) > 1e-12:                 # the pixel's ray misses the ground (the fallback)
            continue
        errs.append(np.abs(_project(cam, p)[0][0] - [u, v]).max())
        q = view_position(dataclasses.replace(cam, distortion=None), np.random.default_rng(seed), 0.0, 0.0)
        pinhole_errs.append(np.abs(_project(cam, q)[0][0] - [u, v]).max())
    assert len(errs) >= 30
    assert max(errs) < 1e-6
    assert max(pinhole_errs) > 1.0


def test_in_view_keeps_the_centres_opencv_projects_into_the_image():
    cam = _camera()
    W, H = cam.resolution
    ctx = SimpleNamespace(config=SimpleNamespace(data={"scene": {}}), spec=SimpleNamespace(camera=cam))
    inside = _inside_fn(ctx, {"in_view": True}, None)
    pinhole = _inside_fn(SimpleNamespace(config=ctx.config, spec=SimpleNamespace(
        camera=dataclasses.replace(cam, distortion=None))), {"in_view": True}, None)
    P = np.random.default_rng(2).uniform([-2.5, -2.5, 0.0], [2.5, 2.5, 0.3], (3000, 3))
    uv, z = _project(cam, P)
    want = (z > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] <= W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] <= H - 0.5)
    got = np.array([inside(None, p) for p in P])
    margin = np.minimum.reduce([uv[:, 0] + 0.5, W - 0.5 - uv[:, 0], uv[:, 1] + 0.5, H - 0.5 - uv[:, 1]])
    clear = np.abs(margin) > 1e-6                          # not on the outline itself
    assert 0.2 < want.mean() < 0.8
    np.testing.assert_array_equal(got[clear], want[clear])
    assert (np.array([pinhole(None, p) for p in P]) != want)[clear].sum() > 20
