#!/usr/bin/env python3
"""Why is the same plain-bpy script slower on the bpy 5.0 wheel than on 4.2? Measure it at equal quality.

    python scripts/bench_bpy_versions.py --python42 /tmp/venv42/bin/python --out /tmp/bv

Needs a second Python with the bpy 4.2 wheel in its own venv (never in the main environment):
``python3.11 -m venv /tmp/venv42 && /tmp/venv42/bin/pip install 'bpy==4.2.*' 'numpy<2' trimesh``.

The scene is the one of the issue: 7 meshes (sphere, box, cylinder, cone, torus, two more boxes) on a
ground plane, one point light, 320x240, adaptive threshold 0.01, no denoising, view transform
Standard; the camera and poses of frame f are drawn from ``numpy.random.default_rng(1000 + f)``, so
both versions render the same frames. Each version runs in its own process: it builds the scene
once, renders one warm-up frame (1 sample), then for each setting (``--samples``; on 5.0 also the
blue-noise sampling pattern; one run without writing the EXR) renders every frame twice, with two
Cycles seeds, and records each render's wall time (``bpy.ops.render.render``, EXR written to RAM) and
the process's user+system CPU time. The two versions' processes are interleaved ``--repeat`` times;
medians are printed.

``--materials``: ``factory`` (the issue's script as written) creates each material with
``bpy.data.materials.new()`` and nothing else. That is not the same scene in both versions: in 5.0 a new
material always has a node tree with a Principled BSDF, in 4.2 it has no node tree and Cycles shades it
as a plain diffuse surface. ``principled`` and ``diffuse`` give both versions the same node tree
(``use_nodes = True`` on 4.2; a Diffuse BSDF in place of the Principled one) so that only Cycles differs.

Quality at equal samples is measured without a reference: the two renders of a frame differ only in
their noise, so half their mean squared difference estimates the noise of one render against the
converged image (``noise PSNR`` = PSNR of the pair + 3.01 dB, 8-bit sRGB). Whether both versions
converge to the same image is checked by the PSNR between the 4.2 and 5.0 renders of the same seed at
the highest sample count, next to that of two 5.0 seeds. Writes ``bench_bpy_versions.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

DRIVER = r'''
import json, os, resource, sys, time
t_start = time.perf_counter()
import numpy as np
import bpy
from mathutils import Matrix
args = json.loads(open(sys.argv[1]).read())
t_bpy = time.perf_counter()
bpy.ops.wm.read_factory_settings(use_empty=True)
sc = bpy.context.scene
r = sc.render
r.engine = "CYCLES"; r.resolution_x, r.resolution_y = args["resolution"]; r.resolution_percentage = 100
r.use_persistent_data = True
sc.view_settings.view_transform = "Standard"
sc.cycles.device = "CPU"; sc.cycles.use_denoising = False
sc.cycles.use_adaptive_sampling = True; sc.cycles.adaptive_threshold = 0.01
vl = sc.view_layers[0]; vl.use_pass_z = True; vl.use_pass_object_index = True
im = r.image_settings
if hasattr(im, "media_type"):
    im.media_type = "MULTI_LAYER_IMAGE"
im.file_format = "OPEN_EXR_MULTILAYER"; im.color_depth = "32"; im.exr_codec = "NONE"

def add(name, verts, faces, idx):
    me = bpy.data.meshes.new(name); me.from_pydata(verts, [], faces)
    mat = bpy.data.materials.new(name); me.materials.append(mat)
    if args["materials"] != "factory":
        mat.use_nodes = True      # 4.2 then builds the Principled BSDF tree that 5.0 builds by itself
        if args["materials"] == "diffuse":
            nt = mat.node_tree
            for n in [n for n in nt.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"]:
                nt.nodes.remove(n)
            o = next(n for n in nt.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
            nt.links.new(nt.nodes.new("ShaderNodeBsdfDiffuse").outputs[0], o.inputs["Surface"])
    ob = bpy.data.objects.new(name, me); sc.collection.objects.link(ob); ob.pass_index = idx
    return ob
obs = [add(f"m{i}", m["v"], m["f"], i + 1) for i, m in enumerate(args["meshes"])]
add("ground", [(-2, -2, 0), (2, -2, 0), (2, 2, 0), (-2, 2, 0)], [(0, 1, 2), (0, 2, 3)], 99)
ld = bpy.data.lights.new("L", "POINT"); ld.energy = 300
lo = bpy.data.objects.new("L", ld); sc.collection.objects.link(lo)
cd = bpy.data.cameras.new("C"); co = bpy.data.objects.new("C", cd); sc.collection.objects.link(co); sc.camera = co
cd.lens = 35
sc.world = bpy.data.worlds.new("W")

def pose(f, seed=0):
    rng = np.random.default_rng(1000 + f)
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
    sc.cycles.seed = f + seed

def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

def render(path, write=True):
    r.filepath = path; r.use_file_extension = False
    bpy.ops.render.render(write_still=write)

first = None
res = {"version": bpy.app.version_string, "import_bpy_s": t_bpy - t_start, "runs": []}
for s in args["settings"]:
    sc.cycles.samples = s["samples"]
    sc.cycles.use_adaptive_sampling = s.get("adaptive", True)
    if s.get("pattern"):
        sc.cycles.sampling_pattern = s["pattern"]
    for f in range(args["frames"]):
        pose(f)
        if first is None:                       # warm-up at 1 sample: BVH, kernels; counted as start-up
            sc.cycles.samples = 1
            render(os.path.join(args["out"], "warmup.exr"))
            first = time.perf_counter() - t_start
            sc.cycles.samples = s["samples"]
        for seed in (0, 7777):                  # two independent renders: their difference is the noise
            pose(f, seed)
            t, c = time.perf_counter(), cpu()
            render(os.path.join(args["out"], f"{s['name']}_{f}_{seed}.exr"), s.get("write", True))
            res["runs"].append({"name": s["name"], "frame": f, "seed": seed,
                                "wall": time.perf_counter() - t, "cpu": cpu() - c})
res["first_frame_s"] = first
print("RESULT " + json.dumps(res))
'''


def meshes() -> list[dict]:
    import trimesh
    shapes = [trimesh.creation.icosphere(subdivisions=4, radius=0.08),
              trimesh.creation.box(extents=(0.12, 0.1, 0.14)),
              trimesh.creation.cylinder(radius=0.06, height=0.16, sections=64),
              trimesh.creation.cone(radius=0.07, height=0.15, sections=64),
              trimesh.creation.torus(major_radius=0.07, minor_radius=0.025, major_sections=64, minor_sections=32),
              trimesh.creation.box(extents=(0.2, 0.05, 0.05)),
              trimesh.creation.box(extents=(0.08, 0.08, 0.08))]
    return [{"v": m.vertices.tolist(), "f": m.faces.tolist()} for m in shapes]


def run_driver(python: str, out: Path, settings: list[dict], a, mesh_list) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    args = {"resolution": a.resolution, "frames": a.frames, "settings": settings, "out": str(out),
            "meshes": mesh_list, "materials": a.materials}
    (out / "args.json").write_text(json.dumps(args))
    p = subprocess.run([python, "-c", DRIVER, str(out / "args.json")], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"driver failed under {python}:\n{p.stderr[-3000:]}")


def load_rgb(path: Path) -> np.ndarray:
    from synthblend.core.color import linear_to_srgb
    from synthblend.dataset.exr import read_exr
    ch = read_exr(path)
    lin = np.stack([next(v for k, v in ch.items() if k.endswith(f"Combined.{c}")) for c in "RGB"], -1)
    return np.round(linear_to_srgb(lin) * 255.0)


def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((a - ref) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python42", required=True, help="a Python with the bpy 4.2 wheel (its own venv)")
    ap.add_argument("--python50", default=sys.executable, help="a Python with the bpy 5.0 wheel")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resolution", type=int, nargs=2, default=[320, 240])
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--samples", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--materials", choices=["factory", "principled", "diffuse"], default="factory",
                    help="factory: bpy.data.materials.new() as is (5.0: a Principled BSDF node tree; 4.2: no "
                         "nodes, which Cycles renders as plain diffuse); principled / diffuse: that node tree "
                         "in both versions")
    a = ap.parse_args(argv)
    mesh_list = meshes()
    versions = {"4.2": (a.python42, [None]), "5.0": (a.python50, [None, "BLUE_NOISE"])}
    rows: dict = {}
    images: dict = {}
    for k in range(a.repeat):
        for ver, (py, patterns) in versions.items():
            settings = [{"name": f"{n} spp, pattern {p or 'default'}", "samples": n, "pattern": p}
                        for p in patterns for n in a.samples]
            settings.append({"name": f"{a.samples[1]} spp, no EXR written", "samples": a.samples[1], "write": False})
            out = a.out / f"v{ver}_{k}"
            res = run_driver(py, out, settings, a, mesh_list)
            for run in res["runs"]:
                row = rows.setdefault((ver, run["name"]), {"wall": [], "cpu": [], "first": [], "import": []})
                row["wall"].append(run["wall"])
                row["cpu"].append(run["cpu"])
                f = out / f"{run['name']}_{run['frame']}_{run['seed']}.exr"
                if k == 0 and f.exists():
                    images[(ver, run["name"], run["frame"], run["seed"])] = load_rgb(f)
            for key, row in rows.items():
                if key[0] == ver:
                    row["first"].append(res["first_frame_s"])
                    row["import"].append(res["import_bpy_s"])
    W, H = a.resolution
    print(f"\nplain bpy, {W}x{H}, materials {a.materials}, adaptive 0.01, no denoising, {a.frames} frames x "
          f"2 seeds, {a.repeat} "
          "interleaved runs per version; medians per frame")
    print("noise PSNR: PSNR of one render against the converged image, estimated from two renders with "
          "different seeds (MSE/2, +3.01 dB); 8-bit sRGB")
    print(f"{'version':8} {'setting':30} {'s/frame':>8} {'CPU s/frame':>11} {'noise PSNR':>10} {'first frame s':>13}"
          f" {'import bpy s':>12}")
    table = []
    for (ver, name), row in rows.items():
        pairs = [(images.get((ver, name, f, 0)), images.get((ver, name, f, 7777))) for f in range(a.frames)]
        noise = [psnr(x, y) + 10 * np.log10(2.0) for x, y in pairs if x is not None and y is not None]
        t = {"version": ver, "setting": name, "wall_s": statistics.median(row["wall"]),
             "cpu_s": statistics.median(row["cpu"]), "noise_psnr_db": statistics.mean(noise) if noise else None,
             "first_frame_s": statistics.median(row["first"]), "import_bpy_s": statistics.median(row["import"])}
        table.append(t)
        nz = f"{t['noise_psnr_db']:10.2f}" if noise else f"{'-':>10}"
        print(f"{ver:8} {name:30} {t['wall_s']:8.3f} {t['cpu_s']:11.3f} {nz} {t['first_frame_s']:13.2f}"
              f" {t['import_bpy_s']:12.2f}")
    n = a.samples[-1]
    top = f"{n} spp, pattern default"
    cross = [psnr(images[("4.2", top, f, 0)], images[("5.0", top, f, 0)]) for f in range(a.frames)]
    same = [psnr(images[("5.0", top, f, 0)], images[("5.0", top, f, 7777)]) for f in range(a.frames)]
    print(f"same image? at {n} spp: PSNR 4.2 vs 5.0 (same seed) {statistics.mean(cross):.2f} dB; "
          f"5.0 vs 5.0 (two seeds) {statistics.mean(same):.2f} dB")
    (a.out / "bench_bpy_versions.json").write_text(json.dumps(
        {"rows": table, "cross_version_psnr_db": statistics.mean(cross), "two_seed_psnr_db": statistics.mean(same)},
        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
