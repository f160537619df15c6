"""The maps a frame should have, re-derived from its meta alone by ray casting.

One ray per pixel through the pixel centre (integer ``(u, v)``), ``d = cam2world[:3, :3] K^-1
[u, v, 1]`` from the camera centre (OpenCV camera axes: x right, y down, z forward), nearest
surface by :func:`synthblend.core.raycam.cast_camera_rays` (the project's one ray caster). ``d``'s
camera-frame z is exactly 1, so the ray parameter of a hit IS its planar depth in meters. Hits
nearer than the camera's ``clip_start`` or farther than ``clip_end`` (planar, as Cycles clips) are
ignored. With a lens distortion (meta ``camera.distortion``) the ray of pixel (u, v) is the converged
undistortion of ``K^-1 [u, v, 1]`` (core/distortion.py, still z = 1); a pixel without one (a fisheye
ray at theta >= 90 deg) expects no surface.

The same ray as the render's: Cycles writes its data passes (Z, object index) from the first sample
of each pixel only, whose ray goes through the pixel centre plus the pixel filter table's value at
0.5, which is not 0. A dataset that Blender rendered is therefore cast at ``(u, v)`` +
:data:`CYCLES_SAMPLE_OFFSET_PX` (:func:`sample_offset`): 5.3e-4 px, negligible for the masks, but
on a grazing surface of a small image (64x48: the depth changes by 3% of itself per pixel) it is
1.6e-5 of the depth, most of the 2e-5 bar, while float32 depth itself is good to ~1e-7.
"""
from __future__ import annotations

import numpy as np

from ..core.raycam import cast_camera_rays
from .verify_geometry import Geometry, frame_triangles

__all__ = ["render_frame", "sample_offset", "CYCLES_SAMPLE_OFFSET_PX"]

# Where Cycles' first-sample ray leaves pixel (u, v), in OpenCV pixels (x right, y down). Its camera
# ray goes through raster (x + T(0.5), y + T(0.5)) (kernel/camera/camera.h, camera_sample; sample 0
# takes filter_uv = (0.5, 0.5), kernel/integrator/init_from_camera.h), where T is the inverse-CDF
# table of the pixel filter (scene/film.cpp, filter_table: util_cdf_inverted with make_symmetric on
# an even FILTER_TABLE_SIZE of 1024, which a comment there says cannot be symmetric about 0.5).
# Evaluated for Blender's default Blackman-Harris filter, 1.5 px wide: T(0.5) = 0.5 + 5.2675e-4
# (3.5116e-4 per px of filter width). Raster y points up, OpenCV v down. Measured on Cycles renders
# (bpy 5.0, 64x48) by fitting the depth error to the depth's image gradient: (+5.2e-4, -5.3e-4) px,
# with residuals of 1e-7 of the depth (float32) once removed.
CYCLES_SAMPLE_OFFSET_PX = (5.2675e-4, -5.2675e-4)


def sample_offset(manifest: dict) -> tuple[float, float]:
    """Where the depth and instance maps of a dataset were sampled, relative to the pixel centre
    (u, v pixels): :data:`CYCLES_SAMPLE_OFFSET_PX` when Blender rendered it (``dataset.json``'s
    ``generator.blender``), else (0, 0)."""
    gen = manifest.get("generator") if isinstance(manifest, dict) else None
    if isinstance(gen, dict) and gen.get("blender"):
        return CYCLES_SAMPLE_OFFSET_PX
    return (0.0, 0.0)


def render_frame(meta: dict, geometry: Geometry, backend: str = "auto", offset_px=(0.0, 0.0)):
    """Ray-cast one frame from its meta: (instance HxW int64, 0 = nothing hit; planar depth HxW
    float64 in meters, 0 = nothing hit; number of objects whose geometry came from source assets).
    ``offset_px``: cast through ``(u, v) + offset_px`` (:func:`sample_offset`), not the centre."""
    W, H = (int(x) for x in meta["image_size"])
    cam = meta["camera"]
    K = np.asarray(cam["K"], np.float64).copy()
    K[0, 2] -= float(offset_px[0])      # K'^-1 [u, v, 1] = K^-1 [u + du, v + dv, 1], skew or not
    K[1, 2] -= float(offset_px[1])
    c2w = np.asarray(cam["cam2world"], np.float64)
    V, F, face_id, from_source = frame_triangles(meta, geometry)
    inst = np.zeros(H * W, np.int64)
    depth = np.zeros(H * W, np.float64)
    if len(F):
        t_min = float(cam.get("clip_start") or 0.0)
        t_max = float(cam.get("clip_end") or np.inf)
        tri, t = cast_camera_rays(V, F, K, c2w, W, H, t_min, t_max, backend, dist=cam.get("distortion"))
        tri, t = tri.ravel(), t.ravel()
        hit = tri >= 0
        inst[hit] = face_id[tri[hit]]
        depth[hit] = t[hit]
    return inst.reshape(H, W), depth.reshape(H, W), from_source
