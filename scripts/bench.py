#!/usr/bin/env python3
"""Benchmark: synthblend against a plain-bpy floor rendering the same scene, back to back.

    python scripts/bench.py                 # 480x360, 16 samples, 6 frames, CPU
    python scripts/bench.py --json          # machine-readable
    python scripts/bench.py --device gpu    # on a machine with an NVIDIA GPU

The scene: 5 meshes (sphere, box, cylinder, cone, torus; the same triangles for both) on a ground
plane, one point light, random camera and poses per frame. The *floor* is a plain bpy script (inside
this file) that builds the scene once and renders each frame to one multilayer EXR holding colour,
depth and object index, with persistent data: Cycles and nothing else. synthblend renders the same
class of scene through its CLI (``synthblend render``) writing the whole dataset (PNG, EXR, meta).

Two modes, each measured as whole-process wall time (python start to exit), floor and synthblend
interleaved ``--repeat`` times, median reported:
  * full:    RGB + ground truth, ``--samples`` samples;
  * gt-only: ground truth only (floor: 1 sample, no bounces; synthblend: ``rgb`` left out of outputs).
It also prints synthblend's per-stage times per frame (sample, apply, render, decode, write), the time
to the first frame beyond ``import bpy``, and the peak RSS of each process tree.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import trimesh
import yaml

FLOOR = r'''
import sys, json, time
import numpy as np, trimesh
import bpy
from mathutils import Matrix
args = json.loads(sys.argv[1])
bpy.ops.wm.read_factory_settings(use_empty=True)
sc = bpy.context.scene
r = sc.render
r.engine = "CYCLES"; r.resolution_x, r.resolution_y = args["resolution"]; r.resolution_percentage = 100
r.use_persistent_data = True
sc.cycles.device = "GPU" if args["device"] == "gpu" else "CPU"
if args["device"] == "gpu":
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for b in ("OPTIX", "CUDA"):
        try:
            prefs.compute_device_type = b
        except TypeError:
            continue
        prefs.get_devices()
        if any(d.type == b for d in prefs.devices):
            for d in prefs.devices:
                d.use = d.type == b
            break
sc.cycles.samples = args["samples"]; sc.cycles.use_denoising = False
if args["gt_only"]:
    sc.cycles.samples = 1; sc.cycles.max_bounces = 0; sc.cycles.use_adaptive_sampling = False
vl = sc.view_layers[0]; vl.use_pass_z = True; vl.use_pass_object_index = True
im = r.image_settings
if hasattr(im, "media_type"):
    im.media_type = "MULTI_LAYER_IMAGE"
im.file_format = "OPEN_EXR_MULTILAYER"; im.color_depth = "32"
obs = []
for i, p in enumerate(args["meshes"]):
    m = trimesh.load(p, force="mesh", process=False)
    me = bpy.data.meshes.new(f"m{i}"); me.from_pydata(m.vertices.tolist(), [], m.faces.tolist())
    mat = bpy.data.materials.new(f"mat{i}"); me.materials.append(mat)
    ob = bpy.data.objects.new(f"o{i}", me); sc.collection.objects.link(ob); ob.pass_index = i + 1; obs.append(ob)
g = bpy.data.meshes.new("g"); g.from_pydata([(-2,-2,0),(2,-2,0),(2,2,0),(-2,2,0)], [], [(0,1,2),(0,2,3)])
gob = bpy.data.objects.new("ground", g); sc.collection.objects.link(gob); gob.pass_index = 9
ld = bpy.data.lights.new("L", "POINT"); ld.energy = 300
lo = bpy.data.objects.new("L", ld); sc.collection.objects.link(lo)
cd = bpy.data.cameras.new("C"); co = bpy.data.objects.new("C", cd); sc.collection.objects.link(co); sc.camera = co
cd.lens = 35
sc.world = bpy.data.worlds.new("W")
rng = np.random.default_rng(0)
for f in range(args["frames"]):
    for ob in obs:
        ob.location = (*rng.uniform(-0.3, 0.3, 2), 0.1)
        ob.rotation_euler = (0, 0, rng.uniform(0, 6.28))
    az = rng.uniform(0, 2 * np.pi); el = np.radians(rng.uniform(25, 60)); d = rng.uniform(1.0, 1.4)
    pos = np.array([d * np.cos(el) * np.cos(az), d * np.cos(el) * np.sin(az), d * np.sin(el) + 0.1])
    fwd = (np.array([0, 0, 0.1]) - pos); fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0, 0, 1]); right /= np.linalg.norm(right); up = np.cross(right, fwd)
    M = np.eye(4); M[:3, 0] = right; M[:3, 1] = up; M[:3, 2] = -fwd; M[:3, 3] = pos
    co.matrix_world = Matrix(M.tolist())
    lo.location = (rng.uniform(-1, 1), rng.uniform(-1, 1), 2.5)
    r.filepath = f"{args['out']}/{f:06d}.exr"; r.use_file_extension = False
    bpy.ops.render.render(write_still=True)
'''

SHAPES = {
    "sphere": lambda: trimesh.creation.icosphere(subdivisions=4, radius=0.08),
    "box": lambda: trimesh.creation.box(extents=(0.12, 0.1, 0.14)),
    "cylinder": lambda: trimesh.creation.cylinder(radius=0.06, height=0.16, sections=64),
    "cone": lambda: trimesh.creation.cone(radius=0.07, height=0.15, sections=64),
    "torus": lambda: trimesh.creation.torus(major_radius=0.07, minor_radius=0.025,
                                            major_sections=64, minor_sections=32),
}


def write_scene(d: Path, a) -> tuple[list[str], Path, Path]:
    meshes = []
    for name, make in SHAPES.items():
        p = d / f"{name}.ply"
        make().export(p)
        meshes.append(str(p))
    objects = [{"mesh": f"{n}.ply", "category": n, "position": {"uniform": [[-0.3, -0.3, 0.1], [0.3, 0.3, 0.1]]},
                "rotation": {"euler_deg": {"uniform": [[0, 0, 0], [0, 0, 360]]}}} for n in SHAPES]
    cfg = {
        "seed": 0, "frames": a.frames,
        "render": {"resolution": list(a.resolution), "samples": a.samples, "denoise": False, "device": a.device},
        "scene": {"objects": objects, "ground": {"size": 4}},
        "camera": {"look_at": [0, 0, 0.1], "distance": {"uniform": [1.0, 1.4]},
                   "elevation_deg": {"uniform": [25, 60]}, "azimuth_deg": {"uniform": [0, 360]}},
        "lighting": {"count": 1, "type": "point", "power_w": 300, "distance": 2.5, "elevation_deg": 70},
    }
    full = d / "bench.yaml"
    full.write_text(yaml.safe_dump(cfg, sort_keys=False))
    cfg["render"]["outputs"] = ["depth", "instance", "semantic"]
    gt = d / "bench_gt.yaml"
    gt.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return meshes, full, gt


def timed(cmd: list[str], env=None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the process tree) of one command, run in a fresh wrapper."""
    wrapper = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
               "w = time.perf_counter() - t; "
               "print(json.dumps([r.returncode, w, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.stderr[-2000:]]))")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    rc, wall, rss, err = json.loads(out.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"bench: command failed ({rc}): {' '.join(cmd)}\n{err}")
    return wall, rss


