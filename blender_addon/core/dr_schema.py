"""Config keys of domain randomization: materials, world backgrounds, distractors, placement, camera
effects (depth of field, motion blur), post-render augmentations and keypoints.

Only data: :mod:`synthblend.core.schema` plugs these sections into the config schema, and
:func:`check` adds the cross-key checks (folders that must hold images, ...).  Units as everywhere:
meters, degrees; colours as HSV triples in [0, 1] of the *display* (sRGB) colour.
"""
from __future__ import annotations

from pathlib import Path

from .schema import PRIMITIVES, Custom, D, Section, V, parse_rotation

TEXTURES = ("none", "noise", "checker", "voronoi", "gradient", "wave", "image")
WORLD_TYPES = ("uniform", "gradient", "sky", "hdri", "image")
PLACEMENTS = ("free", "non_overlapping", "physics")
DISTRACTOR_SHAPES = ("cube", "sphere", "cylinder", "cone", "torus")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".tga", ".webp", ".exr", ".hdr")
HDRI_EXTS = (".hdr", ".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
# Post-render outputs added by these features (the base outputs are in schema.OUTPUTS).
DR_OUTPUTS = ("normals", "boxes3d", "keypoints", "amodal")

ANY_HSV = {"uniform": [[0.0, 0.0, 0.05], [1.0, 1.0, 1.0]]}


def material_section() -> Section:
    """The material randomization block (``materials``, ``scene.objects[].materials``,
    ``scene.distractors.materials``, ``scene.ground.materials``)."""
    return Section({
        "keep_asset": V("bool", False, doc="keep the asset's own appearance (texture image or vertex "
                                           "colours, as trimesh reads them) where it has one"),
        "base_color_hsv": D("vec3", ANY_HSV, doc="base colour, HSV in [0, 1] (hue wraps)"),
        "roughness": D("float", {"uniform": [0.1, 0.9]}, min=0, max=1),
        "metallic": D("float", 0.0, min=0, max=1),
        "specular": D("float", 0.5, min=0, max=1, doc="specular level (Principled BSDF), 0.5 = IOR 1.5"),
        "texture": D("str", "none", allowed=TEXTURES, doc="procedural pattern, or image from `images`"),
        "texture_scale": D("float", {"loguniform": [2.0, 20.0]}, min=0, min_exclusive=True,
                           doc="pattern repeats across the object's bounding box"),
        "texture_color_hsv": D("vec3", ANY_HSV, doc="second colour of a procedural pattern"),
        "images": V("path", None, doc="folder of images for texture: image (box-projected)"),
    }, optional=True, doc="random appearance per object and frame (absent: the entry's fixed colour)")


def parse_shapes(value):
    """``[cube, sphere]`` (uniform choice), one name, or ``{choice: [...], weights: [...]}``."""
    from . import distributions as dist

    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        if not value:
            raise ValueError("shapes needs at least one primitive name")
        value = {"choice": value}
    return dist.parse(value, "str", PRIMITIVES)


def parse_position_or_view(value):
    """``view`` (in the camera's view, on the ground plane) or a vector distribution (world, m)."""
    from . import distributions as dist

    if value == "view":
        return ("view", None)
    return ("dist", dist.parse(value, "vec3"))


def parse_focus(value):
    """``look_at`` (focus on the camera's look-at point) or a distance in meters (may be random)."""
    from . import distributions as dist

    if value == "look_at":
        return ("look_at", None)
    d = dist.parse(value, "float")
    b = d.bounds()
    if b is None or b[0] <= 0:
        raise ValueError(f"focus_distance takes look_at or a positive distance in m, got {value!r}")
    return ("dist", d)


def parse_keypoints(value):
    """``[[x, y, z], ...]`` (named "0", "1", ...) or ``{name: [x, y, z], ...}``; asset coordinates."""
    if value is None:
        return None
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), p) for i, p in enumerate(value)]
    else:
        raise ValueError(f"keypoints takes a list of [x, y, z] or a mapping name: [x, y, z], got {value!r}")
    out = []
    for name, p in items:
        if (not isinstance(p, (list, tuple)) or len(p) != 3
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)):
            raise ValueError(f"keypoint {name!r} must be [x, y, z] (asset units), got {p!r}")
        out.append((str(name), tuple(float(x) for x in p)))
    return tuple(out)


