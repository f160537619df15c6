"""Exposure of the colour image (pure numpy): a fixed EV or automatic metering of the render itself.

The render's Combined pass is *linear scene-referred* RGB (Rec.709, as Cycles writes it). Exposure
multiplies it by ``2 ** ev`` before the view transform (Blender's ``view_settings.exposure`` does
the same), so ground truth is untouched and only ``rgb`` (and ``rgb_noisy``) change.

Automatic mode (``render.exposure: auto``, the default) meters the frame's own linear image:

* ``ev_key = log2(key / median(Y))``: the median luminance (Rec.709 Y) maps to ``key`` (0.18,
  photographic middle grey);
* ``ev_highlight = log2(highlight / percentile(max(R, G, B), percentile))``: the ``percentile``-th
  (99) percentile of the brightest channel maps to at most ``highlight`` (0.9), so at most
  ``100 - percentile`` % of the pixels can reach full scale (1.0) in the Standard view;
* ``ev = clip(min(ev_key, ev_highlight), min_ev, max_ev)``: the brighter of the two is given up for
  the highlights; a black frame gets ``max_ev``.

A pixel is *saturated* when any channel of the 8-bit display image is 255 (:func:`saturated_fraction`).
Where the frame has a post-render augmentation (``augment``: brightness, contrast, noise), the
metered EV is then lowered, by bisection, until the *augmented* image (the one written to ``rgb/``)
has at most ``100 - percentile`` % saturated pixels (:func:`limit_saturation`); meta's
``saturated_fraction`` is that of the written image.
"""
from __future__ import annotations

import math

import numpy as np

#: Rec.709 / sRGB luminance weights of linear RGB
LUMA = np.array([0.2126, 0.7152, 0.0722])

#: ``render.auto_exposure`` defaults (core/schema.py documents the keys)
AUTO_DEFAULTS = {"key": 0.18, "percentile": 99.0, "highlight": 0.9, "min_ev": -10.0, "max_ev": 10.0}


def luminance(linear: np.ndarray) -> np.ndarray:
    """Rec.709 luminance Y of an HxWx3 linear RGB image (float64)."""
    return np.asarray(linear, np.float64)[..., :3] @ LUMA


def meter(linear: np.ndarray, params: dict | None = None) -> float:
    """The automatic EV of an HxWx3 linear image (module docstring), in stops."""
    p = {**AUTO_DEFAULTS, **(params or {})}
    lin = np.asarray(linear, np.float32)[..., :3]
    if not np.isfinite(lin).all():
        lin = np.nan_to_num(lin, nan=0.0, posinf=0.0, neginf=0.0)
    if not lin.size:
        return float(p["max_ev"])
    med = max(float(np.median(lin @ LUMA.astype(np.float32))), 0.0)
    brightest = np.maximum(np.maximum(lin[..., 0], lin[..., 1]), lin[..., 2])   # 5x faster than max(axis=-1)
    high = max(float(np.percentile(brightest, p["percentile"])), 0.0)
    ev = p["max_ev"]
    if med > 0:
        ev = min(ev, math.log2(p["key"] / med))
    if high > 0:
        ev = min(ev, math.log2(p["highlight"] / high))
    return float(min(max(ev, p["min_ev"]), p["max_ev"]))


def apply_ev(linear: np.ndarray, ev: float) -> np.ndarray:
    """``linear * 2 ** ev`` as float32 (the exposed linear image, before the view transform)."""
    return (np.asarray(linear, np.float32) * np.float32(2.0 ** ev)).astype(np.float32)


def limit_saturation(ev: float, image_at, limit: float, span: float = 8.0, steps: int = 9) -> float:
    """The largest EV in [ev - span, ev] whose image ``image_at(ev) -> uint8`` has at most ``limit``
    saturated pixels (bisection to span / 2**steps stops; ``ev - span`` if none has)."""
    if saturated_fraction(image_at(ev)) <= limit:
        return ev
    lo, hi = ev - span, ev
    if saturated_fraction(image_at(lo)) > limit:
        return lo
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if saturated_fraction(image_at(mid)) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def saturated_fraction(rgb8: np.ndarray) -> float:
    """Share of pixels of an HxWx3 uint8 image with any channel at 255."""
    a = np.asarray(rgb8)
    if a.size == 0:
        return 0.0
    return float(np.count_nonzero((a[..., :3] == 255).any(axis=-1)) / (a.shape[0] * a.shape[1]))


def frame_ev(setting: dict, linear: np.ndarray) -> float:
    """The EV of a frame from its drawn setting (``spec.features["exposure"]``: ``{"mode": "fixed",
    "ev": x}`` or ``{"mode": "auto", "auto": {...}}``) and its linear image."""
    if setting["mode"] == "fixed":
        return float(setting["ev"])
    return meter(linear, setting.get("auto"))


def develop_ev(setting: dict, linear: np.ndarray, image_at) -> float:
    """The frame's EV: fixed, or metered (:func:`meter`) and, for an auto frame whose written image
    ``image_at(ev)`` (augmentation included) saturates more than ``100 - percentile`` %, lowered."""
    ev = frame_ev(setting, linear)
    if setting["mode"] == "auto":
        p = {**AUTO_DEFAULTS, **(setting.get("auto") or {})}
        ev = max(limit_saturation(ev, image_at, (100.0 - p["percentile"]) / 100.0), p["min_ev"])
    return ev


def exposure_meta(setting: dict, ev: float, rgb8: np.ndarray) -> dict:
    """meta ``exposure``: mode, the EV applied (stops), the saturated share of the written image."""
    out = {"mode": setting["mode"], "ev": float(ev), "saturated_fraction": saturated_fraction(rgb8)}
    if setting["mode"] == "auto":
        out["auto"] = {k: float(v) for k, v in {**AUTO_DEFAULTS, **(setting.get("auto") or {})}.items()}
    return out


#: ``render.view_transform`` values: Standard is the sRGB OETF in numpy; the others are Blender's own
#: OpenColorIO view transforms (engine/color_management.py)
VIEW_TRANSFORMS = ("standard", "filmic", "agx")


def parse_exposure(value):
    """``auto`` -> ``("auto", None)``; an EV in stops or a distribution -> ``("fixed", Dist)``."""
    from . import distributions as dist

    if value == "auto":
        return ("auto", None)
    try:
        d = dist.parse(value, "float")
    except ValueError as e:
        raise ValueError(f"exposure takes auto or an EV in stops (a number or distribution): {e}") from None
    b = d.bounds()
    if b is None or b[0] < -64 or b[1] > 64:
        raise ValueError(f"exposure EV must be bounded within [-64, 64] stops, got {value!r}")
    return ("fixed", d)
