"""What the preview sheet draws of a lens distortion (pure numpy): the images of straight lines.

A grid of lines that are straight in the world (constant x or constant y on the plane z = 1 of the
OpenCV camera frame, so straight in a pinhole image) drawn through the frame's distortion
(core/distortion.py): barrel distortion bends them outwards, pincushion inwards; a fisheye's reach
ends where its rays pass 90 deg. Curves are in pixels (u, v), pixel (u, v) centred at (u, v); points
outside the image are NaN (matplotlib breaks the line there).
"""
from __future__ import annotations

import numpy as np

from ..core import distortion as lens


def _extent(K, W: int, H: int, dist) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the undistorted normalized coordinates of the image's outline (its valid part)."""
    n = 64
    u = np.linspace(-0.5, W - 0.5, n)
    v = np.linspace(-0.5, H - 0.5, n)
    edge = np.concatenate([np.stack([u, np.full(n, -0.5)], 1), np.stack([u, np.full(n, H - 0.5)], 1),
                           np.stack([np.full(n, -0.5), v], 1), np.stack([np.full(n, W - 0.5), v], 1)])
    xy = lens.undistort_pixels(edge, K, dist)
    xy = xy[np.isfinite(xy).all(1)]
    if len(xy) == 0:                      # a fisheye whose whole outline is past 90 deg
        xy = lens.undistort_pixels(np.array([[(W - 1) / 2 * 0.9 + 0.05 * W, (H - 1) / 2]]), K, dist)
    lim = 3.0                             # tan(72 deg): a fisheye's lines bunch up beyond
    x0, y0 = np.maximum(np.nanmin(xy, 0), -lim)
    x1, y1 = np.minimum(np.nanmax(xy, 0), lim)
    return float(x0), float(x1), float(y0), float(y1)


def grid_lines(K, width: int, height: int, dist, n: int = 9, samples: int = 200) -> list[np.ndarray]:
    """Polylines (each Mx2, pixels; NaN outside the image) of ``n`` lines of constant x and ``n`` of
    constant y, evenly spaced inside the image's undistorted extent, seen through ``dist``."""
    K = np.asarray(K, np.float64)
    x0, x1, y0, y1 = _extent(K, width, height, dist)
    out = []
    t = np.linspace(0.0, 1.0, samples)
    for a in np.linspace(x0, x1, n + 2)[1:-1]:         # the outermost would touch only the corners
        out.append(np.stack([np.full(samples, a), y0 + (y1 - y0) * t], 1))
    for b in np.linspace(y0, y1, n + 2)[1:-1]:
        out.append(np.stack([x0 + (x1 - x0) * t, np.full(samples, b)], 1))
    lines = []
    for xy in out:
        uv = lens.distort_pixels(xy, K, dist)
        outside = ~((uv[:, 0] >= -0.5) & (uv[:, 0] <= width - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] <= height - 0.5))
        uv[outside] = np.nan
        lines.append(uv)
    return lines


def describe(dist) -> str:
    """One line for the preview: ``opencv k1=-0.28 k2=0.08`` (its nonzero coefficients)."""
    parts = [f"{k}={float(v):.3g}" for k, v in dist.items() if k != "model" and float(v)]
    return " ".join([str(dist.get("model")), *parts])