DISTRACTORS = Section({
    "count": D("int", {"randint": [1, 5]}, min=0, doc="distractors per frame"),
    "shapes": Custom(parse_shapes, list(DISTRACTOR_SHAPES), doc="primitives to pick from (uniformly)"),
    "scale": D("float", {"uniform": [0.03, 0.08]}, min=0, min_exclusive=True,
               doc="size in m (primitives are 1 m across)"),
    "position": Custom(parse_position_or_view, "view",
                       doc="view: a random pixel's ray meets the ground plane; or a vec3 distribution"),
    "height": D("float", {"uniform": [0.0, 0.1]}, min=0,
                doc="with position: view, gap between the distractor's lowest point and z = 0, m"),
    "rotation": Custom(parse_rotation, "uniform_so3"),
    "category": V("str", None, doc="label distractors with this category (default: unlabelled, 0)"),
    "materials": material_section(),
}, optional=True, doc="random primitives in view; ids after the objects, category 0 by default")

WORLD = Section({
    "type": D("str", "uniform", allowed=WORLD_TYPES, doc="background kind (a choice draws one per frame)"),
    "color_hsv": D("vec3", {"uniform": [[0.0, 0.0, 0.1], [1.0, 0.6, 1.0]]},
                   doc="uniform colour; gradient's horizon colour; image's ambient colour"),
    "top_color_hsv": D("vec3", {"uniform": [[0.0, 0.0, 0.1], [1.0, 0.6, 1.0]]},
                       doc="gradient's zenith colour"),
    "sky": Section({
        "sun_elevation_deg": D("float", {"uniform": [5.0, 70.0]}, min=-90, max=90),
        "sun_azimuth_deg": D("float", {"uniform": [0.0, 360.0]}),
        "turbidity": D("float", {"uniform": [2.0, 8.0]}, min=1, max=10, doc="haze (Hosek-Wilkie sky)"),
        "ground_albedo": D("float", 0.3, min=0, max=1),
    }),
    "hdri": Section({
        "folder": V("path", None, doc="folder of equirectangular images (.hdr, .exr, ...)"),
        "rotation_deg": D("float", {"uniform": [0.0, 360.0]}, doc="about world +z"),
    }),
    "image": Section({
        "folder": V("path", None, doc="folder of images shown on a back plane"),
        "distance": D("float", 1.0, min=0, min_exclusive=True,
                      doc="back plane's distance behind the look-at point, m"),
    }),
}, optional=True, doc="random background; its strength is lighting.world_strength")

DOF = Section({
    "f_stop": D("float", 2.8, min=0, min_exclusive=True, doc="aperture f-number"),
    "focus_distance": Custom(parse_focus, "look_at", doc="look_at or meters from the camera"),
    "blades": V("int", 0, min=0, doc="aperture blades (0 = round)"),
}, optional=True, doc="depth of field (RGB only; ground truth from a sharp second pass)")

MOTION_BLUR = Section({
    "camera_translation": D("vec3", (0.0, 0.0, 0.0),
                            doc="camera motion during the exposure, camera frame (OpenCV), m"),
    "camera_rotation_deg": D("vec3", (0.0, 0.0, 0.0),
                             doc="camera turn during the exposure about its x, y, z axes (OpenCV), deg"),
    "object_translation": D("vec3", (0.0, 0.0, 0.0),
                            doc="each object's motion during the exposure, world frame, m"),
}, optional=True, doc="motion blur (RGB only; ground truth from a sharp pass at mid-exposure)")

AUGMENT = Section({
    "brightness": D("float", 1.0, min=0, doc="multiplies intensities"),
    "contrast": D("float", 1.0, min=0, doc="scales around the image mean"),
    "saturation": D("float", 1.0, min=0, doc="0 = grey"),
    "hue_deg": D("float", 0.0, min=-180, max=180, doc="hue rotation"),
    "gamma": D("float", 1.0, min=0, min_exclusive=True, doc="out = in ** gamma (sRGB, 0..1)"),
    "blur_sigma_px": D("float", 0.0, min=0, doc="Gaussian blur, pixels"),
    "noise_std": D("float", 0.0, min=0, doc="Gaussian sensor noise, fraction of full scale (1/255 = 1 level)"),
}, optional=True, doc="post-render RGB augmentation in numpy, after ground truth (recorded in meta)")


