"""Optical flow and object coordinates of a camera with lens distortion (camera.distortion), on
synthetic frames (no render), against independent computations: the maps come from trimesh's ray
caster through pixel centres undistorted by OpenCV (``cv2.undistortPointsIter`` with tight criteria,
``cv2.fisheye.undistortPoints``), and the expected flow is the ray-cast hit moved by the poses and
projected by OpenCV with the same coefficients (``cv2.projectPoints`` / ``cv2.fisheye.projectPoints``).
Pinhole flow is checked in tests/test_flow.py."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import trimesh
from helpers_flow import box_mm, camera, ground, link, look_at, moved_hits, obj, rot, scaled

from synthblend.core.flow import flow_backward, flow_forward
from synthblend.core.object_coords import object_coords_map
from synthblend.core.outputs import FrameData
from synthblend.core.spec import FrameSpec, ObjectKind

LENSES = {
    "opencv": {"model": "opencv", "k1": -0.28, "k2": 0.07, "p1": 0.001, "p2": -0.0008, "k3": 0.0},
    "fisheye": {"model": "fisheye", "k1": 0.05, "k2": -0.01, "k3": 0.002, "k4": -0.0005},
}


def _cv_rays(K, dist, W, H):
    """HxW x 2 undistorted normalized coordinates of every pixel centre, by OpenCV."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    uv = np.stack([u.ravel(), v.ravel()], 1).reshape(-1, 1, 2)
    if dist["model"] == "fisheye":
        D = np.array([dist[k] for k in ("k1", "k2", "k3", "k4")])
        xy = cv2.fisheye.undistortPoints(uv, K, D, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS,
                                                             100, 1e-14))
    else:
        D = np.array([dist[k] for k in ("k1", "k2", "p1", "p2", "k3")])
        xy = cv2.undistortPointsIter(uv, K, D, None, None,
                                     (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14))
    return xy.reshape(-1, 2)


def _cv_project(P_cam, K, dist):
    if dist["model"] == "fisheye":
        D = np.array([dist[k] for k in ("k1", "k2", "k3", "k4")])
        uv, _ = cv2.fisheye.projectPoints(P_cam.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, D)
    else:
        D = np.array([dist[k] for k in ("k1", "k2", "p1", "p2", "k3")])
        uv, _ = cv2.projectPoints(P_cam, np.zeros(3), np.zeros(3), K, D)
    return uv.reshape(-1, 2)


def _frame(meshes, kinds, poses, cam, index):
    """FrameData of one frame seen through the distorted camera, and its world hit points."""
    W, H = cam.resolution
    world = [trimesh.Trimesh(np.asarray(m.vertices) @ poses[i][:3, :3].T + poses[i][:3, 3], m.faces,
                             process=False) for i, m in meshes.items()]
    scene = trimesh.util.concatenate(world)
    owner = np.concatenate([np.full(len(m.faces), i) for i, m in zip(meshes, world, strict=True)])
    xy = _cv_rays(cam.K, cam.distortion, W, H)
    d_cam = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    c2w = np.asarray(cam.cam2world, float)
    d_w = d_cam @ c2w[:3, :3].T
    o_w = np.broadcast_to(c2w[:3, 3], d_w.shape)
    tri, ray, loc = scene.ray.intersects_id(o_w, d_w, multiple_hits=False, return_locations=True)
    inst = np.zeros(W * H, np.uint16)
    depth = np.zeros(W * H, np.float32)
    pts = np.zeros((W * H, 3))
    t = np.einsum("ij,ij->i", loc - o_w[ray], d_w[ray]) / np.einsum("ij,ij->i", d_w[ray], d_w[ray])
    keep = t > cam.clip_start
    inst[ray[keep]] = owner[tri[keep]]
    depth[ray[keep]] = t[keep]
    pts[ray[keep]] = loc[keep]
    objects = []
    for iid in meshes:
        o = obj(iid, kinds.get(iid, ObjectKind.OBJECT))
        o.obj2world = np.asarray(poses[iid], float)
        objects.append(o)
    spec = FrameSpec(frame=index, seed=0, camera=cam, objects=objects)
    by_iid = {iid: (np.asarray(m.vertices), np.asarray(m.faces)) for iid, m in meshes.items()}
    fd = FrameData(spec, None, depth.reshape(H, W), inst.reshape(H, W), lambda o: by_iid[o.instance_id],
                   lambda o: None, lambda o: None)
    return fd, pts.reshape(H, W, 3)


