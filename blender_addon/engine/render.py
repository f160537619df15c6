"""One Cycles render per frame, decoded into numpy arrays.

Cycles writes one multilayer EXR holding the linear colour (Combined), the planar depth (Z: distance
along the optical axis, 1e10 where nothing is hit) and the Object Index pass (each object's
``pass_index`` = its instance id). Both data passes are taken at the pixel centre, not filtered.
The colour is kept linear (``RenderedPasses.linear``) and developed afterwards by :func:`develop`:
exposure (core/exposure.py: a fixed or metered EV) on the linear values, then the view transform
(engine/color_management.py) to 8-bit sRGB.
The EXR is decoded outside Blender's image API (which cannot read multilayer files in background
mode) by :mod:`synthblend.dataset.exr`.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.color import linear_to_srgb
from ..dataset.exr import read_exr
from . import compat

NO_HIT_DEPTH = 1e9   # Cycles writes 1e10 for the background


@dataclass
class RenderedPasses:
    rgb: np.ndarray | None         # HxWx3 uint8 sRGB (set by develop())
    depth: np.ndarray              # HxW float32 planar depth, m; 0 = nothing hit
    instance: np.ndarray           # HxW uint16 instance ids; 0 = nothing hit
    linear: np.ndarray | None = None   # HxWx3 float32 linear Combined (Rec.709); exposed by develop()
    exposure: dict | None = None   # meta "exposure" (set by develop())


def scratch_dir() -> Path:
    """A private folder for scratch EXRs, in RAM where the OS offers it."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="synthblend-", dir=base))


def _channel(channels: dict, layer_names, chan: str) -> np.ndarray:
    for layer in layer_names:
        for key, arr in channels.items():
            if key.endswith(f"{layer}.{chan}"):
                return arr
    raise RuntimeError(f"render is missing pass {layer_names[0]}.{chan}; channels: {sorted(channels)}")


def to_srgb8(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear RGB (Blender's 'Standard' view) -> 8-bit sRGB, rounded to nearest (no dither)."""
    return np.round(linear_to_srgb(linear_rgb) * 255.0).astype(np.uint8)


def decode(path: Path, want_rgb: bool = True) -> RenderedPasses:
    ch = read_exr(path)
    z = _channel(ch, ("Depth",), "Z").astype(np.float32)
    idx = _channel(ch, compat.index_pass_names(), "X")
    inst = np.rint(idx).astype(np.int64)
    hit = (inst > 0) & (z < NO_HIT_DEPTH)
    instance = np.where(hit, inst, 0).astype(np.uint16)
    depth = np.where(hit, z, 0.0).astype(np.float32)
    lin = None
    if want_rgb:
        lin = np.stack([_channel(ch, ("Combined",), c) for c in "RGB"], axis=-1).astype(np.float32)
    return RenderedPasses(None, depth, instance, lin)


def develop(passes: RenderedPasses, spec, view) -> RenderedPasses:
    """Expose the linear colour (``spec.features["exposure"]``; none: EV 0) and turn it into 8-bit
    sRGB with ``view`` (a :class:`~synthblend.engine.color_management.ViewTransform`); sets
    ``passes.linear`` to the exposed linear image, ``passes.rgb`` and ``passes.exposure`` (meta)."""
    if passes.linear is None:
        return passes
    from ..core.exposure import apply_ev, develop_ev, exposure_meta
    from ..core.image_augment import augment_image

    setting = spec.features.get("exposure") or {"mode": "fixed", "ev": 0.0}
    raw = passes.linear

    def written(ev):            # the rgb/ image at this EV (augmentation included, as core/outputs.py writes it)
        return augment_image(view.display8(apply_ev(raw, ev)), spec)

    ev = develop_ev(setting, raw, written)
    passes.linear = apply_ev(raw, ev)
    passes.rgb = view.display8(passes.linear)
    passes.exposure = exposure_meta(setting, ev, augment_image(passes.rgb, spec))
    return passes


def _render_still(scene, path: Path) -> None:
    """Render the frame and write its multilayer EXR to ``path``. Blender 5.0 cannot write a multilayer
    EXR with a pixel aspect other than 1 ("Conflicting attributes ... 'pixelAspectRatio'"), which fx != fy
    needs (camera.intrinsics): render with it, then save the result with aspect 1 (the same bytes)."""
    aspect = (scene.render.pixel_aspect_x, scene.render.pixel_aspect_y)
    if aspect == (1.0, 1.0):
        bpy.ops.render.render(write_still=True)
        return
    bpy.ops.render.render(write_still=False)
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    try:
        bpy.data.images["Render Result"].save_render(str(path), scene=scene)
    finally:
        scene.render.pixel_aspect_x, scene.render.pixel_aspect_y = aspect


def render_passes(scene, scratch: Path, want_rgb: bool = True) -> RenderedPasses:
    """Render the current frame once and decode its passes."""
    path = scratch / "frame.exr"
    scene.render.filepath = str(path)
    scene.render.use_file_extension = False
    _render_still(scene, path)
    try:
        return decode(path, want_rgb)
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
