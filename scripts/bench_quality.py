#!/usr/bin/env python3
"""Quality per second: frame time against image quality (PSNR, SSIM vs a 1024-sample reference).

    python scripts/bench_quality.py --out /tmp/bq                 # 160x120; 3.3 min on 2 idle cores
    python scripts/bench_quality.py --out /tmp/bq --resolution 320 240   # about 4x that
    python scripts/bench_quality.py --out /tmp/bq --device gpu    # the same on a CUDA/OptiX machine

Three representative scenes, each rendered through synthblend's own scene builder (engine/scene.py),
so the frames are exactly what ``synthblend render`` makes: ``demo`` (scene_assets/demo.yaml, the
preset left to decide samples and denoising), ``textured`` (scene_assets/dr_materials.yaml: image and
procedural textures, glossy and metallic materials, physics placement) and ``hdri`` (the objects of
dr_backgrounds.yaml lit by an HDRI from scene_assets/hdri plus a sun). For each scene and each of
``--frames`` frames: a reference (``--ref-samples`` samples, no adaptive sampling, no denoising,
12 bounces; cached under ``--out/refs`` and reused by later runs), then every candidate setting of
:data:`CANDIDATES` (samples, adaptive threshold, denoiser on/off, its prefilter and quality, light tree,
path guiding, bounces, sampling pattern, tile size, threads). Per candidate: the render stage's
wall time per frame (Cycles, the scratch EXR and its decoding: what the worker reports as ``render``),
its CPU time (user + system of the rendering process, all threads: far less disturbed by other
work on a shared machine than wall time, and what the Pareto front and the plot use when known),
and PSNR (dB, 8-bit sRGB, all channels) and SSIM (Gaussian window sigma 1.5 on 8-bit luma, the
constants of Wang et al. 2004, computed with scipy) against the reference.

Prints one table (median time, mean and worst PSNR/SSIM over the scene-frames), marks the Pareto
front (no other setting is both faster and better in mean PSNR), and writes ``quality.json`` and
``quality_vs_time.png`` (time against PSNR, one point per setting and scene) into ``--out``.
Each timed render follows the apply of another frame (as in a dataset run, so the per-frame scene sync
is included); each candidate first renders one untimed frame (a setting that rebuilds the render
session pays that once per run). Timings are noisy on a shared machine: ``--repeat N`` renders every
candidate N times, round robin, and keeps the median.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "scene_assets"

# Every candidate is a set of overrides on Cycles (scene.cycles.<key>, "threads", "tile_size" and
# "max_bounces", which sets the bounce limits as synthblend's presets do) on top of BASE.
BASE = {"samples": 64, "adaptive_threshold": 0.01, "use_denoising": True, "denoising_prefilter": "ACCURATE",
        "denoising_quality": "HIGH", "use_light_tree": True, "use_guiding": False, "max_bounces": 12,
        "sampling_pattern": "TABULATED_SOBOL", "threads": 0, "tile_size": 2048,   # 5.0's factory value, as rendered
        "world_sampling": None,
        # Cycles' factory values of the keys below (any other scene.cycles attribute may be a candidate too)
        "adaptive_min_samples": 0, "sample_clamp_direct": 0.0, "sample_clamp_indirect": 10.0, "blur_glossy": 1.0}
# "film_exposure_ev": true sets Cycles' film exposure to 2 ** (the frame's reference EV) and divides it out
# of the colour afterwards: adaptive sampling then judges the noise of the image as it will be exposed.
# "world_sampling" sets the world's light sampling (world.cycles.sampling_method; None: left as built).
_SPECIAL = ("samples", "adaptive_threshold", "use_denoising", "max_bounces", "threads", "tile_size",
            "film_exposure_ev", "world_sampling")
CANDIDATES: dict[str, dict] = {
    "old standard (64 spp, dn)": {},
    "old draft (16 spp, a0.05, 4 b)": {"samples": 16, "adaptive_threshold": 0.05, "max_bounces": 4},
    "old final (256 spp, a0.005, 24 b)": {"samples": 256, "adaptive_threshold": 0.005, "max_bounces": 24},
    **{f"{n} spp, dn": {"samples": n} for n in (8, 16, 24, 32, 128)},
    "64 spp, no dn": {"samples": 64, "use_denoising": False},
    "32 spp, dn, adaptive off": {"samples": 32, "adaptive_threshold": 0.0},
    "32 spp, dn, a0.05": {"samples": 32, "adaptive_threshold": 0.05},
    "32 spp, dn, a0.1": {"samples": 32, "adaptive_threshold": 0.1},
    "16 spp, dn, a0.05": {"samples": 16, "adaptive_threshold": 0.05},
    "32 spp, dn prefilter FAST": {"samples": 32, "denoising_prefilter": "FAST"},
    "32 spp, dn prefilter NONE": {"samples": 32, "denoising_prefilter": "NONE"},
    "32 spp, dn quality BALANCED": {"samples": 32, "denoising_quality": "BALANCED"},
    "32 spp, dn quality FAST": {"samples": 32, "denoising_quality": "FAST"},
    "32 spp, dn, light tree off": {"samples": 32, "use_light_tree": False},
    "32 spp, dn, path guiding": {"samples": 32, "use_guiding": True},
    "32 spp, dn, 4 bounces": {"samples": 32, "max_bounces": 4},
    "32 spp, dn, 8 bounces": {"samples": 32, "max_bounces": 8},
    "32 spp, dn, blue noise": {"samples": 32, "sampling_pattern": "BLUE_NOISE"},
    "32 spp, dn, tile 64": {"samples": 32, "tile_size": 64},
    "32 spp, dn, 1 thread": {"samples": 32, "threads": 1},
    "16 spp, dn, 8 bounces": {"samples": 16, "max_bounces": 8},
    # adaptive sampling with an explicit minimum (Cycles' automatic one is 64 samples at 0.01)
    "16-64 spp, a0.025 (12-03 std)": {"samples": 64, "adaptive_threshold": 0.025, "adaptive_min_samples": 16},
    "16-64 spp, a0.02": {"samples": 64, "adaptive_threshold": 0.02, "adaptive_min_samples": 16},
    "16-96 spp, a0.014": {"samples": 96, "adaptive_threshold": 0.014, "adaptive_min_samples": 16},
    "12-128 spp, a0.02": {"samples": 128, "adaptive_threshold": 0.02, "adaptive_min_samples": 12},
    # the denoiser's guides taken as they are (prefilter NONE) and a cap of 128
    "16-128 spp, a0.015, pf none (standard)": {"samples": 128, "adaptive_threshold": 0.015,
                                               "adaptive_min_samples": 16, "denoising_prefilter": "NONE"},
    "16-128 spp, a0.013, pf none": {"samples": 128, "adaptive_threshold": 0.013, "adaptive_min_samples": 16,
                                    "denoising_prefilter": "NONE"},
}
REFERENCE = {"samples": 1024, "adaptive_threshold": 0.0, "use_denoising": False}


def scene_configs(resolution) -> dict[str, dict]:
    """name -> raw config (paths relative to scene_assets), with the render keys a preset decides left unset."""
    def load(name):
        raw = yaml.safe_load((ASSETS / name).read_text())
        raw["render"] = {"resolution": list(resolution), "outputs": ["rgb", "depth", "instance", "semantic"]}
        return raw
    demo = load("demo.yaml")
    textured = load("dr_materials.yaml")
    hdri = load("dr_backgrounds.yaml")
    hdri["world"] = {"type": "hdri", "hdri": {"folder": "hdri", "rotation_deg": {"uniform": [0, 360]}}}
    return {"demo": demo, "textured": textured, "hdri": hdri}


# ------------------------------------------------------------------------------------ the driver
def _apply(scene, settings: dict, threads_default: int) -> None:
    """Set one candidate's Cycles settings on ``scene`` (synthblend's bounce proportions)."""
    from synthblend.core.quality import light_paths
    cyc = scene.cycles
    s = {**BASE, **settings}
    cyc.samples = s["samples"]
    cyc.use_adaptive_sampling = s["adaptive_threshold"] > 0
    if s["adaptive_threshold"] > 0:
        cyc.adaptive_threshold = s["adaptive_threshold"]
    cyc.use_denoising = s["use_denoising"]
    unknown = [k for k in settings if k not in _SPECIAL and not hasattr(cyc, k)]
    if unknown:
        raise SystemExit(f"bench_quality: no scene.cycles attribute {unknown} in this Blender")
    for k, v in light_paths(s["max_bounces"]).items():   # before the keys: a candidate's diffuse_bounces wins
        setattr(cyc, k, v)
    for k, v in s.items():
        if k not in _SPECIAL and hasattr(cyc, k):   # a BASE key this Blender lacks is skipped
            setattr(cyc, k, v)
    if scene.world is not None and s["world_sampling"]:
        scene.world.cycles.sampling_method = s["world_sampling"]
    for k in ("caustics_reflective", "caustics_refractive"):   # synthblend's rule unless a candidate sets it
        setattr(cyc, k, settings[k] if k in settings else s["max_bounces"] >= 12)
    cyc.use_auto_tile = s["tile_size"] < 2048
    cyc.tile_size = s["tile_size"]
    threads = s["threads"] or threads_default
    scene.render.threads_mode = "FIXED" if threads else "AUTO"
    if threads:
        scene.render.threads = threads


def _cpu() -> float:
    """User + system CPU seconds of this process (all its threads: Cycles, OpenImageDenoise)."""
    import resource
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def driver(job_path: str) -> None:
    """In a fresh process: build one scene, render each frame's reference (if not cached) and candidates."""
    from PIL import Image

    from synthblend.core.config import config_from_dict
    from synthblend.core.sampling import sample
    from synthblend.engine.color_management import ViewTransform
    from synthblend.engine.render import develop, scratch_dir
    from synthblend.engine.scene import SceneBuilder

    job = json.loads(Path(job_path).read_text())
    cfg = config_from_dict(job["config"], base_dir=ASSETS)
    b = SceneBuilder(cfg, log=lambda *a: None)
    b.build()
    scratch = scratch_dir()
    out = Path(job["out"])
    results = []
    specs = {f: b.add_blend_objects(sample(cfg, cfg.seed, f)) for f in job["frames"]}
    view = ViewTransform("standard", "render.view_transform")
    # The reference is developed as `synthblend render` develops it (auto exposure by default); every
    # candidate of a frame is then developed at the reference's EV, so PSNR measures noise, not a
    # metering difference. The EVs are cached beside the reference images.
    evs_path = Path(job["refs"]) / "ev.json"
    evs = json.loads(evs_path.read_text()) if evs_path.exists() else {}
    for frame, spec in specs.items():
        ref = Path(job["refs"]) / f"{frame:03d}.png"
        if not ref.exists() or str(frame) not in evs:
            b.apply(spec)
            _apply(b.scene, REFERENCE, 0)
            t = time.perf_counter()
            passes = develop(b.render(spec, scratch, want_rgb=True), spec, view)
            ref.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(passes.rgb).save(ref)
            evs[str(frame)] = passes.exposure["ev"]
            evs_path.write_text(json.dumps(evs))
            results.append({"frame": frame, "name": "reference", "seconds": time.perf_counter() - t})
    for frame, spec in specs.items():
        spec.features["exposure"] = {"mode": "fixed", "ev": float(evs[str(frame)])}
    # Candidate after candidate; each timed render follows the apply of another frame, as in a dataset
    # run (per-frame scene sync included). One untimed frame first: a setting that rebuilds the render
    # session (threads, tiles, device) pays that once per run, not per frame.
    warm = -1
    specs[warm] = b.add_blend_objects(sample(cfg, cfg.seed, 1000))
    for k in range(job["repeat"]):
        for i, (name, settings) in enumerate(job["candidates"].items()):
            _apply(b.scene, settings, 0)
            # A fresh Cycles session for each candidate, as in a `synthblend render` process: a 5.0 session
            # keeps the sampling table of the largest sample count it rendered (the 1024-sample
            # references, a candidate above 256), and later renders with fewer samples would draw other
            # noise than a fresh process does (tests/test_render_session.py). Its cost falls on `warm`.
            b.scene.render.use_persistent_data = False
            b.scene.render.use_persistent_data = True
            for frame in (warm, *job["frames"]):
                b.apply(specs[frame])
                gain = 1.0
                if settings.get("film_exposure_ev") and frame != warm:
                    gain = 2.0 ** specs[frame].features["exposure"]["ev"]
                b.scene.cycles.film_exposure = gain
                t, c = time.perf_counter(), _cpu()
                passes = b.render(specs[frame], scratch, want_rgb=True)
                dt, dc = time.perf_counter() - t, _cpu() - c
                if gain != 1.0:
                    passes.linear = passes.linear / np.float32(gain)
                if frame == warm:
                    continue
                rgb = develop(passes, specs[frame], view).rgb
                if k == 0:
                    Image.fromarray(rgb).save(out / f"{frame:03d}_{i:02d}.png")
                results.append({"frame": frame, "name": name, "index": i, "seconds": dt, "cpu_seconds": dc})
    (out / "times.json").write_text(json.dumps(results))


