"""The ``exposure`` feature: the frame's exposure setting (``render.exposure``), drawn at sampling.

A fixed EV (a number or a distribution, stream ``render.exposure``, recorded in ``sampled``) or
``auto`` with its metering parameters (``render.auto_exposure``); stored in
``spec.features["exposure"]`` and applied to the linear colour after rendering (engine/render.py
``develop``, maths in core/exposure.py). Meta's ``exposure`` block (mode, the EV applied, the
saturated share) is written after the render, when the metered EV is known; a ground-truth-only
frame (no ``rgb``) has none.
"""
from __future__ import annotations

from ..exposure import AUTO_DEFAULTS, parse_exposure

ORDER = 110  # place in the frame's features (core/features/__init__.py)


def sample(ctx) -> None:
    """``spec.features["exposure"] = {"mode": "fixed", "ev": x}`` or ``{"mode": "auto", "auto": {...}}``."""
    r = ctx.config.data["render"]          # parsed["render"] holds the plain values (core/config.py)
    if "rgb" not in ctx.config.outputs and "rgb_noisy" not in ctx.config.outputs:
        return
    mode, d = parse_exposure(r.get("exposure", "auto"))
    if mode == "auto":
        auto = {k: float(v) for k, v in {**AUTO_DEFAULTS, **(r.get("auto_exposure") or {})}.items()}
        ctx.spec.features["exposure"] = {"mode": "auto", "auto": auto}
        return
    ev = float(d.sample(ctx.stream("render.exposure")))
    if d.is_random:
        ctx.spec.sampled["render.exposure"] = ev
    ctx.spec.features["exposure"] = {"mode": "fixed", "ev": ev}
