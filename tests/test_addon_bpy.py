"""The extension zip in the bpy 5.0 module: built, installed with package_install_files, enabled and
driven through ``bpy.ops.synthblend.*`` headless (in a subprocess: bpy is a process-wide singleton).

The save-config round trip: settings changed in the panel -> Save config -> ``synthblend render`` of
that YAML gives, byte for byte, the dataset the add-on rendered; its ground truth passes the
independent ray cast.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from addon_helpers import ROOT, assert_same_dataset, build_zips, meta, write_project

pytestmark = pytest.mark.render
DRIVER = ROOT / "tests" / "blender_drivers" / "bpy_extension_driver.py"

RICH = """\
seed: 12345
frames: 3
render: {resolution: [64, 48], samples: 2, denoise: false, outputs: [rgb, instance, depth]}
scene:
  objects:
    - primitive: sphere
      category: ball
      count: {randint: [1, 3]}
      scale: {loguniform: [0.1, 0.3]}
      position: {uniform: [[-0.3, -0.3, 0.1], [0.3, 0.3, 0.3]]}
      rotation: uniform_so3
    - mesh: pebble.ply
      count: {choice: [0, 2], weights: [1, 3]}
      scale: 0.001
      position: {normal: [[0, 0, 0.2], [0.1, 0.1, 0.0]], clip: [[-1, -1, 0], [1, 1, 1]]}
      rotation: {euler_deg: {uniform: [[0, 0, 0], [0, 0, 360]]}}
      color: "#ff0000"
  ground: {size: 3}
  supports:
    - {type: bin, name: tote, category: tote, inner_size: [0.3, 0.2], yaw_deg: {uniform: [0, 90]}}
    - {type: table, height: 0.5, leg_size: 0}
camera:
  look_at: {uniform: [-0.1, 0.1]}
  distance: {normal: [2, 0.2], clip: [1.5, 2.5]}
  elevation_deg: {uniform: [20, 60]}
  azimuth_deg: {choice: [0, 90, 180]}
  distortion: {model: fisheye, k1: {uniform: [0.01, 0.03]}, k2: -0.002}
lighting:
  type: {choice: [point, area]}
  count: 2
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    return build_zips(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, dist):
    tmp = tmp_path_factory.mktemp("bpy_ext")
    project = tmp / "user_project"
    config = write_project(project, samples=2, resolution=(64, 48))
    (project / "rich.yaml").write_text(RICH)
    (project / "bad.yaml").write_text("seed: 1\nrender: {samples: 0}\n")
    args = {"zip": str(dist[0]), "config": str(config), "rich_config": str(project / "rich.yaml"),
            "bad_config": str(project / "bad.yaml"), "blend": str(project / "user_scene.blend"),
            "saved_config": str(project / "gui.yaml"), "saved_config2": str(project / "gui2.yaml"),
            "out": str(tmp / "gui_ds"), "result": str(tmp / "result.json"),
            "context_blend": str(project / "context.blend")}
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp / "blender_user"))
    p = subprocess.run([sys.executable, str(DRIVER), json.dumps(args)], capture_output=True, text=True,
                       timeout=600, env=env, cwd=tmp)
    assert Path(args["result"]).exists(), p.stdout[-3000:] + p.stderr[-3000:]
    result = json.loads(Path(args["result"]).read_text())
    assert result["ok"], result.get("error", "") + p.stdout[-3000:] + p.stderr[-2000:]
    return {"tmp": tmp, "args": args, "r": result, "project": project}


def test_extension_zip_follows_the_extension_format(dist):
    ext, legacy = dist
    with zipfile.ZipFile(ext) as z:
        names = set(z.namelist())
        man = tomllib.loads(z.read("blender_manifest.toml").decode())
        init = z.read("__init__.py").decode()
    assert man["id"] == "synthblend" and man["type"] == "add-on" and man["blender_version_min"] == "4.2.0"
    assert "linux-x64" in man["platforms"]
    wheels = [w.removeprefix("./") for w in man["wheels"]]
    assert all(w in names for w in wheels)
    stems = {Path(w).name.split("-")[0].lower() for w in wheels}
    assert {"pyyaml", "pillow", "trimesh"} <= stems and "numpy" not in stems   # numpy ships with Blender
    assert "ui/operators.py" in names and "engine/scene.py" in names and "__version__" in init
    assert not any("__pycache__" in n or n.startswith("_vendor/") for n in names)
    with zipfile.ZipFile(legacy) as z:
        lnames = z.namelist()
        linit = z.read("synthblend/__init__.py").decode()
    assert all(n.startswith("synthblend/") for n in lnames)
    assert "bl_info" in linit and "synthblend/_vendor/trimesh/__init__.py" in lnames
    assert "synthblend/blender_manifest.toml" not in lnames


def test_build_is_deterministic(dist, tmp_path):
    again = build_zips(tmp_path)
    for a, b in zip(dist, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_extension_installs_enables_and_runs_headless(run):
    r = run["r"]
    assert r["addons"] == ["bl_ext.user_default.synthblend"]
    assert r["operator_module"].startswith("bl_ext.user_default.synthblend.")
    assert r["settings"] == ["output_dir", "frames", "seed", "config_path"]
    assert r["loaded"]["frames"] == 5 and r["loaded"]["seed"] == 21 and r["loaded"]["n_objects"] == 2
    assert r["loaded"]["resolution"] == [64, 48]
    assert np.linalg.norm(np.subtract(*r["randomize_cameras"])) > 1e-3 and r["preview_frame"] == 2
    assert r["generated_objects"] > 0
    assert r["render_result"] == ["FINISHED"] and not r["is_rendering"]
    assert r["status"].startswith("Done: 2 frame(s)")
    assert r["after_clear"] == {"generated": False, "camera": "Camera"}


def test_saved_file_without_targets_collection_randomizes(run):
    """A saved .blend with a mesh and no 'Synthblend Targets' collection: Randomize labels the Cube
    as scene context (category 0) and says how, instead of failing."""
    assert run["r"]["context_status"].endswith(
        "; no 'Synthblend Targets' collection: the file's 1 mesh(es) are scene context (category 0)")


def test_errors_are_the_cli_messages(run):
    bad = run["args"]["bad_config"]
    assert f"error: {bad}:2: render.samples: must be >= 1, got 0" in run["r"]["bad_config_error"]


def test_every_value_form_survives_the_panel(run):
    assert run["r"]["rich_identity_equal"]
    a, b = ([line for line in Path(run["args"][k]).read_text().splitlines() if not line.startswith("#")]
            for k in ("saved_config", "saved_config2"))
    assert a == b                                    # load -> save is a fixed point


def test_config_naming_another_blend_opens_it(run):
    r = run["r"]["reopened"]
    assert Path(r["file"]) == Path(run["args"]["blend"])
    assert r["seed"] == 5 and r["frames"] == 2


def test_saved_config_renders_the_gui_dataset_with_the_cli(run):
    from synthblend.dataset.verify import format_report, verify_dataset

    gui = Path(run["args"]["out"])
    saved = Path(run["args"]["saved_config"])
    text = saved.read_text()
    assert "blend: user_scene.blend" in text and "seed: 5" in text and "uniform: [1.7, 2.1]" in text
    cli = run["tmp"] / "cli_ds"
    p = subprocess.run([sys.executable, "-m", "synthblend", "render", str(saved), "--out", str(cli), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert_same_dataset(gui, cli)
    cube = next(o for o in meta(gui, 0)["objects"] if o["asset"] == "blend:Cube")
    assert cube["category"] == "box"
    report = verify_dataset(gui)
    assert report.passed, format_report(report)