# ------------------------------------------------------------------------------------ metrics
def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB of two 8-bit images (all channels)."""
    mse = float(np.mean((a.astype(np.float64) - ref.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, ref: np.ndarray) -> float:
    """Mean SSIM of the 8-bit luma (Rec. 601) of two RGB images: Gaussian window sigma 1.5,
    K1 = 0.01, K2 = 0.03, L = 255 (Wang, Bovik, Sheikh, Simoncelli 2004)."""
    from scipy.ndimage import gaussian_filter

    w = np.array([0.299, 0.587, 0.114])
    x, y = a.astype(np.float64) @ w, ref.astype(np.float64) @ w
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    f = lambda z: gaussian_filter(z, 1.5, truncate=3.5)  # noqa: E731
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def pareto(rows: list[dict]) -> None:
    """Mark rows on the front: no other row is at least as fast and at least as good, and better in one."""
    for r in rows:
        r["pareto"] = not any(o is not r and o["t"] <= r["t"] and o["psnr_mean"] >= r["psnr_mean"]
                              and (o["t"] < r["t"] or o["psnr_mean"] > r["psnr_mean"]) for o in rows)


def plot(rows: list[dict], per_scene: dict, path: Path, title: str, xlabel: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), dpi=100)
    for scene, pts in per_scene.items():
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, alpha=0.45, label=f"{scene} (each setting)")
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["t"])
    ax.plot([r["t"] for r in front], [r["psnr_mean"] for r in front], "k.-",
            label="mean over scenes: Pareto front")
    labelled = sorted((r for r in rows if r["pareto"] or r["name"].startswith("old") or r.get("preset")),
                      key=lambda r: r["t"])
    for k, r in enumerate(labelled):             # three heights in turn: neighbours' labels don't overlap
        if not r["pareto"]:
            ax.plot([r["t"]], [r["psnr_mean"]], "kx", ms=5)     # a mean off the front
        ax.annotate(r.get("preset") or r["name"], (r["t"], r["psnr_mean"]), fontsize=7,
                    xytext=(6, (-11, 5, 17)[k % 3]), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel(f"render {xlabel} per frame, s (log)")
    ax.set_ylabel("PSNR vs reference, dB (8-bit sRGB)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def _finished_run(out: Path, job: dict) -> list | None:
    """The candidate names of a finished run in ``out`` that covers ``job`` (same scene, frames,
    settings; a superset of its candidates), else None."""
    try:
        old = json.loads((out / "job.json").read_text())
        json.loads((out / "times.json").read_text())
    except (OSError, ValueError):
        return None
    same = all(old.get(k) == job[k] for k in ("config", "frames", "refs", "repeat"))
    if not same or any(old["candidates"].get(n) != s for n, s in job["candidates"].items()):
        return None
    return list(old["candidates"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resolution", type=int, nargs=2, default=[160, 120])
    ap.add_argument("--frames", type=int, default=1, help="frames per scene (frame indices 0..N-1)")
    ap.add_argument("--scenes", nargs="+", default=["demo", "textured", "hdri"])
    ap.add_argument("--ref-samples", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=1, help="timed renders per candidate (interleaved)")
    ap.add_argument("--only", nargs="*", help="candidate names to run (default: all)")
    ap.add_argument("--candidates-json", type=Path, help="extra candidates {name: overrides} to add")
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--reuse", action="store_true",
                    help="take a scene's finished run from --out when it has every candidate asked for")
    a = ap.parse_args(argv)
    REFERENCE["samples"] = a.ref_samples
    cands = {k: v for k, v in CANDIDATES.items() if not a.only or k in a.only}
    if a.candidates_json:
        cands.update(json.loads(a.candidates_json.read_text()))
    configs = scene_configs(a.resolution)
    t0, rendered = time.perf_counter(), False
    rows: dict[str, dict] = {n: {"name": n, "settings": s, "seconds": [], "cpu": [], "psnr": [], "ssim": []}
                             for n, s in cands.items()}
    per_scene: dict[str, list] = {}
    W, H = a.resolution
    for scene in a.scenes:
        raw = configs[scene]
        raw["render"]["device"] = a.device
        out = a.out / f"{scene}_{W}x{H}"
        out.mkdir(parents=True, exist_ok=True)
        refs = a.out / "refs" / f"{scene}_{W}x{H}_{a.ref_samples}"
        job = {"config": raw, "frames": list(range(a.frames)), "out": str(out), "refs": str(refs),
               "candidates": cands, "repeat": a.repeat}
        done = _finished_run(out, job) if a.reuse else None
        if done is None:
            (out / "job.json").write_text(json.dumps(job))
            print(f"[{time.perf_counter() - t0:6.0f} s] {scene}: {a.frames} frame(s), {len(cands)} candidates",
                  flush=True)
            p = subprocess.run([sys.executable, __file__, "--driver", str(out / "job.json")],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"bench_quality: driver failed for {scene}:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
            done = list(cands)
            rendered = True
        else:
            print(f"{scene}: reusing the finished run in {out}", flush=True)
        from PIL import Image
        times = json.loads((out / "times.json").read_text())
        for t in times:
            if t["name"] == "reference":
                print(f"    reference of frame {t['frame']}: {t['seconds']:.1f} s", flush=True)
        for name in cands:
            i = done.index(name)                       # the image's index in the run that rendered it
            for f in range(a.frames):
                mine = [t for t in times if t["name"] == name and t["frame"] == f]
                secs = statistics.median(t["seconds"] for t in mine)
                cpu = statistics.median(t.get("cpu_seconds", float("nan")) for t in mine)
                img = np.asarray(Image.open(out / f"{f:03d}_{i:02d}.png"))
                ref = np.asarray(Image.open(refs / f"{f:03d}.png"))
                p_, s_ = psnr(img, ref), ssim(img, ref)
                rows[name]["seconds"].append(secs)
                rows[name]["cpu"].append(cpu)
                rows[name]["psnr"].append(p_)
                rows[name]["ssim"].append(s_)
                per_scene.setdefault(scene, []).append((cpu if cpu == cpu else secs, p_))
                rows[name].setdefault("by_scene", {}).setdefault(scene, []).append((secs, p_, s_, cpu))
    table = []
    for r in rows.values():
        table.append({"name": r["name"], "settings": r["settings"], "seconds": statistics.mean(r["seconds"]),
                      "cpu_seconds": statistics.mean(r["cpu"]),
                      "psnr_mean": statistics.mean(r["psnr"]), "psnr_min": min(r["psnr"]),
                      "ssim_mean": statistics.mean(r["ssim"]), "ssim_min": min(r["ssim"]),
                      "by_scene": {s: {"seconds": statistics.mean(v[0] for v in vals),
                                       "psnr": statistics.mean(v[1] for v in vals),
                                       "ssim": statistics.mean(v[2] for v in vals),
                                       "cpu": statistics.mean(v[3] for v in vals)}
                                   for s, vals in r["by_scene"].items()}})
    use_cpu = all(r["cpu_seconds"] == r["cpu_seconds"] for r in table)     # no NaN: CPU seconds known
    for r in table:
        r["t"] = r["cpu_seconds"] if use_cpu else r["seconds"]
    pareto(table)
    table.sort(key=lambda r: r["t"])
    total = time.perf_counter() - t0
    title = (f"{', '.join(a.scenes)} at {W}x{H}, {a.frames} frame(s) each, {a.device.upper()}; "
             f"reference {a.ref_samples} spp" + (f"; {total / 60:.1f} min" if rendered else ""))
    print(f"\nquality per second: {title}")
    print("  s/frame, CPU s = mean render-stage wall / CPU (user+system, all threads) seconds per frame over the "
          "scene-frames; PSNR/SSIM: mean (worst)")
    print(f"  {'setting':36} {'s/frame':>8} {'CPU s':>6} {'PSNR dB':>14} {'SSIM':>14}  "
          + "  ".join(f"{s:>13}" for s in a.scenes))
    for r in table:
        mark = "*" if r["pareto"] else " "
        print(f"{mark} {r['name']:36} {r['seconds']:8.2f} {r['cpu_seconds']:6.2f} "
              f"{r['psnr_mean']:6.2f} ({r['psnr_min']:5.2f}) "
              f"{r['ssim_mean']:6.4f} ({r['ssim_min']:.4f})  "
              + "  ".join(f"{r['by_scene'][s]['seconds']:5.2f}s {r['by_scene'][s]['psnr']:5.1f}dB" for s in a.scenes))
    print(f"  * = on the Pareto front ({'CPU' if use_cpu else 'wall'} time vs mean PSNR)")
    (a.out / "quality.json").write_text(json.dumps({"title": title, "rows": table}, indent=2))
    plot(table, per_scene, a.out / "quality_vs_time.png", title, "CPU time" if use_cpu else "wall time")
    print(f"wrote {a.out / 'quality.json'} and {a.out / 'quality_vs_time.png'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--driver":
        driver(sys.argv[2])
    else:
        raise SystemExit(main())
