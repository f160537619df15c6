"""Rendered sequences and multi-view scenes: issue 16's acceptance checks of flow and object
coordinates, from the dataset alone (tests/flow_checks.py: depth unprojection with K and cam2world,
the meta poses, OpenCV projection, the documented depth test, trimesh's float64 ray cast of the
meshes/ files), instance ids constant over a sequence, and the project's ray-cast verify on every frame."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from flow_checks import check_flow, check_object_coords

from conftest import run_cli, write_config
from synthblend.dataset.reader import open_dataset

pytestmark = pytest.mark.render

ASSETS = Path(__file__).resolve().parents[1] / "scene_assets" / "meshes"
OUTPUTS = ["depth", "instance", "semantic", "flow_forward", "flow_backward", "object_coords", "nocs"]


def _config(**extra) -> dict:
    cfg = {
        "seed": 3, "frames": 4,
        "render": {"resolution": [96, 72], "samples": 1, "outputs": OUTPUTS},
        "scene": {"objects": [
            {"mesh": str(ASSETS / "mug.ply"), "category": "mug", "scale": 0.001, "position": [0.05, 0.0, 0.0],
             "rotation": {"euler_deg": [0, 0, 30]},
             "velocity": {"linear": [0.2, 0.1, 0.0], "angular": [0, 0, 90]}},
            {"primitive": "sphere", "category": "ball", "scale": 0.08, "position": [-0.1, 0.05, 0.04],
             "velocity": {"linear": [-0.1, 0.2, 0.0], "angular": [40, 0, 0]}},
            {"mesh": str(ASSETS / "box.stl"), "category": "box", "position": [0.0, -0.12, 0.0]}],
            "ground": {"size": 4}},
        "camera": {"look_at": [0, 0, 0.05], "distance": 0.7, "elevation_deg": 35, "azimuth_deg": 20},
    }
    for k, v in extra.items():
        d = cfg
        *head, last = k.split(".")
        for h in head:
            d = d.setdefault(h, {})
        d[last] = v
    return cfg


def _render(tmp_path, cfg) -> Path:
    out = tmp_path / "ds"
    r = run_cli("render", write_config(tmp_path / "c.yaml", cfg), "--out", out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def _check(out: Path, n_pairs: int) -> None:
    ds = open_dataset(out)
    rows = check_flow(ds)
    pairs = [r for r in rows if r["other"] is not None]
    assert len(pairs) == n_pairs
    for r in pairs:
        assert r["median_px"] <= 0.01 and r["p99_px"] <= 0.1, r
        assert r["mask_agreement"] >= 0.99 and r["zero_where_invalid"], r
        assert r["valid_fraction"] > 0.3, r
    assert all(r["all_invalid"] for r in rows if r["other"] is None)
    for f in ds:
        c = check_object_coords(ds, f)
        assert c["max_error_over_extent"] <= 1e-5 and c["background_zero"] and c["pixels"] > 100, c
    r = run_cli("verify", out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_sequence_flow_object_coords_and_ids(tmp_path):
    cfg = _config(sequence={"frames": 4, "fps": 10},
                  **{"camera.trajectory": {"mode": "orbit", "orbit": {"total_deg": 15}}})
    out = _render(tmp_path, cfg)
    _check(out, n_pairs=6)
    ds = open_dataset(out)
    ids = [{o["instance_id"]: (o["name"], o["category_id"]) for o in f.objects} for f in ds]
    assert all(i == ids[0] for i in ids) and len(ids[0]) == 4
    assert [f.meta["time_s"] for f in ds] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    # the objects do move (0.2 m/s along x for 0.3 s; turning about the centre of mass moves the origin too)
    mug = [o["obj2world"][0][3] for f in ds for o in f.objects if o["name"].startswith("mug")]
    assert 0.05 < mug[-1] - mug[0] < 0.07


def test_views_of_one_arrangement_flow_between_views(tmp_path):
    cfg = _config(frames=5, **{"scene.views": 3, "camera.distance": {"uniform": [0.6, 0.8]},
                               "camera.azimuth_deg": {"uniform": [10, 30]}})
    for o in cfg["scene"]["objects"]:
        o.pop("velocity", None)
    out = _render(tmp_path, cfg)
    ds = open_dataset(out)
    assert [(f.meta["scene"], f.meta["view"]) for f in ds] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    _check(out, n_pairs=6)       # 0<->1, 1<->2, 3<->4; none across the scene boundary 2 | 3


def test_physics_sequence_with_distractors_and_a_walking_camera(tmp_path):
    """Thrown objects under Bullet (placement: physics), random distractors, a random-walk camera:
    two sequences of 4 frames."""
    cfg = _config(frames=8, sequence={"frames": 4, "fps": 8}, seed=11,
                  **{"render.resolution": [128, 96], "scene.placement": "physics",
                     "scene.distractors": {"count": 2, "shapes": ["cube", "sphere"], "scale": {"uniform": [0.03, 0.08]},
                                           "position": {"uniform": [[-0.12, -0.12, 0.0], [0.12, 0.12, 0.3]]}},
                     "camera.distance": {"uniform": [0.6, 0.9]}, "camera.elevation_deg": {"uniform": [25, 60]},
                     "camera.azimuth_deg": {"uniform": [0, 360]},
                     "camera.trajectory": {"mode": "random_walk", "random_walk": {"step_m": 0.03}}})
    mug, box = cfg["scene"]["objects"][0], cfg["scene"]["objects"][2]
    mug.update(count=2, position={"uniform": [[-0.1, -0.1, 0.02], [0.1, 0.1, 0.2]]}, rotation="uniform_so3",
               velocity={"linear": {"uniform": [[-0.3, -0.3, 0], [0.3, 0.3, 0.5]]},
                         "angular": {"uniform": [[-200, -200, -200], [200, 200, 200]]}})
    box.update(position={"uniform": [[-0.1, -0.1, 0.0], [0.1, 0.1, 0.2]]}, rotation="uniform_so3")
    cfg["scene"]["objects"] = [mug, box]
    cfg["render"]["outputs"] = [o for o in OUTPUTS if o != "nocs"]
    out = _render(tmp_path, cfg)
    _check(out, n_pairs=12)


@pytest.mark.blender34
@pytest.mark.skipif(not shutil.which("blender"), reason="needs Debian's Blender 3.4")
def test_blender34_sequence_flow(tmp_path):
    """Debian's Blender 3.4 (its own Python: the pure EXR writer, numpy ray casts) writes flow and object
    coordinates that pass the same checks."""
    import pybullet
    import trimesh

    cfg = _config(sequence={"frames": 4, "fps": 10},
                  **{"camera.trajectory": {"mode": "orbit", "orbit": {"total_deg": 15}}})
    write_config(tmp_path / "c.yaml", cfg)
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    shutil.copytree(Path(trimesh.__file__).parent, vendor / "trimesh")
    shutil.copy(pybullet.__file__, vendor)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHBLEND_", "PYTHON"))}
    env["PATH"] = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin", env.get("PATH", "")])
    env["SYNTHBLEND_VENDOR"] = str(vendor)
    out = tmp_path / "b34"
    root = Path(__file__).resolve().parents[1]
    p = subprocess.run(["blender", "-b", "-P", str(root / "scripts" / "render.py"), "--", str(tmp_path / "c.yaml"),
                        "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    _check(out, n_pairs=6)
