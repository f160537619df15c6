"""Tiny analytic synthblend datasets for the dataset/export/verify tests, made without Blender.

Scenes of boxes, spheres and cylinders on a ground plane, ray-cast with trimesh (embree) at pixel
centres, written with :class:`DatasetWriter` in the layout and meta format of CONTRACT.md. The pose
helpers (``look_at``, ``rot_z``, ``rot_x``, ``pose``: 4x4, OpenCV camera axes, meters) and the frame
helpers (``write_frame``, ``read_frame``, ``refresh_visibility``) are shared with tests/test_verify.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from synthblend.core.outputs import semantic_from_instance
from synthblend.dataset.masks import visibility
from synthblend.dataset.reader import Frame
from synthblend.dataset.writer import DatasetWriter

CATEGORIES = [{"id": 1, "name": "box"}, {"id": 2, "name": "ball"}, {"id": 3, "name": "can"},
              {"id": 4, "name": "never_seen"}]
COLORS = {0: (0.55, 0.55, 0.5), 1: (0.9, 0.3, 0.2), 2: (0.2, 0.5, 0.9), 3: (0.3, 0.8, 0.3)}


def asset_meshes() -> dict[str, tuple[trimesh.Trimesh, float, int]]:
    """asset name -> (mesh in raw asset units, scale to meters, category id)."""
    box = trimesh.creation.box(extents=(80.0, 60.0, 100.0))  # millimetres
    box.apply_translation((10.0, -5.0, 50.0))               # origin not at the centre
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    cyl = trimesh.creation.cylinder(radius=0.5, height=1.5, sections=24)
    return {"assets/box_mm.ply": (box, 0.001, 1), "primitive:sphere": (sphere, 0.05, 2),
            "primitive:cylinder": (cyl, 0.06, 3)}


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """cam2world (OpenCV: x right, y down, z forward)."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return m


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return m


def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    m = np.eye(4)
    m[1:3, 1:3] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return m


def pose(R, t, scale: float = 1.0) -> np.ndarray:
    """4x4 ``[scale * R | t]``; ``R`` is 3x3 or 4x4 (its rotation block is used)."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(R, float)[:3, :3] * scale
    m[:3, 3] = t
    return m


def write_frame(root, index: int, meta: dict, instance=None, depth=None, semantic=None, rgb=None):
    """Write (or replace) one frame with the project's writer: instance/semantic as uint16 PNGs,
    depth (meters) as float32 EXR, meta last."""
    arrays = {"instance": None if instance is None else np.asarray(instance).astype(np.uint16),
              "semantic": None if semantic is None else np.asarray(semantic).astype(np.uint16),
              "depth": None if depth is None else np.asarray(depth, np.float32), "rgb": rgb}
    DatasetWriter(root).write_frame(index, meta, **arrays)


def read_frame(root, index: int):
    """(meta, instance int64, depth float64, semantic int64) of a frame, by the project's reader."""
    f = Frame(Path(root), index)
    return (f.meta, f.instance.astype(np.int64), f.depth.astype(np.float64),
            f.semantic.astype(np.int64))


def refresh_visibility(meta: dict, instance) -> None:
    """Set every meta object's ``px_count_visib`` and ``bbox_visib`` from an instance map."""
    vis = visibility(instance, [o["instance_id"] for o in meta["objects"]])
    for o in meta["objects"]:
        o["px_count_visib"], o["bbox_visib"] = vis[o["instance_id"]]


