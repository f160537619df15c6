"""Tiny bpy scenes seen through synthblend's OSL lens (engine/features/lens.py), rendered in a
child process (bpy is a process-global singleton): ``render_cases(tmp, cases)`` returns, per case,
Cycles' raw passes (Z, Object Index, Position, linear Combined) as numpy arrays.

A case: ``{"W", "H", "K" (3x3), "dist" (a distortion dict or None), "scene", "lens" ("custom" |
"persp": Blender's own perspective camera, for comparisons), "samples", "rgb"}``; optionally
``"table"`` ([[K, dist], ...]: other lenses of the shader's lens table) and ``"row"`` (where the case's
own lens goes in it; picked as the engine does, through the focus distance). Scenes, camera at
the world origin with Blender's identity rotation (OpenCV camera = world x, -y, -z):

* ``enclosure``: a UV sphere of radius 5 around the camera (every ray hits it; pass index 1);
* ``plane``: a 400 m square at world z = -2, facing the camera (planar depth 2 m exactly; index 1),
  a grid of 2 m cells: Cycles' hit point (and its depth pass, the distance to it) comes from float32
  barycentrics, off the ray by ~6e-8 of the triangle's size (1e-5 m on one 400 m triangle);
* ``ball``: an emissive white sphere (radius 0.35 m, 2 m ahead, off-axis; index 1) on a black world.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = r'''
import json, sys
from pathlib import Path
import bpy, numpy as np
from synthblend.dataset.exr import read_exr
from synthblend.engine.features import lens

cases, out = json.loads(sys.argv[1]), Path(sys.argv[2])
for i, c in enumerate(cases):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"; sc.cycles.device = "CPU"; sc.cycles.samples = c["samples"]
    sc.cycles.use_denoising = False; sc.cycles.use_adaptive_sampling = False; sc.cycles.seed = 7
    sc.render.resolution_x, sc.render.resolution_y = c["W"], c["H"]; sc.render.resolution_percentage = 100
    sc.view_settings.view_transform = "Standard"
    vl = sc.view_layers[0]; vl.use_pass_z = True; vl.use_pass_object_index = True; vl.use_pass_position = True
    cam = bpy.data.cameras.new("c"); ob = bpy.data.objects.new("c", cam)
    sc.collection.objects.link(ob); sc.camera = ob
    cam.clip_start, cam.clip_end = 0.01, 1000.0
    if c["lens"] == "custom":
        # the case's lens is row c.get("row", 0) of a table of c["table"] (other lenses) with it put there
        rows = [lens.shader_parameters(np.array(K), (c["W"], c["H"]), d) for K, d in c.get("table", [])]
        rows.insert(c.get("row", 0), lens.shader_parameters(np.array(c["K"]), (c["W"], c["H"]), c["dist"]))
        lens.use_custom_camera(cam, lens.write_shader(out / f"lens{i}.osl", rows))
        lens.select_row(cam, c.get("row", 0), len(rows))
    else:   # Blender's perspective camera with K's focal length and a centred principal point
        cam.sensor_fit = "HORIZONTAL"; cam.sensor_width = 36.0; cam.lens = 36.0 * c["K"][0][0] / c["W"]
    world = bpy.data.worlds.new("w"); sc.world = world
    world.color = (0.0, 0.0, 0.0)
    if world.node_tree is None:
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0, 0, 0, 1)
    if c["scene"] == "enclosure":
        bpy.ops.mesh.primitive_uv_sphere_add(radius=5, segments=64, ring_count=32)
    elif c["scene"] == "plane":
        bpy.ops.mesh.primitive_grid_add(x_subdivisions=200, y_subdivisions=200, size=400, location=(0, 0, -2))
    else:
        bpy.ops.mesh.primitive_uv_sphere_add(radius=0.35, segments=48, ring_count=24, location=(0.45, 0.2, -2))
        mat = bpy.data.materials.new("white")
        if mat.node_tree is None:
            mat.use_nodes = True
        nt = mat.node_tree
        for n in list(nt.nodes):
            if n.type != "OUTPUT_MATERIAL":
                nt.nodes.remove(n)
        em = nt.nodes.new("ShaderNodeEmission"); em.inputs["Strength"].default_value = 1.0
        nt.links.new(em.outputs[0], next(n for n in nt.nodes if n.type == "OUTPUT_MATERIAL").inputs[0])
        bpy.context.object.data.materials.append(mat)
    bpy.context.object.pass_index = 1
    s = sc.render.image_settings
    if hasattr(s, "media_type"):
        s.media_type = "MULTI_LAYER_IMAGE"
    s.file_format = "OPEN_EXR_MULTILAYER"; s.color_depth = "32"; s.exr_codec = "NONE"
    sc.render.filepath = str(out / f"case{i}.exr"); sc.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)
    ch = read_exr(sc.render.filepath)
    g = lambda n: next(v for k, v in ch.items() if k.endswith(n))
    np.savez(out / f"case{i}.npz", Z=g("Depth.Z"), index=g("Object Index.X"),
             P=np.stack([g(f"Position.{a}") for a in "XYZ"], -1),
             rgb=np.stack([g(f"Combined.{a}") for a in "RGB"], -1))
'''


def render_cases(tmp: Path, cases: list[dict], timeout: int = 600) -> list[dict]:
    """Render ``cases`` in one child process; their passes as dicts of arrays (rows top-down)."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    full = [{"samples": 1, "lens": "custom", "scene": "enclosure", **c} for c in cases]
    for c in full:
        c["K"] = np.asarray(c["K"], float).tolist()
        c["table"] = [[np.asarray(K, float).tolist(), d] for K, d in c.get("table", [])]
    r = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(full), str(tmp)], env=dict(os.environ),
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"render failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return [dict(np.load(tmp / f"case{i}.npz")) for i in range(len(full))]


