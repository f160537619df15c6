#!/usr/bin/env python3
"""A preset, old code against new: whole-process time per frame, image quality, ground truth unchanged.

    python scripts/bench_presets.py --out /tmp/bp --old-rev 55940fb             # standard, demo, 4 frames

``--old-python`` / ``--new-python`` pick each side's interpreter (so its bpy: e.g. a bpy 4.2 venv's
python), ``--old-set`` / ``--set`` add render keys to one side (``--old-rev HEAD --old-set samples=64``:
the old 64-sample standard preset on this code).

``--old-rev`` is a git revision of this repository (e.g. the commit before the presets changed): its
``blender_addon/`` is exported (``git archive``) to ``--out/old_pkg/`` and imported as ``synthblend`` by
the old runs; the new runs import this checkout. Both render the demo scene (scene_assets/demo.yaml
with ``render.quality: --quality`` and the preset deciding samples and denoising) through the CLI,
``synthblend render`` as a user runs it, one process per run, old and new interleaved ``--repeat``
times; the whole-process wall time (python start to exit) is measured and the median per frame
compared. Then for the last run of each:

* ``synthblend verify`` (the ray-cast check of depth, instance, semantic against the dataset's own
  K, poses and meshes) must pass;
* depth, instance and semantic must be identical, file for file, between old and new;
* each frame's rgb is compared (PSNR, 8-bit) with a reference of the same frame rendered by the same
  side's code and interpreter at ``--ref-samples`` samples, no adaptive sampling, no denoising (cached in
  ``--out``; one shared reference when the old side is ``HEAD`` in the same interpreter; an older
  revision may develop colour differently, e.g. before auto exposure, so the new code's reference would
  not fit it; ``--ref-samples 0``: no reference, no PSNR).

Besides wall time it reports the CPU seconds (user + system) of each run's process tree: on a machine
shared with other work the wall-time ratio is noisy, the CPU-time ratio much less so.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "scene_assets"


def export_old(rev: str, dest: Path) -> Path:
    """``blender_addon/`` of ``rev`` as an importable ``synthblend`` package under ``dest``."""
    pkg = dest / "synthblend"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True,
                            text=True).stdout.strip()
    stamp = dest / "REVISION"
    if pkg.exists() and (not stamp.exists() or stamp.read_text() != commit):   # another revision's export
        shutil.rmtree(pkg)
    if not pkg.exists():
        dest.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "blender_addon"], check=True,
                             capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
        (dest / "blender_addon").rename(pkg)
        stamp.write_text(commit)
    return dest


def write_config(path: Path, quality: str, frames: int, resolution, extra: dict | None = None) -> Path:
    raw = yaml.safe_load((ASSETS / "demo.yaml").read_text())
    raw["frames"] = frames
    raw["render"] = {"resolution": list(resolution), "quality": quality,
                     "outputs": ["rgb", "depth", "instance", "semantic"], **(extra or {})}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


WRAP = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
        "w = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([r.returncode, w, u.ru_utime + u.ru_stime, r.stderr[-2000:]]))")


def render(pythonpath: str, cfg: Path, out: Path, python: str = sys.executable) -> tuple[float, float]:
    """(wall s, CPU s of the process tree) of one ``synthblend render`` by the interpreter ``python``
    (its bpy) with ``pythonpath``'s synthblend."""
    env = dict(os.environ, PYTHONPATH=pythonpath)
    p = subprocess.run([sys.executable, "-c", WRAP, python, "-m", "synthblend", "render", str(cfg),
                        "--out", str(out), "--quiet", "--overwrite"], env=env, capture_output=True, text=True)
    rc, wall, cpu, err = json.loads(p.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"bench_presets: render failed ({pythonpath}):\n{err}")
    return wall, cpu


