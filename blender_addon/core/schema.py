"""The config schema: every key, its kind, default and checks.

Units: angles in degrees, lengths in meters, light power in watts, colour temperature in kelvin.
The schema is data; :mod:`synthblend.core.config` walks it.  A field is one of:

* :class:`D` - a value that may be random (constant or distribution) of a given kind;
* :class:`V` - a plain constant (int, float, bool, str, path, list of enum values, resolution);
* :class:`Section` - a mapping of named fields;
* :class:`ListOf` - a list of sections (``scene.objects``);
* :class:`Custom` - a value with its own parser (``rotation``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

PRIMITIVES = ("cube", "sphere", "cylinder", "cone", "torus", "monkey")
LIGHT_TYPES = ("point", "sun", "spot", "area")
BASE_OUTPUTS = ("rgb", "depth", "instance", "semantic")
# normals (EXR), boxes3d and keypoints (meta), amodal (masks + visib_fract): core/dr_schema.py
OUTPUTS = BASE_OUTPUTS + ("normals", "boxes3d", "keypoints", "amodal")
DEVICES = ("cpu", "gpu")
SENSOR_FITS = ("horizontal", "vertical", "auto")
from .quality import QUALITIES  # noqa: E402
# Limits that keep a typo from asking for the impossible (every pool object is built up front).
MAX_FRAMES = 10_000_000
MAX_INSTANCES = 32_767       # Blender's Object.pass_index (the instance id) stops at 32767
MAX_LIGHTS = 128
MIN_RESOLUTION = 4           # Blender's smallest image side


@dataclass
class D:
    """A value that may be random. ``kind``: float | int | vec3 | str."""

    kind: str
    default: Any
    allowed: tuple | None = None
    min: float | None = None          # every possible value must be >= min
    min_exclusive: bool = False
    max: float | None = None
    doc: str = ""


@dataclass
class V:
    """A constant. ``type``: int | float | bool | str | path | outputs | resolution."""

    type: str
    default: Any
    allowed: tuple | None = None
    min: float | None = None
    min_exclusive: bool = False
    required: bool = False
    max: float | None = None
    doc: str = ""


@dataclass
class Custom:
    parse: Callable[[Any], Any]
    default: Any
    doc: str = ""


@dataclass
class Section:
    fields: dict
    optional: bool = False       # absent section -> None (e.g. scene.ground)
    doc: str = ""


@dataclass
class ListOf:
    item: Section
    default: list = field(default_factory=list)
    doc: str = ""


def parse_rotation(value):
    """``uniform_so3`` | ``none`` | ``{euler_deg: <vec3 value>}`` (XYZ Euler, Blender's default order:
    R = Rz @ Ry @ Rx, extrinsic about world axes) | ``{quaternion: [w, x, y, z]}`` (constant)."""
    from . import distributions as dist

    if value in ("uniform_so3", "none"):
        return ("named", value)
    if isinstance(value, dict) and len(value) == 1:
        (key, v), = value.items()
        if key == "euler_deg":
            return ("euler_deg", dist.parse(v, "vec3"))
        if key == "quaternion":
            if (not isinstance(v, (list, tuple)) or len(v) != 4
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                    or sum(float(x) ** 2 for x in v) == 0):
                raise ValueError(f"quaternion takes 4 numbers [w, x, y, z], not all zero; got {v!r}")
            return ("quaternion", tuple(float(x) for x in v))
    raise ValueError(
        f"expected uniform_so3, none, {{euler_deg: <vector or vector distribution>}} or "
        f"{{quaternion: [w, x, y, z]}}; got {value!r}"
    )


OBJECT = Section({
    "mesh": V("path", None, doc="mesh file, any format trimesh loads (ply, obj, stl, glb, off)"),
    "primitive": V("str", None, allowed=PRIMITIVES, doc="built-in shape (unit size, see README)"),
    "category": V("str", None, doc="class name; default: the mesh file's stem or the primitive name"),
    "count": D("int", 1, min=0, max=MAX_INSTANCES, doc="instances per frame"),
    "scale": D("float", 1.0, min=0, min_exclusive=True, doc="mesh units to meters (uniform)"),
    "position": D("vec3", (0.0, 0.0, 0.0), doc="world position of the mesh origin, m"),
    "rotation": Custom(parse_rotation, "none", doc="uniform_so3 | none | {euler_deg: ...}"),
    "color": V("str", None, doc="base colour as #rrggbb (default: a palette colour per entry)"),
})

SCHEMA = Section({
    "seed": V("int", 0, doc="base seed; frame i draws from (seed, i) only"),
    "frames": V("int", 10, min=1, max=MAX_FRAMES, doc="number of frames"),
    "render": Section({
        "resolution": V("resolution", [640, 480], doc="[width, height] in pixels"),
        "quality": V("str", "standard", allowed=QUALITIES,
                     doc="preset for samples, adaptive_threshold, denoise, max_bounces (core/quality.py)"),
        "samples": V("int", None, min=1, max=16_777_216, doc="Cycles samples for RGB (default: from quality)"),
        "denoise": V("bool", None, doc="OpenImageDenoise on RGB (default: from quality; skipped where Blender lacks it)"),
        "adaptive_threshold": V("float", None, min=0, doc="Cycles adaptive sampling noise threshold; 0 = off"),
        "max_bounces": V("int", None, min=0, max=1024, doc="light path bounces (default: from quality)"),
        "device": V("str", "cpu", allowed=DEVICES, doc="cpu | gpu (CUDA/OptiX)"),
        "outputs": V("outputs", list(BASE_OUTPUTS),
                     doc="subset of rgb, depth, instance, semantic, normals, boxes3d, keypoints, amodal"),
        "threads": V("int", 0, min=0, max=1024, doc="Cycles threads per worker; 0 = cores / workers"),
    }),
    "scene": Section({
        "objects": ListOf(OBJECT),
        "ground": Section({
            "size": V("float", 4.0, min=0, min_exclusive=True, doc="edge length of the square plane at z = 0, m"),
            "category": V("str", None, doc="label the ground with this category (default: unlabelled, 0)"),
            "color": V("str", "#808080", doc="ground colour #rrggbb"),
        }, optional=True),
        "blend": V("path", None, doc="render this .blend file's scene: its mesh objects are labelled "
                                     "(targets by collection, every other one as category 0)"),
        "targets": Section({
            "collection": V("str", "Synthblend Targets",
                            doc="collection of the .blend whose objects are targets; category from "
                                "each object's custom property synthblend_category (default: its name)"),
        }),
    }),
    "camera": Section({
        "look_at": D("vec3", (0.0, 0.0, 0.0), doc="point the camera aims at, world, m"),
        "distance": D("float", 2.0, min=0, min_exclusive=True, doc="camera to look_at, m"),
        "elevation_deg": D("float", 30.0, min=-90, max=90, doc="above the look_at's horizontal plane"),
        "azimuth_deg": D("float", 0.0, doc="counter-clockwise from +x about +z"),
        "roll_deg": D("float", 0.0, doc="rotation about the optical axis"),
        "focal_length_mm": D("float", 35.0, min=1),     # Blender's minimum: below it, it clamps
        "sensor_width_mm": D("float", 36.0, min=1),
        "sensor_fit": V("str", "horizontal", allowed=SENSOR_FITS,
                        doc="which image side sensor_width_mm spans (Blender's sensor fit)"),
        "shift_x": D("float", 0.0, doc="lens shift, fraction of the larger image side (Blender)"),
        "shift_y": D("float", 0.0, doc="lens shift, fraction of the larger image side (Blender)"),
        "clip_start": V("float", 0.01, min=1e-6, doc="m"),
        "clip_end": V("float", 1000.0, min=1e-6, doc="m"),
    }),
    "lighting": Section({
        "count": D("int", 1, min=0, max=MAX_LIGHTS),
        "type": D("str", "point", allowed=LIGHT_TYPES),
        "power_w": D("float", 500.0, min=0, doc="point/spot/area power, W"),
        "sun_strength": D("float", 3.0, min=0, doc="sun irradiance, W/m^2 (sun lights only)"),
        "color_temperature_k": D("float", 6500.0, min=1000, max=40000, doc="kelvin"),
        "distance": D("float", 3.0, min=0, min_exclusive=True, doc="light to look_at, m"),
        "elevation_deg": D("float", 60.0, min=-90, max=90),
        "azimuth_deg": D("float", {"uniform": [0, 360]}),
        "radius": D("float", 0.1, min=0, doc="light size (point/spot radius, area edge), m"),
        "spot_angle_deg": D("float", 45.0, min=1, max=180),
        "world_strength": D("float", 0.5, min=0, doc="uniform grey world background strength"),
    }),
})


# Domain randomization keys (materials, world, distractors, placement, camera effects, augment,
# keypoints): defined in core/dr_schema.py, plugged in here.
from . import dr_schema as _dr  # noqa: E402  (it builds on the classes above)

if hasattr(_dr, "install"):      # else dr_schema is importing this module: it installs itself
    _dr.install(SCHEMA, OBJECT)