def world_to_opencv(P: np.ndarray) -> np.ndarray:
    """World points (the scenes' camera sits at the origin with Blender's identity rotation) in the
    OpenCV camera frame: (x, -y, -z)."""
    return np.asarray(P, np.float64) * np.array([1.0, -1.0, -1.0])


BALL_CENTRE_CV = np.array([0.45, -0.2, 2.0])    # the ``ball`` scene's sphere in the OpenCV camera frame, m
BALL_RADIUS = 0.35


def undistort_cv(uv, K, dist) -> np.ndarray:
    """Nx2 pixels -> Nx2 undistorted normalized coordinates by OpenCV, converged (criteria
    COUNT | EPS, 100, 1e-12: ``undistortPointsIter``, ``fisheye.undistortPoints``)."""
    import cv2

    pts = np.asarray(uv, np.float64).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    K = np.asarray(K, np.float64)
    if dist["model"] == "fisheye":
        D = np.array([dist.get(f"k{i}", 0.0) for i in range(1, 5)])
        xy = cv2.fisheye.undistortPoints(pts, K, D, criteria=crit)
    else:
        D = np.array([dist.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")])
        xy = cv2.undistortPointsIter(pts, K, D, None, None, crit)
    return xy.reshape(-1, 2)


def ball_coverage(W, H, K, dist, n: int, offset=(0.0, 0.0)) -> np.ndarray:
    """HxW fraction of each pixel's square (n x n sub-positions, moved by ``offset`` px) whose
    OpenCV-undistorted ray hits the analytic ball (n = 1: the pixel centre's ray alone)."""
    o = (np.arange(n) + 0.5) / n - 0.5
    u, v = np.meshgrid(np.arange(W, dtype=float) + offset[0], np.arange(H, dtype=float) + offset[1])
    sub = np.stack(np.meshgrid(o, o), -1).reshape(1, 1, -1, 2)
    uv = (np.stack([u, v], -1)[:, :, None, :] + sub).reshape(-1, 2)
    xy = undistort_cv(uv, K, dist)
    d = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    b = d @ BALL_CENTRE_CV
    hit = (b * b - (BALL_CENTRE_CV @ BALL_CENTRE_CV - BALL_RADIUS**2) > 0) & (b > 0)
    return hit.reshape(H, W, n * n).mean(-1)


def independent_cast(dataset_dir, meta, offset=(0.0, 0.0)):
    """(instance HxW, planar depth HxW) of a frame by an independent ray cast: trimesh + Embree
    against the triangles of ``meshes/`` posed by meta's ``obj2world``, one ray per pixel through the
    OpenCV-undistorted pixel centre (+ ``offset`` px) from meta's own K, distortion and cam2world.
    Fisheye rays at theta >= 90 deg are not cast (instance 0, depth 0)."""
    import trimesh

    K = np.array(meta["camera"]["K"], float)
    c2w = np.array(meta["camera"]["cam2world"], float)
    dist = meta["camera"].get("distortion")
    W, H = meta["image_size"]
    u, v = np.meshgrid(np.arange(W, dtype=float) + offset[0], np.arange(H, dtype=float) + offset[1])
    uv = np.stack([u, v], -1).reshape(-1, 2)
    ok = np.ones(len(uv), bool)
    if dist and dist["model"] == "fisheye":
        k = [dist.get(f"k{i}", 0.0) for i in range(1, 5)]
        t = np.linspace(0, np.pi / 2, 4001)
        td = t * (1 + k[0] * t**2 + k[1] * t**4 + k[2] * t**6 + k[3] * t**8)
        ok = np.hypot((uv[:, 0] - K[0, 2]) / K[0, 0], (uv[:, 1] - K[1, 2]) / K[1, 1]) < td.max()
    xy = undistort_cv(uv[ok], K, dist) if dist else (uv[ok] - K[:2, 2]) / np.diag(K)[:2]
    d_cam = np.concatenate([xy, np.ones((len(xy), 1))], 1)                 # z = 1: t is planar depth
    verts, faces, ids, n = [], [], [], 0
    for o in meta["objects"]:
        m = trimesh.load(Path(dataset_dir) / o["mesh"], force="mesh", process=False)
        T = np.array(o["obj2world"], float)
        verts.append(m.vertices @ T[:3, :3].T + T[:3, 3])
        faces.append(m.faces + n)
        ids.append(np.full(len(m.faces), o["instance_id"]))
        n += len(m.vertices)
    scene = trimesh.Trimesh(np.concatenate(verts), np.concatenate(faces), process=False)
    ids = np.concatenate(ids)
    origins = np.broadcast_to(c2w[:3, 3], (len(d_cam), 3))
    dirs = d_cam @ c2w[:3, :3].T
    locs, ray_idx, tri = scene.ray.intersects_location(origins, dirs, multiple_hits=False)
    inst = np.zeros(len(uv), np.int64)
    depth = np.zeros(len(uv))
    where = np.flatnonzero(ok)[ray_idx]
    inst[where] = ids[tri]
    depth[where] = (locs - c2w[:3, 3]) @ c2w[:3, 2]
    return inst.reshape(H, W), depth.reshape(H, W)
