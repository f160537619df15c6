"""The engine side of each feature (bpy), mirroring :mod:`synthblend.core.features`: the module of
the same name holds a class (``FEATURE``) that builds its part of the scene once (``build()``:
datablocks, pools, node trees; in the core's feature order) and sets its part of a frame
(``apply(spec)``: values only, nothing created). A feature with nothing to do in Blender (placement,
augmentation) has no module here. A .blend's objects (:class:`Blend`) are captured after these,
outside the tagging of generated datablocks (SceneBuilder.build).
"""
from __future__ import annotations

import importlib
import importlib.util

from ...core.features import NAMES
from .blend import Blend


def _discover() -> tuple:
    out = []
    for name in NAMES:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            out.append((name, importlib.import_module(f"{__name__}.{name}").FEATURE))
    return tuple(out)


#: (name, class) of the engine features, in the core's feature order
ENGINE_FEATURES: tuple = _discover()

__all__ = ["ENGINE_FEATURES", "Blend"]
