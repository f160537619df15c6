"""The config schema: every key, its kind, default and checks, as plain data in this one module.

Units: angles in degrees, lengths in meters, light power in watts, colour temperature in kelvin;
colours of domain randomization as HSV triples in [0, 1] of the *display* (sRGB) colour.
:mod:`synthblend.core.config` walks it; :mod:`synthblend.core.config_checks` adds the checks across
keys; the field kinds are in :mod:`synthblend.core.schema_types`, the custom parsers in
:mod:`synthblend.core.schema_parsers`; the allowed outputs come from the output table
(:mod:`synthblend.core.outputs`).
"""
from __future__ import annotations

from .camera_intrinsics import parse_K
from .camera_presets import NAMES as CAMERA_PRESETS
from .exposure import VIEW_TRANSFORMS, parse_exposure
from .motion_schema import SEQUENCE_STARTS, TRAJECTORY, VELOCITY
from .outputs import DEFAULT as DEFAULT_OUTPUTS
from .outputs import NAMES as OUTPUTS
from .physics.shapes import COLLISIONS
from .quality import DENOISE_PREFILTERS, QUALITIES
from .schema_camera import AUTO_EXPOSURE, DEPTH_NOISE, DISTORTION, RGB_NOISE
from .schema_parsers import (
    PRIMITIVES,
    parse_category,
    parse_choose,
    parse_focus,
    parse_keypoint_pairs,
    parse_keypoints,
    parse_position_or_view,
    parse_rotation,
    parse_shapes,
    parse_size2,
    parse_views,
    parse_weights,
)
from .schema_types import Custom, D, ListOf, Section, V
from .up_axis import AXES
from .urdf_objects import parse_joints

LIGHT_TYPES = ("point", "sun", "spot", "area")
DEVICES = ("cpu", "gpu")
SENSOR_FITS = ("horizontal", "vertical", "auto")
TEXTURES = ("none", "noise", "checker", "voronoi", "gradient", "wave", "image")
WORLD_TYPES = ("uniform", "gradient", "sky", "hdri", "image")
PLACEMENTS = ("free", "non_overlapping", "physics")
DISTRACTOR_SHAPES = ("cube", "sphere", "cylinder", "cone", "torus")
SUPPORT_TYPES = ("bin", "table", "shelf")    # core/supports.py builds them
# Limits that keep a typo from asking for the impossible (every pool object is built up front).
MAX_FRAMES = 10_000_000
MAX_INSTANCES = 32_767       # Blender's Object.pass_index (the instance id) stops at 32767
MAX_LIGHTS = 128
MIN_RESOLUTION = 4           # Blender's smallest image side

ANY_HSV = {"uniform": [[0.0, 0.0, 0.05], [1.0, 1.0, 1.0]]}

__all__ = ["SCHEMA", "OBJECT", "OUTPUTS", "DEFAULT_OUTPUTS", "PRIMITIVES", "Custom", "D", "ListOf", "Section",
           "V", "parse_rotation"]


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


