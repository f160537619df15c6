"""Synthetic frames for the flow and object-coordinate tests, made without Blender.

A scene is a list of ObjectSpecs with their meshes (raw asset coordinates) and per-frame poses and
cameras; each frame's depth and instance maps come from trimesh's ray caster (Embree, float32, where
embreex is installed; not the project's ``core.raycam``), through the pixel centres
``K^-1 [u, v, 1]`` (OpenCV camera frame, meters). The expected flow is computed here too,
independently: the ray-cast hit point moved by ``obj2world_o @ inverse(obj2world_t)`` and projected
with OpenCV's ``cv2.projectPoints``.
"""
from __future__ import annotations

import functools

import numpy as np
import trimesh

from synthblend.core.outputs import FrameData
from synthblend.core.spec import CameraSpec, FrameSpec, ObjectKind, ObjectSpec


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


def rot(axis, deg) -> np.ndarray:
    return trimesh.transformations.rotation_matrix(np.radians(deg), axis)


def camera(cam2world, W=64, H=48, f=60.0) -> CameraSpec:
    K = np.array([[f, 0, (W - 1) / 2 + 0.3], [0, f * 1.01, (H - 1) / 2 - 0.2], [0, 0, 1.0]])
    return CameraSpec(cam2world=np.asarray(cam2world, float), K=K, resolution=(W, H), focal_length_mm=35.0,
                      sensor_width_mm=36.0, sensor_fit="horizontal", shift_x=0.0, shift_y=0.0,
                      clip_start=0.01, clip_end=100.0)


def obj(iid: int, kind=ObjectKind.OBJECT, name=None) -> ObjectSpec:
    return ObjectSpec(instance_id=iid, name=name or f"o{iid}", kind=kind, entry=0, slot=iid, category="c",
                      category_id=1, asset=f"a{iid}", obj2world=np.eye(4), color_rgb=(1, 1, 1))


def render_maps(meshes: dict, poses: dict, cam: CameraSpec):
    """(instance uint16, planar depth float32, world hit points HxWx3) by trimesh's ray caster (Embree)."""
    W, H = cam.resolution
    world = [trimesh.Trimesh(np.asarray(m.vertices) @ poses[i][:3, :3].T + poses[i][:3, 3], m.faces,
                             process=False) for i, m in meshes.items()]
    ids = list(meshes)
    scene = trimesh.util.concatenate(world)
    owner = np.concatenate([np.full(len(m.faces), i) for i, m in zip(ids, world, strict=True)])
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d_cam = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1) @ np.linalg.inv(cam.K).T
    c2w = np.asarray(cam.cam2world, float)
    d_w = d_cam @ c2w[:3, :3].T                      # not normalized: ray parameter = planar depth
    o_w = np.broadcast_to(c2w[:3, 3], d_w.shape)
    tri, ray, loc = scene.ray.intersects_id(o_w, d_w, multiple_hits=False, return_locations=True)
    inst = np.zeros(W * H, np.uint16)
    depth = np.zeros(W * H, np.float32)
    pts = np.zeros((W * H, 3))
    if len(ray):
        t = np.einsum("ij,ij->i", loc - o_w[ray], d_w[ray]) / np.einsum("ij,ij->i", d_w[ray], d_w[ray])
        order = np.lexsort((t, ray))
        ray, tri, t, loc = ray[order], tri[order], t[order], loc[order]
        first = np.r_[True, ray[1:] != ray[:-1]]
        keep = first & (t > cam.clip_start)
        inst[ray[keep]] = owner[tri[keep]]
        depth[ray[keep]] = t[keep]
        pts[ray[keep]] = loc[keep]
    return inst.reshape(H, W), depth.reshape(H, W), pts.reshape(H, W, 3)


def frame_data(meshes: dict, kinds: dict, poses: dict, cam: CameraSpec, index: int = 0):
    """FrameData of one synthetic frame (and its world hit points): ``meshes`` {iid: trimesh},
    ``kinds`` {iid: ObjectKind}, ``poses`` {iid: obj2world 4x4}."""
    objects = []
    for iid in meshes:
        o = obj(iid, kinds.get(iid, ObjectKind.OBJECT))
        o.obj2world = np.asarray(poses[iid], float)
        objects.append(o)
    spec = FrameSpec(frame=index, seed=0, camera=cam, objects=objects)
    inst, depth, pts = render_maps(meshes, poses, cam)
    by_iid = {iid: (np.asarray(m.vertices), np.asarray(m.faces)) for iid, m in meshes.items()}
    fd = FrameData(spec, None, depth, inst, lambda o: by_iid[o.instance_id], lambda o: None, lambda o: None)
    return fd, pts


