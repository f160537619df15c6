"""Config checks of ``camera.distortion`` (pure): coefficient names per model, and a distortion that
is one-to-one over the image (core/distortion.py ``check_invertible``), at load.

A folding distortion gives some pixels two rays: no exact label exists, so it is refused (exit 2,
naming the key). At load the check sees the values the config can produce: the camera and lens
draws of the first :data:`FRAMES_CHECKED` frames and, for random coefficients, every combination of
their bounds (with the first frame's K); core/features/lens.py checks every rendered frame's
drawn values again.
"""
from __future__ import annotations

import itertools
from types import SimpleNamespace

from .distortion import MODELS, check_invertible

FRAMES_CHECKED = 8
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
    if v.errors:
        return
    problem = _first_fold(data, parsed)
    if problem:
        v.err(["camera", "distortion"], problem)


def _frames(data: dict, parsed: dict):
    """(CameraSpec, distortion) of the first frames, by the camera and lens features themselves."""
    from .features import camera as camera_feature
    from .features import lens
    from .features.context import SampleContext

    w, h = data["render"]["resolution"]
    shim = SimpleNamespace(parsed=parsed, data=data, resolution=(int(w), int(h)), raw=data)
    for frame in range(min(FRAMES_CHECKED, int(data.get("frames") or 1))):
        ctx = SampleContext(shim, int(data.get("seed") or 0), frame)
        camera_feature.sample(ctx)
        yield ctx.spec.camera, lens.draw_distortion(ctx)


def _corners(parsed_dist: dict, model: str):
    """Every combination of the bounds of the random coefficients (constants as they are)."""
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


def _first_fold(data: dict, parsed: dict) -> str | None:
    from .features.lens import describe

    try:
        frames = list(_frames(data, parsed))
    except Exception:  # noqa: BLE001 - the camera of a config reported elsewhere; frames check again
        return None
    if not frames:
        return None
    for i, (c, dist) in enumerate(frames):
        W, H = (int(x) for x in c.resolution)
        problem = check_invertible(c.K, W, H, dist)
        if problem:
            return f"frame {i}: the distortion {describe(dist)} {problem}"
    c0 = frames[0][0]
    pd = parsed["camera"]["distortion"]
    for dist in _corners(pd, pd["model"]):
        problem = check_invertible(c0.K, *(int(x) for x in c0.resolution), dist)
        if problem:
            return f"its range includes {describe(dist)}, which {problem}"
    return None
