#!/usr/bin/env python3
"""Overheads: time to the first frame beyond ``import bpy``, and per-frame work outside Cycles.

    python scripts/bench_overhead.py --out /tmp/bo                                  # 320x240, 640x480
    python scripts/bench_overhead.py --out /tmp/bo --resolutions 1280x720 1920x1080 --samples 8

For each resolution a fresh process renders the demo scene (scene_assets/demo.yaml, its samples and
denoising left to ``--quality``, default standard; ``--samples`` overrides) through synthblend's own
worker (engine/worker.py: the frame path every runner uses): one warm-up frame, then ``--frames``
timed frames. Each frame is split into

* ``sample``, ``apply``: drawing the FrameSpec, setting the scene (the worker's stages);
* ``cycles``: Blender's render_pre .. render_post handlers (sync, path tracing, denoising);
* ``exr_write``: render_post to the end of ``bpy.ops.render.render`` (Blender writes the scratch EXR);
* ``exr_decode``: reading the scratch EXR and converting colour to 8-bit sRGB (engine/render.decode);
* ``outputs``: the outputs and the meta computed from the passes (the worker's ``decode`` stage);
* ``write``: encoding PNG/EXR files and the meta JSON (the worker's ``write`` stage);

and reports the median milliseconds of each and the share of the whole frame that is *not* Cycles.
Start-up: the process's time to import bpy, import synthblend and load the config, build the scene
(``FrameRenderer``) and render the first frame; plus, through the CLI (``synthblend render``,
whole process, as a user runs it), ``first_frame_seconds`` of ``logs/runs.jsonl`` minus a bare
``python -c "import bpy"``. The instrumentation (two handlers, one wrapped function) is the bench's own.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "scene_assets"
STAGES = ("sample", "apply", "cycles", "exr_write", "exr_decode", "outputs", "write")


def demo_config(resolution, quality: str, samples: int | None, frames: int) -> dict:
    raw = yaml.safe_load((ASSETS / "demo.yaml").read_text())
    raw["frames"] = frames
    raw["render"] = {"resolution": list(resolution), "quality": quality,
                     "outputs": ["rgb", "depth", "instance", "semantic"]}
    if samples:
        raw["render"]["samples"] = samples
    return raw


def driver(job_path: str) -> None:
    t_start = time.perf_counter()
    import bpy
    t_bpy = time.perf_counter()
    from synthblend.core.config import config_from_dict
    from synthblend.engine import render as render_mod
    from synthblend.engine.worker import FrameRenderer

    job = json.loads(Path(job_path).read_text())
    cfg = config_from_dict(job["config"], base_dir=ASSETS)
    t_cfg = time.perf_counter()
    marks: dict = {}

    @bpy.app.handlers.persistent             # survives the worker's read_factory_settings
    def pre(*_):
        marks["pre"] = time.perf_counter()

    @bpy.app.handlers.persistent
    def post(*_):
        marks["post"] = time.perf_counter()
    bpy.app.handlers.render_pre.append(pre)
    bpy.app.handlers.render_post.append(post)
    decode = render_mod.decode

    def timed_decode(path, want_rgb=True):
        marks["decode0"] = time.perf_counter()
        try:
            return decode(path, want_rgb)
        finally:
            marks["decode1"] = time.perf_counter()
    render_mod.decode = timed_decode
    r = FrameRenderer(cfg, job["out"])
    t_build = time.perf_counter()
    rows = []
    for frame in range(job["frames"] + 1):
        st = r.render_frame(frame)
        cyc = marks["post"] - marks["pre"]
        dec = marks["decode1"] - marks["decode0"]
        row = {"sample": st["sample"], "apply": st["apply"], "cycles": cyc,
               "exr_write": marks["decode0"] - marks["post"], "exr_decode": dec,
               "outputs": st["decode"], "write": st["write"],
               "render_stage": st["render"], "frame": sum(st.values())}
        if frame == 0:
            first = time.perf_counter() - t_start
        else:
            rows.append(row)
    r.close()
    print("RESULT " + json.dumps({"import_bpy": t_bpy - t_start, "import_and_config": t_cfg - t_bpy,
                                  "build": t_build - t_cfg, "first_frame": first, "rows": rows}))


def run_job(job: dict, d: Path) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    (d / "job.json").write_text(json.dumps(job))
    p = subprocess.run([sys.executable, __file__, "--driver", str(d / "job.json")], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"bench_overhead: driver failed:\n{p.stdout[-1500:]}\n{p.stderr[-3000:]}")


def cli_first_frame(cfg: dict, d: Path) -> tuple[float, float]:
    """(whole-process seconds, first_frame_seconds) of ``synthblend render`` of one frame."""
    d.mkdir(parents=True, exist_ok=True)
    raw = dict(cfg, frames=1)
    p = d / "cfg.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    # paths of demo.yaml are relative to scene_assets: run a copy that sits there
    cp = ASSETS / f".bench_overhead_{d.name}.yaml"
    cp.write_text(p.read_text())
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "synthblend", "render", str(cp), "--out", str(d / "out"), "--quiet",
                        "--overwrite"], check=True, capture_output=True)
        wall = time.perf_counter() - t
    finally:
        cp.unlink()
    line = (d / "out" / "logs" / "runs.jsonl").read_text().splitlines()[-1]
    return wall, json.loads(line)["first_frame_seconds"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resolutions", nargs="+", default=["320x240", "640x480"])
    ap.add_argument("--quality", default="standard")
    ap.add_argument("--samples", type=int, default=None, help="override the preset's samples")
    ap.add_argument("--frames", type=int, default=3, help="timed frames per resolution (after one warm-up)")
    ap.add_argument("--startup-runs", type=int, default=3, help="CLI runs for the time to the first frame")
    a = ap.parse_args(argv)
    out: dict = {"quality": a.quality, "samples": a.samples, "resolutions": {}}
    for res in a.resolutions:
        W, H = (int(v) for v in res.split("x"))
        cfg = demo_config((W, H), a.quality, a.samples, a.frames + 1)
        r = run_job({"config": cfg, "frames": a.frames, "out": str(a.out / f"ds_{res}")}, a.out / f"job_{res}")
        med = {k: statistics.median(row[k] for row in r["rows"]) for k in (*STAGES, "frame")}
        keys = ("import_bpy", "import_and_config", "build", "first_frame")
        out["resolutions"][res] = {"median_s": med, "startup": {k: r[k] for k in keys}}
    imp = [float(subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import bpy; "
                                 "print(time.perf_counter() - t)"], capture_output=True, text=True).stdout)
           for _ in range(a.startup_runs)]
    cli = [cli_first_frame(demo_config((320, 240), a.quality, a.samples, 1), a.out / f"cli{k}")
           for k in range(a.startup_runs)]
    out["cli"] = {"import_bpy_s": statistics.median(imp), "wall_s": statistics.median(c[0] for c in cli),
                  "first_frame_s": statistics.median(c[1] for c in cli)}
    (a.out / "overhead.json").write_text(json.dumps(out, indent=2))
    label = f"quality {a.quality}" + (f", {a.samples} samples" if a.samples else "")
    print(f"per-frame stages, demo scene, {label}, median of {a.frames} frames (ms; % of the frame)")
    print(f"{'resolution':>10} " + " ".join(f"{s:>10}" for s in STAGES) + f" {'frame':>9} {'not Cycles':>10}")
    for res, v in out["resolutions"].items():
        m = v["median_s"]
        other = m["frame"] - m["cycles"]
        print(f"{res:>10} " + " ".join(f"{1000 * m[s]:10.1f}" for s in STAGES)
              + f" {1000 * m['frame']:9.0f} {100 * other / m['frame']:9.2f}%")
    print("\nstart-up in the bench's process (s): " + "; ".join(
        f"{res}: import bpy {v['startup']['import_bpy']:.2f}, "
        f"synthblend+config {v['startup']['import_and_config']:.2f}, "
        f"build {v['startup']['build']:.2f}, first frame written at {v['startup']['first_frame']:.2f}"
        for res, v in out["resolutions"].items()))
    c = out["cli"]
    print(f"CLI, 320x240, 1 frame, median of {a.startup_runs}: whole process {c['wall_s']:.2f} s, first frame "
          f"written {c['first_frame_s']:.2f} s after start; bare import bpy {c['import_bpy_s']:.2f} s "
          f"-> {c['first_frame_s'] - c['import_bpy_s']:.2f} s beyond import bpy (the first frame's render included)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--driver":
        driver(sys.argv[2])
    else:
        raise SystemExit(main())
