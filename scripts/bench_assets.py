"""Benchmark: a library of thousands of meshes under the bounded asset cache (render.asset_cache).

Generates two libraries into a temporary folder, meshes of varied shapes, sizes and vertex counts
(drawn from one distribution: ~100 to ~20,000 vertices, 3 cm to 30 cm), and renders the same scene
(one library entry, ``choose`` assets per frame, 64x48 and 1 sample unless told, RGB and ground truth) with
each, every run in a fresh worker process (``FrameRenderer`` with one thread, as a pool worker). It
prints, per library size: the worker's peak RSS (ru_maxrss), its start-up (config load + library
listing + scene build, measured in the worker), the parent's planning cost (config load + asset
hashes, what ``synthblend render`` does before the workers start), the mean time per frame after
the first, and the assets loaded / evicted. Goals (issue 14): peak RSS of the large library at most
1.3x the small one's, start-up independent of the library size, per-frame time within 10%.

    python scripts/bench_assets.py                      # 1000 vs 10 meshes, 5 per frame, 60 frames
    python scripts/bench_assets.py --sizes 10 1000 --frames 100 --choose 5 --repeat 3 --json

Writes only into a temporary folder (removed at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def make_library(root: str, n: int, seed: int = 0) -> None:
    """``n`` binary PLY meshes in 10 category folders: icospheres, boxes, cylinders, tori and
    noisy blobs of 100 .. 20,000 vertices, 3 .. 30 cm across."""
    import numpy as np
    import trimesh

    rng = np.random.default_rng(seed)
    for k in range(n):
        kind = k % 5
        size = float(rng.uniform(0.03, 0.3))
        target = int(np.exp(rng.uniform(np.log(100), np.log(20000))))
        if kind == 0:
            sub = int(np.clip(np.round(np.log(max(target / 10, 1)) / np.log(4)), 1, 6))
            m = trimesh.creation.icosphere(subdivisions=sub, radius=size / 2)
        elif kind == 1:
            m = trimesh.creation.box(extents=rng.uniform(0.3, 1.0, 3) * size)
            m = m.subdivide_to_size(size / max(np.sqrt(target / 6), 1.0), max_iter=8)
        elif kind == 2:
            m = trimesh.creation.cylinder(radius=size / 3, height=size, sections=int(np.clip(target // 2, 8, 10000)))
        elif kind == 3:
            s = int(np.clip(np.sqrt(target), 6, 150))
            m = trimesh.creation.torus(size / 3, size / 8, major_sections=s, minor_sections=s)
        else:
            sub = int(np.clip(np.round(np.log(max(target / 10, 1)) / np.log(4)), 1, 6))
            m = trimesh.creation.icosphere(subdivisions=sub, radius=size / 2)
            m.vertices *= 1.0 + 0.2 * rng.standard_normal((len(m.vertices), 1)).clip(-2, 2)
        d = os.path.join(root, f"cat{k % 10}")
        os.makedirs(d, exist_ok=True)
        m.export(os.path.join(d, f"mesh{k:05d}.ply"))


def config(frames: int, choose: int, resolution=(64, 48), samples: int = 1) -> dict:
    return {"seed": 1, "frames": frames,
            "render": {"resolution": list(resolution), "quality": "draft", "samples": samples, "denoise": False,
                       "outputs": ["rgb", "depth", "instance", "semantic"]},
            "scene": {"objects": [{"mesh": "lib", "category": {"from": "folder"}, "choose": choose,
                                   "scale": 1.0, "rotation": "uniform_so3",
                                   "position": {"uniform": [[-0.3, -0.3, 0.05], [0.3, 0.3, 0.2]]}}],
                      "ground": {"size": 2}},
            "camera": {"distance": 1.2, "elevation_deg": 50, "azimuth_deg": {"uniform": [0, 360]}},
            "lighting": {"count": 1, "type": "sun"}}


def child(root: str, out: str, report: str) -> None:
    """The worker: load the config, build, render every frame; report RSS and times."""
    t0 = time.perf_counter()
    import resource

    from synthblend.core.config import load_config
    from synthblend.engine.worker import FrameRenderer

    cfg = load_config(os.path.join(root, "bench.yaml"))
    t_load = time.perf_counter() - t0
    renderer = FrameRenderer(cfg, out, threads=1)
    t_start = time.perf_counter() - t0
    times = []
    half_rss = 0
    for i in range(cfg.frames):
        t = time.perf_counter()
        renderer.render_frame(i)
        times.append(time.perf_counter() - t)
        if i + 1 == cfg.frames // 2:
            half_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    renderer.close()
    objs = renderer.builder.objects
    rest = times[1:] or times
    with open(report, "w") as f:
        json.dump({"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "half_rss_kb": half_rss,
                   "config_load_s": t_load, "startup_s": t_start, "first_frame_s": times[0],
                   "frame_s": sum(rest) / len(rest), "loads": objs.stats["loads"],
                   "evictions": objs.stats["evictions"], "cached": len(objs.cached),
                   "cached_mb": objs.cached_bytes / 2**20}, f)


def run_one(n: int, frames: int, choose: int, tmp: str, cache: dict | None, resolution, samples) -> dict:
    import yaml

    root = os.path.join(tmp, f"lib{n}")
    if not os.path.isdir(os.path.join(root, "lib")):
        make_library(os.path.join(root, "lib"), n)
    raw = config(frames, choose, resolution, samples)
    if cache:
        raw["render"]["asset_cache"] = cache
    with open(os.path.join(root, "bench.yaml"), "w") as f:
        yaml.safe_dump(raw, f)
    from synthblend.core.config import load_config  # the parent's planning: load + asset hashes
    t = time.perf_counter()
    cfg = load_config(os.path.join(root, "bench.yaml"))
    n_hashed = len(cfg.asset_hashes())
    plan_s = time.perf_counter() - t
    report = os.path.join(root, "report.json")
    out = tempfile.mkdtemp(prefix="ds-", dir=root)          # a fresh dataset folder per run
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", root, out, report],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise SystemExit(f"worker for {n} meshes failed:\n{p.stderr.decode(errors='replace')[-3000:]}")
    with open(report) as f:
        r = json.load(f)
    r.update(meshes=n, plan_s=plan_s, hashed=n_hashed, frames=frames)
    return r


def _median(reports: list[dict]) -> dict:
    """Per number, the median over repeated runs (the first run's other fields)."""
    import statistics

    out = dict(reports[0])
    for k, v in out.items():
        if isinstance(v, int) and not isinstance(v, bool):
            out[k] = statistics.median_low(r[k] for r in reports)
        elif isinstance(v, float):
            out[k] = statistics.median(r[k] for r in reports)
    out["runs"] = len(reports)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 1000], help="library sizes (default 10 1000)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--choose", type=int, default=5, help="assets per frame")
    ap.add_argument("--resolution", type=int, nargs=2, default=[64, 48], metavar=("W", "H"))
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--max-assets", type=int, help="render.asset_cache.max_assets (default: the schema's)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size, interleaved; medians are printed")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child(*a.child)
        return 0
    cache = {"max_assets": a.max_assets} if a.max_assets else None
    with tempfile.TemporaryDirectory(prefix="synthblend-bench-assets-") as tmp:
        runs = {n: [] for n in sorted(set(a.sizes))}
        for _ in range(a.repeat):              # interleaved, so a busy spell hits both sizes
            for n in runs:
                runs[n].append(run_one(n, a.frames, a.choose, tmp, cache, a.resolution, a.samples))
        rows = [_median(r) for r in runs.values()]
    small, large = rows[0], rows[-1]
    ratios = {"peak_rss": large["peak_rss_kb"] / small["peak_rss_kb"],
              "startup": large["startup_s"] / small["startup_s"], "frame": large["frame_s"] / small["frame_s"]}
    if a.json:
        print(json.dumps({"rows": rows, "ratios": ratios}))
        return 0
    print(f"{a.frames} frames, {a.choose} assets chosen per frame, {a.resolution[0]}x{a.resolution[1]}, "
          f"{a.samples} sample(s), one worker thread; median of {a.repeat} interleaved run(s)")
    print("| meshes | worker peak RSS MiB (at half the frames) | worker start-up s | parent plan s (files hashed) | "
          "first frame s | per frame s | loads / evictions | cached at end |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['meshes']} | {r['peak_rss_kb'] / 1024:.0f} ({r['half_rss_kb'] / 1024:.0f}) | "
              f"{r['startup_s']:.2f} | {r['plan_s']:.2f} ({r['hashed']}) | {r['first_frame_s']:.2f} | "
              f"{r['frame_s']:.3f} | "
              f"{r['loads']} / {r['evictions']} | {r['cached']} ({r['cached_mb']:.0f} MB est.) |")
    print(f"ratios {large['meshes']} vs {small['meshes']}: peak RSS {ratios['peak_rss']:.3f} (goal <= 1.3), "
          f"start-up {ratios['startup']:.3f} (goal ~1), per frame {ratios['frame']:.3f} (goal within 10%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
