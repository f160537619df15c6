"""Plain data drawn by domain randomization (no bpy): materials, world, camera effects.

These hang off :class:`~synthblend.core.spec.FrameSpec` (``world``, ``camera_fx``) and
:class:`~synthblend.core.spec.ObjectSpec` (``material``); the engine only applies them.
Colours are linear Rec.709 RGB (what Blender's shader inputs take); HSV values are the drawn ones.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# ObjectSpec.entry of objects that are not config entries. The ground is -1; a user's .blend
# objects (engine/blend_scene.py) use -2, -3, ...; distractors and the back plane sit far below.
DISTRACTOR_ENTRY_BASE = -1000          # distractor of shape index s: entry = -1000 - s
BACK_PLANE_ENTRY = -2000


def distractor_entry(shape_index: int) -> int:
    return DISTRACTOR_ENTRY_BASE - int(shape_index)


def is_dr_entry(entry: int) -> bool:
    """Objects the domain-randomization layer owns (distractors, back plane)."""
    return entry <= DISTRACTOR_ENTRY_BASE


@dataclass
class MaterialSpec:
    """One object's appearance this frame (Principled BSDF + an optional pattern)."""

    source: str                                  # "random" | "asset" (the asset's own appearance)
    base_color_hsv: tuple = (0.0, 0.0, 0.8)
    base_color_rgb: tuple = (0.6, 0.6, 0.6)      # linear
    roughness: float = 0.5
    metallic: float = 0.0
    specular: float = 0.5
    texture: str = "none"                        # none | noise | checker | voronoi | gradient | wave | image
    texture_scale: float = 1.0                   # repeats across the bounding box
    texture_color_hsv: tuple = (0.0, 0.0, 0.2)
    texture_color_rgb: tuple = (0.03, 0.03, 0.03)
    texture_offset: tuple = (0.0, 0.0, 0.0)      # pattern shift, in pattern units
    image: str | None = None                     # texture image as the config names it (folder/file)
    image_path: str | None = None                # absolute path (engine); not in meta

    def to_meta(self) -> dict:
        d = {k: _plain(v) for k, v in asdict(self).items() if k != "image_path"}
        if self.source == "asset":
            return {"source": "asset"}
        if self.texture == "none":
            for k in ("texture_scale", "texture_color_hsv", "texture_color_rgb", "texture_offset"):
                d.pop(k)
        if self.texture != "image":
            d.pop("image")
        return d


@dataclass
class WorldSpec:
    """The world background of a frame; its strength is FrameSpec.world_strength."""

    type: str                                    # uniform | gradient | sky | hdri | image
    color_hsv: tuple = (0.0, 0.0, 0.8)
    color_rgb: tuple = (0.8, 0.8, 0.8)           # linear: uniform / horizon / image's ambient
    top_color_hsv: tuple | None = None
    top_color_rgb: tuple | None = None           # gradient's zenith colour
    sun_elevation_deg: float | None = None       # sky
    sun_azimuth_deg: float | None = None
    turbidity: float | None = None
    ground_albedo: float | None = None
    hdri: str | None = None                      # as the config names it (folder/file)
    hdri_path: str | None = None
    rotation_deg: float | None = None            # hdri about +z
    image: str | None = None                     # back plane image (folder/file)
    image_path: str | None = None
    image_distance: float | None = None          # back plane behind the look-at point, m
    image_window: tuple | None = None            # back plane: visible part, fraction of its side (x, y)

    def to_meta(self, strength: float) -> dict:
        d = {"type": self.type, "strength": float(strength)}
        keep = {
            "uniform": ("color_hsv", "color_rgb"),
            "gradient": ("color_hsv", "color_rgb", "top_color_hsv", "top_color_rgb"),
            "sky": ("sun_elevation_deg", "sun_azimuth_deg", "turbidity", "ground_albedo"),
            "hdri": ("hdri", "rotation_deg"),
            "image": ("color_hsv", "color_rgb", "image", "image_distance"),
        }[self.type]
        for k in keep:
            d[k] = _plain(getattr(self, k))
        return d


@dataclass
class CameraFxSpec:
    """Depth of field and motion blur of a frame (None = off)."""

    f_stop: float | None = None
    focus_distance: float | None = None          # m, along the optical axis
    blades: int = 0
    camera_translation: tuple | None = None      # m during the exposure, OpenCV camera frame
    camera_rotation_deg: tuple | None = None     # deg during the exposure, about camera x, y, z

    @property
    def dof(self) -> bool:
        return self.f_stop is not None

    @property
    def motion_blur(self) -> bool:
        return self.camera_translation is not None

    def to_meta(self) -> dict:
        out = {}
        if self.dof:
            out["dof"] = {"f_stop": float(self.f_stop), "focus_distance": float(self.focus_distance),
                          "blades": int(self.blades)}
        if self.motion_blur:
            out["motion_blur"] = {"camera_translation": _plain(self.camera_translation),
                                  "camera_rotation_deg": _plain(self.camera_rotation_deg),
                                  "ground_truth": "separate pass at the exposure's centre, no blur"}
        return out


def _plain(v):
    if isinstance(v, (tuple, list, np.ndarray)):
        return [float(x) for x in v]
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
