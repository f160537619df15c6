#!/usr/bin/env python3
"""Benchmark: what a distorted lens costs per frame (Cycles' custom OSL camera + the planar-depth
conversion) against the pinhole camera, at the same image size.

    python scripts/bench_distortion.py                   # 320x240, 6 frames per run, 3 rounds, CPU
    python scripts/bench_distortion.py --json            # one JSON object
    python scripts/bench_distortion.py --resolution 640 480 --frames 8 --repeat 5

One scene (five primitives on a ground plane, random camera and poses per frame) in four lenses:
``opencv`` (k1 drawn per frame in [-0.3, -0.2], k2, p1, p2, k3) and ``opencv_fixed`` (the same model
with k1 = -0.28: one calibration, the same coefficients every frame) and ``opencv_zero`` (every
coefficient 0: the pinhole's rays through the OSL lens) against ``pinhole`` (the same K, no
``camera.distortion``), and ``fisheye`` (OpenCV fisheye, k1..k4, a 12 mm lens: fx = W / 3, past 90
degrees in the corners) and ``fisheye_drawn`` (the same with k1 drawn per frame) against
``pinhole_wide`` (the same K, no distortion), and
two modes: ``gt_only`` (depth, instance, semantic: the 1-sample ground-truth path) and ``draft``
(``render.quality: draft`` with rgb). Each run is one process rendering ``--frames`` frames through
:class:`synthblend.engine.worker.FrameRenderer` and timing every frame (its per-stage seconds); the
first frame (scene build, BVH, the OSL camera's compile and JIT) is reported apart. Runs are
interleaved (pinhole, opencv, opencv_fixed, pinhole_wide, fisheye, pinhole, ...) ``--repeat``
times; figures are medians over all frames after the first of every run, and ratios are lens /
pinhole of those medians; "ratio per round" is the median over rounds of each round's ratio (the lens's
run against its pinhole's run of the same round, minutes apart at most: slow drifts of a shared
machine cancel). On a shared machine the absolute times are noisy: read the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CHILD = r'''
import json, sys, time
from synthblend.core.config import load_config
from synthblend.engine.worker import FrameRenderer
cfg_path, out, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
fr = FrameRenderer(load_config(cfg_path), out)
build = time.perf_counter() - t0
times = []
for i in range(frames):
    t = time.perf_counter()
    st = fr.render_frame(i)
    st["frame"] = time.perf_counter() - t
    times.append(st)
fr.close()
print("BENCH " + json.dumps({"build_s": build, "frames": times}))
'''

LENSES = {
    "pinhole": None,
    "opencv": {"model": "opencv", "k1": {"uniform": [-0.3, -0.2]}, "k2": 0.08, "p1": 0.001,
               "p2": -0.001, "k3": -0.01},
    "opencv_fixed": {"model": "opencv", "k1": -0.28, "k2": 0.08, "p1": 0.001, "p2": -0.001, "k3": -0.01},
    # every coefficient 0: the pinhole's own rays and view through the OSL lens (the lens's own cost,
    # without the wider view of a barrel lens, which sees more of the scene: more to render and write)
    "opencv_zero": {"model": "opencv", "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0, "k3": 0.0},
    "pinhole_wide": None,
    "fisheye": {"model": "fisheye", "k1": -0.02, "k2": 0.003, "k3": -0.0005, "k4": 0.0001},
    "fisheye_drawn": {"model": "fisheye", "k1": {"uniform": [-0.03, -0.01]}, "k2": 0.003, "k3": -0.0005,
                      "k4": 0.0001},
}
#: what each lens is compared with: the pinhole of the same K
BASE = {"pinhole": "pinhole", "opencv": "pinhole", "opencv_fixed": "pinhole", "opencv_zero": "pinhole",
        "pinhole_wide": "pinhole_wide",
        "fisheye": "pinhole_wide", "fisheye_drawn": "pinhole_wide"}
WIDE_LENS_MM = 12.0          # fisheye and its pinhole: 12 mm on the 36 mm sensor (fx = W / 3)


def config(resolution, mode: str, lens: str) -> dict:
    W, H = resolution
    cam = {"distance": {"uniform": [2.5, 3.5]}, "elevation_deg": {"uniform": [30, 60]},
           "azimuth_deg": {"uniform": [0, 360]}}
    if LENSES[lens] is not None:
        cam["distortion"] = LENSES[lens]
    if lens in ("fisheye", "fisheye_drawn", "pinhole_wide"):
        cam["focal_length_mm"] = WIDE_LENS_MM
    render = {"resolution": [W, H], "outputs": ["depth", "instance", "semantic"]}
    if mode == "draft":
        render = {**render, "quality": "draft", "outputs": ["rgb", "depth", "instance", "semantic"]}
    objs = [{"primitive": p, "category": p, "scale": 0.35, "position": {"uniform": [[-0.6, -0.6, 0.2],
                                                                                   [0.6, 0.6, 0.2]]},
             "rotation": "uniform_so3"}
            for p in ("sphere", "cube", "cylinder", "cone", "torus")]
    return {"seed": 11, "frames": 1000, "render": render, "camera": cam,
            "scene": {"objects": objs, "ground": {"size": 30}}}


def run_child(cfg_path: Path, out: Path, frames: int) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(cfg_path), str(out), str(frames)],
                       capture_output=True, text=True, env=dict(os.environ))
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if r.returncode != 0 or line is None:
        raise SystemExit(f"bench: run failed ({r.returncode}) for {cfg_path}:\n{r.stderr[-3000:]}")
    return json.loads(line[6:])


def summarize(runs: list[dict]) -> dict:
    later = [f for r in runs for f in r["frames"][1:]]
    return {"frame_ms": 1000 * statistics.median(f["frame"] for f in later),
            "render_ms": 1000 * statistics.median(f["render"] for f in later),
            "first_frame_ms": 1000 * statistics.median(r["frames"][0]["frame"] for r in runs),
            "build_s": statistics.median(r["build_s"] for r in runs), "n_frames": len(later),
            "stages_ms": {k: 1000 * statistics.median(f[k] for f in later)
                          for k in later[0] if k != "frame"}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", type=int, nargs=2, default=[320, 240])
    ap.add_argument("--frames", type=int, default=6, help="frames per run (the first is reported apart)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--modes", nargs="+", default=["gt_only", "draft"], choices=["gt_only", "draft"])
    ap.add_argument("--lenses", nargs="+", default=list(LENSES), choices=list(LENSES))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="synthblend-bench-lens-"))
    lenses = [x for x in LENSES if x in a.lenses or x in {BASE[y] for y in a.lenses}]
    results = {"settings": {"resolution": a.resolution, "frames_per_run": a.frames, "repeat": a.repeat,
                            "cpus": os.cpu_count()}, "modes": {}}
    for mode in a.modes:
        runs = {lens: [] for lens in lenses}
        paths = {}
        for lens in lenses:
            paths[lens] = tmp / f"{mode}_{lens}.yaml"
            paths[lens].write_text(yaml.safe_dump(config(a.resolution, mode, lens), sort_keys=False))
        for k in range(a.repeat):
            for lens in lenses:
                runs[lens].append(run_child(paths[lens], tmp / f"{mode}_{lens}_{k}", a.frames))
        summ = {lens: summarize(rs) for lens, rs in runs.items()}
        for lens, s in summ.items():
            base = summ[BASE[lens]]
            s["vs"] = BASE[lens]
            s["ratio_frame"] = s["frame_ms"] / base["frame_ms"]
            s["ratio_render"] = s["render_ms"] / base["render_ms"]
            # per round: this lens's median frame over its pinhole's, run next to it (drift cancels)
            per_round = [summarize([a])["frame_ms"] / summarize([b])["frame_ms"]
                         for a, b in zip(runs[lens], runs[BASE[lens]], strict=True)]
            s["ratio_frame_rounds"] = per_round
            s["ratio_frame_round_median"] = statistics.median(per_round)
        results["modes"][mode] = summ
    if a.json:
        print(json.dumps(results, indent=2))
        return 0
    W, H = a.resolution
    print(f"distorted vs pinhole frames, {W}x{H}, {a.frames} frames/run (first apart), {a.repeat} interleaved "
          f"rounds, {os.cpu_count()} CPUs; medians")
    for mode, summ in results["modes"].items():
        print(f"  {mode}:")
        for lens, s in summ.items():
            print(f"    {lens:12s} frame {s['frame_ms']:7.1f} ms (x{s['ratio_frame']:.3f} vs {s['vs']})  render "
                  f"{s['render_ms']:7.1f} ms (x{s['ratio_render']:.3f})  first frame {s['first_frame_ms']:7.1f} ms"
                  f"  build {s['build_s']:.2f} s  [{s['n_frames']} frames]")
            print("      stages " + "  ".join(f"{k} {v:.1f}" for k, v in s["stages_ms"].items()) + " ms;  ratio per "
                  f"round x{s['ratio_frame_round_median']:.3f} (median; "
                  + " ".join(f"{r:.3f}" for r in s["ratio_frame_rounds"]) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
