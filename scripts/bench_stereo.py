"""What a stereo pair costs to sample: the left image samples the scene (physics included), the right
one reuses it (core/stereo.py). Prints per-image sampling times (medians over pairs: left, right, and
the mono frame of the same scene before or after them in turn, after a warm-up) for a bundled config
with ``camera.stereo`` added, and the ratios.

    python scripts/bench_stereo.py [--config scene_assets/bin_picking.yaml] [--pairs 5]

Sampling only (pure, no Blender): the render of each image is the same as a mono frame's.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "scene_assets" / "bin_picking.yaml"))
    ap.add_argument("--pairs", type=int, default=5)
    args = ap.parse_args()

    from synthblend.core.config import load_config
    from synthblend.core.sampling import sample, sample_frame

    base = load_config(args.config)
    cfg = base.override({"camera.stereo": {"baseline_m": 0.06}, "frames": 2 * args.pairs})
    sample_frame(base, base.seed, args.pairs)     # warm-up: per-asset caches (collision shapes)
    left, right, mono = [], [], []

    def timed(fn, *a):
        t = time.perf_counter()
        fn(*a)
        return time.perf_counter() - t

    for i in range(args.pairs):                   # the same scene as a mono frame i; order alternates
        if i % 2:
            mono.append(timed(sample_frame, base, base.seed, i))
        left.append(timed(sample, cfg, cfg.seed, 2 * i))
        right.append(timed(sample, cfg, cfg.seed, 2 * i + 1))
        if not i % 2:
            mono.append(timed(sample_frame, base, base.seed, i))
    med = {k: statistics.median(v) for k, v in (("left", left), ("right", right), ("mono", mono))}
    print(f"config {Path(args.config).name}, {args.pairs} pairs, sampling seconds per image (median):")
    print(f"  mono frame  {med['mono']:.4f}")
    print(f"  left image  {med['left']:.4f}  ({med['left'] / med['mono']:.2f}x mono)")
    print(f"  right image {med['right']:.6f}  ({med['right'] / med['left']:.5f}x left)")


if __name__ == "__main__":
    main()