def stage_times(out: Path) -> dict:
    lines = (out / "logs" / "runs.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--resolution", type=int, nargs=2, default=[480, 360])
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="synthblend-bench-"))
    meshes, full_cfg, gt_cfg = write_scene(tmp, a)
    floor_args = dict(resolution=a.resolution, samples=a.samples, frames=a.frames, meshes=meshes,
                      device=a.device, out=str(tmp / "floor"))
    import_bpy, _ = timed([sys.executable, "-c", "import bpy"])
    results: dict = {"machine": {"cpus": os.cpu_count(), "device": a.device}, "import_bpy_s": import_bpy,
                     "settings": {"frames": a.frames, "resolution": a.resolution, "samples": a.samples}}
    for mode, cfg in (("full", full_cfg), ("gt_only", gt_cfg)):
        fa = dict(floor_args, gt_only=mode == "gt_only")
        floor_cmd = [sys.executable, "-c", FLOOR, json.dumps(fa)]
        walls_f, walls_s, rss_f, rss_s, stages = [], [], [], [], None
        for k in range(a.repeat):
            out = tmp / f"sb_{mode}_{k}"
            w, r = timed(floor_cmd)
            walls_f.append(w)
            rss_f.append(r)
            w, r = timed([sys.executable, "-m", "synthblend", "render", str(cfg), "--out", str(out), "--quiet"])
            walls_s.append(w)
            rss_s.append(r)
            stages = stage_times(out)
        f_med, s_med = statistics.median(walls_f), statistics.median(walls_s)
        n = a.frames
        results[mode] = {
            "floor_wall_s": f_med, "synthblend_wall_s": s_med, "ratio": s_med / f_med,
            "floor_walls": walls_f, "synthblend_walls": walls_s,
            "floor_fps": n / f_med, "synthblend_fps": n / s_med,
            "per_frame_ms": {k: 1000 * v / n for k, v in stages["stage_seconds"].items()},
            "first_frame_s": stages.get("first_frame_seconds"),
            "first_frame_beyond_import_bpy_s": (stages["first_frame_seconds"] - import_bpy)
            if stages.get("first_frame_seconds") is not None else None,
            "startup_s": (stages["first_frame_seconds"] - import_bpy - stages["stage_seconds"]["render"] / n)
            if stages.get("first_frame_seconds") is not None else None,
            "per_frame_overhead_ms": 1000 * sum(v for k, v in stages["stage_seconds"].items()
                                                if k not in ("render", "write")) / n,
            "peak_rss_mib": {"floor": max(rss_f), "synthblend": max(rss_s)},
        }
    if a.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"synthblend bench: {a.frames} frames {a.resolution[0]}x{a.resolution[1]}, {a.samples} samples, "
          f"{a.device}, {os.cpu_count()} CPUs; median of {a.repeat}; import bpy {import_bpy:.2f} s")
    for mode in ("full", "gt_only"):
        r = results[mode]
        label = "RGB + ground truth" if mode == "full" else "ground truth only"
        print(f"\n{label}:")
        print(f"  floor (plain bpy)  {r['floor_wall_s']:7.2f} s  {r['floor_fps']:6.2f} frames/s  "
              f"peak RSS {r['peak_rss_mib']['floor']:.0f} MiB")
        print(f"  synthblend         {r['synthblend_wall_s']:7.2f} s  {r['synthblend_fps']:6.2f} frames/s  "
              f"peak RSS {r['peak_rss_mib']['synthblend']:.0f} MiB")
        print(f"  ratio              {r['ratio']:7.3f}x the floor")
        print("  per frame          " + ", ".join(f"{k} {v:.1f} ms" for k, v in r["per_frame_ms"].items()))
        if r["first_frame_beyond_import_bpy_s"] is not None:
            print(f"  first frame        {r['first_frame_s']:.2f} s after start "
                  f"({r['first_frame_beyond_import_bpy_s']:.2f} s beyond import bpy; "
                  f"{r['startup_s']:.2f} s of it is not the frame's own render)")
        print(f"  overhead per frame {r['per_frame_overhead_ms']:.1f} ms outside render and write "
              "(sample, apply, decode)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
