"""Sensor noise outputs (core/sensor_noise.py): depth_noisy and rgb_noisy.

The statistics are measured on flat walls (analytic constant-depth maps, a rendered plane seen
head-on) and compared with the documented model's closed forms (sigma_z = z^2 / (f b) sigma_d for
structured light, sigma_m + sigma_per_m z for ToF, the reachable depths f b / (k step), the lateral
crossing probability 1 - Phi(0.5 / s), Poisson-Gaussian variance x / fw + (r / fw)^2), never with
the implementation itself.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from conftest import load_meta, run_cli
from synthblend.core.color import srgb_to_linear
from synthblend.core.sensor_noise import depth_edges, noisy_depth, noisy_linear
from synthblend.dataset.reader import open_dataset

SL = {"model": "structured_light", "focal_px": 580.0, "baseline_m": 0.075, "disparity_sigma_px": 0.07,
      "disparity_step_px": 0.0, "lateral_sigma_px": 0.0, "edge_dropout": 0.0, "edge_threshold": 0.05,
      "edge_width_px": 1, "dropout": 0.0, "min_depth_m": 0.2, "max_depth_m": 10.0}
TOF = {"model": "tof", "sigma_m": 0.002, "sigma_per_m": 0.004, "depth_step_m": 0.0, "lateral_sigma_px": 0.0,
       "edge_dropout": 0.0, "edge_threshold": 0.05, "edge_width_px": 1, "dropout": 0.0,
       "min_depth_m": 0.2, "max_depth_m": 10.0}


def _wall(z, shape=(200, 300)):
    return np.full(shape, z, np.float32)


def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@pytest.mark.parametrize("z", [0.8, 1.5, 3.0, 5.0])
def test_structured_light_axial_noise_grows_with_depth_squared(z):
    n = noisy_depth(_wall(z), SL, np.random.default_rng(1))
    expected = z * z / (580.0 * 0.075) * 0.07                       # Khoshelham & Elberink 2012
    assert (n > 0).all()
    assert abs(n.std() / expected - 1) < 0.03, (n.std(), expected)
    assert abs(n.mean() - z) < 4 * expected / math.sqrt(n.size) + 1e-3 * expected


def test_structured_light_quantizes_disparity():
    p = {**SL, "disparity_step_px": 0.125, "disparity_sigma_px": 0.07}
    z = 2.0
    n = noisy_depth(_wall(z), p, np.random.default_rng(2))
    fb = 580.0 * 0.075
    k = fb / (n.astype(np.float64) * 0.125)                        # each depth is fb / (k step), k integer
    assert np.abs(k - np.rint(k)).max() < 1e-3
    levels = np.unique(np.rint(k))
    assert 3 <= len(levels) <= 12                                   # a few steps around d = 21.75 px
    # the step between neighbouring depth levels is z^2 step / (f b) to first order
    zs = np.sort(np.unique(n))
    mid = zs[np.argmin(np.abs(zs - z))]
    gaps = np.diff(zs)
    assert abs(gaps[np.searchsorted(zs, mid) - 1] / (mid * mid * 0.125 / fb) - 1) < 0.05


@pytest.mark.parametrize("z", [0.5, 2.0, 6.0])
def test_tof_noise_is_linear_in_depth_and_quantized_in_metres(z):
    n = noisy_depth(_wall(z), TOF, np.random.default_rng(3))
    expected = 0.002 + 0.004 * z
    assert abs(n.std() / expected - 1) < 0.03
    q = noisy_depth(_wall(z), {**TOF, "depth_step_m": 0.001}, np.random.default_rng(3))
    assert np.abs(q / 0.001 - np.rint(q / 0.001)).max() < 1e-3


def test_invalid_ranges_are_zero():
    depth = np.concatenate([_wall(0.1, (50, 60)), _wall(3.0, (50, 60)), _wall(12.0, (50, 60)),
                            _wall(0.0, (50, 60))])
    for p in (SL, TOF):
        n = noisy_depth(depth, p, np.random.default_rng(4))
        assert (n[:50] == 0).all() and (n[100:] == 0).all()
        assert (n[50:100] > 0).all()


def _step(z_left=1.0, z_right=2.0, shape=(400, 60), col=30):
    d = np.full(shape, z_left, np.float32)
    d[:, col:] = z_right
    return d


def test_edges_found_on_both_sides_and_widened():
    d = _step()
    e = depth_edges(d, 0.05, 1)
    assert set(np.flatnonzero(e.any(axis=0))) == {29, 30}
    e3 = depth_edges(d, 0.05, 3)
    assert set(np.flatnonzero(e3.any(axis=0))) == {27, 28, 29, 30, 31, 32}
    hole = _wall(1.0, (20, 20))
    hole[10, 10] = 0                                                # no surface: its neighbours are edges
    eh = depth_edges(hole, 0.05, 1)
    assert set(zip(*np.nonzero(eh), strict=True)) == {(9, 10), (11, 10), (10, 9), (10, 11)}


@pytest.mark.parametrize("p_edge", [0.3, 0.8])
def test_edge_dropout_rate(p_edge):
    d = _step(shape=(4000, 60))
    n = noisy_depth(d, {**SL, "edge_dropout": p_edge}, np.random.default_rng(5))
    at_edge = n[:, 29:31]
    rate = (at_edge == 0).mean()
    sd = math.sqrt(p_edge * (1 - p_edge) / at_edge.size)
    assert abs(rate - p_edge) < 4 * sd
    assert (n[:, :28] > 0).all() and (n[:, 32:] > 0).all()          # away from the edge: nothing dropped


def test_random_dropout_rate():
    n = noisy_depth(_wall(2.0, (300, 300)), {**SL, "dropout": 0.1}, np.random.default_rng(6))
    rate = (n == 0).mean()
    assert abs(rate - 0.1) < 4 * math.sqrt(0.09 / n.size)


@pytest.mark.parametrize("s", [0.4, 0.8])
def test_lateral_noise_crosses_an_edge_with_the_gaussian_probability(s):
    d = _step(shape=(6000, 60))
    n = noisy_depth(d, {**SL, "disparity_sigma_px": 0.0, "lateral_sigma_px": s}, np.random.default_rng(7))
    left_of_edge = n[:, 29]                                         # reads the far side if s * N >= 0.5
    crossed = (np.abs(left_of_edge - 2.0) < 1e-3).mean()
    expected = 1 - _phi(0.5 / s)
    assert abs(crossed - expected) < 4 * math.sqrt(expected * (1 - expected) / left_of_edge.size) + 1e-3
    two_away = n[:, 28]                                             # needs s * N >= 1.5
    assert abs((np.abs(two_away - 2.0) < 1e-3).mean() - (1 - _phi(1.5 / s))) < 0.01


def test_noise_is_deterministic_per_seed_and_frame():
    from types import SimpleNamespace

    from synthblend.core.sensor_noise import depth_noisy_output, rgb_noisy_output
    feats = {"sensor_noise": {"depth_noise": {**SL, "edge_dropout": 0.5, "lateral_sigma_px": 0.5},
                              "rgb_noise": {"full_well_e": 500.0, "read_noise_e": 3.0}}}
    depth = _step(shape=(40, 60))
    lin = np.full((40, 60, 3), 0.3, np.float32)

    def disp(x):
        return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)

    def outs(seed, frame):
        spec = SimpleNamespace(seed=seed, frame=frame, features=feats)
        return depth_noisy_output(depth, spec), rgb_noisy_output(lin, disp, spec)

    a, b, c = outs(3, 5), outs(3, 5), outs(3, 6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])


def test_rgb_noise_variance_is_proportional_to_the_mean_in_linear_space():
    fw, r = 2000.0, 4.0
    levels = np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.7])
    means, variances = [], []
    for x in levels:
        n = noisy_linear(np.full((200, 200, 3), x, np.float32), {"full_well_e": fw, "read_noise_e": r},
                         np.random.default_rng(8)).astype(np.float64)
        means.append(n.mean())
        variances.append(n.var())
    means, variances = np.array(means), np.array(variances)
    assert np.allclose(means, levels, rtol=2e-3)
    slope, intercept = np.polyfit(means, variances, 1)
    assert abs(slope * fw - 1) < 0.03                              # shot noise: Var = x / fw ...
    assert abs(intercept - (r / fw) ** 2) < 0.3 * (r / fw) ** 2 + 2e-8   # ... plus the read-noise floor


def test_rgb_noise_saturates_at_the_full_well_and_clamps_at_black():
    n = noisy_linear(np.array([[[0.0, 1.0, 5.0]]] * 1000, np.float32), {"full_well_e": 100.0, "read_noise_e": 5.0},
                     np.random.default_rng(10))
    assert n.min() >= 0 and n.max() <= 1
    assert (n[..., 2] == 1).all()


# ------------------------------------------------------------------------------------------ render


WALL = {
    "seed": 4, "frames": 2,
    "render": {"resolution": [96, 72], "samples": 4, "denoise": False, "exposure": 0,
               "outputs": ["rgb", "depth", "instance", "depth_noisy", "rgb_noisy"]},
    "scene": {"objects": [{"primitive": "cube", "scale": 0.2, "position": [0.3, 0.0, 0.1]}],
              "ground": {"size": 20}},
    "camera": {"look_at": [0, 0, 0], "distance": 2.5, "elevation_deg": 90, "azimuth_deg": 0,
               "depth_noise": {"model": "structured_light", "disparity_sigma_px": 0.2, "disparity_step_px": 0,
                               "lateral_sigma_px": 0.0, "edge_dropout": 1.0},
               "rgb_noise": {"full_well_e": 300, "read_noise_e": 2}},
    "lighting": {"count": 1, "type": "sun", "sun_strength": 3.0, "elevation_deg": 90, "world_strength": 0.2},
}


def _render(tmp_path, cfg, name="ds", *extra):
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    out = tmp_path / name
    r = run_cli("render", p, "--out", out, "--quiet", *extra)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.render
def test_rendered_wall_noise_matches_the_model_and_repeats_byte_for_byte(tmp_path):
    """A ground plane seen straight down (planar depth 2.5 m everywhere) plus a cube: depth_noisy's
    std on the wall is z^2 / (fx b) sigma_d with the dataset's own fx, the cube's edges are dropped
    (edge_dropout 1), rgb_noisy's linear variance follows the Poisson-Gaussian model against rgb;
    the same files come out of 1 and 2 workers."""
    out = _render(tmp_path, WALL)
    ds = open_dataset(out)
    for i, f in enumerate(ds):
        m = load_meta(out, i)
        fx = m["camera"]["K"][0][0]
        p = m["sensor_noise"]["depth_noise"]
        assert p["focal_px"] == fx and p["model"] == "structured_light"
        z = f.depth
        n = f.load("depth_noisy")
        edges = depth_edges(z, 0.05, 1)
        assert (n[edges] == 0).all()
        wall = (f.instance == [o["instance_id"] for o in m["objects"] if o["kind"] == "ground"][0]) & ~edges
        assert np.allclose(z[wall], 2.5, atol=1e-4)
        expected = 2.5 ** 2 / (fx * 0.075) * 0.2
        assert abs((n[wall] - z[wall]).std() / expected - 1) < 0.1
        # rgb_noisy: linear variance vs the exact image's linear value
        lin = srgb_to_linear(f.rgb / 255.0)
        noisy = srgb_to_linear(f.load("rgb_noisy") / 255.0)
        x = lin[wall]
        d = (noisy[wall] - x).ravel()
        xr = x.ravel()
        ok = (xr > 0.05) & (xr < 0.8)
        assert ok.sum() > 2000
        model_var = xr[ok] / 300 + (2 / 300) ** 2
        assert abs(np.mean(d[ok] ** 2) / model_var.mean() - 1) < 0.12
        assert m["exposure"]["mode"] == "fixed" and m["exposure"]["ev"] == 0
    out2 = _render(tmp_path, WALL, "ds2", "--workers", "2")
    for i in range(2):
        for folder, ext in (("depth_noisy", "exr"), ("rgb_noisy", "png"), ("rgb", "png")):
            a = (out / folder / f"{i:06d}.{ext}").read_bytes()
            assert a == (out2 / folder / f"{i:06d}.{ext}").read_bytes(), (folder, i)


@pytest.mark.parametrize("noise,key,words", [
    ({"model": "tof", "baseline_m": 0.05}, "camera.depth_noise.baseline_m", "applies to model structured_light"),
    ({"model": "structured_light", "sigma_per_m": 0.01}, "camera.depth_noise.sigma_per_m", "applies to model tof"),
    ({"min_depth_m": 3.0, "max_depth_m": {"uniform": [2, 4]}}, "camera.depth_noise.max_depth_m", "greater than"),
    ({"model": "lidar"}, "camera.depth_noise.model", "allowed"),
    ({"edge_dropout": 1.5}, "camera.depth_noise.edge_dropout", "<= 1"),
])
def test_bad_depth_noise_keys_exit_2_naming_the_key(tmp_path, noise, key, words):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"render": {"outputs": ["depth", "depth_noisy"]}, "camera": {"depth_noise": noise}}))
    r = run_cli("check", p)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[0]
    assert key in line and words in line and "Traceback" not in r.stderr


def test_parameters_drawn_per_frame_recorded_and_absent_without_the_output():
    from synthblend.core.config import config_from_dict
    from synthblend.core.sampling import sample
    cfg = config_from_dict({"render": {"outputs": ["depth", "depth_noisy", "rgb", "rgb_noisy"]},
                            "camera": {"depth_noise": {"disparity_sigma_px": {"uniform": [0.05, 0.1]}},
                                       "rgb_noise": {"full_well_e": {"loguniform": [1000, 20000]}}}})
    a, b = sample(cfg, 1, 0), sample(cfg, 1, 1)
    pa = a.features["sensor_noise"]
    assert pa["depth_noise"]["disparity_sigma_px"] == a.sampled["camera.depth_noise.disparity_sigma_px"]
    assert pa["rgb_noise"]["full_well_e"] == a.sampled["camera.rgb_noise.full_well_e"]
    assert pa["depth_noise"]["focal_px"] == a.camera.K[0][0]
    assert "sigma_m" not in pa["depth_noise"]                      # the other model's keys are not recorded
    assert pa != b.features["sensor_noise"]
    plain = sample(config_from_dict({}), 1, 0)
    assert "sensor_noise" not in plain.features
    defaults = sample(config_from_dict({"render": {"outputs": ["depth", "depth_noisy"]}}), 1, 0)
    assert defaults.features["sensor_noise"]["depth_noise"]["model"] == "structured_light"


@pytest.mark.render
def test_rgb_noisy_without_rgb_still_renders_colour(tmp_path):
    cfg = {**WALL, "frames": 1, "render": {**WALL["render"], "outputs": ["depth", "instance", "rgb_noisy"]}}
    out = _render(tmp_path, cfg)
    assert not (out / "rgb").exists()
    img = open_dataset(out)[0].load("rgb_noisy")
    assert img.shape == (72, 96, 3) and img.std() > 1           # a lit, noisy image, not black
    assert load_meta(out, 0)["exposure"]["mode"] == "fixed"
