"""Motion blur in sequences (core/features/camera_fx.py, engine/features/camera_fx.py) against
independent expectations: a box blur of the projected exposure displacement (intensity moments in
linear light), and the average of sharp frames rendered across the exposure."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh


def _blur_config(tmp_path, name, blur: bool):
    from conftest import write_config

    cam = {"look_at": [0, 0, 0], "distance": 2.0, "elevation_deg": 0.0, "azimuth_deg": -90.0}
    if blur:
        cam["motion_blur"] = {}
    return write_config(tmp_path / f"{name}.yaml", {
        "seed": 3, "frames": 2, "render": {"exposure": 0, "resolution": [96, 72], "samples": 16, "denoise": False,
                                           "outputs": ["rgb", "depth", "instance"]},
        "sequence": {"frames": 3, "fps": 12},
        "scene": {"objects": [{"primitive": "sphere", "category": "ball", "scale": 0.2, "color": "#a0a0a0",
                               "position": [-0.1, 0, 0], "velocity": {"linear": [6.0, 0, 0]}}]},
        "camera": cam,
        "lighting": {"count": 1, "type": "sun", "sun_strength": 2.0, "elevation_deg": 50, "world_strength": 0.0}})


def _moments(img) -> tuple[float, float]:
    """Variance (px^2) of the linear intensity along u and v (the image as a mass distribution;
    Cycles averages over the exposure in linear light, the PNG is sRGB)."""
    x = img.astype(float) / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    w = lin.mean(2)
    w = np.where(w > 1e-3, w, 0.0)                 # black background: drop the noise floor
    v, u = np.mgrid[:w.shape[0], :w.shape[1]]
    m = w.sum()
    cu, cv = (w * u).sum() / m, (w * v).sum() / m
    return (w * (u - cu) ** 2).sum() / m, (w * (v - cv) ** 2).sum() / m


@pytest.mark.render
def test_motion_blur_follows_the_velocity(cli, tmp_path):
    """A white ball flying along +x on black: the blurred image is the sharp one convolved with a box
    of length L along u, so its variance along u grows by L^2 / 12 and along v not at all; L is the
    projection of the ball's displacement during the 0.5 / fps exposure (from meta's K and poses)."""
    import json

    from PIL import Image

    out = {}
    for name, blur in (("sharp", False), ("blur", True)):
        r = cli("render", _blur_config(tmp_path, name, blur), "--out", tmp_path / name)
        assert r.returncode == 0, r.stderr
        out[name] = tmp_path / name
    meta = json.loads((out["blur"] / "meta" / "000001.json").read_text())
    assert meta["camera"]["motion_blur"]["exposure_s"] == pytest.approx(0.5 / 12)
    K, w2c = np.asarray(meta["camera"]["K"]), np.asarray(meta["camera"]["world2cam"])
    o = meta["objects"][0]
    c = np.asarray(o["obj2world"])[:3, 3]
    e = 0.5 / 12
    ends = [c + np.array([6.0, 0, 0]) * s * e / 2 for s in (-1, 1)]
    uv = [(K @ (w2c[:3, :3] @ p + w2c[:3, 3]))[:2] / (w2c[2, :3] @ p + w2c[2, 3]) for p in ends]
    L = abs(uv[1][0] - uv[0][0])
    assert L > 8                                                      # px: a clear streak
    imgs = {k: np.asarray(Image.open(d / "rgb" / "000001.png").convert("RGB")) for k, d in out.items()}
    assert imgs["sharp"].max() < 240                                  # nothing clipped: light adds up
    (su, sv), (bu, bv) = _moments(imgs["sharp"]), _moments(imgs["blur"])
    assert bu - su == pytest.approx(L * L / 12, rel=0.1), (bu, su, L)
    assert abs(bv - sv) < 0.02 * sv
    # the ground truth is the sharp pass at mid-exposure: the same instance map as without blur, depth
    # to float32 rounding of the keyed pose (2.6e-6 m measured), and the ray-cast verification passes
    from synthblend.dataset.reader import open_dataset

    sharp, blurred = open_dataset(out["sharp"]), open_dataset(out["blur"])
    for i in range(2):
        assert np.array_equal(sharp[i].load("instance"), blurred[i].load("instance"))
        assert np.abs(sharp[i].load("depth") - blurred[i].load("depth")).max() < 1e-5
    r = cli("verify", out["blur"])
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr


def _spin_config(tmp_path, name, fps, frames, blur):
    from conftest import write_config

    cam = {"look_at": [0, 0, 0], "distance": 2.0, "elevation_deg": 89.0, "azimuth_deg": -90.0}
    if blur:
        cam["motion_blur"] = {}
    return write_config(tmp_path / f"{name}.yaml", {
        "seed": 4, "frames": frames, "render": {"exposure": 0, "resolution": [96, 72], "samples": 32, "denoise": False,
                                                "outputs": ["rgb", "instance"]},
        "sequence": {"frames": frames, "fps": fps},
        "scene": {"objects": [{"mesh": "bar.ply", "category": "bar", "color": "#a0a0a0",
                               "velocity": {"linear": [1.5, 0.0, 0.0], "angular": [0.0, 0.0, 2160.0]}}]},
        "camera": cam,
        "lighting": {"count": 1, "type": "sun", "sun_strength": 1.5, "elevation_deg": 89, "world_strength": 0.0}})


def _linear(path) -> np.ndarray:
    from PIL import Image

    x = np.asarray(Image.open(path).convert("RGB")).astype(float).mean(2) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _cov(w) -> np.ndarray:
    v, u = np.mgrid[:w.shape[0], :w.shape[1]]
    m = w.sum()
    cu, cv = (w * u).sum() / m, (w * v).sum() / m
    return np.array([[(w * (u - cu) ** 2).sum(), (w * (u - cu) * (v - cv)).sum()],
                     [(w * (u - cu) * (v - cv)).sum(), (w * (v - cv) ** 2).sum()]]) / m


@pytest.mark.render
def test_motion_blur_turns_objects_with_their_angular_velocity(cli, tmp_path):
    """A bar flying and spinning at 2160 deg/s (90 deg during the exposure), seen from above: its
    blurred frame equals the average of sharp frames rendered at 9 instants across the exposure (the
    same sequence at 16x the frame rate), as intensity moments in linear light; the sharp frame at the
    exposure's centre does not."""
    bar = trimesh.creation.box(extents=[0.5, 0.08, 0.05])
    bar.apply_translation([0.05, 0.0, 0.0])                          # spins about its centre of mass
    bar.export(tmp_path / "bar.ply")
    runs = {"blur": (12.0, 2, True), "fine": (192.0, 21, False)}
    for name, (fps, frames, blur) in runs.items():
        r = cli("render", _spin_config(tmp_path, name, fps, frames, blur), "--out", tmp_path / name)
        assert r.returncode == 0, r.stderr
    blurred = _linear(tmp_path / "blur" / "rgb" / "000001.png")
    # frame 1 at 12 fps: t = 1/12 s = 16/192; the exposure 0.5/12 s spans fine frames 12 .. 20
    wts = np.array([0.5] + [1.0] * 7 + [0.5]) / 8.0
    avg = sum(w * _linear(tmp_path / "fine" / "rgb" / f"{k:06d}.png") for w, k in zip(wts, range(12, 21), strict=True))
    centre = _linear(tmp_path / "fine" / "rgb" / "000016.png")
    assert centre.max() < 0.9                                        # nothing clipped: light adds up
    cb, ca, cc = _cov(np.where(blurred > 1e-3, blurred, 0)), _cov(np.where(avg > 1e-3, avg, 0)), \
        _cov(np.where(centre > 1e-3, centre, 0))
    scale = np.abs(ca).max()
    assert np.abs(cb - ca).max() < 0.05 * scale, (cb, ca)
    assert np.abs(cc - ca).max() > 0.15 * scale, (cc, ca)            # the blur is really there
    assert abs(blurred.sum() - avg.sum()) < 0.05 * avg.sum()