def _scene(dist, n=3, W=72, H=54):
    meshes = {1: box_mm(), 2: trimesh.creation.icosphere(subdivisions=2, radius=1.0), 3: ground()}
    kinds = {3: ObjectKind.GROUND}
    frames, pts = [], []
    for k in range(n):
        poses = {1: scaled(rot((0, 0, 1), 20 + 9 * k), (0.02 * k - 0.05, 0.01 * k, 0.0), 0.001),
                 2: scaled(rot((0.3, 1, 0.2), 15 * k), (0.08, -0.06 + 0.015 * k, 0.05), 0.05),
                 3: np.eye(4)}
        eye = (0.45 * np.cos(0.5 + 0.06 * k), 0.45 * np.sin(0.5 + 0.06 * k), 0.32 + 0.01 * k)
        cam = camera(look_at(eye, (0, 0, 0.03)), W, H, f=55.0)
        cam.distortion = dict(dist)
        fd, p = _frame(meshes, kinds, poses, cam, k)
        frames.append(fd)
        pts.append(p)
    link(frames)
    return frames, pts


@pytest.mark.parametrize("lens", sorted(LENSES))
def test_flow_through_a_distorted_camera_matches_opencv(lens):
    frames, pts = _scene(LENSES[lens])
    for k, f in enumerate(frames):
        for fl, other in ((flow_forward(f), f.next), (flow_backward(f), f.prev)):
            if other is None:
                continue
            pix, moved = moved_hits(f, pts[k], other)
            w2c = np.linalg.inv(other.spec.camera.cam2world)
            Pc = moved @ w2c[:3, :3].T + w2c[:3, 3]
            W = f.spec.camera.resolution[0]
            v, u = np.divmod(pix, W)
            exp = _cv_project(Pc, np.asarray(other.spec.camera.K, float), LENSES[lens]) - np.stack([u, v], 1)
            got = fl.reshape(-1, 3)[pix]
            valid = got[:, 2] > 0
            assert valid.mean() > 0.7
            err = np.linalg.norm(got[valid, :2] - exp[valid], axis=1)
            assert np.median(err) < 1e-3 and np.percentile(err, 99) < 1e-2, (lens, k, np.median(err), err.max())
            # a pinhole projection of the same points is far off: the lens is really applied
            uvw = Pc @ np.asarray(other.spec.camera.K, float).T
            pin = uvw[:, :2] / uvw[:, 2:3] - np.stack([u, v], 1)
            assert np.median(np.linalg.norm(pin[valid] - exp[valid], axis=1)) > 0.05


@pytest.mark.parametrize("lens", sorted(LENSES))
def test_object_coords_through_a_distorted_camera_are_the_inverse_pose_of_the_hit(lens):
    frames, pts = _scene(LENSES[lens], n=1)
    f = frames[0]
    X = object_coords_map(f).reshape(-1, 3).astype(np.float64)
    inst = f.instance.ravel()
    for o in f.spec.objects:
        m = inst == o.instance_id
        assert m.sum() > 10
        Tinv = np.linalg.inv(o.obj2world)
        exp = pts[0].reshape(-1, 3)[m] @ Tinv[:3, :3].T + Tinv[:3, 3]
        V = f.geometry_of(o)[0]
        extent = float(np.linalg.norm(np.ptp(V, axis=0)))
        err = np.linalg.norm(X[m] - exp, axis=1) / extent
        assert np.percentile(err, 99) < 1e-5, (lens, o.instance_id, err.max())
    assert np.all(X[inst == 0] == 0)
