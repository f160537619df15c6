"""What a stereo pair costs to sample: the left image samples the scene (physics included), the right
one reuses it (core/stereo.py). Prints per-image sampling times (medians over pairs, interleaved left,
right, left, right, ...) for a bundled config with ``camera.stereo`` added, and the ratio.

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
    left, right, mono = [], [], []
    for i in range(args.pairs):
        t0 = time.perf_counter()
        sample(cfg, cfg.seed, 2 * i)
        t1 = time.perf_counter()
        sample(cfg, cfg.seed, 2 * i + 1)
        t2 = time.perf_counter()
        sample_frame(base, base.seed, i)          # the same scene as a mono frame
        t3 = time.perf_counter()
        left.append(t1 - t0)
        right.append(t2 - t1)
        mono.append(t3 - t2)
    med = {k: statistics.median(v) for k, v in (("left", left), ("right", right), ("mono", mono))}
    print(f"config {Path(args.config).name}, {args.pairs} pairs, sampling seconds per image (median):")
    print(f"  mono frame  {med['mono']:.4f}")
    print(f"  left image  {med['left']:.4f}  ({med['left'] / med['mono']:.2f}x mono)")
    print(f"  right image {med['right']:.6f}  ({med['right'] / med['left']:.5f}x left)")


if __name__ == "__main__":
    main()
