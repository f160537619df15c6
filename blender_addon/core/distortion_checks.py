"""Config checks of ``camera.distortion`` (pure): coefficient names per model (at load, with the
schema's checks), and the bound combinations of random coefficients that the fold check of
core/features/lens.py (``config_errors``, run before rendering and by ``synthblend check``: it samples
the camera, which this module, below the features, cannot) also tries.

A folding distortion gives some pixels two rays: no exact label exists, so it is refused (exit 2,
naming the key).
"""
from __future__ import annotations

import itertools

from .distortion import MODELS

MAX_CORNER_COEFFS = 5          # 2^5 bound combinations at most


def check_distortion(v, data: dict, parsed: dict) -> None:
    """Record problems of ``camera.distortion`` in the validator ``v``."""
    cam = data.get("camera") or {}
    d = cam.get("distortion")
    if not isinstance(d, dict):
        return
    model = d.get("model")
    if model not in MODELS:
        return                                  # reported by the schema (allowed values)
    for k, val in d.items():
        if k != "model" and k not in MODELS[model] and val not in (0, 0.0, None):
            v.err(["camera", "distortion", k], f"not a coefficient of the {model} model "
                                               f"({', '.join(MODELS[model])})")


def corners(parsed_dist: dict, model: str):
    """Every combination of the bounds of the random coefficients (constants as they are); nothing
    when more than :data:`MAX_CORNER_COEFFS` are random or one is unbounded."""
    fixed, ranges = {}, {}
    for k in MODELS[model]:
        dist = parsed_dist[k]
        b = dist.bounds() if dist.is_random else None
        if dist.is_random and b is not None:
            ranges[k] = b
        else:
            fixed[k] = float(dist.args[0]) if dist.name == "const" else None
    if not ranges or len(ranges) > MAX_CORNER_COEFFS or None in fixed.values():
        return
    for combo in itertools.product(*ranges.values()):
        yield {"model": model, **fixed, **dict(zip(ranges, (float(x) for x in combo), strict=True))}
