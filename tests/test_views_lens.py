"""A distorted, off-centre camera over the views of a scene (scene.views): every view keeps the
scene's lens (meta camera.distortion) and its ground truth matches the independent OpenCV + Embree
ray cast of tests/test_distortion_gt.py, built from each frame's own meta. Views 2..N are applied
by the engine's fast path (SceneBuilder.apply_view), which must re-apply the lens after the camera
(the camera's shift would otherwise move the custom camera's rays)."""
from __future__ import annotations

import numpy as np
import pytest
from test_distortion_gt import CASES, _config, _load, cast

from conftest import run_cli, write_config

pytestmark = pytest.mark.render


def test_views_of_a_distorted_off_centre_camera_match_an_independent_ray_cast(tmp_path):
    cfg = _config(CASES["opencv_pincushion_K"], outputs=("depth", "instance"))
    cfg["frames"] = 3
    cfg["scene"]["views"] = 3
    path = write_config(tmp_path / "c.yaml", cfg)
    r = run_cli("render", path, "--out", tmp_path / "out", "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    dists, poses = [], []
    for i in range(3):
        meta, inst, depth = _load(tmp_path / "out", i)
        assert (meta["scene"], meta["view"]) == (0, i)
        dists.append(meta["camera"]["distortion"])
        poses.append(np.array(meta["camera"]["cam2world"]))
        exp_inst, exp_depth, _ = cast(meta, tmp_path / "out")
        agree = float((inst == exp_inst).mean())
        assert agree >= 0.9995, (i, agree)
        both = (inst == exp_inst) & (exp_inst > 0)
        rel = np.abs(depth[both] - exp_depth[both]) / exp_depth[both]
        assert np.median(rel) <= 2e-5 and np.percentile(rel, 99) <= 2e-4, (i, np.median(rel))
    assert dists[0] == dists[1] == dists[2] and dists[0]["k1"] == 0.3
    assert not np.allclose(poses[0], poses[1])            # the views really moved the camera
