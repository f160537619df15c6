"""``synthblend sweep``: points of a grid and/or a list, one dataset per point, sweep.json, preview,
resume; sweep-file errors exit 2 with ``error: <file>: <key>: <what>`` and write nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import load_meta, run_cli, write_config
from synthblend.cli import main
from synthblend.core.errors import ConfigError
from synthblend.sweep import assign_names, caption, load_sweep, point_name, value_text

BASE = {
    "seed": 3,
    "frames": 5,
    "render": {"resolution": [64, 48], "samples": 1},
    "scene": {
        "objects": [
            {"primitive": "cube", "scale": 0.3, "position": [0, 0, 0.2],
             "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 90]]}}},
            {"primitive": "sphere", "count": {"randint": [1, 2]}, "scale": 0.2,
             "position": {"uniform": [[-0.3, -0.3, 0.15], [0.3, 0.3, 0.3]]}},
        ],
        "ground": {"size": 4},
    },
    "camera": {"distance": 2, "elevation_deg": 35, "azimuth_deg": {"uniform": [0, 360]}},
    "lighting": {"count": 1, "type": "point"},
}
GRID = {
    "camera.focal_length_mm": [30, 50],
    "lighting.power_w": [{"uniform": [50, 100]}, {"uniform": [800, 1000]}],
}
POWER = {"uniform-50-100": (50, 100), "uniform-800-1000": (800, 1000)}


def write_sweep(d: Path, sweep: dict, base: dict = BASE) -> Path:
    write_config(d / "scene.yaml", base)
    p = d / "sweep.yaml"
    p.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return p


# ------------------------------------------------------------------------------------ no render


def test_grid_and_points_make_the_right_points(tmp_path):
    p = write_sweep(tmp_path, {"base": "scene.yaml", "frames": 2, "grid": GRID,
                               "points": [{"render.samples": 2, "scene.objects[0].scale": 0.25}]})
    s = load_sweep(p)
    assert [pt.name for pt in s.points] == [
        "camera.focal_length_mm=30,lighting.power_w=uniform-50-100",
        "camera.focal_length_mm=30,lighting.power_w=uniform-800-1000",
        "camera.focal_length_mm=50,lighting.power_w=uniform-50-100",
        "camera.focal_length_mm=50,lighting.power_w=uniform-800-1000",
        "render.samples=2,scene.objects.0.scale=0.25",
    ]
    assert s.points[1].overrides == {"camera.focal_length_mm": 30, "lighting.power_w": {"uniform": [800, 1000]}}
    for pt in s.points:
        assert pt.config.frames == 2
        for k, v in pt.overrides.items():
            node = pt.config.data
            for part in k.replace("[", ".").replace("]", "").split("."):
                node = node[int(part)] if part.isdigit() else node[part]
            assert node == v
    assert s.points[4].config.data["scene"]["objects"][0]["scale"] == 0.25
    assert len({pt.config.identity() for pt in s.points}) == 5
    # --frames wins over the sweep's frames; the base config's frames are the default
    assert load_sweep(p, frames=4).points[0].config.frames == 4
    p2 = write_sweep(tmp_path, {"base": "scene.yaml", "grid": {"camera.focal_length_mm": [30]}})
    assert load_sweep(p2).points[0].config.frames == BASE["frames"]


def test_point_names_are_readable_safe_and_unique():
    assert point_name({}) == "base"
    assert point_name({"a.b": 0.5, "c": True}) == "a.b=0.5,c=true"
    assert point_name({"camera.look_at": [0, 0, 0.1]}) == "camera.look_at=0-0-0.1"
    assert point_name({"materials.texture": {"choice": ["none", "noise"]}}) == \
        "materials.texture=choice-none-noise"
    assert point_name({"x": "a/b c"}) == "x=a_b_c"
    assert "/" not in point_name({"x": "../../etc"}) and ".." not in point_name({"x": "../../etc"})
    names = assign_names([{"x": "a/b"}, {"x": "a b"}, {"x": "q" * 200}, {"y": 1}])
    assert names[0].startswith("p000_") and names[1].startswith("p001_")
    assert names[2].startswith("p002_") and len(names[2]) <= 120
    assert names[3] == "y=1"
    assert len(set(names)) == 4
    assert value_text(1e-05) == "1e-05" and value_text(None) == "null"
    assert caption({"lighting.power_w": {"uniform": [50, 100]}}) == "lighting.power_w: {uniform: [50, 100]}"


@pytest.mark.parametrize("sweep, key, what", [
    ({"base": "scene.yaml", "grdi": GRID}, "grdi", "did you mean 'grid'"),
    ({"grid": GRID}, "base", "missing required key"),
    ({"base": "nope.yaml", "grid": GRID}, "base", "file not found"),
    ({"base": "scene.yaml", "frames": 0, "grid": GRID}, "frames", "between 1 and"),
    ({"base": "scene.yaml", "grid": {"camera.focal_length_mm": 30}}, "grid.camera.focal_length_mm",
     "non-empty list"),
    ({"base": "scene.yaml", "grid": {"camera..focal": [1]}}, "grid.camera..focal", "not a config path"),
    ({"base": "scene.yaml", "grid": {}}, "grid", "grid and/or a list of points"),
    ({"base": "scene.yaml", "points": [5]}, "points[0]", "expected a mapping"),
    ({"base": "scene.yaml", "points": [{"seed": 1}, {"seed": 1}]}, "points[1]", "listed twice"),
    ({"base": "scene.yaml", "grid": {"camera.focal_length_mm": [30, -5]}}, "grid",
     "point camera.focal_length_mm=-5 makes an invalid config: camera.focal_length_mm:"),
    ({"base": "scene.yaml", "points": [{"camera.focal_lenght_mm": 30}]}, "points[0]",
     "point camera.focal_lenght_mm=30 makes an invalid config: camera.focal_lenght_mm: unknown key"),
    ({"base": "scene.yaml", "points": [{"scene.objects[7].scale": 1}]}, "points[0]", "out of range"),
])
def test_sweep_file_errors_exit_2_naming_file_key_and_point(tmp_path, capsys, sweep, key, what):
    p = write_sweep(tmp_path, sweep)
    with pytest.raises(ConfigError) as e:
        load_sweep(p)
    assert e.value.key == key
    assert what in e.value.what
    out = tmp_path / "out"
    assert main(["sweep", str(p), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {p}") and f": {key}: " in err and what in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_sweep_file_syntax_error_and_non_sweep_folder(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("base: scene.yaml\ngrid: [\n")
    assert main(["sweep", str(p), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {p}:")
    good = write_sweep(tmp_path, {"base": "scene.yaml", "grid": {"camera.focal_length_mm": [30]}})
    other = tmp_path / "not_a_sweep"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["sweep", str(good), "--out", str(other)]) == 2
    assert "holds no synthblend sweep" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


class FakeRender:
    """Stands in for ``api.render_dataset``: records each call, makes the folder, returns a summary;
    ``failed`` frames per call index; ``sigint_at``: the call during which Ctrl-C arrives."""

    def __init__(self, failed=None, sigint_at=None):
        self.calls, self.failed, self.sigint_at = [], failed or {}, sigint_at

    def __call__(self, config, out, **kw):
        from synthblend.api import RenderSummary

        k = len(self.calls)
        self.calls.append((config, Path(out), kw))
        Path(out).mkdir(parents=True, exist_ok=True)
        if k == self.sigint_at:
            os.kill(os.getpid(), signal.SIGINT)      # the sweep's handler: finish this point, start no other
        failed = {f: "boom" for f in self.failed.get(k, [])}
        return RenderSummary(Path(out), config.frames, rendered=[i for i in range(config.frames) if i not in failed],
                             failed=failed, wall_seconds=0.5)


FOCAL3 = {"camera.focal_length_mm": [30, 40, 50]}


def test_ctrl_c_between_points_stops_the_sweep_with_130_and_a_resume_hint(tmp_path, capsys, monkeypatch):
    import synthblend.api

    fake = FakeRender(sigint_at=0)
    monkeypatch.setattr(synthblend.api, "render_dataset", fake)
    p = write_sweep(tmp_path, {"base": "scene.yaml", "frames": 2, "grid": FOCAL3})
    out = tmp_path / "out"
    before = signal.getsignal(signal.SIGINT)
    assert main(["sweep", str(p), "--out", str(out), "--seed", "7", "--threads", "3"]) == 130
    assert signal.getsignal(signal.SIGINT) is before
    assert [c[1] for c in fake.calls] == [out / "camera.focal_length_mm=30"]
    cfg, _, kw = fake.calls[0]
    assert cfg.frames == 2 and cfg.data["camera"]["focal_length_mm"] == 30
    assert kw == {"seed": 7, "workers": 1, "shard": None, "resume": False, "overwrite": False, "backend": "local",
                  "ray_address": None, "threads": 3, "gpu_ids": None, "progress": True, "in_process": True}
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"sweep {p}: 3 point(s) into {out}",
        "[1/3] camera.focal_length_mm=30",
        f"    2 frame(s) rendered, 0 already there, 0 failed, 0.5 s -> {out / 'camera.focal_length_mm=30'}",
        f"sweep: 2 frame(s) rendered; 1 of 3 point(s) complete; points listed in {out / 'sweep.json'}; "
        f"preview: {out / 'preview.png'}",
        f"interrupted: finished frames are kept; complete the sweep with "
        f"`synthblend sweep {p} --out {out} --resume`",
    ]
    info = json.loads((out / "sweep.json").read_text())
    assert info["format"] == {"name": "synthblend-sweep", "version": 1} and info["frames"] == 2
    assert [pt["dir"] for pt in info["points"]] == [f"camera.focal_length_mm={f}" for f in (30, 40, 50)]
    assert (out / "preview.png").is_file()


def test_failed_frames_exit_1_naming_the_points_and_options_reach_every_point(tmp_path, capsys, monkeypatch):
    import synthblend.api

    fake = FakeRender(failed={1: [0, 1]})
    monkeypatch.setattr(synthblend.api, "render_dataset", fake)
    p = write_sweep(tmp_path, {"base": "scene.yaml", "frames": 2, "grid": FOCAL3})
    out = tmp_path / "out"
    argv = ["sweep", str(p), "--out", str(out), "--quiet", "--workers", "2", "--shard", "1/2", "--gpu-ids", "0,1",
            "--resume"]
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: frames failed in 1 point(s): camera.focal_length_mm=40 (2); details in {out}/<point>/logs"]
    assert len(fake.calls) == 3
    for _, _, kw in fake.calls:
        assert (kw["workers"], kw["shard"], kw["gpu_ids"], kw["resume"], kw["progress"]) == (2, (1, 2), [0, 1],
                                                                                           True, False)
    fake.failed = {}
    assert main(argv) == 0 and capsys.readouterr().err == ""


@pytest.mark.parametrize("extra, where, what", [
    (["--workers", "0"], "--workers", "must be >= 1, got 0"),
    (["--shard", "2/2"], "--shard", "need 0 <= K < N"),
    (["--gpu-ids", "a,b"], "--gpu-ids", "expected comma-separated integers"),
])
def test_bad_render_options_exit_2_before_anything_is_written(tmp_path, capsys, monkeypatch, extra, where, what):
    import synthblend.api

    fake = FakeRender()
    monkeypatch.setattr(synthblend.api, "render_dataset", fake)
    p = write_sweep(tmp_path, {"base": "scene.yaml", "grid": FOCAL3})
    out = tmp_path / "out"
    assert main(["sweep", str(p), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {where}: ") and what in err and len(err.splitlines()) == 1, err
    assert not out.exists() and not fake.calls


def test_sweep_package_imports_no_blender_and_no_engine():
    """The runner layer: importing the sweep package (all its modules) loads neither bpy nor the engine."""
    code = ("import sys, synthblend.sweep.load, synthblend.sweep.naming, synthblend.sweep.run, "
            "synthblend.sweep.preview; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('bpy', 'mathutils', 'bmesh') or m.startswith('synthblend.engine')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------ render


@pytest.mark.render
def test_2x2_sweep_renders_four_datasets_with_their_values_in_meta(tmp_path):
    p = write_sweep(tmp_path, {"base": "scene.yaml", "frames": 2, "grid": GRID})
    out = tmp_path / "sweep"
    r = run_cli("sweep", p, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "sweep.json").read_text())
    assert len(info["points"]) == 4
    W, _ = BASE["render"]["resolution"]
    seen = set()
    for pt in info["points"]:
        assert set(pt) >= {"name", "overrides", "dir"}
        d = out / pt["dir"]
        man = json.loads((d / "dataset.json").read_text())
        assert man["frames"] == 2 and man["seed"] == BASE["seed"]
        f = pt["overrides"]["camera.focal_length_mm"]
        lo, hi = pt["overrides"]["lighting.power_w"]["uniform"]
        assert man["config"]["camera"]["focal_length_mm"] == f
        for i in range(2):
            m = load_meta(d, i)
            assert m["camera"]["K"][0][0] == pytest.approx(f / 36.0 * W)     # K shows the focal length
            assert all(lo <= w <= hi for w in m["sampled"]["lighting.power_w"])
            for sub, ext in (("rgb", "png"), ("depth", "exr"), ("instance", "png"), ("semantic", "png")):
                assert (d / sub / f"{i:06d}.{ext}").is_file()
        seen.add((f, lo))
    assert seen == {(30, 50), (30, 800), (50, 50), (50, 800)}
    # points share the seed: the random draws they do not override are the same
    a, b = (load_meta(out / info["points"][k]["dir"], 1)["sampled"] for k in (0, 3))
    assert a["camera.azimuth_deg"] == b["camera.azimuth_deg"]

    from PIL import Image
    with Image.open(out / "preview.png") as im:
        assert im.width > 4 * W and im.height > 48

    # points resume like datasets: refused without --resume, nothing to do with it
    stamp = {q: q.stat().st_mtime_ns for q in out.glob("*/rgb/*.png")}
    r = run_cli("sweep", p, "--out", out, "--quiet")
    assert r.returncode == 2 and "--resume" in r.stderr
    r = run_cli("sweep", p, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert stamp == {q: q.stat().st_mtime_ns for q in out.glob("*/rgb/*.png")}
    # one more frame per point: --resume renders only frame 2 of each
    r = run_cli("sweep", p, "--out", out, "--resume", "--frames", 3, "--quiet")
    assert r.returncode == 0, r.stderr
    assert all(len(list((out / pt["dir"] / "meta").glob("*.json"))) == 3 for pt in info["points"])
    assert stamp == {q: q.stat().st_mtime_ns for q in stamp}
