"""Depth of field and motion blur in Blender, and the sharp ground-truth pass they need.

Both effects move where a pixel's rays start or when they are traced, so Cycles' depth, object index
and normal passes of a blurred render are no longer those of the pixel-centre pinhole ray. With an
effect on, a frame is rendered twice: the colour image with the effect, then a ground-truth pass
with depth of field and motion blur off, 1 sample, no denoising, at the exposure's centre (the poses
in meta). Without effects there is one render, as before.

Motion blur: the camera and every visible object get linear keyframes at scene frames 0, 1 and 2
(pose at frame 1 = the frame's pose), and the shutter spans frames 0.75..1.25 (``shutter`` 0.5
frames, centred), so the motion during the exposure is the configured translation / rotation.
Keyframes are re-set every frame on the same actions: nothing new is created per frame.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from . import compat

SHUTTER = 0.5                          # frames; the exposure is [1 - SHUTTER/2, 1 + SHUTTER/2]


class CameraFx:
    def __init__(self, builder):
        self.b = builder
        c = builder.config.parsed["camera"]
        self.dof = bool(c.get("dof"))
        self.motion = bool(c.get("motion_blur"))

    @property
    def active(self) -> bool:
        return self.dof or self.motion

    def build(self, scene) -> None:
        if self.motion:
            scene.render.use_motion_blur = True
            scene.render.motion_blur_shutter = SHUTTER
            if hasattr(scene.render, "motion_blur_position"):
                scene.render.motion_blur_position = "CENTER"
            scene.frame_start, scene.frame_end = 0, 2
            scene.frame_set(1)

    def apply(self, spec, movable_objects) -> None:
        """After the scene's poses are set: lens values, and keyframes for motion blur.
        ``movable_objects``: (bpy object, ObjectSpec) of every visible object or distractor."""
        fx = spec.camera_fx
        cam_ob = self.b.camera
        if self.dof:
            d = cam_ob.data.dof
            d.use_dof = True
            d.aperture_fstop = fx.f_stop
            d.focus_distance = fx.focus_distance
            d.aperture_blades = fx.blades
        if self.motion:
            self._key_camera(cam_ob, fx)
            for ob, o in movable_objects:
                self._key_translation(ob, np.asarray(o.motion or (0.0, 0.0, 0.0), float))
            self.b.scene.frame_set(1)

    def _key_translation(self, ob, delta) -> None:
        loc = np.array(ob.location[:], float)
        step = delta / SHUTTER                       # per frame
        for f, k in ((0, -1.0), (2, 1.0), (1, 0.0)):
            ob.location = tuple(loc + k * step)
            compat.keyframe_linear(ob, "location", f)
        ob.location = tuple(loc)

    def _key_camera(self, ob, fx) -> None:
        from mathutils import Euler, Matrix

        M = np.array(ob.matrix_world, float)
        R, t = M[:3, :3], M[:3, 3]
        cv = R @ np.diag([1.0, -1.0, -1.0])          # OpenCV axes of the camera in the world
        dt = cv @ (np.asarray(fx.camera_translation, float) / SHUTTER)
        w = np.radians(np.asarray(fx.camera_rotation_deg, float)) / SHUTTER   # about OpenCV axes
        eul0 = ob.rotation_euler.copy()
        for f, k in ((0, -1.0), (2, 1.0), (1, 0.0)):
            Rk = cv @ _rotvec(k * w) @ cv.T @ R if k else R
            ob.location = tuple(t + k * dt)
            ob.rotation_euler = Matrix(Rk.tolist()).to_euler("XYZ", eul0)
            compat.keyframe_linear(ob, "location", f)
            compat.keyframe_linear(ob, "rotation_euler", f)
        ob.location = tuple(t)
        ob.rotation_euler = Matrix(R.tolist()).to_euler("XYZ", eul0)
        _ = Euler

    @contextlib.contextmanager
    def ground_truth_pass(self):
        """Scene state for the sharp ground-truth render; restored on exit."""
        scene = self.b.scene
        cyc = scene.cycles
        saved = (cyc.samples, cyc.use_denoising, scene.render.use_motion_blur,
                 self.b.camera.data.dof.use_dof)
        try:
            cyc.samples = 1
            cyc.use_denoising = False
            scene.render.use_motion_blur = False
            self.b.camera.data.dof.use_dof = False
            yield
        finally:
            cyc.samples, cyc.use_denoising, scene.render.use_motion_blur, dof = saved
            self.b.camera.data.dof.use_dof = dof


def _rotvec(w) -> np.ndarray:
    """Rotation matrix of rotation vector ``w`` (radians)."""
    th = float(np.linalg.norm(w))
    if th < 1e-15:
        return np.eye(3)
    k = np.asarray(w) / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(th) * K + (1 - math.cos(th)) * (K @ K)
