"""Sensor noise as extra outputs (pure numpy); the exact ``depth`` and ``rgb`` stay as they are.

Both are deterministic per (seed, frame): the noise fields come from the frame's own streams
``camera.depth_noise.field`` and ``camera.rgb_noise.field`` (core/streams.py), drawn whole-image in a
fixed order, whatever the image holds.

**depth_noisy** (HxW float32, m, planar depth as ``depth``; 0 = invalid), from the exact planar depth z:

1. lateral noise: pixel (u, v) reads z at the nearest pixel to (u + N(0, s), v + N(0, s)),
   s = ``lateral_sigma_px`` (clamped to the image), which roughens depth edges;
2. axial noise and quantization:

   * ``structured_light`` (Kinect v1 / active stereo; Khoshelham & Elberink 2012): the disparity
     d = f b / z (f = ``focal_px``, default the camera's fx; b = ``baseline_m``) gets Gaussian noise
     of std ``disparity_sigma_px`` and is rounded to multiples of ``disparity_step_px``; z' = f b / d'.
     To first order sigma_z = z^2 / (f b) * disparity_sigma_px: quadratic in depth, as measured by
     Nguyen et al. 2012 (sigma_z = 1.2 mm + 1.9 mm (z - 0.4)^2 for the Kinect, which the defaults
     f = 580 px, b = 0.075 m, 0.07 px follow within ~20 % from 1 to 3 m); the depths it can report
     are f b / (k step), k integer;
   * ``tof``: z' = z + N(0, sigma_m + sigma_per_m z), rounded to multiples of ``depth_step_m``;
3. invalid (0): no surface, d' <= 0, z' outside [``min_depth_m``, ``max_depth_m``];
4. dropout: a pixel within ``edge_width_px`` of a depth edge of the exact depth (a 4-neighbour
   with no surface or a relative jump |dz| / z > ``edge_threshold``) is invalid with probability
   ``edge_dropout``; any pixel with probability ``dropout``.

**rgb_noisy** (HxWx3 uint8 sRGB), from the exposed linear colour x (the values ``rgb`` was made
from): electrons e = x * ``full_well_e``; e' = Poisson(e) + N(0, ``read_noise_e``); clipped to
[0, full_well_e] (the well saturates; the ADC clamps at black); x' = e' / full_well_e, then the
frame's view transform (the same as ``rgb``'s) and rounding to 8 bits. In linear space
Var(x') = x / full_well_e + (read_noise_e / full_well_e)^2: variance proportional to the mean,
plus a floor. No augmentation is applied to it.
"""
from __future__ import annotations

import numpy as np

from .streams import stream


def _lateral(depth: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    H, W = depth.shape
    du = rng.normal(0.0, 1.0, (H, W))
    dv = rng.normal(0.0, 1.0, (H, W))
    if sigma <= 0:
        return depth
    v, u = np.mgrid[0:H, 0:W]
    uu = np.clip(np.rint(u + sigma * du), 0, W - 1).astype(np.intp)
    vv = np.clip(np.rint(v + sigma * dv), 0, H - 1).astype(np.intp)
    return depth[vv, uu]


def depth_edges(depth: np.ndarray, threshold: float, width: int = 1) -> np.ndarray:
    """HxW bool: pixels with a surface within ``width`` pixels (``width - 1`` 4-connected steps)
    of a depth edge: a 4-neighbour with no surface or a relative jump above ``threshold``
    (|dz| / the nearer depth); both sides of an edge between two surfaces are marked."""
    z = np.asarray(depth, np.float64)
    valid = z > 0
    edge = np.zeros(z.shape, bool)
    for axis in (0, 1):
        a = np.swapaxes(z, 0, axis)
        va = np.swapaxes(valid, 0, axis)
        e = np.swapaxes(edge, 0, axis)
        near = np.minimum(a[1:], a[:-1])
        jump = np.abs(a[1:] - a[:-1]) > threshold * np.where(near > 0, near, 1.0)
        diff = (va[1:] != va[:-1]) | (va[1:] & va[:-1] & jump)
        e[1:] |= diff
        e[:-1] |= diff
    for _ in range(int(width) - 1):
        grown = edge.copy()
        grown[1:] |= edge[:-1]
        grown[:-1] |= edge[1:]
        grown[:, 1:] |= edge[:, :-1]
        grown[:, :-1] |= edge[:, 1:]
        edge = grown
    return edge & valid


def noisy_depth(depth: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    """``depth_noisy`` of an exact HxW planar depth map (m, 0 = none) with drawn parameters ``p``
    (``focal_px`` resolved); see the module docstring."""
    z0 = np.asarray(depth, np.float64)
    H, W = z0.shape
    z = _lateral(z0, float(p["lateral_sigma_px"]), rng)
    valid = z > 0
    gauss = rng.normal(0.0, 1.0, (H, W))
    with np.errstate(divide="ignore", invalid="ignore"):
        if p["model"] == "structured_light":
            fb = float(p["focal_px"]) * float(p["baseline_m"])
            d = np.where(valid, fb / np.where(valid, z, 1.0), 0.0) + float(p["disparity_sigma_px"]) * gauss
            step = float(p["disparity_step_px"])
            if step > 0:
                d = np.rint(d / step) * step
            valid &= d > 0
            zn = np.where(valid, fb / np.where(valid, d, 1.0), 0.0)
        else:
            sigma = float(p["sigma_m"]) + float(p["sigma_per_m"]) * z
            zn = z + sigma * gauss
            step = float(p["depth_step_m"])
            if step > 0:
                zn = np.rint(zn / step) * step
    valid &= (zn >= float(p["min_depth_m"])) & (zn <= float(p["max_depth_m"]))
    edges = depth_edges(z0, float(p["edge_threshold"]), int(p["edge_width_px"]))
    u_edge = rng.random((H, W))
    u_any = rng.random((H, W))
    valid &= ~(edges & (u_edge < float(p["edge_dropout"])))
    valid &= ~(u_any < float(p["dropout"]))
    return np.where(valid, zn, 0.0).astype(np.float32)


def noisy_linear(linear: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian sensor noise on an HxWx3 exposed linear image (module docstring); float32."""
    fw = float(p["full_well_e"])
    e = np.clip(np.nan_to_num(np.asarray(linear, np.float64)), 0.0, None) * fw
    shot = rng.poisson(e).astype(np.float64)
    read = rng.normal(0.0, float(p["read_noise_e"]), e.shape)
    return (np.clip(shot + read, 0.0, fw) / fw).astype(np.float32)


def depth_noisy_output(depth: np.ndarray, spec) -> np.ndarray:
    """The frame's ``depth_noisy`` (parameters in ``spec.features["sensor_noise"]["depth_noise"]``)."""
    p = spec.features["sensor_noise"]["depth_noise"]
    return noisy_depth(depth, p, stream(spec.seed, spec.frame, "camera.depth_noise.field"))


def rgb_noisy_output(linear: np.ndarray, display, spec) -> np.ndarray:
    """The frame's ``rgb_noisy``: noisy linear colour through ``display`` (the view transform)."""
    p = spec.features["sensor_noise"]["rgb_noise"]
    return display(noisy_linear(linear, p, stream(spec.seed, spec.frame, "camera.rgb_noise.field")))

