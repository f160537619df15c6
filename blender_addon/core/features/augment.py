"""The ``augment`` feature: draws the frame's post-render image augmentation parameters.

Parameters are drawn at sampling time (stream ``augment``; :func:`sample`) and recorded in
``sampled`` and in meta's ``augment``; the image itself is augmented after rendering by
core/image_augment.py (its module docstring gives the order of the operations).
"""
from __future__ import annotations

ORDER = 100  # place in the frame's features (core/features/__init__.py)


KEYS = ("brightness", "contrast", "saturation", "hue_deg", "gamma", "blur_sigma_px", "noise_std")


def sample(ctx) -> None:
    """Draw the augmentation parameters of the frame (``spec.augment``; None without ``augment``)."""
    a = ctx.config.parsed.get("augment")
    if not a:
        return
    rng = ctx.stream("augment")
    out = {}
    for k in KEYS:
        d = a[k]
        v = float(d.sample(rng))
        if d.is_random:
            ctx.spec.sampled[f"augment.{k}"] = v
        out[k] = v
    ctx.spec.augment = out
