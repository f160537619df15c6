"""Lens distortion (pure): the frame's ``camera.distortion`` coefficients, drawn into the camera.

Stream ``lens``. ``camera.distortion: {model, k1, ...}`` (values may be distributions) becomes
``spec.camera.distortion = {"model": ..., <the model's coefficients>}`` (core/distortion.py:
``opencv``: k1, k2, p1, p2, k3, k4, k5, k6; ``fisheye``: k1..k4), which meta's
``camera.distortion`` holds under the same names. Without ``camera.distortion``, a
``camera.calibration`` file's distortion is used (core/camera_calib.py), constant for every frame; the
config's key wins over the file's. Every frame's distortion is checked to be one-to-one over its
image with its K (:func:`synthblend.core.distortion.check_invertible`): a fold would give a pixel
two rays and no exact label (InputError, exit 2). :func:`config_errors` finds it before anything
renders (``synthblend check`` and every run's plan): the camera and lens draws of the first
:data:`FRAMES_CHECKED` frames and every combination of the bounds of random coefficients (with the
first frame's K). Runs right after the camera feature: K and the pose are drawn by then.
"""
from __future__ import annotations

from functools import lru_cache

from ..distortion import MODELS, check_invertible
from ..distortion_checks import corners
from ..errors import InputError
from .camera import sample as sample_camera
from .context import SampleContext

ORDER = 11  # right after the camera (core/features/__init__.py)

PATH = "camera.distortion"
FRAMES_CHECKED = 8


def draw_distortion(ctx) -> dict | None:
    """The frame's distortion dict (drawn from the config's key, or the calibration's), or None."""
    c = ctx.config.parsed["camera"]
    d = c.get("distortion")
    if d is None:
        return calibration_distortion(c.get("calibration"))
    draw = ctx.draw("lens")
    model = d["model"]
    out = {"model": model}
    for k in MODELS[model]:
        out[k] = float(draw(d[k], f"{PATH}.{k}"))
    return out


def calibration_distortion(path) -> dict | None:
    """The distortion of a ``camera.calibration`` file (None without one, or when it has none)."""
    if path is None:
        return None
    return _calibration_distortion(str(path))


@lru_cache(maxsize=8)
def _calibration_distortion(path: str) -> dict | None:
    from ..camera_calib import load_calibration  # read once per process (lru_cache)

    dist = load_calibration(path).distortion
    if not dist:
        return None
    model = dist.get("model", "opencv")
    extra = sorted(k for k, v in dist.items() if k != "model" and k not in MODELS.get(model, ()) and v)
    if model not in MODELS or extra:
        raise InputError(f"{path}: camera.calibration",
                         f"distortion {model} with {', '.join(extra) or model} is not supported "
                         "(models: opencv k1..k6, p1, p2; fisheye k1..k4)")
    return {"model": model, **{k: float(dist.get(k, 0.0)) for k in MODELS[model]}}


def describe(dist: dict) -> str:
    """``opencv k1=-0.28 k2=0.08 ...`` (the nonzero coefficients) for messages."""
    parts = [f"{k}={v:g}" for k, v in dist.items() if k != "model" and v]
    return " ".join([dist["model"], *parts]) if parts else f"{dist['model']} (all zero)"


@lru_cache(maxsize=256)
def _fold_problem(K: tuple, W: int, H: int, dist: tuple) -> str | None:
    import numpy as np
    return check_invertible(np.array(K).reshape(3, 3), W, H, dict(dist))


def fold_problem(K, W: int, H: int, dist: dict) -> str | None:
    """:func:`~synthblend.core.distortion.check_invertible`, remembered per (K, size, distortion):
    a fixed calibration is checked once per process, not once per frame (~7 ms each)."""
    return _fold_problem(tuple(float(x) for row in K for x in row), int(W), int(H), tuple(dist.items()))


def sample(ctx) -> None:
    dist = draw_distortion(ctx)
    if dist is None:
        return
    cam = ctx.spec.camera
    W, H = (int(x) for x in cam.resolution)
    problem = fold_problem(cam.K, W, H, dist)
    if problem:
        raise InputError(PATH, f"frame {ctx.frame}: the distortion {describe(dist)} {problem}")
    cam.distortion = dist


def config_errors(config) -> list:
    """[ConfigError] for a distortion that folds over the image (one at most; [] when fine)."""
    problem = _first_fold(config)
    return [config.error(["camera", "distortion"], problem)] if problem else []


def _first_fold(config) -> str | None:
    c = config.parsed["camera"]
    if c.get("distortion") is None and calibration_distortion(c.get("calibration")) is None:
        return None                                 # a pinhole: nothing to sample
    cams = []
    for frame in range(min(FRAMES_CHECKED, int(config.frames))):
        ctx = SampleContext(config, config.seed, frame)
        sample_camera(ctx)
        dist = draw_distortion(ctx)
        if dist is None:
            return None
        c = ctx.spec.camera
        problem = check_invertible(c.K, *(int(x) for x in c.resolution), dist)
        if problem:
            return f"frame {frame}: the distortion {describe(dist)} {problem}"
        cams.append(c)
    pd = config.parsed["camera"].get("distortion")
    if pd is None or not cams:
        return None
    for dist in corners(pd, pd["model"]):
        problem = check_invertible(cams[0].K, *(int(x) for x in cams[0].resolution), dist)
        if problem:
            return f"its range includes {describe(dist)}, which {problem}"
    return None
