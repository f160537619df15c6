"""Rectified stereo pairs (camera.stereo) and the disparity output.

Frame 2i is the left, 2i+1 the right image of pair i: the same scene (sampled once, no second physics
run), the right camera the left one moved by the baseline along its own x axis. Disparity is
fx * b / depth exactly where depth is defined; in a rendered pair a left pixel's surface point
(back-projected with meta's K and depth) projects into the right camera (cv2.projectPoints with the
right image's meta pose) at u_left - disparity, and the right image shows the same object there.
"""
from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from conftest import load_meta, run_cli, write_config
from synthblend.core import sampling, stereo
from synthblend.core.config import Config
from synthblend.dataset.codecs import CODECS

SCENE = {"placement": "non_overlapping",
         "objects": [{"primitive": "cube", "scale": 0.2, "count": 2,
                      "position": {"uniform": [[-0.3, -0.3, 0.12], [0.3, 0.3, 0.12]]},
                      "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 90]]}}},
                     {"primitive": "sphere", "scale": 0.18,
                      "position": {"uniform": [[-0.3, -0.3, 0.2], [0.3, 0.3, 0.2]]}}],
         "ground": {"size": 3}}


def _cfg(frames=4, baseline=0.08, outputs=("depth", "instance", "disparity"), res=(80, 60), **camera):
    cam = {"distance": 1.6, "elevation_deg": {"uniform": [30, 60]}, "azimuth_deg": {"uniform": [0, 360]},
           "intrinsics": {"fx": 70.0, "fy": 70.0, "cx": 41.3, "cy": 28.6}, "stereo": {"baseline_m": baseline}}
    cam.update(camera)
    return {"seed": 11, "frames": frames, "render": {"resolution": list(res), "samples": 1, "outputs": list(outputs)},
            "scene": SCENE, "camera": cam}


def test_right_pose_is_the_left_moved_along_its_x_axis():
    cfg = Config(_cfg())
    for pair in range(3):
        left, right = sampling.sample(cfg, 11, 2 * pair), sampling.sample(cfg, 11, 2 * pair + 1)
        L, R = np.array(left.camera.cam2world), np.array(right.camera.cam2world)
        assert np.array_equal(L[:3, :3], R[:3, :3])                      # same rotation
        assert np.allclose(R[:3, 3] - L[:3, 3], 0.08 * L[:3, 0], atol=1e-15)
        assert np.allclose(np.linalg.inv(L) @ R, [[1, 0, 0, 0.08], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                           atol=1e-12)                                     # in the left camera's frame: +x
        assert np.array_equal(left.camera.K, right.camera.K)
        assert left.sampled == right.sampled                               # the same draws
        assert [o.obj2world.tolist() for o in left.objects] == [o.obj2world.tolist() for o in right.objects]
        assert left.stereo["side"] == "left" and right.stereo["side"] == "right"
        assert left.stereo["pair"] == 2 * pair + 1 and right.stereo["pair"] == 2 * pair
        assert np.array_equal(left.stereo["other_cam2world"], R) and np.array_equal(right.stereo["other_cam2world"], L)
        assert (left.frame, right.frame) == (2 * pair, 2 * pair + 1)
    # the pair's scene is the plain sampler's frame i: same draws as a mono dataset's frame i
    raw = _cfg(outputs=("depth",))
    del raw["camera"]["stereo"]
    mono = Config(raw)
    assert sampling.sample(mono, 11, 2).sampled == sampling.sample(cfg, 11, 4).sampled


def test_the_right_image_does_not_sample_again(monkeypatch):
    """Physics (or any sampling) runs once per pair when the right image follows its left one."""
    cfg = Config(_cfg())
    calls = []
    real = sampling.sample_frame

    def counting(config, seed, frame):
        calls.append(frame)
        return real(config, seed, frame)

    monkeypatch.setattr(sampling, "sample_frame", counting)
    monkeypatch.setattr(stereo, "_CACHE", {})
    sampling.sample(cfg, 11, 6)
    b = sampling.sample(cfg, 11, 7)
    assert calls == [3]
    sampling.sample(cfg, 11, 5)                  # a right image alone: samples its pair itself
    assert calls == [3, 2]
    b.objects[0].obj2world[0, 3] += 1.0          # the engine may edit a spec: the cache is not shared
    assert sampling.sample(cfg, 11, 7).objects[0].obj2world[0, 3] != b.objects[0].obj2world[0, 3]


def test_disparity_is_fx_b_over_depth():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.2, 9.0, (30, 40)).astype(np.float32)
    depth[rng.random((30, 40)) < 0.2] = 0.0
    d = stereo.disparity(depth, 612.5, 0.065)
    hit = depth > 0
    assert d.dtype == np.float32 and np.all(d[~hit] == 0)
    assert np.array_equal(d[hit], (612.5 * 0.065 / depth[hit].astype(np.float64)).astype(np.float32))


def _read(ds, out, i):
    codec = {"instance": "png_u16", "depth": "exr_depth", "disparity": "exr_depth"}[out]
    ext = ".png" if codec == "png_u16" else ".exr"
    return CODECS[codec].read(ds / out / f"{i:06d}{ext}")


@pytest.mark.render
def test_rendered_pair(tmp_path):
    p = write_config(tmp_path / "c.yaml", _cfg())
    ds = tmp_path / "ds"
    r = run_cli("render", p, "--out", ds, "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    for pair in range(2):
        ml, mr = load_meta(ds, 2 * pair), load_meta(ds, 2 * pair + 1)
        assert ml["stereo"]["side"] == "left" and mr["stereo"]["side"] == "right"
        assert mr["stereo"]["other_cam2world"] == ml["camera"]["cam2world"]
        L, R = np.array(ml["camera"]["cam2world"]), np.array(mr["camera"]["cam2world"])
        assert np.allclose(R[:3, 3], L[:3, 3] + 0.08 * L[:3, 0], atol=1e-12)
        K = np.array(ml["camera"]["K"])
        for i in (2 * pair, 2 * pair + 1):                       # disparity == fx b / depth, exactly
            depth, disp = _read(ds, "depth", i), _read(ds, "disparity", i)
            hit = depth > 0
            assert np.all(disp[~hit] == 0)
            assert np.array_equal(disp[hit], (K[0, 0] * 0.08 / depth[hit].astype(np.float64)).astype(np.float32))
        # independent: back-project left pixels, project into the right camera with OpenCV
        depth, disp = _read(ds, "depth", 2 * pair), _read(ds, "disparity", 2 * pair)
        inst_l = _read(ds, "instance", 2 * pair)
        inst_r = _read(ds, "instance", 2 * pair + 1)
        v, u = np.nonzero(depth > 0)
        z = depth[v, u].astype(np.float64)
        pc = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], -1)
        pw = pc @ L[:3, :3].T + L[:3, 3]
        w2c_r = np.array(mr["camera"]["world2cam"])
        rvec, _ = cv2.Rodrigues(w2c_r[:3, :3])
        uv_r, _ = cv2.projectPoints(pw, rvec, w2c_r[:3, 3], K, None)
        uv_r = uv_r.reshape(-1, 2)
        assert np.abs(uv_r[:, 1] - v).max() < 1e-6                  # rectified: same row
        assert np.abs((u - uv_r[:, 0]) - disp[v, u]).max() < 1e-4    # u_left - u_right = disparity
        # the right image (rendered by Blender from the right pose) shows the same object there
        ur = np.rint(uv_r[:, 0]).astype(int)
        inside = (ur >= 0) & (ur < depth.shape[1]) & (inst_l[v, u] > 0)
        vis = np.abs(_read(ds, "depth", 2 * pair + 1)[v[inside], ur[inside]] - z[inside]) < 0.01 * z[inside]
        same = inst_r[v[inside], ur[inside]][vis] == inst_l[v[inside], u[inside]][vis]
        assert vis.mean() > 0.5 and same.mean() > 0.99, (vis.mean(), same.mean())


