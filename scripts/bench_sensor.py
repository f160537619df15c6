"""Cost of exposure, view transform and sensor noise per frame (numpy, after the render), interleaved
runs, medians: prints one line per step and its ratio to the plain sRGB conversion every colour frame
already paid before exposure existed.

    python scripts/bench_sensor.py [--res 640 480] [--runs 9]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", nargs=2, type=int, default=[640, 480])
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args(argv)
    from synthblend.core import exposure
    from synthblend.core.color import linear_to_srgb
    from synthblend.core.sensor_noise import noisy_depth, noisy_linear

    W, H = a.res
    rng = np.random.default_rng(0)
    lin = np.exp(rng.normal(-2, 1, (H, W, 3))).astype(np.float32)
    depth = np.where(rng.random((H, W)) < 0.9, rng.uniform(0.5, 4, (H, W)), 0).astype(np.float32)
    sl = {"model": "structured_light", "focal_px": 600.0, "baseline_m": 0.075, "disparity_sigma_px": 0.07,
          "disparity_step_px": 0.125, "lateral_sigma_px": 0.5, "edge_dropout": 0.5, "edge_threshold": 0.05,
          "edge_width_px": 1, "dropout": 0.0, "min_depth_m": 0.2, "max_depth_m": 10.0}
    steps = {
        "sRGB 8-bit (before: every colour frame)": lambda: np.round(linear_to_srgb(lin) * 255).astype(np.uint8),
        "auto exposure meter": lambda: exposure.meter(lin),
        "depth_noisy (structured light)": lambda: noisy_depth(depth, sl, np.random.default_rng(1)),
        "rgb_noisy noise (linear, before the view)": lambda: noisy_linear(
            lin, {"full_well_e": 10000.0, "read_noise_e": 2.0}, np.random.default_rng(1)),
    }
    try:
        import bpy  # noqa: F401
        import PyOpenColorIO  # noqa: F401

        from synthblend.engine.color_management import ViewTransform
        agx = ViewTransform("agx")
        steps["AgX view transform (OpenColorIO)"] = lambda: agx.display8(lin)
    except ImportError:
        pass
    times = {k: [] for k in steps}
    for _ in range(a.runs):                          # interleaved: each step once per round
        for k, f in steps.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    base = float(np.median(times[next(iter(steps))]))
    print(f"{W}x{H}, {a.runs} interleaved runs, medians:")
    for k, ts in times.items():
        m = float(np.median(ts))
        print(f"  {k:45s} {m * 1000:8.1f} ms  ({m / base:.2f}x the sRGB conversion)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
