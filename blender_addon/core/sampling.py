"""``sample(config, seed, frame) -> FrameSpec``: the pure, deterministic heart of synthblend.

Frame i's draws depend only on (seed, i): each part of the scene (camera, lights, each object entry)
draws from its own stream ``SeedSequence([seed, frame, stream])``, so adding an object entry does not
change the camera of existing frames, and no frame depends on another.
"""
from __future__ import annotations

import zlib

import numpy as np

from . import camera as cam
from .color import PALETTE, hex_to_linear, kelvin_to_rgb
from .dr_common import Draw
from .spec import CameraSpec, FrameSpec, LightSpec, ObjectSpec


def stream(seed: int, frame: int, name: str) -> np.random.Generator:
    """The random stream named ``name`` of frame ``frame`` (independent of every other frame)."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & 0xFFFFFFFF,
                                                                        seed >> 32 & 0xFFFFFFFF,
                                                                        frame, key])))


def sample_camera(config, seed: int, frame: int, sampled: dict) -> CameraSpec:
    c = config.parsed["camera"]
    d = Draw(stream(seed, frame, "camera"), sampled)
    target = np.array(d(c["look_at"], "camera.look_at"))
    dist = d(c["distance"], "camera.distance")
    el = d(c["elevation_deg"], "camera.elevation_deg")
    az = d(c["azimuth_deg"], "camera.azimuth_deg")
    roll = d(c["roll_deg"], "camera.roll_deg")
    f = d(c["focal_length_mm"], "camera.focal_length_mm")
    sw = d(c["sensor_width_mm"], "camera.sensor_width_mm")
    sx = d(c["shift_x"], "camera.shift_x")
    sy = d(c["shift_y"], "camera.shift_y")
    pos = target + cam.spherical_offset(dist, el, az)
    R = cam.look_at_rotation(pos, target, roll)
    W, H = config.resolution
    fit = c["sensor_fit"]
    K = cam.intrinsics(f, sw, W, H, sensor_height_mm=sw, sensor_fit=fit, shift_x=sx, shift_y=sy)
    return CameraSpec(cam.pose_matrix(R, pos), K, (W, H), f, sw, fit, sx, sy,
                      c["clip_start"], c["clip_end"], tuple(float(x) for x in target))


def sample_lights(config, seed: int, frame: int, sampled: dict, target) -> tuple[list[LightSpec], float]:
    L = config.parsed["lighting"]
    d = Draw(stream(seed, frame, "lighting"), sampled)
    n = d(L["count"], "lighting.count")
    lights = []
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
        lights.append(LightSpec(t, cam.pose_matrix(R, pos), sun if t == "sun" else power, kelvin,
                                kelvin_to_rgb(kelvin), radius, angle))
    world = d(L["world_strength"], "lighting.world_strength")
    return lights, world


def sample_objects(config, seed: int, frame: int, sampled: dict) -> list[ObjectSpec]:
    out: list[ObjectSpec] = []
    next_id = 1
    for i, o in enumerate(config.parsed["scene"]["objects"]):
        base = f"scene.objects[{i}]"
        d = Draw(stream(seed, frame, base), sampled)
        n = d(o["count"], f"{base}.count")
        data = config.data["scene"]["objects"][i]
        asset = data["mesh"] if data.get("mesh") is not None else f"primitive:{data['primitive']}"
        color = hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])
        for k in range(n):
            s = d(o["scale"], f"{base}.scale", multi=True)
            p = d(o["position"], f"{base}.position", multi=True)
            R = d.rotation(o["rotation"], f"{base}.rotation")
            T = cam.pose_matrix(R @ np.diag([s, s, s]), p)
            out.append(ObjectSpec(next_id, f"{o['category']}_{i}_{k}", i, k, o["category"],
                                  config.category_id(o["category"]), asset, T, color))
            next_id += 1
    ground = config.data["scene"].get("ground")
    if ground:
        out.append(ObjectSpec(next_id, "ground", -1, 0, ground.get("category"),
                              config.category_id(ground.get("category")), "ground",
                              np.eye(4), hex_to_linear(ground["color"])))
    return out


def sample(config, seed: int, frame: int) -> FrameSpec:
    """Everything random about frame ``frame`` of the dataset with base seed ``seed``."""
    sampled: dict = {}
    camera = sample_camera(config, seed, frame, sampled)
    lights, world = sample_lights(config, seed, frame, sampled, np.array(camera.look_at))
    objects = sample_objects(config, seed, frame, sampled)
    spec = FrameSpec(frame, seed, camera, lights, world, objects, sampled)
    from .randomization import randomize   # distractors, placement, materials, world, camera fx
    randomize(config, spec, stream)
    return spec
