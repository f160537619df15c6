"""Post-render image augmentation (pure numpy), applied to the RGB image after the ground truth was
taken, so labels stay exact. The parameters are drawn by the ``augment`` feature
(core/features/augment.py); the noise field comes from its own stream ``augment.noise`` of (seed,
frame), so a frame's image is reproducible byte for byte. Order, on sRGB values in [0, 1]:
brightness (multiply), contrast (scale about the mean grey), saturation (mix with the luma image),
hue (rotation in YIQ), gamma (``x ** gamma``), Gaussian blur (``blur_sigma_px``, reflect edges),
Gaussian noise (``noise_std``, fraction of full scale, independent per pixel and channel), then
clipping and rounding to 8 bits.

Outside core/features so that the output table (core/outputs.py) can apply it without importing the
features package (which imports the config, which imports the output table).
"""
from __future__ import annotations

import numpy as np

from .streams import stream

IDENTITY = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue_deg": 0.0, "gamma": 1.0,
            "blur_sigma_px": 0.0, "noise_std": 0.0}
_LUMA = np.array([0.299, 0.587, 0.114])
_RGB2YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ2RGB = np.linalg.inv(_RGB2YIQ)


def _gauss_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an HxWxC float image, reflected borders."""
    if sigma <= 0:
        return img
    k = _gauss_kernel(sigma)
    r = len(k) // 2
    out = img
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect" if out.shape[axis] > r else "edge")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for i, w in enumerate(k):
            sl = [slice(None)] * out.ndim
            sl[axis] = slice(i, i + n)
            acc += w * p[tuple(sl)]
        out = acc
    return out


def apply_augment(rgb: np.ndarray, params: dict | None, noise_rng=None) -> np.ndarray:
    """Augment an HxWx3 uint8 sRGB image with ``params`` (see module docstring)."""
    if not params:
        return rgb
    x = rgb.astype(np.float64) / 255.0
    p = {**IDENTITY, **params}
    x = x * p["brightness"]
    if p["contrast"] != 1.0:
        mean = float((x @ _LUMA).mean())
        x = (x - mean) * p["contrast"] + mean
    if p["saturation"] != 1.0:
        grey = (x @ _LUMA)[..., None]
        x = grey + (x - grey) * p["saturation"]
    if p["hue_deg"] != 0.0:
        a = np.radians(p["hue_deg"])
        rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        x = x @ (_YIQ2RGB @ rot @ _RGB2YIQ).T
    x = np.clip(x, 0.0, 1.0)
    if p["gamma"] != 1.0:
        x = x ** p["gamma"]
    x = gaussian_blur(x, p["blur_sigma_px"])
    if p["noise_std"] > 0:
        if noise_rng is None:
            raise ValueError("noise_std > 0 needs a noise_rng")
        x = x + noise_rng.normal(0.0, p["noise_std"], size=x.shape)
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def augment_image(rgb: np.ndarray, spec) -> np.ndarray:
    """Apply a FrameSpec's augmentation (noise from its own stream of (seed, frame))."""
    if not spec.augment:
        return rgb
    return apply_augment(rgb, spec.augment, stream(spec.seed, spec.frame, "augment.noise"))
