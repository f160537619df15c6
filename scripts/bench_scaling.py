#!/usr/bin/env python3
"""Processes x threads: frames/s of ``synthblend render --workers W --threads T`` for a few splits.

    python scripts/bench_scaling.py --out /tmp/bs                       # 1x2, 2x1 on 2 cores
    python scripts/bench_scaling.py --out /tmp/bs --splits 1x16 2x8 4x4 8x2 16x1

The scene is scripts/bench.py's (5 meshes on a ground plane, one point light; 320x240, 16 samples,
no denoising by default). Every split renders the same ``--frames`` frames through the CLI, whole
process (python start to exit); the splits are interleaved ``--repeat`` times and the median is kept.
Per split it prints frames/s (whole process and from the first written frame on, i.e. without
start-up), the speed-up over the first split, the CPU seconds per frame (user + system of the process
tree: more CPU per frame for the same frames means the cores are busy with something other than
path tracing, e.g. spinning threads or a memory-bound slowdown), and the start-up (time to the first
frame beyond the frame's own render). On a machine shared with other work the scheduler gives more
processes a bigger share of the CPU, so a split's ratio measured beside other load overstates it:
compare CPU seconds per frame too.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import write_scene  # noqa: E402  (scripts/bench.py: the same scene)

WRAP = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
        "w = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([r.returncode, w, u.ru_utime + u.ru_stime, r.stderr[-2000:]]))")


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the process tree) of one command."""
    p = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True)
    rc, wall, cpu, err = json.loads(p.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"bench_scaling: failed ({rc}): {' '.join(cmd)}\n{err}")
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--splits", nargs="+", default=["1x2", "2x1"], help="WORKERSxTHREADS")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--resolution", type=int, nargs=2, default=[320, 240])
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    _, cfg, _ = write_scene(a.out, SimpleNamespace(frames=a.frames, resolution=a.resolution, samples=a.samples,
                                                   device="cpu"))
    res: dict = {s: {"wall": [], "cpu": [], "first": [], "render": []} for s in a.splits}
    for k in range(a.repeat):
        for s in a.splits:
            w, t = s.split("x")
            out = a.out / f"run_{s}"
            wall, cpu = timed([sys.executable, "-m", "synthblend", "render", str(cfg), "--out", str(out),
                               "--workers", w, "--threads", t, "--quiet", "--overwrite"])
            line = json.loads((out / "logs" / "runs.jsonl").read_text().splitlines()[-1])
            res[s]["wall"].append(wall)
            res[s]["cpu"].append(cpu)
            res[s]["first"].append(line.get("first_frame_seconds") or float("nan"))
            res[s]["render"].append(line["stage_seconds"]["render"] / a.frames)
            print(f"  run {k} {s}: {wall:.2f} s, CPU {cpu:.1f} s", flush=True)
    base = statistics.median(res[a.splits[0]]["wall"])
    print(f"\n{a.frames} frames {a.resolution[0]}x{a.resolution[1]}, {a.samples} samples, median of {a.repeat} "
          "interleaved runs per split")
    print(f"{'split':>6} {'wall s':>8} {'frames/s':>9} {'speed-up':>9} {'f/s after 1st':>13} {'CPU s/frame':>11} "
          f"{'render s/frame/worker':>21} {'first frame s':>13}")
    table = {}
    for s, v in res.items():
        wall, first = statistics.median(v["wall"]), statistics.median(v["first"])
        w = int(s.split("x")[0])
        # frames after the first: the first frame of each worker arrives at about the same time
        steady = (a.frames - w) / max(1e-9, wall - first) if a.frames > w else float("nan")
        table[s] = {"wall_s": wall, "fps": a.frames / wall, "speedup": base / wall, "fps_after_first": steady,
                    "cpu_s_per_frame": statistics.median(v["cpu"]) / a.frames,
                    "render_s_per_frame": statistics.median(v["render"]), "first_frame_s": first}
        t = table[s]
        print(f"{s:>6} {wall:8.2f} {t['fps']:9.3f} {t['speedup']:9.3f} {steady:13.3f} {t['cpu_s_per_frame']:11.2f} "
              f"{t['render_s_per_frame']:21.2f} {first:13.2f}")
    (a.out / "bench_scaling.json").write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
