"""Camera effects (pure): depth of field and motion blur parameters of a frame.

Stream ``camera_fx``. Depth of field: ``camera.dof.f_stop`` and ``focus_distance`` (``look_at``: the
look-at point's distance along the optical axis). Motion blur: the camera's translation (OpenCV camera
frame, m) and rotation (about its x, y, z axes, deg) during the exposure, and each object's world
translation during the exposure (``object_translation``, per object, in instance-id order). The
exposure is centred on the frame's poses: the poses in meta are those at mid-exposure, and the ground
truth (depth, instance, normals) comes from a second, sharp render of those poses (engine/features/camera_fx.py).

In a sequence (docs/views.md) motion blur follows the frame's velocities: the exposure is
``EXPOSURE_FRAMES / fps`` s (half the frame interval, a 180-degree shutter: the engine's shutter of
0.5 frames); during it each object's centre of mass moves by its linear velocity times the exposure
and the object turns about it by its angular velocity times the exposure (``ObjectSpec.motion``,
``motion_rotation``, ``motion_center``); the camera moves and turns by its trajectory's velocity
(``camera.view_info["velocity"]``, core/trajectory.py). The drawn ``motion_blur`` translations and
rotations are added on top (camera shake, extra object motion); meta ``motion_blur.exposure_s``.
"""
from __future__ import annotations

import numpy as np

from ..spec import CameraFxSpec, ObjectKind

ORDER = 90  # place in the frame's features (core/features/__init__.py)

PATH = "camera"
EXPOSURE_FRAMES = 0.5   # a sequence's exposure, in frame intervals (engine/features/camera_fx.SHUTTER)


def sample(ctx) -> None:
    ctx.spec.camera_fx = draw_camera_fx(ctx)


def draw_camera_fx(ctx) -> CameraFxSpec | None:
    config, spec = ctx.config, ctx.spec
    c = config.parsed["camera"]
    dof, mb = c.get("dof"), c.get("motion_blur")
    if not dof and not mb:
        return None
    draw = ctx.draw("camera_fx")
    fx = CameraFxSpec()
    if dof:
        fx.f_stop = float(draw(dof["f_stop"], f"{PATH}.dof.f_stop"))
        kind, d = dof["focus_distance"]
        if kind == "look_at":
            c2w = np.asarray(spec.camera.cam2world, float)
            fx.focus_distance = float((np.asarray(spec.camera.look_at) - c2w[:3, 3]) @ c2w[:3, 2])
        else:
            fx.focus_distance = float(draw(d, f"{PATH}.dof.focus_distance"))
        fx.blades = int(config.data["camera"]["dof"]["blades"])
    if mb:
        fx.camera_translation = tuple(float(x) for x in draw(mb["camera_translation"],
                                                             f"{PATH}.motion_blur.camera_translation"))
        fx.camera_rotation_deg = tuple(float(x) for x in draw(mb["camera_rotation_deg"],
                                                              f"{PATH}.motion_blur.camera_rotation_deg"))
        for o in spec.objects:
            if o.kind in (ObjectKind.OBJECT, ObjectKind.DISTRACTOR):
                o.motion = tuple(float(x) for x in draw(mb["object_translation"],
                                                        f"{PATH}.motion_blur.object_translation", multi=True))
        if getattr(spec, "time_s", None) is not None:
            _follow_velocities(ctx, fx)
    return fx


def _follow_velocities(ctx, fx: CameraFxSpec) -> None:
    """A sequence's frame: add the motion of its velocities during the exposure (module docstring)."""
    from ..view_check import com_raw

    spec = ctx.spec
    e = EXPOSURE_FRAMES / float(ctx.config.parsed["sequence"]["fps"])
    fx.exposure_s = e
    vel = (spec.camera.view_info or {}).get("velocity")
    if vel is not None:
        R = np.asarray(spec.camera.cam2world, float)[:3, :3]
        fx.camera_translation = tuple(float(x) for x in np.add(fx.camera_translation,
                                                               R.T @ np.asarray(vel["linear_m_s"]) * e))
        turn = np.degrees(R.T @ np.asarray(vel["angular_rad_s"]) * e)
        fx.camera_rotation_deg = tuple(float(x) for x in np.add(fx.camera_rotation_deg, turn))
    for o in spec.objects:
        if o.kind in (ObjectKind.OBJECT, ObjectKind.DISTRACTOR) and o.velocity is not None:
            M = np.asarray(o.obj2world, float)
            o.motion = tuple(float(x) for x in np.add(o.motion or 0.0, np.asarray(o.velocity["linear_m_s"]) * e))
            o.motion_rotation = tuple(float(x) for x in np.asarray(o.velocity["angular_rad_s"]) * e)
            o.motion_center = tuple(float(x) for x in M[:3, :3] @ com_raw(ctx.config, o) + M[:3, 3])