def _hashes(ds):
    return {p.relative_to(ds).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ds.rglob("*")) if p.is_file() and "logs" not in p.parts}


@pytest.mark.render
def test_one_and_two_workers_byte_identical(tmp_path):
    cfg = _cfg(frames=4, res=(48, 36), outputs=("rgb", "depth", "instance", "disparity"))
    p = write_config(tmp_path / "c.yaml", cfg)
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("render", p, "--out", a, "--workers", "1").returncode == 0
    r = run_cli("render", p, "--out", b, "--workers", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    ha, hb = _hashes(a), _hashes(b)
    assert ha == hb and any(k.startswith("disparity/") for k in ha)


def _raycast_distorted(ds, meta, W, H):
    """Instance ids at every pixel centre by trimesh, through the pixel's OpenCV-undistorted direction
    (cv2.undistortPointsIter, tight criteria), from meta's K, distortion and pose and the mesh files."""
    import trimesh
    K = np.array(meta["camera"]["K"])
    dist = meta["camera"]["distortion"]
    coeffs = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")])
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    pts = np.stack([u.ravel(), v.ravel()], -1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    xy = cv2.undistortPointsIter(pts, K, coeffs, None, None, crit).reshape(-1, 2)
    c2w = np.array(meta["camera"]["cam2world"])
    d = np.concatenate([xy, np.ones((len(xy), 1))], 1) @ c2w[:3, :3].T
    meshes, owner = [], []
    for o in meta["objects"]:
        m = trimesh.load(ds / o["mesh"], force="mesh", process=False)
        T = np.array(o["obj2world"])
        meshes.append(trimesh.Trimesh(np.asarray(m.vertices) @ T[:3, :3].T + T[:3, 3], m.faces, process=False))
        owner.append(np.full(len(m.faces), o["instance_id"]))
    scene, owner = trimesh.util.concatenate(meshes), np.concatenate(owner)
    tri = scene.ray.intersects_first(np.repeat(c2w[:3, 3][None], len(d), 0), d)
    return np.where(tri >= 0, owner[np.maximum(tri, 0)], 0).reshape(H, W)


@pytest.mark.render
def test_distorted_pair(tmp_path):
    """With lens distortion a pair is a parallel rig of two identically distorted cameras (not
    rectified, so no disparity): the right pose is the left moved by b along its x axis, and each
    image's instance map agrees with an OpenCV-undistorted ray cast on >= 99.95% of pixels."""
    cfg = _cfg(frames=2, res=(64, 48), outputs=("depth", "instance"),
               distortion={"model": "opencv", "k1": -0.25, "k2": 0.06, "p1": 0.001, "p2": -0.0015})
    p = write_config(tmp_path / "c.yaml", cfg)
    ds = tmp_path / "ds"
    r = run_cli("render", p, "--out", ds, "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    ml, mr = load_meta(ds, 0), load_meta(ds, 1)
    L, R = np.array(ml["camera"]["cam2world"]), np.array(mr["camera"]["cam2world"])
    assert np.allclose(R[:3, 3], L[:3, 3] + 0.08 * L[:3, 0], atol=1e-12) and np.array_equal(L[:3, :3], R[:3, :3])
    assert ml["camera"]["distortion"] == mr["camera"]["distortion"] and ml["camera"]["distortion"]["k1"] == -0.25
    for i, meta in ((0, ml), (1, mr)):
        inst = _read(ds, "instance", i)
        agree = (inst == _raycast_distorted(ds, meta, 64, 48)).mean()
        assert agree >= 0.9995, f"frame {i}: {agree:.5f}"
