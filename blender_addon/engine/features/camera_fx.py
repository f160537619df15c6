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

In a sequence (core/features/camera_fx.py) objects also turn during the exposure: every movable
object gets linear location and ``rotation_quaternion`` keys at five frames across the exposure
(``TURN_FRAMES``, 0.75 .. 1.25: quaternions interpolate linearly, so keys 1/8 frame apart keep a
fast spin's angle within a fraction of a degree), each its pose turned about its centre of mass and
moved as its velocities say at that instant (frame 1: the frame's pose).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from ...core.spec import ObjectKind
from .. import compat

SHUTTER = 0.5                          # frames; the exposure is [1 - SHUTTER/2, 1 + SHUTTER/2]
# sequences: objects' keys across the exposure (quaternions interpolate linearly: keys close together)
TURN_FRAMES = tuple(1.0 + SHUTTER / 2 * j / 2 for j in (-2, -1, 0, 1, 2))


class CameraFx:
    def __init__(self, builder):
        self.b = builder
        c = builder.config.parsed["camera"]
        self.dof = bool(c.get("dof"))
        self.motion = bool(c.get("motion_blur"))
        self.turn = self.motion and builder.config.data.get("sequence") is not None   # objects rotate too

    @property
    def active(self) -> bool:
        return self.dof or self.motion

    def build(self) -> None:
        """Motion blur: actions for the camera and every pool object that can move, made once."""
        scene = self.b.scene
        movable = [ob for src, pool in self.b.objects.pools.items()
                   if src[0] in (ObjectKind.OBJECT, ObjectKind.DISTRACTOR) for ob in pool]
        if self.motion:
            scene.render.use_motion_blur = True
            scene.render.motion_blur_shutter = SHUTTER
            if hasattr(scene.render, "motion_blur_position"):
                scene.render.motion_blur_position = "CENTER"
            scene.frame_start, scene.frame_end = 0, 2
            for ob in [self.b.camera, *([] if self.turn else movable)]:
                for f in (0, 1, 2):
                    compat.keyframe_linear(ob, "location", f)
            for ob in movable:
                self._turn_keys(ob)
            for f in (0, 1, 2):
                compat.keyframe_linear(self.b.camera, "rotation_euler", f)
            scene.frame_set(1)
        self.b.objects.listen(self)

    def loaded(self, source, loaded) -> None:
        """A lazy source's pool objects (engine/objects.py) get their motion keyframes when loaded."""
        if self.motion:
            for ob in loaded.pool:
                if not self.turn:
                    for f in (0, 1, 2):
                        compat.keyframe_linear(ob, "location", f)
                self._turn_keys(ob)

    def _turn_keys(self, ob) -> None:
        """A sequence's object: location and rotation keys at TURN_FRAMES."""
        if self.turn:
            ob.rotation_mode = "QUATERNION"
            for f in TURN_FRAMES:
                compat.keyframe_linear(ob, "location", f)
                compat.keyframe_linear(ob, "rotation_quaternion", f)

    def apply(self, spec) -> None:
        """After the scene's poses are set: lens values, and keyframes for motion blur of every
        visible object or distractor."""
        fx = spec.camera_fx
        if not self.active or fx is None:
            return
        movable_objects = self.b.objects.movable(spec)
        cam_ob = self.b.camera
        if self.dof:
            d = cam_ob.data.dof
            d.use_dof = True
            d.aperture_fstop = fx.f_stop
            d.focus_distance = fx.focus_distance
            d.aperture_blades = fx.blades
        if self.motion:
            self._key_camera(cam_ob, spec.camera.cam2world, fx)
            for ob, o in movable_objects:
                if self.turn:
                    self._key_turn(ob, o)
                else:
                    self._key_translation(ob, np.asarray(o.obj2world, float)[:3, 3],
                                          np.asarray(o.motion or (0.0, 0.0, 0.0), float))
            self.b.scene.frame_set(1)

    # Key values come from the FrameSpec, never from the bpy object: a depsgraph update may already
    # have written the previous frame's animated pose back into ``matrix_world``, which would make
    # a frame depend on the frames rendered before it in the same worker (measured).

    def _key_translation(self, ob, loc, delta) -> None:
        step = delta / SHUTTER                       # per frame
        ob.location = tuple(loc)
        compat.set_key_values(ob, "location", [loc - step, loc, loc + step])

    def _key_turn(self, ob, o) -> None:
        """Location and rotation keys of a sequence's object: turned about its centre of mass."""
        from ...core.draw import matrix_to_quat

        M = np.asarray(o.obj2world, float)
        R0 = M[:3, :3] / np.cbrt(abs(np.linalg.det(M[:3, :3])))
        p0 = M[:3, 3]
        c = np.asarray(o.motion_center if o.motion_center is not None else p0, float)
        w = np.asarray(o.motion_rotation or (0.0, 0.0, 0.0), float) / SHUTTER     # per frame
        step = np.asarray(o.motion or (0.0, 0.0, 0.0), float) / SHUTTER
        q0 = np.asarray(matrix_to_quat(R0))
        locs, quats = [], []
        for k in (f - 1.0 for f in TURN_FRAMES):
            Rk = _rotvec(k * w)
            locs.append(c + Rk @ (p0 - c) + k * step if k else p0)
            q = np.asarray(matrix_to_quat(Rk @ R0)) if k else q0
            quats.append(q if float(q @ q0) >= 0 else -q)
        ob.location = tuple(p0)
        ob.rotation_quaternion = tuple(q0)
        compat.set_key_values(ob, "location", locs)
        compat.set_key_values(ob, "rotation_quaternion", quats)

    def _key_camera(self, ob, cam2world, fx) -> None:
        M = np.asarray(cam2world, float)
        cv, t = M[:3, :3], M[:3, 3]                  # OpenCV axes of the camera in the world
        flip = np.diag([1.0, -1.0, -1.0])
        dt = cv @ (np.asarray(fx.camera_translation, float) / SHUTTER)
        w = np.radians(np.asarray(fx.camera_rotation_deg, float)) / SHUTTER   # about OpenCV axes
        e1 = euler_xyz(cv @ flip)
        eul = []
        for k in (-1.0, 0.0, 1.0):
            e = euler_xyz(cv @ _rotvec(k * w) @ flip) if k else e1
            eul.append(e1 + (e - e1 + np.pi) % (2 * np.pi) - np.pi)   # the same turn, next to e1
        ob.location = tuple(t)
        ob.rotation_euler = tuple(e1)
        compat.set_key_values(ob, "location", [t - dt, t, t + dt])
        compat.set_key_values(ob, "rotation_euler", eul)

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
            if self.dof:            # only this feature's depth of field (a lens table's row select stays)
                self.b.camera.data.dof.use_dof = False
            yield
        finally:
            cyc.samples, cyc.use_denoising, scene.render.use_motion_blur, dof = saved
            self.b.camera.data.dof.use_dof = dof

    def render(self, spec, scratch, want_rgb: bool):
        """Render the frame: one pass, or colour with the effects + a sharp ground-truth pass."""
        from ..render import render_passes

        scene = self.b.scene
        if not (self.active and spec.camera_fx is not None):
            return render_passes(scene, scratch, want_rgb)
        colour = render_passes(scene, scratch, want_rgb=True) if want_rgb else None
        with self.ground_truth_pass():
            gt = render_passes(scene, scratch, want_rgb=False)
        gt.linear = colour.linear if colour is not None else None   # developed by engine.render.develop
        return gt


def _rotvec(w) -> np.ndarray:
    """Rotation matrix of rotation vector ``w`` (radians)."""
    th = float(np.linalg.norm(w))
    if th < 1e-15:
        return np.eye(3)
    k = np.asarray(w) / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(th) * K + (1 - math.cos(th)) * (K @ K)


def euler_xyz(R) -> np.ndarray:
    """Blender's XYZ Euler angles (R = Rz @ Ry @ Rx) of a rotation matrix, radians."""
    R = np.asarray(R, float)
    sy = -R[2, 0]
    if abs(sy) < 1.0 - 1e-12:
        return np.array([math.atan2(R[2, 1], R[2, 2]), math.asin(sy), math.atan2(R[1, 0], R[0, 0])])
    return np.array([math.atan2(-R[1, 2], R[1, 1]), math.copysign(math.pi / 2, sy), 0.0])


FEATURE = CameraFx
