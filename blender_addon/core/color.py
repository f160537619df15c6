"""Colour helpers: colour temperature to linear RGB, hex and HSV colours.

Colours handed to Blender are *linear* Rec.709 (scene-referred), channel maximum 1.
"""
from __future__ import annotations

import colorsys

import numpy as np

# XYZ -> linear sRGB (Rec.709 primaries, D65 white).
_XYZ_TO_RGB = np.array([
    [3.2404542, -1.5371385, -0.4985314],
    [-0.9692660, 1.8760108, 0.0415560],
    [0.0556434, -0.2040259, 1.0572252],
])


def planckian_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 xy of a black body at ``kelvin`` (Kim et al. 2002 cubic fit, 1667 K to 25000 K)."""
    T = float(np.clip(kelvin, 1667.0, 25000.0))
    if T <= 4000:
        x = -0.2661239e9 / T**3 - 0.2343589e6 / T**2 + 0.8776956e3 / T + 0.179910
    else:
        x = -3.0258469e9 / T**3 + 2.1070379e6 / T**2 + 0.2226347e3 / T + 0.240390
    if T <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif T <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Linear Rec.709 RGB of a black body at ``kelvin``, scaled so the largest channel is 1."""
    x, y = planckian_xy(kelvin)
    XYZ = np.array([x / y, 1.0, (1 - x - y) / y])
    rgb = np.clip(_XYZ_TO_RGB @ XYZ, 0.0, None)
    rgb = rgb / rgb.max()
    return tuple(float(c) for c in rgb)


def srgb_to_linear(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c):
    """The sRGB transfer function (IEC 61966-2-1) on linear values; input clipped to [0, 1]."""
    c = np.clip(np.asarray(c, np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def hex_to_linear(hexstr: str) -> tuple[float, float, float]:
    h = hexstr.lstrip("#")
    srgb = [int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4)]
    return tuple(float(v) for v in srgb_to_linear(srgb))


def hsv_to_linear(h: float, s: float, v: float) -> tuple[float, float, float]:
    """HSV (each 0..1, in sRGB display space) -> linear RGB."""
    return tuple(float(x) for x in srgb_to_linear(colorsys.hsv_to_rgb(h % 1.0, s, v)))


# A palette for object entries without an explicit colour (sRGB hex, distinct and mid-bright).
PALETTE = ["#d9502b", "#2b8cd9", "#3fb54a", "#e6b422", "#9b59b6", "#1abc9c", "#e67e22", "#c0392b",
           "#7f8c8d", "#f1c40f"]
