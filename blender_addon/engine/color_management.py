"""The view transform of the colour image: exposed linear RGB -> 8-bit display sRGB.

``render.view_transform: standard`` is the sRGB transfer function in numpy (Blender's Standard view,
:func:`synthblend.engine.render.to_srgb8`). ``filmic`` and ``agx`` are Blender's own view transforms,
applied with OpenColorIO (the ``opencolorio`` wheel, extra ``color``) from the OCIO config that ships
with this Blender build (``datafiles/colormanagement/config.ocio``; ``$OCIO`` wins where set): scene
linear (Linear Rec.709) -> display ``sRGB``, view ``Filmic`` / ``AgX``, look None, exposure 0 (the
exposure is applied before, in numpy). The same config and processor as Blender's, so the image
equals what Blender writes for that view to within one 8-bit level (tests/test_exposure.py checks
it against Blender's ``save_render``). A build without the view (Blender 3.4 has no AgX) or a Python
without PyOpenColorIO is refused at build time with exit 2, naming ``render.view_transform``.
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import InputError

#: render.view_transform -> Blender's (OCIO config's) view name
VIEW_NAMES = {"filmic": "Filmic", "agx": "AgX"}
DISPLAY = "sRGB"


def ocio_config_path() -> Path:
    """Blender's own OCIO config (``$OCIO`` where set)."""
    env = os.environ.get("OCIO")
    if env:
        return Path(env)
    return Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "colormanagement" / "config.ocio"


class ViewTransform:
    """``display8(linear)``: HxWx3 exposed linear RGB -> HxWx3 uint8 display sRGB."""

    def __init__(self, name: str, where: str = "render.view_transform"):
        self.name = name
        self._cpu = None
        if name == "standard":
            return
        try:
            import PyOpenColorIO as ocio
        except ImportError:
            raise InputError(where, f"{name} needs OpenColorIO in this Python (pip install opencolorio, "
                                    "the 'color' extra); use standard") from None
        path = ocio_config_path()
        if not path.is_file():
            raise InputError(where, f"{name}: this Blender build has no OCIO config at {path}; use standard")
        cfg = ocio.Config.CreateFromFile(str(path))
        view = VIEW_NAMES[name]
        if view not in list(cfg.getViews(DISPLAY)):
            raise InputError(where, f"{name}: Blender {bpy.app.version_string} has no {view} view "
                                    f"(views: {', '.join(cfg.getViews(DISPLAY))}); use standard")
        t = ocio.DisplayViewTransform(src=ocio.ROLE_SCENE_LINEAR, display=DISPLAY, view=view)
        self._cpu = cfg.getProcessor(t).getDefaultCPUProcessor()

    def display(self, linear: np.ndarray) -> np.ndarray:
        """Display-referred float RGB in [0, 1] of an HxWx3 linear image."""
        if self._cpu is None:
            from ..core.color import linear_to_srgb
            return linear_to_srgb(linear)
        img = np.ascontiguousarray(np.nan_to_num(np.asarray(linear, np.float32)[..., :3]))
        self._cpu.applyRGB(img)          # in place
        return np.clip(img, 0.0, 1.0)

    def display8(self, linear: np.ndarray) -> np.ndarray:
        """8-bit display sRGB, rounded to nearest (no dither)."""
        return np.round(self.display(linear) * 255.0).astype(np.uint8)