DISTRACTORS = Section({
    "count": D("int", {"randint": [1, 5]}, min=0, doc="distractors per frame"),
    "shapes": Custom(parse_shapes, list(DISTRACTOR_SHAPES), doc="primitives to pick from (uniformly)"),
    "meshes": V("path", None, doc="a folder or glob of mesh files (a library, docs/assets.md): distractors "
                                  "are drawn from it (uniformly, stream scene.distractors.meshes) instead of shapes"),
    "scale": D("float", {"uniform": [0.03, 0.08]}, min=0, min_exclusive=True,
               doc="size in m (primitives are 1 m across; a mesh's largest bounding-box side becomes scale)"),
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


SUPPORT = Section({
    "type": V("str", None, allowed=SUPPORT_TYPES, doc="bin | table | shelf (or give mesh instead)"),
    "mesh": V("path", None, doc="any mesh file as a static support (raw coordinates, times scale)"),
    "name": V("str", None, doc="name in meta and for scene.physics.into (default: <type or stem>_<index>)"),
    "category": V("str", None, doc="label it with this category (default: unlabelled, 0)"),
    "color": V("str", "#a0a0a0", doc="colour #rrggbb"),
    "materials": material_section(),
    "scale": V("float", 1.0, min=0, min_exclusive=True, doc="mesh: mesh units to meters"),
    "position": D("vec3", (0.0, 0.0, 0.0), doc="world position of its footprint centre on the floor, m"),
    "yaw_deg": D("float", 0.0, doc="rotation about world z"),
    "inner_size": Custom(parse_size2, None, doc="bin: [x, y] between the walls, m (default [0.4, 0.3])"),
    "wall_height": V("float", None, min=0, min_exclusive=True, doc="bin: inner floor to rim, m (0.15)"),
    "wall_thickness": V("float", None, min=0, min_exclusive=True, doc="bin: walls and floor, m (0.01)"),
    "size": Custom(parse_size2, None, doc="table: top [x, y] (1.2, 0.8); shelf: [width, depth] (0.8, 0.3), m"),
    "height": V("float", None, min=0, min_exclusive=True,
                doc="table: floor to the top's upper face (0.75); shelf: overall (1.0), m"),
    "thickness": V("float", None, min=0, min_exclusive=True,
                   doc="table: top (0.04); shelf: boards and panels (0.02), m"),
    "leg_size": V("float", None, min=0, doc="table: square legs' side, m; 0 = a slab at its height (0.05)"),
    "boards": V("int", None, min=1, max=100, doc="shelf: horizontal boards, bottom at z = 0, top at height (3)"),
    "back": V("bool", None, doc="shelf: a back panel at local +y (true)"),
})

# placement: physics (core/physics/, core/features/placement.py; docs/physics.md)
PHYSICS = Section({
    "drop_height": D("float", {"uniform": [0.02, 0.15]}, min=0,
                     doc="m from a body's lowest point to the highest thing under it at release"),
    "into": V("str", None, doc="name of a scene.supports entry: drop x, y uniformly over its opening"),
    "max_time_s": V("float", 5.0, min=0, min_exclusive=True, max=600, doc="simulated s after the last release"),
    "stagger_s": V("float", 0.05, min=0, max=10, doc="simulated s between releases (instance-id order)"),
    "time_step": V("float", 1 / 240, min=1e-5, max=0.05, doc="fixed Bullet time step, s"),
    "solver_iterations": V("int", 50, min=1, max=10_000, doc="Bullet constraint solver iterations per step"),
    "margin": V("float", 1e-4, min=0, max=0.01, doc="Bullet collision margin of every shape, m"),
    "check_interval_s": V("float", 0.05, min=0, min_exclusive=True, doc="simulated s between rest checks"),
    "rest_linear": V("float", 0.005, min=0, min_exclusive=True, doc="at rest below this speed, m/s ..."),
    "rest_angular": V("float", 0.05, min=0, min_exclusive=True, doc="... and this angular speed, rad/s ..."),
    "rest_checks": V("int", 5, min=1, max=10_000, doc="... at this many checks in a row"),
    "outside": V("str", "remove", allowed=("remove", "redrop", "keep"),
                 doc="a body at rest outside the area (ground square, into's opening, view): what to do"),
    "max_redrops": V("int", 2, min=0, max=100, doc="outside: redrop, then removed"),
    "in_view": V("bool", False, doc="a body whose centre of mass is outside the image is outside too"),
}, optional=True, doc="placement: physics (Bullet): drop heights, into a support, time limits, rest thresholds")

OBJECT_PHYSICS = Section({
    "density": D("float", 500.0, min=0, min_exclusive=True, doc="kg/m^3 of the solid (unless mass is set)"),
    "mass": D("float", 0.0, min=0, doc="kg; 0 = density x volume"),
    "friction": D("float", 0.5, min=0, doc="Coulomb friction coefficient (Bullet lateral friction)"),
    "restitution": D("float", 0.1, min=0, max=1, doc="bounciness"),
    "rolling_friction": D("float", 0.01, min=0, doc="rolling and spinning friction (Bullet), m"),
    "collision": V("str", "auto", allowed=COLLISIONS,
                   doc="auto (cube, sphere, cylinder exact; torus sectors; others hull) | hull | decompose | "
                       "sectors | box | sphere | cylinder"),
}, optional=True, doc="placement: physics: per-object mass, friction, collision shape (absent: defaults)")
ASSET_CACHE = Section({
    "max_assets": V("int", 64, min=1, max=1_000_000, doc="mesh assets a worker keeps loaded"),
    "max_mb": V("float", 2048.0, min=0, min_exclusive=True,
                doc="estimated MB of loaded assets (triangles, textures) a worker keeps"),
}, doc="mesh files and library assets load when a frame first uses them; beyond either bound the least "
       "recently used are freed (a frame's own assets never); does not change what is rendered")

# scene.views / sequence: frames grouped into scenes (core/scenes.py, docs/views.md)
SEQUENCE = Section({
    "frames": V("int", None, required=True, min=1, max=100_000,
                doc="frames per sequence (one scene: objects and camera move, ids constant)"),
    "fps": V("float", 12.0, min=0, min_exclusive=True, max=100_000, doc="frames per second: time_s = view / fps"),
    "start": V("str", "settled", allowed=SEQUENCE_STARTS,       # core/motion.py, docs/views.md
               doc="placement: physics: frame 0 is the settled arrangement, or the drop's release (the fall "
                   "is filmed; needs scene.physics.stagger_s: 0)"),
}, optional=True, doc="sequences in time: consecutive frames of a scene at t = k / fps (docs/views.md)")


OBJECT = Section({
    "mesh": V("path", None, doc="mesh file, any format trimesh loads (ply, obj, stl, glb, off); or a "
                                "library: a folder (its mesh files, recursively) or a glob (docs/assets.md)"),
    "bop_models": V("path", None, doc="a library: a BOP model set's folder (models_info.json, "
                                      "obj_NNNNNN.ply in mm; obj ids kept for the BOP export)"),
    "choose": Custom(parse_choose, None, doc="library: distinct assets per frame (int distribution; "
                                             "default 1), stream scene.objects[i].choose"),
    "weights": Custom(parse_weights, None, doc="library: {asset: {name: w}} or {category: {name: w}} "
                                               "(unlisted: 1; a category's weight is shared by its assets)"),
    "primitive": V("str", None, allowed=PRIMITIVES, doc="built-in shape (unit size, see README)"),
    "urdf": V("path", None, doc="a URDF model: every link's visuals, one instance (docs/assets.md)"),
    "joints": Custom(parse_joints, None, doc="URDF joint values: {name: value or distribution} (deg, m) "
                                             "or random (uniform within limits); others 0"),
    "per_link": V("bool", False, doc="URDF: one instance per link (needed for joints drawn per frame)"),
    "category": Custom(parse_category, None, doc="class name; default: the mesh file's stem or the primitive "
                                                 "name; libraries also {from: folder} or {map: csv|json|yaml}"),
    "count": D("int", 1, min=0, max=MAX_INSTANCES, doc="instances per frame (library: per chosen asset)"),
    "scale": D("float", 1.0, min=0, min_exclusive=True, doc="mesh units to meters (uniform)"),
    "position": D("vec3", (0.0, 0.0, 0.0), doc="world position of the mesh origin, m (with rest_on_ground, "
                                            "z is the gap below the lowest point)"),
    "rotation": Custom(parse_rotation, "none", doc="uniform_so3 | none | {euler_deg: ...}"),
    "up_axis": V("str", None, allowed=AXES, doc="the file's axis that points up; default y for glTF/GLB "
                                            "(their spec), z otherwise (docs/assets.md)"),
    "forward": V("str", None, allowed=AXES, doc="the file's axis that becomes world +y; default -z for "
                                            "up_axis y (as Blender's importers), else see docs/assets.md"),
    "rest_on_ground": V("bool", False, doc="lift each instance so its lowest point (after rotation and "
                                           "scale) is at z = 0 plus position z"),
    "color": V("str", None, doc="base colour as #rrggbb (default: a palette colour per entry)"),
    "materials": material_section(),
    "keypoints": Custom(parse_keypoints, None,
                        doc="3-D points in the asset's coordinates, list or {name: [x, y, z]}"),
    "keypoint_flip": Custom(parse_keypoint_pairs, None,
                            doc="pairs of keypoints (names or indices) that swap places in a mirrored "
                                "image (YOLO pose flip_idx); default: none swap"),
    "skeleton": Custom(parse_keypoint_pairs, None,
                       doc="pairs of keypoints (names or indices) joined by an edge (COCO category skeleton)"),
    "physics": OBJECT_PHYSICS,
    "velocity": VELOCITY,              # sequences: core/motion.py, docs/views.md
})

SCHEMA = Section({
    "seed": V("int", 0, doc="base seed; frame i draws from (seed, i) only"),
    "frames": V("int", 10, min=1, max=MAX_FRAMES, doc="number of frames"),
    "render": Section({
        "resolution": V("resolution", [640, 480], doc="[width, height] in pixels"),
        "quality": V("str", "standard", allowed=QUALITIES,
                     doc="preset for samples, adaptive_threshold, adaptive_min_samples, denoise, "
                         "denoise_prefilter, max_bounces (core/quality.py)"),
        "samples": V("int", None, min=1, max=16_777_216, doc="Cycles samples for RGB (default: from quality)"),
        "denoise": V("bool", None,
                     doc="OpenImageDenoise on RGB (default: from quality; skipped where Blender lacks it)"),
        "adaptive_threshold": V("float", None, min=0, doc="Cycles adaptive sampling noise threshold; 0 = off"),
        "adaptive_min_samples": V("int", None, min=0, max=16_777_216,
                                  doc="samples every pixel gets before adaptive sampling may stop it (default: "
                                      "from quality); 0 = Cycles' automatic, ceil(16 / threshold^0.3)"),
        "denoise_prefilter": V("str", None, allowed=DENOISE_PREFILTERS,
                               doc="accurate | fast | none: how OpenImageDenoise cleans its albedo and normal "
                                   "guides (default: from quality; none skips it, docs/performance.md)"),
        "max_bounces": V("int", None, min=0, max=1024, doc="light path bounces (default: from quality)"),
        "device": V("str", "cpu", allowed=DEVICES, doc="cpu | gpu (CUDA/OptiX)"),
        "outputs": V("outputs", list(DEFAULT_OUTPUTS), doc="subset of " + ", ".join(OUTPUTS)),
        "threads": V("int", 0, min=0, max=1024, doc="Cycles threads per worker; 0 = cores / workers"),
        "asset_cache": ASSET_CACHE,
        "exposure": Custom(parse_exposure, "auto",
                           doc="auto (meter each frame: render.auto_exposure) or an EV in stops (may be random)"),
        "auto_exposure": AUTO_EXPOSURE,
        "view_transform": V("str", "standard", allowed=VIEW_TRANSFORMS,
                            doc="standard (sRGB) | filmic | agx: Blender's view transforms (filmic, agx: OpenColorIO)"),
    }),
    "scene": Section({
        "objects": ListOf(OBJECT),
        "ground": Section({
            "size": V("float", 4.0, min=0, min_exclusive=True, doc="edge length of the square plane at z = 0, m"),
            "category": V("str", None, doc="label the ground with this category (default: unlabelled, 0)"),
            "color": V("str", "#808080", doc="ground colour #rrggbb"),
            "materials": material_section(),
        }, optional=True),
        "blend": V("path", None, doc="render this .blend file's scene: its mesh objects are labelled "
                                     "(targets by collection, every other one as category 0)"),
        "targets": Section({
            "collection": V("str", "Synthblend Targets",
                            doc="collection of the .blend whose objects are targets; category from "
                                "each object's custom property synthblend_category (default: its name)"),
        }),
        "placement": V("str", "free", allowed=PLACEMENTS,
                       doc="as sampled; redraw overlapping hulls; or drop and settle in Bullet (scene.physics)"),
        "distractors": DISTRACTORS,
        "physics": PHYSICS,
        "supports": ListOf(SUPPORT, doc="static bins, tables, shelves, meshes: rendered, labelled, collided with"),
        "views": Custom(parse_views, None, doc="camera views per scene (int or int distribution, drawn per "
                                               "scene): one arrangement, N cameras, consecutive frames "
                                               "(docs/views.md); absent: every frame its own scene"),
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
        # intrinsics of a real camera (core/camera_intrinsics.py; docs/cameras.md): replace the four above
        "preset": V("str", None, allowed=CAMERA_PRESETS,
                    doc="a sensor's resolution and intrinsics (docs/cameras.md); every key overrides it"),
        "calibration": V("path", None, doc="OpenCV (cv2.FileStorage YAML/JSON) or ROS camera_info file: K, "
                                           "resolution and lens distortion"),
        "intrinsics": Section({
            "fx": V("float", None, min=0, min_exclusive=True, doc="focal length along u, pixels"),
            "fy": V("float", None, min=0, min_exclusive=True, doc="focal length along v, pixels"),
            "cx": V("float", None, doc="principal point u, pixels (pixel centres at integers)"),
            "cy": V("float", None, doc="principal point v, pixels"),
        }, optional=True, doc="OpenCV intrinsics for render.resolution (meta's K equals them)"),
        "K": Custom(parse_K, None, doc="3x3 OpenCV intrinsics [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (or intrinsics)"),
        "stereo": Section({
            "baseline_m": V("float", None, min=0, min_exclusive=True,
                            doc="left to right camera along the left's x axis, m (default: the preset's)"),
        }, optional=True, doc="a rectified pair: frame 2i left, 2i+1 right image of pair i (output disparity)"),
        "clip_start": V("float", 0.01, min=1e-6, doc="m"),
        "clip_end": V("float", 1000.0, min=1e-6, doc="m"),
        "dof": DOF,
        "motion_blur": MOTION_BLUR,
        "distortion": DISTORTION,
        "trajectory": TRAJECTORY,      # views and sequences: core/trajectory.py, docs/views.md
        "depth_noise": DEPTH_NOISE,
        "rgb_noise": RGB_NOISE,
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
    }),    "materials": material_section(),
    "world": WORLD,
    "augment": AUGMENT,
    "sequence": SEQUENCE,
})
