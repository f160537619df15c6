"""Optical flow (core/flow.py) against independent computations, on synthetic frames (no render):
a closed-form camera translation in front of a plane, and moving/turning objects whose expected flow
is trimesh's (Embree) ray-cast hit moved by the poses and projected by OpenCV (tests/helpers_flow.py);
the occlusion mask against a ray cast in the other frame (the true visibility) and against the
documented depth test. The rendered sequences' flow is checked in tests/test_flow_render.py."""
from __future__ import annotations

import numpy as np
import trimesh
from flow_checks import depth_test
from helpers_flow import camera, expected_flow, frame_data, ground, link, look_at, moving_scene, scaled

from synthblend.core.flow import DEPTH_TOL_M, DEPTH_TOL_REL, flow_backward, flow_forward
from synthblend.core.spec import ObjectKind


def _plane_frames(tx=0.045, z=2.0, W=64, H=48):
    wall = trimesh.Trimesh(np.array([[-9, -9, z], [9, -9, z], [9, 9, z], [-9, 9, z]], float),
                           np.array([[0, 1, 2], [0, 2, 3]]), process=False)
    frames = []
    for k in range(2):
        c2w = np.eye(4)
        c2w[0, 3] = tx * k                        # camera axes = world axes, looking along +z
        frames.append(frame_data({1: wall}, {1: ObjectKind.GROUND}, {1: np.eye(4)}, camera(c2w, W, H), k)[0])
    link(frames)
    return frames


def test_camera_translation_in_front_of_a_plane_closed_form():
    tx, z = 0.045, 2.0
    f0, f1 = _plane_frames(tx, z)
    fx, fy = f0.spec.camera.K[0, 0], f0.spec.camera.K[1, 1]
    H, W = f0.depth.shape
    u = np.arange(W)[None, :].repeat(H, 0)
    for fl, du in ((flow_forward(f0), -fx * tx / z), (flow_backward(f1), fx * tx / z)):
        inside = (u + du >= -0.5) & (u + du < W - 0.5)
        assert np.array_equal(fl[..., 2] > 0, inside)
        np.testing.assert_allclose(fl[..., 0][inside], du, atol=1e-4)
        np.testing.assert_allclose(fl[..., 1][inside], 0.0, atol=1e-4)
        assert np.all(fl[..., :2][~inside] == 0)
    assert fy > 0


def test_ends_of_a_scene_are_all_invalid():
    frames, _, _ = moving_scene(3)
    assert not flow_backward(frames[0]).any()
    assert not flow_forward(frames[-1]).any()
    assert flow_forward(frames[0])[..., 2].mean() > 0.5


def test_flow_matches_the_moved_and_projected_ray_cast_hit():
    frames, pts, _ = moving_scene(3)
    for k, f in enumerate(frames):
        for fl, other in ((flow_forward(f), f.next), (flow_backward(f), f.prev)):
            if other is None:
                continue
            exp, _, pix, _ = expected_flow(f, pts[k], other)
            got = fl.reshape(-1, 3)[pix]
            valid = got[:, 2] > 0
            assert valid.mean() > 0.8
            err = np.linalg.norm(got[valid, :2] - exp[valid], axis=1)
            assert np.median(err) < 1e-4 and err.max() < 1e-3, (k, np.median(err), err.max())
            assert np.all(got[~valid, :2] == 0)
            # each moving object has valid, moving pixels
            for iid in (1, 2):
                m = valid & (f.instance.ravel()[pix] == iid)
                assert m.sum() > 20 and np.abs(got[m, :2]).max() > 0.5


def _true_visibility(other, moved):
    """Whether each world point ``moved`` is the first surface along its ray from the other camera
    (a ray cast of the other frame's posed meshes, independent of any depth map)."""
    meshes = []
    for o in other.spec.objects:
        V, F = other.geometry_of(o)
        T = np.asarray(o.obj2world, float)
        meshes.append(trimesh.Trimesh(np.asarray(V) @ T[:3, :3].T + T[:3, 3], F, process=False))
    scene = trimesh.util.concatenate(meshes)
    c = np.asarray(other.spec.camera.cam2world, float)[:3, 3]
    d = moved - c
    dist = np.linalg.norm(d, axis=1)
    _, ray, loc = scene.ray.intersects_id(np.broadcast_to(c, d.shape), d / dist[:, None], multiple_hits=False,
                                          return_locations=True)
    nearest = np.full(len(d), np.inf)
    nearest[ray] = np.linalg.norm(loc - c, axis=1)
    return nearest >= dist * (1 - 1e-5) - 1e-6


def test_valid_mask_agrees_with_true_visibility_and_the_depth_test():
    frames, pts, _ = moving_scene(3, W=96, H=72)
    n_occluded = 0
    for k, f in enumerate(frames):
        for fl, other in ((flow_forward(f), f.next), (flow_backward(f), f.prev)):
            if other is None:
                continue
            exp, z_o, pix, moved = expected_flow(f, pts[k], other)
            valid = fl.reshape(-1, 3)[pix, 2] > 0
            v, u = np.divmod(pix, f.depth.shape[1])
            uv_o = exp + np.stack([u, v], 1)
            H, W = other.depth.shape
            inside = (uv_o[:, 0] >= -0.5) & (uv_o[:, 0] < W - 0.5) & (uv_o[:, 1] >= -0.5) & (uv_o[:, 1] < H - 0.5)
            truth = _true_visibility(other, moved) & inside
            n_occluded += int((inside & ~truth).sum())
            assert np.mean(valid == truth) > 0.99, np.mean(valid == truth)
            documented = depth_test(other.depth, other.instance, uv_o, z_o, f.instance.ravel()[pix],
                                    DEPTH_TOL_M, DEPTH_TOL_REL)
            assert np.mean(valid == documented) > 0.999
            assert not (valid & ~inside).any()
    assert n_occluded > 20          # the scene does occlude: the test can fail


def test_a_point_hidden_by_an_object_moving_in_front_is_invalid():
    box = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    meshes = {1: box, 2: ground()}
    cam = camera(look_at((0.0, -0.8, 0.8), (0, 0, 0)))
    frames, pts = [], []
    for k in range(2):
        poses = {1: scaled(np.eye(3), (-0.12 + 0.24 * k, 0.0, 0.1)), 2: np.eye(4)}
        fd, p = frame_data(meshes, {2: ObjectKind.GROUND}, poses, cam, k)
        frames.append(fd)
        pts.append(p)
    link(frames)
    fl = flow_forward(frames[0])
    ground_px = frames[0].instance == 2
    # static camera, static ground: the ground's flow is 0 and it is valid exactly where the box does not cover
    # it in frame 1
    covered = frames[1].instance == 1
    assert np.array_equal((fl[..., 2] > 0) & ground_px, ground_px & ~covered)
    assert (ground_px & covered).sum() > 30
    assert np.abs(fl[..., :2][ground_px & ~covered]).max() < 1e-6
    box_px = frames[0].instance == 1
    np.testing.assert_allclose(fl[..., 0][box_px & (fl[..., 2] > 0)].mean(), 0.0, atol=50)  # moved, but present
    assert (fl[..., 2][box_px] > 0).mean() > 0.5
