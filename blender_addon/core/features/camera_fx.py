"""Camera effects (pure): depth of field and motion blur parameters of a frame.

Stream ``camera_fx``. Depth of field: ``camera.dof.f_stop`` and ``focus_distance`` (``look_at``: the
look-at point's distance along the optical axis). Motion blur: the camera's translation (OpenCV camera
frame, m) and rotation (about its x, y, z axes, deg) during the exposure, and each object's world
translation during the exposure (``object_translation``, per object, in instance-id order). The
exposure is centred on the frame's poses: the poses in meta are those at mid-exposure, and the ground
truth (depth, instance, normals) comes from a second, sharp render of those poses (engine/features/camera_fx.py).
"""
from __future__ import annotations

import numpy as np

from ..spec import CameraFxSpec, ObjectKind

ORDER = 90  # place in the frame's features (core/features/__init__.py)

PATH = "camera"


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
    return fx
