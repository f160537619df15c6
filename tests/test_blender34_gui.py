"""The legacy add-on in Debian's Blender 3.4, in a real window under Xvfb, with a fresh user config.

One Blender session (tests/blender_drivers/gui34_driver.py) installs and enables the legacy zip, loads
a config from a temporary project (not in this repository), makes the startup file's Cube a target,
randomizes twice, saves the .blend and the config, takes screenshots of the sidebar panel and renders
a 2-frame dataset with ``render_dataset`` invoked as from the UI (modal). The tests then check it from
outside: the ground truth with the independent ray cast (``verify_dataset``), and the saved config
rendered headless by ``blender -b -P scripts/render.py`` gives the same bytes.

Needs ``blender`` and ``xvfb`` (apt), and numpy, PyYAML and Pillow in Blender's Python
(``apt-get install python3-numpy python3-yaml python3-pil``: the legacy add-on's dependency step).
Set ``SYNTHBLEND_SCREENSHOTS=docs/img`` to keep the screenshots for the README.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from addon_helpers import ROOT, assert_same_dataset, build_zips, crop, meta, write_project

BLENDER = shutil.which("blender")
XVFB_RUN = shutil.which("xvfb-run")
pytestmark = [
    pytest.mark.blender34,
    pytest.mark.skipif(not (BLENDER and XVFB_RUN and shutil.which("Xvfb")),
                       reason="needs Debian's Blender and Xvfb: apt-get install blender xvfb"),
]
DRIVER = ROOT / "tests" / "blender_drivers" / "gui34_driver.py"


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHBLEND_", "PYTHON"))}
    # Debian's blender takes its Python from the first python3.11 on PATH: a pyenv/conda one there
    # would replace the system's (and its apt packages).
    env["PATH"] = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin", env.get("PATH", "")])
    env.update(BLENDER_USER_CONFIG=str(tmp / "user_config"), BLENDER_USER_SCRIPTS=str(tmp / "user_scripts"),
               TMPDIR=str(tmp), TEMP=str(tmp))
    return env


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gui34")
    _, legacy = build_zips(tmp / "dist")
    project = tmp / "user_project"
    config = write_project(project, samples=2, resolution=(96, 72))
    startup = project / "startup.blend"       # Blender's factory scene: Cube, Light, Camera
    r = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-expr",
                        f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(startup)!r})"],
                       capture_output=True, text=True, timeout=120, env=_env(tmp))
    assert startup.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    (tmp / "shots").mkdir()
    args = {"zip": str(legacy), "config": str(config), "out": str(tmp / "gui_ds"),
            "blend": str(project / "user_scene.blend"), "saved_config": str(project / "gui.yaml"),
            "shots": str(tmp / "shots"), "result": str(tmp / "result.json"),
            "cancel_out": str(tmp / "cancelled_ds"), "context_out": str(tmp / "context_ds"),
            "context_config": str(project / "context.yaml"), "context_blend": str(project / "context.blend")}
    cmd = [XVFB_RUN, "-a", "-s", "-screen 0 1280x800x24", BLENDER, str(startup), "--enable-event-simulate",
           "--python", str(DRIVER), "--", json.dumps(args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(tmp))
    log = p.stdout[-6000:] + p.stderr[-3000:]
    assert (tmp / "result.json").exists(), f"Blender exited {p.returncode} without a result:\n{log}"
    result = json.loads((tmp / "result.json").read_text())
    assert result["ok"] and not result["errors"], "\n".join(result["errors"]) + log
    return {"tmp": tmp, "args": args, "result": result, "legacy": legacy, "log": log}


def test_legacy_zip_installs_enables_and_drives_the_gui(gui):
    r, tmp = gui["result"], gui["tmp"]
    assert Path(r["addon_file"]).is_relative_to(tmp / "user_scripts" / "addons" / "synthblend")
    assert r["missing_deps"] == [], "Blender's Python lacks " + ", ".join(r["missing_deps"])
    c0, c1 = (np.array(c) for c in r["randomize_cameras"])
    assert np.linalg.norm(c0 - c1) > 1e-3            # each press shows the next frame
    assert r["preview_frame"] == 2
    assert r["progress_seen"] == pytest.approx(1.0)   # the modal render drove the progress bar
    assert r["status"].startswith("Done: 2 frame(s)")
    steps = [s["step"] for s in r["steps"]]
    assert steps.index("render invoked") < steps.index("rendered")


def test_esc_cancels_between_frames_and_keeps_finished_frames(gui):
    status = gui["result"]["cancel_status"]
    assert status.startswith("Cancelled after "), status
    ds = gui["tmp"] / "cancelled_ds"
    done = sorted(p.stem for p in (ds / "meta").glob("*.json"))
    assert 1 <= len(done) < 40
    for sub in ("rgb", "instance", "semantic"):
        assert sorted(p.stem for p in (ds / sub).glob("*.png")) == done    # no half-written frame


def test_screenshot_shows_the_panel(gui):
    shot = gui["result"]["shots"]["panel"]
    out = gui["tmp"] / "panel_sidebar.png"
    side = crop(Path(shot["path"]), shot["sidebar"], shot["window"], out)
    assert side.shape[0] > 300 and side.shape[1] > 150
    assert side.std() > 20                          # text and widgets, not a blank region
    view = crop(Path(shot["path"]), shot["viewport"], shot["window"], gui["tmp"] / "viewport.png")
    assert view.std() > 5
    keep = os.environ.get("SYNTHBLEND_SCREENSHOTS")
    if keep:
        dest = (ROOT / keep) if not os.path.isabs(keep) else Path(keep)
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot["path"], dest / "blender34_window.png")
        shutil.copy(out, dest / "blender34_panel.png")
        done = gui["result"]["shots"]["done"]
        crop(Path(done["path"]), done["sidebar"], done["window"], dest / "blender34_panel_rendered.png")


def test_gui_dataset_ground_truth(gui):
    from synthblend.dataset.verify import format_report, verify_dataset

    ds = Path(gui["args"]["out"])
    man = json.loads((ds / "dataset.json").read_text())
    assert man["generator"]["blender"].startswith("3.4")
    assert {c["name"] for c in man["categories"]} == {"pebble", "ring", "box"}
    assert sorted(p.name for p in (ds / "rgb").iterdir()) == ["000000.png", "000001.png"]
    objs = meta(ds, 0)["objects"]
    cube = next(o for o in objs if o["asset"] == "blend:Cube")
    assert cube["category"] == "box" and cube["category_id"] > 0
    report = verify_dataset(ds)
    assert report.passed, format_report(report)


def test_users_saved_file_without_targets_collection(gui):
    """The user's saved .blend holds a mesh (the Cube) and no 'Synthblend Targets' collection:
    Randomize, Save config and Render dataset work, the Cube is scene context (category 0), the
    ground truth passes the independent ray cast and the saved config renders the same headless."""
    from synthblend.dataset.verify import format_report, verify_dataset

    r, tmp, args = gui["result"], gui["tmp"], gui["args"]
    assert r["context_status"].endswith("; no 'Synthblend Targets' collection: the file's 1 mesh(es) are "
                                        "scene context (category 0)"), r["context_status"]
    assert r["context_render"] == ["FINISHED"] and r["context_render_status"].startswith("Done: 2 frame(s)")
    ds = Path(args["context_out"])
    cube = next(o for o in meta(ds, 0)["objects"] if o["asset"] == "blend:Cube")
    assert cube["category_id"] == 0 and cube["category"] is None
    assert sum(o["px_count_visib"] for i in (0, 1) for o in meta(ds, i)["objects"] if o["asset"] == "blend:Cube") > 0
    report = verify_dataset(ds)
    assert report.passed, format_report(report)
    saved = Path(args["context_config"])
    assert "blend: context.blend" in saved.read_text()
    out = tmp / "context_cli_ds"
    p = subprocess.run([BLENDER, "-b", "-P", str(ROOT / "scripts" / "render.py"), "--", str(saved),
                        "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=180,
                       env=_env(tmp))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert_same_dataset(ds, out)


def test_saved_config_renders_the_same_dataset_headless(gui):
    """GUI settings -> YAML -> `blender -b -P scripts/render.py` -> the GUI's dataset, byte for byte."""
    tmp, args = gui["tmp"], gui["args"]
    assert gui["result"]["saved_config_path"] == args["saved_config"]
    out = tmp / "cli_ds"
    p = subprocess.run([BLENDER, "-b", "-P", str(ROOT / "scripts" / "render.py"), "--",
                        args["saved_config"], "--out", str(out), "--frames", "2", "--quiet"],
                       capture_output=True, text=True, timeout=180, env=_env(tmp))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert_same_dataset(Path(args["out"]), out)


def test_render_script_reports_bad_input_like_the_cli(gui):
    tmp = gui["tmp"]
    bad = tmp / "bad.yaml"
    bad.write_text("seed: 1\ncamera: {distanse: 3}\n")
    p = subprocess.run([BLENDER, "-b", "-P", str(ROOT / "scripts" / "render.py"), "--", str(bad),
                        "--out", str(tmp / "bad_out")], capture_output=True, text=True, timeout=120,
                       env=_env(tmp))
    assert p.returncode == 2
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}:2: camera.distanse: unknown key (did you mean 'distance'?)"], p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp / "bad_out").exists()
