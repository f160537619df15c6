"""What lens distortion costs the CPU side of a frame (no render): interleaved runs, medians, ratios.

Per frame with ``camera.distortion``: the fold check of the drawn values (core/features/lens.py),
the undistorted rays of the whole image (once per K and distortion: cached, so only for drawn
coefficients), and the ground truth that casts rays (amodal masks, normals, verify's whole-image cast)
through them instead of K^-1. Printed: median seconds of each step and the distorted / pinhole ratio
of the casts, at the given resolution.

    python scripts/bench_lens_gt.py [--size 640 480] [--repeats 7]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from synthblend.core import distortion as D
from synthblend.core.groundtruth3d import _image_xy, amodal_mask
from synthblend.core.raycam import cast_camera_rays


def _sphere(n: int = 48):
    import trimesh

    m = trimesh.creation.uv_sphere(radius=0.25, count=[n, n])
    return np.asarray(m.vertices) + [0.1, -0.05, 1.2], np.asarray(m.faces)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, nargs=2, default=(640, 480))
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args(argv)
    W, H = a.size
    K = np.array([[0.9 * W, 0, (W - 1) / 2 + 3.2], [0, 0.9 * W, (H - 1) / 2 - 2.1], [0, 0, 1]])
    Kf = np.array([[0.3 * W, 0, (W - 1) / 2], [0, 0.3 * W, (H - 1) / 2], [0, 0, 1]])
    lenses = {"opencv": (K, {"model": "opencv", "k1": -0.28, "k2": 0.08, "p1": 0.001, "p2": -0.001}),
              "fisheye": (Kf, {"model": "fisheye", "k1": 0.02, "k2": -0.004, "k3": 0.0005})}
    V, F = _sphere()
    Vs, Fs = V, F
    times: dict[str, list[float]] = {}

    def timed(name, fn):
        t = time.perf_counter()
        fn()
        times.setdefault(name, []).append(time.perf_counter() - t)

    for _ in range(a.repeats):                    # interleaved: every step once per round
        for name, (k, dist) in lenses.items():
            timed(f"{name}: fold check", lambda k=k, dist=dist: D.check_invertible(k, W, H, dist))
            _image_xy.cache_clear()
            timed(f"{name}: rays of the image", lambda k=k, dist=dist: D.pixel_xy(k, 0, 0, W, H, dist))
            timed(f"{name}: whole-image cast (numpy)",
                  lambda k=k, dist=dist: cast_camera_rays(Vs, Fs, k, np.eye(4), W, H, 0.01, 100.0, "numpy", dist=dist))
            timed(f"{name}: pinhole whole-image cast (numpy)",
                  lambda k=k: cast_camera_rays(Vs, Fs, k, np.eye(4), W, H, 0.01, 100.0, "numpy"))
            _image_xy.cache_clear()
            timed(f"{name}: amodal mask, first frame of a K/distortion",
                  lambda k=k, dist=dist: amodal_mask(V, F, k, (W, H), (0.01, 100.0), dist))
            timed(f"{name}: amodal mask, cached rays",
                  lambda k=k, dist=dist: amodal_mask(V, F, k, (W, H), (0.01, 100.0), dist))
            timed(f"{name}: pinhole amodal mask", lambda k=k: amodal_mask(V, F, k, (W, H), (0.01, 100.0)))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{W}x{H}, {a.repeats} interleaved rounds, medians (a shared machine: read the ratios)")
    for k, v in med.items():
        print(f"  {k:55s} {v * 1000:8.1f} ms")
    for name in lenses:
        print(f"  {name}: whole-image cast distorted / pinhole = "
              f"{med[f'{name}: whole-image cast (numpy)'] / med[f'{name}: pinhole whole-image cast (numpy)']:.2f}; "
              f"amodal (cached rays) / pinhole = "
              f"{med[f'{name}: amodal mask, cached rays'] / med[f'{name}: pinhole amodal mask']:.2f}")


if __name__ == "__main__":
    main()
