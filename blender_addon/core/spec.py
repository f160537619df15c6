"""FrameSpec: every value drawn for one frame, as plain data (numpy, no bpy): camera, lights, objects
(with their kind, material and motion), world background, camera effects, augmentation.

World frame: meters, z up, the ground plane at z = 0. Poses are 4x4 homogeneous matrices.
``cam2world`` is in OpenCV axes (x right, y down, z forward); ``obj2world`` maps an asset's raw vertex
coordinates (as ``trimesh.load(path, force="mesh", process=False)`` reads them) to world meters,
scale included.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

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
    pixel_aspect: tuple = (1.0, 1.0)   # Blender render pixel aspect (x, y): x / y = fy / fx (camera.intrinsics)
    distortion: dict | None = None     # {"model": "opencv" | "fisheye", "k1": ..., ...} (core/distortion.py);
                                       # None = pinhole. Every map is an image of the distorted camera
    # a view of a scene (core/trajectory.py): {"sampled": {config path: drawn value}, "selection": ...}
    view_info: dict | None = None

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


class ObjectKind(StrEnum):
    """What an object in a frame is; the engine dispatches on it (engine/objects.py)."""

    OBJECT = "object"            # an instance of a config entry (scene.objects[entry])
    GROUND = "ground"            # the ground plane (scene.ground)
    DISTRACTOR = "distractor"    # a random primitive (scene.distractors)
    BACK_PLANE = "back_plane"    # the plane showing a background image (world.type: image)
    BLEND = "blend"              # a mesh object of the user's .blend (scene.blend), never moved
    SUPPORT = "support"          # a static support (scene.supports[entry]): bin, table, shelf, mesh

    @property
    def meta_name(self) -> str:
        """The ``kind`` written to meta (format 1 calls a .blend's objects ``object``)."""
        return "object" if self is ObjectKind.BLEND else self.value


@dataclass
class ObjectSpec:
    instance_id: int                   # >= 1, value in the instance map
    name: str
    kind: ObjectKind
    entry: int | None                  # index into config scene.objects (kind OBJECT) or scene.supports
                                       # (kind SUPPORT), else None
    slot: int                          # instance number within its source (entry, distractor shape, .blend)
    category: str | None
    category_id: int                   # 0 = unlabelled
    asset: str                         # config mesh path as written, "primitive:<shape>", "ground",
                                       # "back_plane", "blend:<object name>" or "support:<type>"
    obj2world: np.ndarray              # 4x4, scale included
    color_rgb: tuple[float, float, float]
    material: object = None            # MaterialSpec, None = the entry's fixed colour
    motion: tuple | None = None        # world translation during the exposure (motion blur), m
    motion_rotation: tuple | None = None   # sequences: rotation vector during the exposure, world, rad ...
    motion_center: tuple | None = None     # ... about this world point (the centre of mass), m
    asset_key: str | None = None       # the chosen asset of a library entry (core/library.py), else None
    bop_obj_id: int | None = None      # a BOP model set's obj id (meta bop_obj_id; the BOP export keeps it)
    velocity: dict | None = None       # sequences: {"linear_m_s": [3], "angular_rad_s": [3]}, world frame

    @property
    def source(self) -> tuple:
        """What this object is an instance of, the key of its mesh: ``(kind, entry)`` for config
        objects and supports, ``(kind, entry, asset_key)`` for a library entry's, ``(kind, shape)`` for
        primitive distractors, ``(kind, "mesh", asset_key)`` for mesh distractors, ``(kind, slot)`` for a
        .blend's objects, ``(kind,)`` for the ground and the back plane."""
        if self.kind is ObjectKind.OBJECT:
            return (self.kind, self.entry) if self.asset_key is None else (self.kind, self.entry, self.asset_key)
        if self.kind is ObjectKind.DISTRACTOR:
            if self.asset_key is not None:
                return (self.kind, "mesh", self.asset_key)
            return (self.kind, self.asset.split(":", 1)[1])
        if self.kind is ObjectKind.BLEND:
            return (self.kind, self.slot)
        if self.kind is ObjectKind.SUPPORT:
            return (self.kind, self.entry)
        return (self.kind,)


@dataclass
class FrameSpec:
    """Filled by the features of :mod:`synthblend.core.features`, in their order."""

    frame: int
    seed: int
    camera: CameraSpec | None = None
    lights: list[LightSpec] = field(default_factory=list)
    world_strength: float = 0.0
    objects: list[ObjectSpec] = field(default_factory=list)
    sampled: dict = field(default_factory=dict)   # config path -> drawn value(s), JSON-ready
    # None = feature off
    world: object = None               # WorldSpec
    camera_fx: object = None           # CameraFxSpec (depth of field, motion blur)
    augment: dict | None = None        # post-render augmentation parameters (core/features/augment.py)
    placement: dict | None = None      # how poses were made: method, drop poses, supports
    stereo: dict | None = None         # camera.stereo: baseline_m, side, pair, other_cam2world (core/stereo.py)
    features: dict = field(default_factory=dict)   # feature name -> its values, for features without a field
    # scene.views / sequence (core/scenes.py); None without them (meta then has no such keys)
    scene: int | None = None           # the scene (arrangement) this frame belongs to
    view: int | None = None            # its view index in the scene (a sequence's time index)
    time_s: float | None = None        # sequences: view / fps, s


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
    exposure_s: float | None = None              # sequences: the exposure (motion from the velocities), s

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
            if self.exposure_s is not None:
                out["motion_blur"]["exposure_s"] = float(self.exposure_s)
        return out


def _plain(v):
    if isinstance(v, (tuple, list, np.ndarray)):
        return [float(x) for x in v]
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
