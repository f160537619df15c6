"""Rectified stereo pairs (``camera.stereo``): frame ``2i`` is the left and ``2i + 1`` the right image
of pair ``i`` (pure).

Both images of a pair show the same scene: the pair's spec is sampled once, from the streams of
frame index ``i`` (``sample(config, seed, i)``: the same draws, physics run once), and the right
image's camera is the left one moved by ``+baseline_m`` along the left camera's x axis (OpenCV: to
the right), with the same K and rotation. Each image is then an ordinary frame (every output, export
and verify works on it unchanged); ``spec.stereo`` (meta ``stereo``) holds ``baseline_m``, ``side``
(left | right), ``pair`` (the other image's frame index), ``pair_index`` ``i`` and
``other_cam2world`` (the other camera's 4x4 pose, OpenCV axes, m). Disparity (output
``disparity``): ``fx * baseline_m / depth`` pixels, a left pixel's surface point is seen in the right
image ``disparity`` pixels further left (``u_right = u_left - d``, same ``v``). With lens distortion
(``camera.distortion``) both cameras have the same distortion: a parallel rig whose raw images are
not rectified, so every output but ``disparity`` is available (the config refuses that one).

A small per-process cache keeps the last left image's base spec, so the right image of a pair
rendered right after its left one does not sample (or run physics) again; a left image always
samples, and a worker that gets a right image alone samples it itself, with the same result.
"""
from __future__ import annotations

import copy

import numpy as np

_CACHE: dict = {}          # (id(config), identity, seed, pair) -> base FrameSpec; one entry


def stereo_of(config) -> dict | None:
    """The config's parsed ``camera.stereo`` (``{"baseline_m": ...}``) or None."""
    return (config.parsed.get("camera") or {}).get("stereo")


def right_pose(cam2world, baseline_m: float) -> np.ndarray:
    """The right camera of a rectified pair: ``cam2world`` (4x4, OpenCV axes) moved by ``baseline_m``
    along its own x axis."""
    T = np.array(cam2world, float)
    T[:3, 3] = T[:3, 3] + baseline_m * T[:3, 0]
    return T


def _base_spec(base_sample, config, seed: int, pair: int, side: int):
    """The pair's scene: sampled for the left image (kept), reused by the right one that follows it."""
    key = (id(config), config.identity(), seed, pair)
    if side == 0 or key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = base_sample(config, seed, pair)
    return copy.deepcopy(_CACHE[key])


def sample_stereo(base_sample, config, seed: int, frame: int):
    """Frame ``frame`` of a stereo dataset: the pair ``frame // 2``'s spec from ``base_sample``
    (core.sampling's plain sampler), seen by the left (even frame) or right (odd frame) camera."""
    baseline = float(stereo_of(config)["baseline_m"])
    pair, side = divmod(int(frame), 2)
    spec = _base_spec(base_sample, config, seed, pair, side)
    left = np.array(spec.camera.cam2world, float)
    right = right_pose(left, baseline)
    spec.frame = int(frame)
    spec.camera.cam2world = right if side else left
    spec.stereo = {
        "baseline_m": baseline,
        "side": "right" if side else "left",
        "pair": 2 * pair + (0 if side else 1),
        "pair_index": pair,
        "other_cam2world": (left if side else right).tolist(),
    }
    return spec


def disparity(depth: np.ndarray, fx: float, baseline_m: float) -> np.ndarray:
    """HxW float32 disparity, pixels: ``fx * baseline_m / depth`` where depth > 0, else 0."""
    z = np.asarray(depth, np.float64)
    out = np.zeros(z.shape, np.float64)
    hit = z > 0
    out[hit] = float(fx) * float(baseline_m) / z[hit]
    return out.astype(np.float32)