def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--old-rev", required=True, help="git revision whose presets are the 'old' ones")
    ap.add_argument("--quality", default="standard")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--resolution", type=int, nargs=2, default=[320, 240])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ref-samples", type=int, default=1024)
    ap.add_argument("--old-python", default=sys.executable,
                    help="interpreter (and so bpy) of the old runs, e.g. a bpy 4.2 venv's python")
    ap.add_argument("--new-python", default=sys.executable, help="interpreter of the new runs")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=YAML",
                    help="render keys for the new runs only, e.g. samples=48 denoise_prefilter=none")
    ap.add_argument("--old-set", nargs="*", default=[], metavar="KEY=YAML",
                    help="render keys for the old runs only, e.g. samples=64 (an old preset on this code)")
    a = ap.parse_args(argv)
    from synthblend.dataset.reader import open_dataset

    a.out.mkdir(parents=True, exist_ok=True)
    old_path = str(export_old(a.old_rev, a.out / "old_pkg"))
    new_path = str(Path(__import__("synthblend").__file__).parent.parent)   # unresolved: holds synthblend
    W, H = a.resolution
    # configs live next to demo.yaml (its mesh paths are relative to it); removed at the end
    new_keys, old_keys = ({k: yaml.safe_load(v) for k, v in (x.split("=", 1) for x in keys)}
                          for keys in (a.set, a.old_set))
    cfgs = {"old": write_config(ASSETS / f".bench_presets_{a.quality}.yaml", a.quality, a.frames, a.resolution,
                                old_keys),
            "new": write_config(ASSETS / f".bench_presets_{a.quality}_new.yaml", a.quality, a.frames,
                                a.resolution, new_keys)}
    ref_cfg = write_config(ASSETS / ".bench_presets_ref.yaml", a.quality, a.frames, a.resolution,
                           {"samples": a.ref_samples, "adaptive_threshold": 0.0, "denoise": False})
    pythons = {"old": a.old_python, "new": a.new_python}
    paths = {"old": old_path, "new": new_path}
    walls: dict = {"old": [], "new": []}
    cpus: dict = {"old": [], "new": []}
    # each side's frames are compared with a reference rendered by its own code and Blender: two Cycles
    # versions converge to slightly different images, and an older revision may develop its colour
    # differently (before auto exposure, say); one reference when both sides are this code's HEAD in
    # one interpreter
    ref_dirs = {}
    one_ref = a.old_python == a.new_python and a.old_rev == "HEAD"
    try:
        for name in ("old", "new"):
            tag = "" if one_ref else f"_{name}" + (f"_{a.old_rev}" if name == "old" else "")
            ref_dirs[name] = a.out / f"ref_{W}x{H}_{a.ref_samples}_{a.frames}{tag}"
            if a.ref_samples and not (ref_dirs[name] / "meta").is_dir():
                print(f"reference ({name}): {a.ref_samples} samples ...", flush=True)
                render(paths["new"] if one_ref else paths[name], ref_cfg, ref_dirs[name], pythons[name])
        for k in range(a.repeat):
            for name in ("old", "new"):
                w, c = render(paths[name], cfgs[name], a.out / name, pythons[name])
                walls[name].append(w)
                cpus[name].append(c)
                print(f"  run {k} {name}: {w:.2f} s, CPU {c:.1f} s", flush=True)
    finally:
        for c in (*cfgs.values(), ref_cfg):
            c.unlink(missing_ok=True)
    res: dict = {"quality": a.quality, "frames": a.frames, "resolution": [W, H], "walls": walls, "cpu": cpus,
                 "pythons": pythons, "new_keys": new_keys, "old_keys": old_keys}
    for name in ("old", "new"):
        v = subprocess.run([sys.executable, "-m", "synthblend", "verify", str(a.out / name)],
                           env=dict(os.environ, PYTHONPATH=new_path), capture_output=True, text=True)
        res[f"{name}_verify_rc"] = v.returncode
        res[f"{name}_resolved"] = {k: json.loads((a.out / name / "dataset.json").read_text())["config"]["render"].get(k)
                                   for k in ("samples", "adaptive_threshold", "adaptive_min_samples", "denoise",
                                             "denoise_prefilter", "max_bounces")}
    old, new = open_dataset(a.out / "old"), open_dataset(a.out / "new")
    none = [None] * len(old)
    ref_o, ref_n = (open_dataset(ref_dirs[k]) if a.ref_samples else none for k in ("old", "new"))
    same_gt, ps = True, {"old": [], "new": []}
    for fo, fn, ro, rn in zip(old, new, ref_o, ref_n, strict=True):
        same_gt &= bool(np.array_equal(fo.instance, fn.instance) and np.array_equal(fo.semantic, fn.semantic)
                        and np.array_equal(fo.depth, fn.depth))
        if ro is not None:
            ps["old"].append(psnr(fo.rgb, ro.rgb))
            ps["new"].append(psnr(fn.rgb, rn.rgb))
    res["ground_truth_identical"] = same_gt
    res["psnr_db"] = {k: {"mean": statistics.mean(v), "min": min(v)} for k, v in ps.items() if v}
    mo, mn = statistics.median(walls["old"]), statistics.median(walls["new"])
    co, cn = statistics.median(cpus["old"]), statistics.median(cpus["new"])
    res["ratio"] = mn / mo
    res["cpu_ratio"] = cn / co
    (a.out / f"bench_presets_{a.quality}.json").write_text(json.dumps(res, indent=2))
    print(f"\n{a.quality} preset, demo scene {W}x{H}, {a.frames} frames, whole process, median of {a.repeat} "
          "interleaved runs")
    for name, m, c in (("old", mo, co), ("new", mn, cn)):
        p = res["psnr_db"].get(name)
        q = (f"; PSNR vs {a.ref_samples}-sample reference mean {p['mean']:.2f} dB (worst frame {p['min']:.2f})"
             if p else "")
        print(f"  {name} ({res[f'{name}_resolved']}): {m:.2f} s = {m / a.frames:.2f} s/frame, CPU {c / a.frames:.2f} "
              f"s/frame{q}; verify rc {res[f'{name}_verify_rc']}")
    print(f"  ratio new/old: wall {res['ratio']:.3f}, CPU {res['cpu_ratio']:.3f}; "
          f"depth/instance/semantic identical old vs new: {same_gt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
