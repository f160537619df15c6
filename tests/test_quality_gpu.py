"""Quality presets, the ground-truth-only fast path, and the GPU request on a machine without one."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import run_cli, write_config
from synthblend.core.config import config_from_dict
from synthblend.core.quality import PRESETS
from synthblend.dataset.reader import open_dataset
from synthblend.dataset.verify import verify_dataset

SCENE = {
    "seed": 4, "frames": 2,
    "render": {"resolution": [64, 48], "samples": 8},
    "scene": {"objects": [
        {"primitive": "torus", "scale": 0.4, "rotation": "uniform_so3", "position": [0, 0, 0.25]},
        {"primitive": "cube", "scale": 0.2, "count": 2,
         "position": {"uniform": [[-0.4, -0.4, 0.1], [0.4, 0.4, 0.1]]}},
    ], "ground": {"size": 3}},
    "camera": {"look_at": [0, 0, 0.15], "distance": 1.6, "elevation_deg": 35, "azimuth_deg": {"uniform": [0, 360]}},
}


def test_presets_fill_only_unset_keys():
    c = config_from_dict({"render": {"quality": "final", "samples": 12}})
    r = c.data["render"]
    assert r["samples"] == 12                                    # overridden key by key
    assert r["adaptive_threshold"] == PRESETS["final"]["adaptive_threshold"]
    assert r["max_bounces"] == PRESETS["final"]["max_bounces"]
    d = config_from_dict({}).data["render"]
    assert d["quality"] == "standard" and d["samples"] == PRESETS["standard"]["samples"]


@pytest.mark.render
def test_ground_truth_only_fast_path_gives_the_same_ground_truth(tmp_path):
    full = write_config(tmp_path / "full.yaml", SCENE)
    gt = dict(SCENE, render=dict(SCENE["render"], outputs=["depth", "instance", "semantic"]))
    gt_cfg = write_config(tmp_path / "gt.yaml", gt)
    for cfg, out in ((full, "full"), (gt_cfg, "gt")):
        r = run_cli("render", cfg, "--out", tmp_path / out, "--quiet")
        assert r.returncode == 0, r.stderr
    a, b = open_dataset(tmp_path / "full"), open_dataset(tmp_path / "gt")
    assert not (tmp_path / "gt" / "rgb").exists()
    for fa, fb in zip(a, b, strict=True):
        # Data passes are taken at the pixel centre: 1 sample without shading gives the same maps.
        assert np.array_equal(fa.instance, fb.instance)
        assert np.array_equal(fa.semantic, fb.semantic)
        assert np.array_equal(fa.depth, fb.depth)
    assert verify_dataset(tmp_path / "gt").passed


def _has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


@pytest.mark.render
def test_gpu_request(tmp_path):
    cfg = dict(SCENE, frames=1, render=dict(SCENE["render"], device="gpu"))
    p = write_config(tmp_path / "g.yaml", cfg)
    r = run_cli("render", p, "--out", tmp_path / "out", "--quiet")
    if _has_nvidia_gpu():
        assert r.returncode == 0, r.stderr
        assert verify_dataset(tmp_path / "out").passed
    else:
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr
        assert lines[0].startswith(f"error: {p}: render.device: gpu requested but no CUDA or OptiX GPU")
        assert not (tmp_path / "out").exists()          # no half-made dataset left behind


def test_default_workers_one_per_gpu():
    from synthblend.cli import default_workers
    gpu = config_from_dict({"render": {"device": "gpu"}})
    cpu = config_from_dict({})
    assert default_workers(gpu, [0, 1, 3]) == 3          # --gpu-ids 0,1,3: one worker each
    assert default_workers(cpu, None) == 1                # Cycles already uses every core
    assert default_workers(gpu, None) >= 1
