"""The camera (pure): a look-at pose on a sphere around ``camera.look_at`` and its OpenCV intrinsics.

Stream ``camera``. The camera sits ``distance`` m from the look-at point at ``elevation_deg`` above
its horizontal plane and ``azimuth_deg`` counter-clockwise from +x, rolled by ``roll_deg`` about the
optical axis; K follows from Blender's lens, sensor and shift (core/camera.py), or is the K of
``camera.intrinsics`` / ``camera.K`` / ``camera.preset`` / ``camera.calibration``
(core/camera_intrinsics.py), then mapped exactly onto Blender's lens, sensor, shift and pixel aspect
(:func:`~synthblend.core.camera.blender_from_K`). Poses in OpenCV axes.
"""
from __future__ import annotations

import numpy as np

from .. import camera as cam
from ..camera_intrinsics import config_K
from ..spec import CameraSpec

ORDER = 10  # place in the frame's features (core/features/__init__.py)


def sample(ctx) -> None:
    c = ctx.config.parsed["camera"]
    d = ctx.draw("camera")
    target = np.array(d(c["look_at"], "camera.look_at"))
    dist = d(c["distance"], "camera.distance")
    el = d(c["elevation_deg"], "camera.elevation_deg")
    az = d(c["azimuth_deg"], "camera.azimuth_deg")
    roll = d(c["roll_deg"], "camera.roll_deg")
    pos = target + cam.spherical_offset(dist, el, az)
    R = cam.look_at_rotation(pos, target, roll)
    W, H = ctx.config.resolution
    K = config_K(c)
    if K is not None:      # a real camera's K: exact, Blender's values follow from it
        b = cam.blender_from_K(K, W, H)
        f, sw, fit, sx, sy = (b[k] for k in ("focal_length_mm", "sensor_width_mm", "sensor_fit", "shift_x", "shift_y"))
        aspect = b["pixel_aspect"]
    else:
        f = d(c["focal_length_mm"], "camera.focal_length_mm")
        sw = d(c["sensor_width_mm"], "camera.sensor_width_mm")
        sx = d(c["shift_x"], "camera.shift_x")
        sy = d(c["shift_y"], "camera.shift_y")
        fit = c["sensor_fit"]
        K = cam.intrinsics(f, sw, W, H, sensor_height_mm=sw, sensor_fit=fit, shift_x=sx, shift_y=sy)
        aspect = (1.0, 1.0)
    ctx.spec.camera = CameraSpec(cam.pose_matrix(R, pos), K, (W, H), f, sw, fit, sx, sy,
                                 c["clip_start"], c["clip_end"], tuple(float(x) for x in target),
                                 pixel_aspect=aspect)
