"""The camera in Blender: one perspective camera; per frame lens, sensor, shift, clipping, the render's
pixel aspect (fx != fy: core/camera.py blender_from_K) and the pose (OpenCV axes in the FrameSpec,
Blender's camera looks along its -z: flip y and z)."""
from __future__ import annotations

import bpy
import numpy as np

from ...core.camera import CV_TO_BLENDER


class Camera:
    def __init__(self, builder):
        self.b = builder

    def build(self) -> None:
        cam = bpy.data.cameras.new("synthblend_camera")
        cam.type = "PERSP"
        cam.lens_unit = "MILLIMETERS"
        obj = bpy.data.objects.new("synthblend_camera", cam)
        self.b.collection.objects.link(obj)
        self.b.scene.camera = obj
        self.b.camera = obj

    def apply(self, spec) -> None:
        from mathutils import Matrix

        c = spec.camera
        ob = self.b.camera
        cam = ob.data
        cam.lens = c.focal_length_mm
        cam.sensor_width = c.sensor_width_mm
        cam.sensor_height = c.sensor_width_mm
        cam.sensor_fit = c.sensor_fit.upper()
        cam.shift_x, cam.shift_y = c.shift_x, c.shift_y
        cam.clip_start, cam.clip_end = c.clip_start, c.clip_end
        self.b.scene.render.pixel_aspect_x, self.b.scene.render.pixel_aspect_y = c.pixel_aspect
        M = np.array(c.cam2world, float)
        M[:3, :3] = M[:3, :3] @ CV_TO_BLENDER
        ob.matrix_world = Matrix(M.tolist())


FEATURE = Camera