def object_fields() -> dict:
    """Extra keys of a ``scene.objects`` entry."""
    return {
        "materials": material_section(),
        "keypoints": Custom(parse_keypoints, None,
                            doc="3-D points in the asset's coordinates, list or {name: [x, y, z]}"),
    }


def scene_fields() -> dict:
    return {
        "placement": V("str", "free", allowed=PLACEMENTS,
                       doc="as sampled; redraw overlapping hulls; or drop and settle on the ground"),
        "distractors": DISTRACTORS,
    }


def top_fields() -> dict:
    return {"materials": material_section(), "world": WORLD, "augment": AUGMENT}


def camera_fields() -> dict:
    return {"dof": DOF, "motion_blur": MOTION_BLUR}


# ------------------------------------------------------------------------------------ cross-key checks


def list_images(folder, exts=IMAGE_EXTS) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (the order draws index into)."""
    folder = Path(folder)
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts),
                  key=lambda p: p.name)


def _check_folder(v, parts, folder, exts, needed: bool, what: str):
    if folder is None:
        if needed:
            v.err(parts, f"{what} needs a folder of images")
        return
    p = Path(folder)
    if not p.exists():
        v.err(parts, f"folder not found: {p}")
    elif not p.is_dir():
        v.err(parts, f"not a folder: {p}")
    elif needed and not list_images(p, exts):
        v.err(parts, f"no image files ({', '.join(exts)}) in {p}")


def _uses(dist, value: str) -> bool:
    if dist is None:
        return False
    vals = dist.values()
    return vals is not None and value in vals


def _check_material(v, parsed: dict | None, parts: list):
    if not parsed:
        return
    _check_folder(v, parts + ["images"], parsed.get("images"), IMAGE_EXTS,
                  _uses(parsed.get("texture"), "image"), "texture: image")


def _largest(d) -> int:
    if d is None:
        return 0
    vals = d.values()
    return int(max(vals) if vals is not None else d.bounds()[1])


def _check_instances(v, sc: dict, dist: dict) -> None:
    from .schema import MAX_INSTANCES

    n = sum(_largest(o.get("count")) for o in sc.get("objects", []) if o)
    n += _largest(dist.get("count")) + 2                 # + the ground and the back plane
    if n > MAX_INSTANCES:
        v.err(["scene", "distractors", "count"],
              f"objects, distractors, ground and back plane can add up to {n} instances; at most "
              f"{MAX_INSTANCES} fit in Blender's object index")


def check(v, data: dict, parsed: dict) -> None:
    """Cross-key checks of the domain-randomization keys (called by config._check_semantics)."""
    _check_material(v, parsed.get("materials"), ["materials"])
    sc = parsed.get("scene", {})
    for i, o in enumerate(sc.get("objects", [])):
        _check_material(v, o.get("materials"), ["scene", "objects", i, "materials"])
    dist = sc.get("distractors")
    if dist:
        _check_material(v, dist.get("materials"), ["scene", "distractors", "materials"])
        _check_instances(v, sc, dist)
    ground = sc.get("ground")
    if ground:
        _check_material(v, ground.get("materials"), ["scene", "ground", "materials"])
    w = parsed.get("world")
    if w:
        t = w.get("type")
        _check_folder(v, ["world", "hdri", "folder"], w["hdri"].get("folder"), HDRI_EXTS,
                      _uses(t, "hdri"), "world type hdri")
        _check_folder(v, ["world", "image", "folder"], w["image"].get("folder"), IMAGE_EXTS,
                      _uses(t, "image"), "world type image")
    outs = data.get("render", {}).get("outputs", [])
    if "keypoints" in outs and not any(o.get("keypoints") for o in data.get("scene", {}).get("objects", [])):
        v.err(["render", "outputs"], "output keypoints needs keypoints on at least one scene.objects entry")


def install(schema: Section, obj: Section) -> None:
    """Add the keys above to the config schema (core/schema.py calls it; idempotent)."""
    if "materials" in schema.fields:
        return
    obj.fields.update(object_fields())
    scene = schema.fields["scene"]
    scene.fields.update(scene_fields())
    scene.fields["ground"].fields["materials"] = material_section()
    schema.fields["camera"].fields.update(camera_fields())
    schema.fields.update(top_fields())


def _install_when_imported_first() -> None:
    """Importing this module before core.schema: schema's own hook found it half-loaded."""
    from . import schema
    install(schema.SCHEMA, schema.OBJECT)


_install_when_imported_first()
