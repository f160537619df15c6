"""Lights (pure): ``lighting.count`` lights around the camera's look-at point, and the world strength.

Stream ``lighting``. Each light: type, power (sun: irradiance W/m^2), colour temperature (kelvin, as
linear RGB), a position ``distance`` m from the look-at point at ``elevation_deg``/``azimuth_deg``,
aimed at it (Blender lights emit along their local -z), radius and spot angle.
"""
from __future__ import annotations

import numpy as np

from .. import camera as cam
from ..color import kelvin_to_rgb
from ..spec import LightSpec

ORDER = 20  # place in the frame's features (core/features/__init__.py)


def sample(ctx) -> None:
    L = ctx.config.parsed["lighting"]
    d = ctx.draw("lighting")
    target = np.array(ctx.spec.camera.look_at)
    n = d(L["count"], "lighting.count")
    for _ in range(n):
        t = d(L["type"], "lighting.type", multi=True)
        power = d(L["power_w"], "lighting.power_w", multi=True)
        sun = d(L["sun_strength"], "lighting.sun_strength", multi=True)
        kelvin = d(L["color_temperature_k"], "lighting.color_temperature_k", multi=True)
        dist = d(L["distance"], "lighting.distance", multi=True)
        el = d(L["elevation_deg"], "lighting.elevation_deg", multi=True)
        az = d(L["azimuth_deg"], "lighting.azimuth_deg", multi=True)
        radius = d(L["radius"], "lighting.radius", multi=True)
        angle = d(L["spot_angle_deg"], "lighting.spot_angle_deg", multi=True)
        pos = np.asarray(target) + cam.spherical_offset(dist, el, az)
        R = cam.look_at_rotation(pos, target) @ cam.CV_TO_BLENDER   # Blender: emits along -z
        ctx.spec.lights.append(LightSpec(t, cam.pose_matrix(R, pos), sun if t == "sun" else power, kelvin,
                                         kelvin_to_rgb(kelvin), radius, angle))
    ctx.spec.world_strength = d(L["world_strength"], "lighting.world_strength")
