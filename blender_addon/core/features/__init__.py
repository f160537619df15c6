"""The features of a frame, one pure module each, sampled in ``ORDER`` into the FrameSpec.

A feature module has ``ORDER`` (its place in the frame) and ``sample(ctx: SampleContext) -> None``,
which draws its part of the frame from its own named stream(s), writes it into ``ctx.spec`` (a field
of its own, or ``ctx.spec.features[name]``) and records random draws in ``ctx.spec.sampled``; an
optional ``meta(spec) -> dict | None`` gives what meta holds of it under its name. The engine module of
the same name in ``synthblend.engine.features`` (if any) applies that part in Blender. Every module of
this package with an ``ORDER`` is a feature: adding one is adding its file (CONTRIBUTING.md).

The order fixes the instance ids (config objects, then static supports, then distractors, then the
ground, then the back plane) and what each feature can see (placement moves the objects and distractors drawn before it;
materials colour every object; camera effects read the camera and the objects):
camera, lens, lights, objects, supports, distractors, ground, placement, materials, world, camera_fx, augment.
"""
from __future__ import annotations

import importlib
import pkgutil

from .context import SampleContext


def _discover() -> tuple:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "ORDER") and hasattr(mod, "sample"):
            mods.append(mod)
    return tuple(sorted(mods, key=lambda m: (m.ORDER, m.__name__)))


#: the feature modules in sampling order
FEATURES: tuple = _discover()
#: their names (module names), in order
NAMES: tuple[str, ...] = tuple(m.__name__.rsplit(".", 1)[1] for m in FEATURES)

__all__ = ["FEATURES", "NAMES", "SampleContext"]
