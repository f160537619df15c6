"""Intrinsics and camera poses agree with Blender's own projection (``world_to_camera_view``).

Blender runs in a subprocess so the test process stays free of bpy; it projects random points with the
camera set up from our parameters, and we compare with K and world2cam computed in pure numpy.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from synthblend.core import camera as cam

CASES = [
    # W, H, lens, sensor_width, fit, shift_x, shift_y
    (641, 479, 35.0, 36.0, "horizontal", 0.0, 0.0),
    (333, 517, 50.0, 36.0, "horizontal", 0.0, 0.0),     # portrait
    (333, 517, 50.0, 36.0, "auto", 0.0, 0.0),           # portrait, auto fit -> vertical
    (300, 200, 28.0, 32.0, "vertical", 0.0, 0.0),
    (321, 241, 40.0, 36.0, "horizontal", 0.11, -0.07),  # lens shift
    (241, 321, 40.0, 36.0, "auto", -0.05, 0.13),        # portrait + shift
    (257, 255, 24.0, 23.5, "vertical", 0.2, 0.1),
]

BLENDER_SCRIPT = r"""
import json, sys
import bpy
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Matrix, Vector
cases, points, poses = json.loads(sys.stdin.read())
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
camd = bpy.data.cameras.new("c"); ob = bpy.data.objects.new("c", camd)
scene.collection.objects.link(ob); scene.camera = ob
out = []
for (W, H, lens, sw, fit, sx, sy), pose in zip(cases, poses):
    scene.render.resolution_x, scene.render.resolution_y = W, H
    scene.render.resolution_percentage = 100
    camd.lens, camd.sensor_width, camd.sensor_height = lens, sw, sw
    camd.sensor_fit = fit.upper(); camd.shift_x, camd.shift_y = sx, sy
    ob.matrix_world = Matrix(pose)
    bpy.context.view_layer.update()
    res = []
    for p in points:
        v = world_to_camera_view(scene, ob, Vector(p))
        res.append([v.x * W - 0.5, (1.0 - v.y) * H - 0.5, v.z])
    out.append(res)
print("RESULT" + json.dumps(out))
"""


def test_k_matches_blender_projection():
    rng = np.random.default_rng(0)
    poses_cv, poses_bl = [], []
    for _ in CASES:
        pos = rng.uniform(-3, 3, 3) + np.array([0, 0, 4.0])
        R = cam.look_at_rotation(pos, rng.uniform(-0.3, 0.3, 3), roll_deg=rng.uniform(-30, 30))
        T = cam.pose_matrix(R, pos)
        poses_cv.append(T)
        B = T.copy()
        B[:3, :3] = R @ cam.CV_TO_BLENDER
        poses_bl.append(B.tolist())
    points = rng.uniform(-0.8, 0.8, (40, 3)).tolist()
    proc = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT], input=json.dumps([CASES, points, poses_bl]),
                          capture_output=True, text=True, timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    blender = np.array(json.loads(line[6:]))
    for case, T, bl in zip(CASES, poses_cv, blender, strict=True):
        W, H, lens, sw, fit, sx, sy = case
        K = cam.intrinsics(lens, sw, W, H, sensor_height_mm=sw, sensor_fit=fit, shift_x=sx, shift_y=sy)
        uv, z = cam.project(K, cam.invert_pose(T), np.array(points))
        assert np.allclose(z, bl[:, 2], atol=1e-6), case
        err = np.abs(uv - bl[:, :2]).max()
        assert err < 1e-3, f"{case}: max pixel error {err}"


def test_principal_point_convention():
    # Pixel centres are integer coordinates: an unshifted W x H image has its centre at ((W-1)/2, (H-1)/2).
    K = cam.intrinsics(35, 36, 640, 480)
    assert K[0, 2] == pytest.approx(319.5) and K[1, 2] == pytest.approx(239.5)
    assert K[0, 0] == pytest.approx(35 / 36 * 640) and K[1, 1] == K[0, 0]


def test_look_at_opencv_axes():
    R = cam.look_at_rotation([2, 0, 0], [0, 0, 0])
    assert np.allclose(R[:, 2], [-1, 0, 0])      # z forward, towards the target
    assert np.allclose(R[:, 1], [0, 0, -1])      # y down = world -z
    assert np.allclose(R[:, 0], [0, 1, 0])       # x right: facing -x with z up, right is +y
    assert np.isclose(np.linalg.det(R), 1.0)
    # straight down: still a proper rotation
    R = cam.look_at_rotation([0, 0, 3], [0, 0, 0])
    assert np.isclose(np.linalg.det(R), 1.0) and np.allclose(R[:, 2], [0, 0, -1])