def pixel_rays(K, cam2world, W, H):
    """World-space origins and unit directions through pixel centres (u, v), row-major."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d_cam = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1) @ np.linalg.inv(K).T
    d_world = d_cam @ cam2world[:3, :3].T
    d_world /= np.linalg.norm(d_world, axis=1, keepdims=True)
    return np.broadcast_to(cam2world[:3, 3], d_world.shape).copy(), d_world


def render(meshes_world: list[trimesh.Trimesh], K, cam2world, W, H):
    """(instance uint16, planar depth float32, normals) for meshes numbered 1..n."""
    scene = trimesh.util.concatenate(meshes_world)
    owner = np.concatenate([np.full(len(m.faces), i + 1) for i, m in enumerate(meshes_world)])
    origins, dirs = pixel_rays(K, cam2world, W, H)
    locs, ray_idx, tri_idx = scene.ray.intersects_location(origins, dirs, multiple_hits=False)
    inst = np.zeros(W * H, np.uint16)
    depth = np.zeros(W * H, np.float32)
    normals = np.zeros((W * H, 3))
    inst[ray_idx] = owner[tri_idx]
    world2cam = np.linalg.inv(cam2world)
    depth[ray_idx] = (locs @ world2cam[:3, :3].T + world2cam[:3, 3])[:, 2]
    normals[ray_idx] = scene.face_normals[tri_idx]
    return inst.reshape(H, W), depth.reshape(H, W), normals.reshape(H, W, 3)


def make_dataset(root, frames: int = 3, W: int = 64, H: int = 48, seed: int = 0,
                 outputs=("rgb", "depth", "instance", "semantic")) -> Path:
    """Write a small dataset to ``root`` and return it."""
    root = Path(root)
    w = DatasetWriter(root)
    assets = asset_meshes()
    mesh_rel = {}
    for asset, (mesh, _, _) in assets.items():
        name = asset.split(":")[-1] if asset.startswith("primitive:") else Path(asset).stem
        mesh_rel[asset] = w.write_mesh(name, mesh.vertices, mesh.faces)
    ground = trimesh.Trimesh(np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0.0]]),
                             np.array([[0, 1, 2], [0, 2, 3]]), process=False)
    mesh_rel["ground"] = w.write_mesh("ground", ground.vertices, ground.faces)
    cat_names = {c["id"]: c["name"] for c in CATEGORIES}
    fx = 35.0 / 36.0 * W
    K = np.array([[fx, 0, (W - 1) / 2], [0, fx, (H - 1) / 2], [0, 0, 1]])
    w.write_manifest({
        "format": {"name": "synthblend", "version": 1},
        "generator": {"name": "tests/dataset/synthdata.py", "blender": None},
        "config": {"seed": seed}, "seed": seed, "frames": frames, "image_size": [W, H],
        "categories": CATEGORIES, "units": {"length": "m", "depth": "m", "angle": "deg"},
        "outputs": list(outputs)})
    for fi in range(frames):
        r = np.random.default_rng([seed, fi])
        dist = r.uniform(0.45, 0.6)
        az, el = r.uniform(0, 360), r.uniform(35, 60)
        eye = dist * np.array([np.cos(np.radians(el)) * np.cos(np.radians(az)),
                               np.cos(np.radians(el)) * np.sin(np.radians(az)),
                               np.sin(np.radians(el))])
        cam2world = look_at(eye, (0, 0, 0.03))
        world2cam = np.linalg.inv(cam2world)
        placed = []  # (asset, obj2world)
        slots = [(-0.12, -0.1), (0.1, -0.08), (0.0, 0.12), (0.13, 0.11), (-0.13, 0.1)]
        order = r.permutation(len(slots))
        for k, asset in enumerate(["assets/box_mm.ply", "primitive:sphere", "assets/box_mm.ply",
                                   "primitive:cylinder"]):
            mesh, scale, _ = assets[asset]
            x, y = slots[order[k]]
            m = rot_z(r.uniform(0, 360))
            if asset == "primitive:cylinder":
                m = m @ rot_x(r.uniform(0, 40))
            zlift = {"assets/box_mm.ply": 0.0, "primitive:sphere": 0.05,
                     "primitive:cylinder": 0.06}[asset]
            m[:3, 3] = (x, y, zlift)
            m[:3, :3] *= scale
            placed.append((asset, m))
        # an object far outside the view: must appear with 0 visible pixels
        m = np.eye(4)
        m[:3, :3] *= 0.05
        m[:3, 3] = (30.0, 30.0, 0.05)
        placed.append(("primitive:sphere", m))
        meshes_world, objects = [], []
        for iid, (asset, m) in enumerate(placed, start=1):
            mesh, scale, cat = assets[asset]
            meshes_world.append(mesh.copy().apply_transform(m))
            objects.append({"instance_id": iid, "name": f"{asset.split('/')[-1]}_{iid}",
                            "category_id": cat, "category": cat_names[cat], "asset": asset,
                            "mesh": mesh_rel[asset], "scale": scale,
                            "obj2world": m.tolist(), "obj2cam": (world2cam @ m).tolist()})
        gid = len(placed) + 1
        meshes_world.append(ground.copy())
        objects.append({"instance_id": gid, "name": "ground", "category_id": 0, "category": None,
                        "asset": "ground", "mesh": mesh_rel["ground"], "scale": 1.0,
                        "obj2world": np.eye(4).tolist(), "obj2cam": world2cam.tolist()})
        inst, depth, normals = render(meshes_world, K, cam2world, W, H)
        vis = visibility(inst, [o["instance_id"] for o in objects])
        for o in objects:
            o["px_count_visib"], o["bbox_visib"] = vis[o["instance_id"]]
        id2cat = {o["instance_id"]: o["category_id"] for o in objects}
        sem = semantic_from_instance(inst, id2cat)
        light = np.array([0.3, -0.4, 0.87])
        shade = np.clip(np.abs(normals @ light), 0.15, 1.0)
        base = np.zeros((H, W, 3)) + (0.05, 0.07, 0.12)
        for iid, cat in id2cat.items():
            base[inst == iid] = COLORS[cat]
        rgb = base * np.where(inst > 0, shade, 1.0)[..., None]
        rgb = np.clip(rgb * 255 + r.normal(0, 2, rgb.shape), 0, 255).astype(np.uint8)
        meta = {
            "frame": fi, "seed": seed, "image_size": [W, H],
            "camera": {"K": K.tolist(), "cam2world": cam2world.tolist(),
                       "world2cam": world2cam.tolist(), "focal_length_mm": 35.0,
                       "sensor_width_mm": 36.0, "sensor_fit": "horizontal", "shift_x": 0.0,
                       "shift_y": 0.0, "clip_start": 0.01, "clip_end": 1000.0},
            "objects": objects,
            "lights": [{"type": "sun", "power_w": 3.0}], "world": {"strength": 0.5},
            "sampled": {"camera.distance": dist, "camera.azimuth_deg": az,
                        "camera.elevation_deg": el, "lighting.type": ["sun", "point"],
                        "lighting.power_w": [float(r.uniform(100, 1000)) for _ in range(2)],
                        "scene.objects[0].position": [p[1][:3, 3].tolist() for p in placed[:2]],
                        "materials.texture": str(r.choice(["none", "noise"]))},
        }
        arrays = {"rgb": rgb, "depth": depth, "instance": inst, "semantic": sem}
        w.write_frame(fi, meta, **{k: v for k, v in arrays.items() if k in outputs})
    return root


def _edge(q, p0, p1):
    return (p1[0] - p0[0]) * (q[:, 1] - p0[1]) - (p1[1] - p0[1]) * (q[:, 0] - p0[0])


def raster_silhouette(vertices_cam: np.ndarray, faces: np.ndarray, K, W, H) -> np.ndarray:
    """Silhouette of a mesh (vertices in the camera frame, all in front of the camera) at pixel
    centres, by a per-triangle point-in-triangle test. Independent of any ray caster."""
    p = vertices_cam @ np.asarray(K, float).T
    uv = p[:, :2] / p[:, 2:3]
    mask = np.zeros((H, W), bool)
    for tri in uv[np.asarray(faces)]:
        lo = np.maximum(np.floor(tri.min(0)).astype(int), 0)
        hi = np.minimum(np.ceil(tri.max(0)).astype(int), [W - 1, H - 1])
        if np.any(hi < lo):
            continue
        vv, uu = np.mgrid[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1]
        q = np.stack([uu.ravel(), vv.ravel()], 1).astype(float)
        a, b, c = tri
        e0, e1, e2 = _edge(q, a, b), _edge(q, b, c), _edge(q, c, a)
        inside = ((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0))
        mask[vv.ravel()[inside], uu.ravel()[inside]] = True
    return mask


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory):
    """A 4-frame 96x72 dataset (read-only: tests must not modify it).

    Import it into a test module (``from synthdata import synth_dataset``); there is deliberately no
    conftest.py here, since a second ``conftest`` module would shadow ``tests/conftest.py``.
    """
    return make_dataset(tmp_path_factory.mktemp("synth") / "ds", frames=4, W=96, H=72)
