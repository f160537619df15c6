"""Quality presets after the quality-per-second benchmark (scripts/bench_quality.py, issue 18): they
resolve to what docs/performance.md documents, and no preset changes the ground truth (the ray-cast
verification passes and depth/instance/semantic equal those of the ground-truth-only path, which
renders 1 sample without shading whatever the preset)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_cli, write_config
from synthblend.core.config import config_from_dict
from synthblend.core.quality import OVERRIDABLE, PRESETS, QUALITIES, light_paths
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.verify import verify_dataset

SCENE = {
    "seed": 3, "frames": 2,
    "render": {"resolution": [64, 48]},
    "scene": {"objects": [
        {"primitive": "torus", "scale": 0.4, "rotation": "uniform_so3", "position": [0, 0, 0.25]},
        {"primitive": "sphere", "scale": 0.25, "position": {"uniform": [[-0.4, -0.4, 0.12], [0.4, 0.4, 0.12]]}},
        {"primitive": "cube", "scale": 0.2, "count": 2, "rotation": "uniform_so3",
         "position": {"uniform": [[-0.4, -0.4, 0.1], [0.4, 0.4, 0.1]]}},
    ], "ground": {"size": 3}},
    "camera": {"look_at": [0, 0, 0.15], "distance": 1.6, "elevation_deg": 35, "azimuth_deg": {"uniform": [0, 360]}},
}


def test_presets_are_ordered_by_cost_and_quality():
    d, s, f = (PRESETS[q] for q in ("draft", "standard", "final"))
    assert QUALITIES == ("draft", "standard", "final")
    assert d["samples"] < s["samples"] < f["samples"]
    assert d["adaptive_threshold"] >= s["adaptive_threshold"] >= f["adaptive_threshold"] > 0
    assert d["max_bounces"] <= s["max_bounces"] <= f["max_bounces"]
    assert all(p["denoise"] for p in PRESETS.values())
    assert all(set(p) == set(OVERRIDABLE) for p in PRESETS.values())


@pytest.mark.parametrize("quality", ["draft", "standard", "final"])
def test_each_preset_resolves_to_its_values_and_keys_override_one_by_one(quality):
    r = config_from_dict({"render": {"quality": quality}}).data["render"]
    assert {k: r[k] for k in OVERRIDABLE} == PRESETS[quality]
    r = config_from_dict({"render": {"quality": quality, "samples": 5, "denoise": False}}).data["render"]
    assert r["samples"] == 5 and r["denoise"] is False
    assert r["adaptive_threshold"] == PRESETS[quality]["adaptive_threshold"]
    assert r["max_bounces"] == PRESETS[quality]["max_bounces"]


def test_light_paths_never_exceed_the_total():
    for m in range(0, 30):
        lp = light_paths(m)
        assert lp["max_bounces"] == m
        assert all(0 <= lp[k] <= m for k in ("diffuse_bounces", "glossy_bounces", "transmission_bounces"))
    assert light_paths(12)["diffuse_bounces"] == 4 and light_paths(12)["glossy_bounces"] == 4   # Blender's


@pytest.mark.render
def test_no_preset_changes_the_ground_truth(tmp_path):
    gt_cfg = write_config(tmp_path / "gt.yaml", dict(SCENE, render=dict(SCENE["render"],
                                                                         outputs=["depth", "instance", "semantic"])))
    r = run_cli("render", gt_cfg, "--out", tmp_path / "gt", "--quiet")
    assert r.returncode == 0, r.stderr
    gt = list(open_dataset(tmp_path / "gt"))
    assert any(f.instance.max() >= 3 for f in gt)            # the scene is seen: a real test
    for q in QUALITIES:
        cfg = write_config(tmp_path / f"{q}.yaml", dict(SCENE, render=dict(SCENE["render"], quality=q)))
        r = run_cli("render", cfg, "--out", tmp_path / q, "--quiet")
        assert r.returncode == 0, r.stderr
        rep = verify_dataset(tmp_path / q)                   # ray cast through pixel centres, own K/poses/meshes
        assert rep.passed, q
        for fq, fg in zip(open_dataset(tmp_path / q), gt, strict=True):
            assert np.array_equal(fq.instance, fg.instance), q
            assert np.array_equal(fq.semantic, fg.semantic), q
            assert np.array_equal(fq.depth, fg.depth), q
            assert fq.rgb.shape == (48, 64, 3) and fq.rgb.std() > 1.0      # a rendered image, not blank


@pytest.mark.render
@pytest.mark.parametrize("prefilter", ["accurate", "fast", "none"])
def test_denoise_prefilter_reaches_cycles_and_dataset_json(prefilter):
    """``render.denoise_prefilter`` is resolved (standard: none; draft, final: accurate) and set on
    Cycles' denoiser."""
    from synthblend.engine.scene import SceneBuilder

    assert config_from_dict(SCENE).data["render"]["denoise_prefilter"] == "none"
    for q, want in (("draft", "accurate"), ("final", "accurate")):
        assert config_from_dict(dict(SCENE, render=dict(SCENE["render"], quality=q))).data["render"][
            "denoise_prefilter"] == want
    cfg = config_from_dict(dict(SCENE, render=dict(SCENE["render"], denoise_prefilter=prefilter)))
    assert cfg.data["render"]["denoise_prefilter"] == prefilter
    b = SceneBuilder(cfg, log=lambda *a: None)
    b.build()
    cyc = b.scene.cycles
    assert cyc.use_denoising == b.denoise_available
    if b.denoise_available:
        assert cyc.denoising_prefilter == prefilter.upper()


def test_an_unknown_denoise_prefilter_is_a_config_error(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", dict(SCENE, render=dict(SCENE["render"], denoise_prefilter="max")))
    r = run_cli("check", cfg)
    assert r.returncode == 2 and "render.denoise_prefilter" in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.render
@pytest.mark.parametrize("render, threshold, min_samples", [
    ({}, PRESETS["standard"]["adaptive_threshold"], PRESETS["standard"]["adaptive_min_samples"]),
    ({"adaptive_min_samples": 0}, PRESETS["standard"]["adaptive_threshold"], 0),
    ({"quality": "final", "adaptive_min_samples": 40}, PRESETS["final"]["adaptive_threshold"], 40),
])
def test_adaptive_min_samples_reaches_cycles(render, threshold, min_samples):
    """``render.adaptive_min_samples`` is resolved from the preset unless set, and set on Cycles with the
    threshold; 0 leaves Cycles its automatic minimum."""
    from synthblend.engine.scene import SceneBuilder

    cfg = config_from_dict(dict(SCENE, render=dict(SCENE["render"], **render)))
    assert cfg.data["render"]["adaptive_min_samples"] == min_samples
    b = SceneBuilder(cfg, log=lambda *a: None)
    b.build()
    cyc = b.scene.cycles
    assert cyc.use_adaptive_sampling
    assert cyc.adaptive_threshold == pytest.approx(threshold)
    assert cyc.adaptive_min_samples == min_samples


def test_a_negative_adaptive_min_samples_is_a_config_error(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", dict(SCENE, render=dict(SCENE["render"], adaptive_min_samples=-1)))
    r = run_cli("check", cfg)
    assert r.returncode == 2 and "render.adaptive_min_samples" in r.stderr and r.stderr.count("\n") == 1, r.stderr
