"""``meta/NNNNNN.json`` and ``dataset.json`` contents, built from a FrameSpec and the rendered maps.

Pure (no bpy). Everything here is deterministic: no timestamps, host names or timings (those go to
``DIR/logs/``), so a frame's files are byte-identical however the run was split.
"""
from __future__ import annotations

import numpy as np

from ..core.camera import invert_pose
from ..core.spec import WORLD_GREY, FrameSpec
from .masks import visibility
from .meta_dr import add_ground_truth, extend_meta

__all__ = ["frame_meta", "manifest", "add_ground_truth"]

FORMAT = {"name": "synthblend", "version": 1}
UNITS = {
    "length": "m",
    "depth": "m, planar (z along the optical axis), 0 where nothing is hit",
    "angles": "deg",
    "light_power": "W (sun: W/m^2)",
    "camera_frame": "OpenCV: x right, y down, z forward; pixel (u, v) has its centre at (u, v)",
    "world_frame": "z up, ground plane at z = 0",
}


def _m(a) -> list:
    return np.asarray(a, dtype=float).tolist()


def asset_scale(obj2world) -> float:
    """Uniform scale contained in a 4x4 pose (length of the first column)."""
    return float(np.linalg.norm(np.asarray(obj2world)[:3, 0]))


def frame_meta(spec: FrameSpec, instance: np.ndarray, mesh_paths: dict[int, str]) -> dict:
    """meta for one frame. ``mesh_paths`` maps an object's source (``ObjectSpec.source``) to its
    ``meshes/...`` path; ``instance`` is the frame's HxW instance map."""
    c = spec.camera
    w2c = invert_pose(c.cam2world)
    vis = visibility(instance, [o.instance_id for o in spec.objects])
    objects = []
    for o in spec.objects:
        count, bbox = vis[o.instance_id]
        objects.append({
            "instance_id": o.instance_id,
            "name": o.name,
            "category_id": o.category_id,
            "category": o.category,
            "asset": o.asset,
            "mesh": mesh_paths[o.source],
            "scale": asset_scale(o.obj2world),
            "obj2world": _m(o.obj2world),
            "obj2cam": _m(w2c @ np.asarray(o.obj2world)),
            "px_count_visib": int(count),
            "bbox_visib": [int(x) for x in bbox],
        })
    lights = [{
        "type": ls.type,
        "light2world": _m(ls.light2world),
        "position": _m(np.asarray(ls.light2world)[:3, 3]),
        "power_w": float(ls.power_w),
        "color_temperature_k": float(ls.color_temperature_k),
        "color_rgb": [float(x) for x in ls.color_rgb],
        "radius": float(ls.radius),
        "spot_angle_deg": float(ls.spot_angle_deg),
    } for ls in spec.lights]
    meta = {
        "frame": spec.frame,
        "seed": spec.seed,
        "image_size": [int(c.resolution[0]), int(c.resolution[1])],
        "camera": {
            "K": _m(c.K),
            "cam2world": _m(c.cam2world),
            "world2cam": _m(w2c),
            "look_at": [float(x) for x in c.look_at],
            "focal_length_mm": float(c.focal_length_mm),
            "sensor_width_mm": float(c.sensor_width_mm),
            "sensor_fit": c.sensor_fit,
            "shift_x": float(c.shift_x),
            "shift_y": float(c.shift_y),
            "clip_start": float(c.clip_start),
            "clip_end": float(c.clip_end),
        },
        "objects": objects,
        "lights": lights,
        "world": {"strength": float(spec.world_strength), "color_rgb": [WORLD_GREY] * 3},
        "sampled": spec.sampled,
    }
    if getattr(c, "distortion", None):      # the model and drawn coefficients (core/features/lens.py)
        meta["camera"]["distortion"] = {k: (v if k == "model" else float(v)) for k, v in c.distortion.items()}
    if tuple(getattr(c, "pixel_aspect", (1.0, 1.0))) != (1.0, 1.0):   # fx != fy (camera.intrinsics)
        meta["camera"]["pixel_aspect"] = [float(x) for x in c.pixel_aspect]
    if getattr(spec, "stereo", None):     # camera.stereo: this image's side and the other camera
        meta["stereo"] = dict(spec.stereo)
    add_scene_keys(meta, spec)
    return extend_meta(meta, spec)    # materials, distractors, world, camera effects, placement


def add_scene_keys(meta: dict, spec: FrameSpec) -> None:
    """``scene``, ``view`` (and in sequences ``time_s``, s), and each object's
    ``velocity`` {linear_m_s, angular_rad_s} (world frame), only where scene.views / sequence are
    configured (core/scenes.py): meta of other configs keeps its keys and bytes."""
    if spec.scene is not None:
        meta["scene"], meta["view"] = int(spec.scene), int(spec.view)
        if spec.time_s is not None:
            meta["time_s"] = float(spec.time_s)
        selection = (getattr(spec.camera, "view_info", None) or {}).get("selection")
        if selection is not None:          # camera.trajectory.min_visible_targets (core/trajectory.py)
            meta["camera"]["selection"] = selection
    for ob, o in zip(meta["objects"], spec.objects, strict=True):
        if o.velocity is not None:
            ob["velocity"] = {"linear_m_s": _m(o.velocity["linear_m_s"]),
                              "angular_rad_s": _m(o.velocity["angular_rad_s"])}


def manifest(config, blender_version: str, generator_version: str) -> dict:
    """``dataset.json``: identical for every worker and shard of the same run."""
    W, H = config.resolution
    return {
        "format": FORMAT,
        "generator": {"name": "synthblend", "version": generator_version, "blender": blender_version},
        "config": config.to_dict(),
        "config_identity": config.identity(),
        "config_path": str(config.path) if config.path else None,
        "seed": config.seed,
        "frames": config.frames,
        "image_size": [W, H],
        "categories": config.categories(),
        "outputs": config.outputs,
        "units": UNITS,
    }
