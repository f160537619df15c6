"""The maps a frame should have, re-derived from its meta alone by ray casting.

One ray per pixel through the pixel centre (integer ``(u, v)``), ``d = cam2world[:3, :3] K^-1
[u, v, 1]`` from the camera centre (OpenCV camera axes: x right, y down, z forward), nearest
surface by :func:`synthblend.core.raycam.cast_camera_rays` (the project's one ray caster). ``d``'s
camera-frame z is exactly 1, so the ray parameter of a hit IS its planar depth in meters. Hits
nearer than the camera's ``clip_start`` or farther than ``clip_end`` (planar, as Cycles clips) are
ignored.
"""
from __future__ import annotations

import numpy as np

from ..core.raycam import cast_camera_rays
from .verify_geometry import Geometry, frame_triangles

__all__ = ["render_frame"]


def render_frame(meta: dict, geometry: Geometry, backend: str = "auto"):
    """Ray-cast one frame from its meta: (instance HxW int64, 0 = nothing hit; planar depth HxW
    float64 in meters, 0 = nothing hit; number of objects whose geometry came from source assets)."""
    W, H = (int(x) for x in meta["image_size"])
    cam = meta["camera"]
    K = np.asarray(cam["K"], np.float64)
    c2w = np.asarray(cam["cam2world"], np.float64)
    V, F, face_id, from_source = frame_triangles(meta, geometry)
    inst = np.zeros(H * W, np.int64)
    depth = np.zeros(H * W, np.float64)
    if len(F):
        t_min = float(cam.get("clip_start") or 0.0)
        t_max = float(cam.get("clip_end") or np.inf)
        tri, t = cast_camera_rays(V, F, K, c2w, W, H, t_min, t_max, backend)
        tri, t = tri.ravel(), t.ravel()
        hit = tri >= 0
        inst[hit] = face_id[tri[hit]]
        depth[hit] = t[hit]
    return inst.reshape(H, W), depth.reshape(H, W), from_source
