"""Lights in Blender: as many light objects as ``lighting.count`` can ask for, built once; per frame
type, power, colour, size and pose (unused ones, and all of them without a colour pass, are hidden)."""
from __future__ import annotations

import math

import bpy
import numpy as np

LIGHT_TYPES = {"point": "POINT", "sun": "SUN", "spot": "SPOT", "area": "AREA"}


class Lights:
    def __init__(self, builder):
        self.b = builder
        self.objects: list = []

    def build(self) -> None:
        d = self.b.config.parsed["lighting"]["count"]
        for k in range(int(max(d.values()))):
            light = bpy.data.lights.new(f"synthblend_light_{k}", "POINT")
            ob = bpy.data.objects.new(f"synthblend_light_{k}", light)
            self.b.collection.objects.link(ob)
            ob.hide_render = True
            self.objects.append(ob)

    def apply(self, spec) -> None:
        from mathutils import Matrix

        for k, ob in enumerate(self.objects):
            if k >= len(spec.lights) or self.b.gt_only:
                ob.hide_render = True
                continue
            ls = spec.lights[k]
            light = ob.data
            if light.type != LIGHT_TYPES[ls.type]:
                light.type = LIGHT_TYPES[ls.type]
                light = ob.data
            light.energy = ls.power_w
            light.color = ls.color_rgb
            if ls.type in ("point", "spot"):
                light.shadow_soft_size = ls.radius
            if ls.type == "spot":
                light.spot_size = math.radians(ls.spot_angle_deg)
            if ls.type == "area":
                light.size = max(ls.radius, 1e-4)
            if ls.type == "sun":
                light.angle = math.radians(0.5)
            ob.matrix_world = Matrix(np.asarray(ls.light2world).tolist())
            ob.hide_render = False


FEATURE = Lights