def link(frames: list) -> None:
    """Set ``prev``/``next`` of a scene's FrameData (what the worker does)."""
    for k, f in enumerate(frames):
        f.prev = frames[k - 1] if k > 0 else None
        f.next = frames[k + 1] if k + 1 < len(frames) else None


def moved_hits(fd, pts, other):
    """(indices of the hit pixels of ``fd``, their world hit points ``pts`` moved by each object's
    ``obj2world_other @ inverse(obj2world_fd)``, Nx3)."""
    inst = np.asarray(fd.instance).ravel()
    pix = np.flatnonzero(inst > 0)
    P = pts.reshape(-1, 3)[pix]
    pose_t = {o.instance_id: o.obj2world for o in fd.spec.objects}
    pose_o = {o.instance_id: o.obj2world for o in other.spec.objects}
    moved = np.zeros_like(P)
    for iid in np.unique(inst[pix]):
        m = inst[pix] == iid
        M = pose_o[int(iid)] @ np.linalg.inv(pose_t[int(iid)])
        moved[m] = P[m] @ M[:3, :3].T + M[:3, 3]
    return pix, moved


def expected_flow(fd, pts, other):
    """Independent flow of every hit pixel of ``fd`` (hit world points ``pts``) to ``other``:
    (Nx2 flow, Nx1 depth in the other camera, pixel indices). cv2.projectPoints projects."""
    import cv2

    pix, moved = moved_hits(fd, pts, other)
    w2c = np.linalg.inv(other.spec.camera.cam2world)
    rvec, _ = cv2.Rodrigues(w2c[:3, :3])
    uv, _ = cv2.projectPoints(moved, rvec, w2c[:3, 3], np.asarray(other.spec.camera.K, float), None)
    W = fd.spec.camera.resolution[0]
    v, u = np.divmod(pix, W)
    z = (moved @ w2c[:3, :3].T + w2c[:3, 3])[:, 2]
    return uv.reshape(-1, 2) - np.stack([u, v], 1), z, pix, moved


def box_mm(extents=(80.0, 60.0, 100.0), offset=(10.0, -5.0, 50.0)) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents=extents)
    m.apply_translation(offset)
    return m


def ground(size=3.0) -> trimesh.Trimesh:
    s = size
    return trimesh.Trimesh(np.array([[-s, -s, 0], [s, -s, 0], [s, s, 0], [-s, s, 0.0]]),
                           np.array([[0, 1, 2], [0, 2, 3]]), process=False)


def scaled(R, t, s=1.0) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.asarray(R, float)[:3, :3] * s
    m[:3, 3] = t
    return m


@functools.lru_cache(maxsize=4)
def moving_scene(n_frames=3, W=64, H=48):
    """A box (mm, scale 0.001, origin off centre) and a sphere moving and turning over a static
    ground, seen by a moving camera: ``(frames, world hit points per frame, meshes)``, frames linked;
    cached (the same objects for the same arguments: read them, do not change them)."""
    meshes = {1: box_mm(), 2: trimesh.creation.icosphere(subdivisions=2, radius=1.0), 3: ground()}
    kinds = {3: ObjectKind.GROUND}
    frames, pts = [], []
    for k in range(n_frames):
        poses = {1: scaled(rot((0, 0, 1), 20 + 9 * k) @ rot((1, 0, 0), 3 * k), (0.02 * k - 0.05, 0.01 * k, 0.0),
                           0.001),
                 2: scaled(rot((0.3, 1, 0.2), 15 * k), (0.08, -0.06 + 0.015 * k, 0.05), 0.05),
                 3: np.eye(4)}
        eye = (0.45 * np.cos(0.5 + 0.06 * k), 0.45 * np.sin(0.5 + 0.06 * k), 0.32 + 0.01 * k)
        fd, p = frame_data(meshes, kinds, poses, camera(look_at(eye, (0, 0, 0.03)), W, H), k)
        frames.append(fd)
        pts.append(p)
    link(frames)
    return frames, pts, meshes
