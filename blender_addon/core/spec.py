"""FrameSpec: every value drawn for one frame, as plain data (numpy, no bpy).

World frame: meters, z up, the ground plane at z = 0. Poses are 4x4 homogeneous matrices.
``cam2world`` is in OpenCV axes (x right, y down, z forward); ``obj2world`` maps an asset's raw vertex
coordinates (as ``trimesh.load(path, force="mesh", process=False)`` reads them) to world meters,
scale included.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Linear grey of the uniform world background; its strength is drawn per frame.
WORLD_GREY = 0.8


@dataclass
class CameraSpec:
    cam2world: np.ndarray              # 4x4, OpenCV axes
    K: np.ndarray                      # 3x3 OpenCV intrinsics, pixel centres at integers
    resolution: tuple[int, int]        # (W, H) pixels
    focal_length_mm: float
    sensor_width_mm: float
    sensor_fit: str                    # horizontal | vertical | auto
    shift_x: float
    shift_y: float
    clip_start: float
    clip_end: float
    look_at: tuple = (0.0, 0.0, 0.0)   # world point the camera aims at, m

    @property
    def world2cam(self) -> np.ndarray:
        from .camera import invert_pose
        return invert_pose(self.cam2world)


@dataclass
class LightSpec:
    type: str                          # point | sun | spot | area
    light2world: np.ndarray            # 4x4; the light emits along its local -z (Blender)
    power_w: float                     # W (point/spot/area); for sun: irradiance W/m^2
    color_temperature_k: float
    color_rgb: tuple[float, float, float]   # linear RGB, max channel 1
    radius: float                      # m
    spot_angle_deg: float


@dataclass
class ObjectSpec:
    instance_id: int                   # >= 1, value in the instance map
    name: str
    entry: int                         # index into config scene.objects (-1: ground)
    slot: int                          # instance number within the entry
    category: str | None
    category_id: int                   # 0 = unlabelled
    asset: str                         # config mesh path as written, "primitive:<shape>" or "ground"
    obj2world: np.ndarray              # 4x4, scale included
    color_rgb: tuple[float, float, float]
    # domain randomization (core/randomization.py): "object" | "ground" | "distractor" | "back_plane"
    kind: str = "object"
    material: object = None            # core.dr_spec.MaterialSpec, None = the entry's fixed colour
    motion: tuple | None = None        # world translation during the exposure (motion blur), m


@dataclass
class FrameSpec:
    frame: int
    seed: int
    camera: CameraSpec
    lights: list[LightSpec]
    world_strength: float
    objects: list[ObjectSpec]
    sampled: dict = field(default_factory=dict)   # config path -> drawn value(s), JSON-ready
    # domain randomization (core/randomization.py); None = feature off
    world: object = None               # core.dr_spec.WorldSpec
    camera_fx: object = None           # core.dr_spec.CameraFxSpec (depth of field, motion blur)
    augment: dict | None = None        # post-render augmentation parameters (dataset/augment.py)
    placement: dict | None = None      # how poses were made: method, drop poses, supports
