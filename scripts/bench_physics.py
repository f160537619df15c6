#!/usr/bin/env python3
"""Benchmark: physics placement time per frame next to the render time of the same frame.

    python scripts/bench_physics.py                        # 10, 20, 50, 200 objects; 640x480
    python scripts/bench_physics.py --counts 10 20 --frames 3 --resolution 320 240
    python scripts/bench_physics.py --no-render --json     # placement only, machine-readable

The scene: N mixed parts (mugs, rings, tubes and brackets, which are concave, and boxes and cylinders)
dropped into a tote (a static bin whose floor area grows with N, so they fit about two layers deep) and
settled by ``placement: physics``. Placement is timed inside the pure ``sample(config, seed, frame)``:
the placement feature's own call, on its own, per frame, in this process (one core; Bullet is single
threaded). Frame 0 also pays what is cached per asset (collision shapes: hulls, convex decompositions),
so it is reported apart ("first") from the median of the others ("per frame").

The same frames are then rendered in this process with the engine (``FrameRenderer``, Cycles on the
CPU, threads = all cores): ``draft`` RGB (quality draft: 16 samples, denoised, plus depth, instance and
semantic) and ground-truth-only (depth, instance, semantic: the fast path without the colour pass),
from the FrameSpecs sampled above (placement is not paid again). The render figure is the median
Cycles render stage per frame, frame 0 (scene upload) left out.

Prints a table; speed is measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "scene_assets"

# (entry, relative share of the N objects)
PARTS = [
    ({"mesh": "meshes/mug.ply", "category": "mug", "scale": 0.001}, 1),
    ({"mesh": "meshes/ring.off", "category": "ring", "scale": 0.6}, 1),
    ({"mesh": "meshes/tube.ply", "category": "tube"}, 1),
    ({"mesh": "meshes/bracket.ply", "category": "bracket"}, 1),
    ({"mesh": "meshes/box.stl", "category": "box", "scale": 0.7}, 1),
    ({"primitive": "cylinder", "category": "can", "scale": 0.045}, 1),
]


def counts_for(n: int) -> list[int]:
    """Split ``n`` objects over PARTS as evenly as possible (the first ones get the remainder)."""
    k = len(PARTS)
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def config_for(n: int, resolution, outputs, quality: str = "draft") -> dict:
    """The benchmark scene with ``n`` objects: a tote of 0.4 x 0.3 m for 20 objects, its floor area
    proportional to n, walls 0.15 m; the camera looks down into it."""
    from synthblend.core.schema import SCHEMA

    f = math.sqrt(max(n, 1) / 20.0)
    ix, iy = round(0.4 * f, 3), round(0.3 * f, 3)
    objects = [{**entry, "count": c, "rotation": "uniform_so3"} for (entry, _), c in zip(PARTS, counts_for(n),
                                                                                        strict=True) if c]
    for o in objects:
        if "mesh" in o:
            o["mesh"] = str(ASSETS / o["mesh"])
    scene = {"objects": objects, "placement": "physics", "ground": {"size": 3 * max(f, 1)},
             "supports": [{"type": "bin", "name": "tote", "category": "tote", "inner_size": [ix, iy],
                           "wall_height": 0.15, "wall_thickness": 0.01}]}
    if "physics" in SCHEMA.fields["scene"].fields:
        scene["physics"] = {"into": "tote", "drop_height": {"uniform": [0.05, 0.35]}}
    return {"seed": 1, "frames": 1000,
            "render": {"resolution": list(resolution), "quality": quality, "outputs": outputs},
            "scene": scene,
            "camera": {"look_at": [0, 0, 0.06], "distance": 1.0 * max(f, 1), "elevation_deg": 70,
                       "azimuth_deg": {"uniform": [0, 360]}},
            "lighting": {"count": 1, "type": "area", "power_w": 200, "elevation_deg": 70}}


def load(cfg: dict, folder: Path):
    import yaml

    from synthblend.core.config import load_config

    p = folder / "bench.yaml"
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return load_config(p)


SPECS: dict = {}     # frame -> its FrameSpec, sampled once: the renders reuse it (same scene, same draws)


def time_placement(config, frames: int) -> dict:
    """Seconds of the placement feature inside ``sample`` for frames 0..frames-1 (and objects left)."""
    from synthblend.core.features import placement
    from synthblend.core.sampling import sample
    from synthblend.core.spec import ObjectKind

    times: list[float] = []
    orig = placement.sample

    def timed(ctx):
        t = time.perf_counter()
        orig(ctx)
        times.append(time.perf_counter() - t)

    placement.sample = timed
    kept = []
    try:
        for i in range(frames):
            spec = sample(config, config.seed, i)
            SPECS[i] = spec
            kept.append(sum(o.kind is ObjectKind.OBJECT for o in spec.objects))
    finally:
        placement.sample = orig
    return {"first": times[0], "per_frame": statistics.median(times[1:]) if len(times) > 1 else times[0],
            "all": times, "objects_kept": kept}


def time_render(config, folder: Path, frames: int) -> float:
    """Median Cycles render stage (s) per frame of frames 1..frames-1, rendered in this process."""
    import copy

    from synthblend.engine import worker
    from synthblend.engine.worker import FrameRenderer

    worker.sample = lambda _config, _seed, frame: copy.deepcopy(SPECS[frame])   # placement timed already
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)                 # Blender's "Saved: ..." lines: not part of the table
    try:
        r = FrameRenderer(config, folder)
        try:
            stages = [r.render_frame(i) for i in range(frames)]
        finally:
            r.close()
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)
    rest = stages[1:] or stages
    return statistics.median(s["render"] for s in rest)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[10, 20, 50, 200])
    ap.add_argument("--frames", type=int, default=4, help="frames per count (frame 0 reported apart)")
    ap.add_argument("--resolution", type=int, nargs=2, default=[640, 480])
    ap.add_argument("--no-render", action="store_true", help="placement only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_physics_") as tmp:
        tmp = Path(tmp)
        for n in args.counts:
            SPECS.clear()
            d = tmp / f"n{n}"
            d.mkdir()
            cfg = config_for(n, args.resolution, ["rgb", "depth", "instance", "semantic"])
            config = load(cfg, d)
            row = {"objects": n, **time_placement(config, args.frames)}
            if not args.no_render:
                row["render_draft_rgb"] = time_render(config, d / "rgb", args.frames)
                gt = load(config_for(n, args.resolution, ["depth", "instance", "semantic"]), d)
                row["render_gt_only"] = time_render(gt, d / "gt", args.frames)
            rows.append(row)
            print(f"  {n} objects done", file=sys.stderr, flush=True)
    meta = {"cpus": os.cpu_count(), "resolution": args.resolution, "frames": args.frames,
            "load_1min": os.getloadavg()[0]}
    if args.json:
        print(json.dumps({"machine": meta, "rows": rows}, indent=1))
        return 0
    print(f"physics placement vs render, {args.resolution[0]}x{args.resolution[1]}, {meta['cpus']} CPUs, "
          f"{args.frames} frames per count (load average {meta['load_1min']:.1f} at the end)")
    head = "| objects | kept (min-max) | placement, first frame s | placement s/frame |"
    sep = "|---:|---:|---:|---:|"
    if not args.no_render:
        head += " render draft RGB s/frame | render GT-only s/frame |"
        sep += "---:|---:|"
    print(head)
    print(sep)
    for r in rows:
        line = (f"| {r['objects']} | {min(r['objects_kept'])}-{max(r['objects_kept'])} | {r['first']:.3f} | "
                f"{r['per_frame']:.3f} |")
        if not args.no_render:
            line += f" {r['render_draft_rgb']:.3f} | {r['render_gt_only']:.3f} |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
