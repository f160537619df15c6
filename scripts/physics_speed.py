"""Placement time per frame of ``placement: physics`` (the Bullet drop and settle alone, pure core, one
process = one core), for the benchmark table (scripts/bench.py) and by hand:

    python scripts/physics_speed.py CONFIG.yaml [--frames 5]        # seconds per frame, median
    python scripts/physics_speed.py --objects 10 20 50 200          # a built-in tote scene per count

:func:`placement_seconds` samples each frame's features in order and times only the placement
feature's ``sample`` (the settle; first-time shape work, e.g. a CoACD decomposition, is paid in a
warm-up frame and reported apart). Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def placement_seconds(config, frames, warmup: int = 1) -> dict:
    """{"warmup_s": [...], "frame_s": [...], "simulated_s": [...], "objects": [...]} for ``frames``
    (an iterable of frame indices) of a loaded Config; the first ``warmup`` frames are timed apart."""
    from synthblend.core.features import FEATURES, SampleContext

    out = {"warmup_s": [], "frame_s": [], "simulated_s": [], "objects": []}
    for n, i in enumerate(frames):
        ctx = SampleContext(config, config.seed, i)
        for f in FEATURES:
            if f.__name__.endswith(".placement"):
                t = time.perf_counter()
                f.sample(ctx)
                dt = time.perf_counter() - t
            else:
                f.sample(ctx)
        out["warmup_s" if n < warmup else "frame_s"].append(dt)
        if n >= warmup:
            out["simulated_s"].append(ctx.spec.placement["simulated_s"])
            out["objects"].append(len(ctx.spec.placement["drop_poses"]))
    return out


def tote_config(n: int):
    """``n`` mixed primitives (cubes, cylinders, spheres, cones, 4-6 cm) dropped into a 40 x 30 cm bin
    (larger bins for more objects), ground 2 m."""
    from synthblend.core.config import config_from_dict

    side = 0.4 * max(1.0, (n / 20.0) ** 0.5)
    shapes = ["cube", "cylinder", "sphere", "cone"]
    objs = [{"primitive": s, "count": n // 4 + (k < n % 4), "scale": {"uniform": [0.04, 0.06]},
             "rotation": "uniform_so3"} for k, s in enumerate(shapes)]
    return config_from_dict({
        "seed": 1, "frames": 10,
        "scene": {"objects": objs, "ground": {"size": 4}, "placement": "physics",
                  "supports": [{"type": "bin", "name": "tote", "inner_size": [side, side * 0.75],
                                "wall_height": 0.15, "wall_thickness": 0.01}],
                  "physics": {"into": "tote"}},
    })


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="?")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--objects", type=int, nargs="*", default=[10, 20, 50])
    a = ap.parse_args(argv)
    if a.config:
        from synthblend.core.config import load_config
        runs = [(a.config, load_config(a.config))]
    else:
        runs = [(f"tote, {n} objects", tote_config(n)) for n in a.objects]
    for label, cfg in runs:
        r = placement_seconds(cfg, range(a.frames + 1))
        print(f"{label}: placement {statistics.median(r['frame_s']):.3f} s/frame median "
              f"(min {min(r['frame_s']):.3f}, max {max(r['frame_s']):.3f}; warm-up {r['warmup_s'][0]:.3f} s), "
              f"simulated {statistics.median(r['simulated_s']):.2f} s, {statistics.median(r['objects']):.0f} objects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
