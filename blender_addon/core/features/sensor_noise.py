"""The ``sensor_noise`` feature: the parameters of the noisy outputs, drawn at sampling.

Only for the outputs asked for: ``depth_noisy`` draws ``camera.depth_noise`` (stream
``camera.depth_noise``), ``rgb_noisy`` draws ``camera.rgb_noise`` (stream ``camera.rgb_noise``); an
absent section uses its defaults. Random values are recorded in ``sampled``
(``camera.depth_noise.<key>``); every value, drawn or constant, is in meta ``sensor_noise``. The
noise itself is applied after rendering by core/sensor_noise.py (the output table's rows).
"""
from __future__ import annotations

from .. import distributions as dist
from ..schema_types import D

ORDER = 120  # place in the frame's features (core/features/__init__.py)

SECTIONS = {"depth_noise": "depth_noisy", "rgb_noise": "rgb_noisy"}   # camera.<key> -> its output


def _defaults(key: str) -> dict:
    from ..schema import SCHEMA
    fields = SCHEMA.fields["camera"].fields[key].fields
    return {k: dist.parse(f.default, f.kind, f.allowed) if isinstance(f, D) else f.default
            for k, f in fields.items()}


def _draw(ctx, key: str) -> dict:
    parsed = ctx.config.parsed["camera"].get(key) or _defaults(key)
    rng = ctx.stream(f"camera.{key}")
    out = {}
    for k in sorted(parsed):
        v = parsed[k]
        if isinstance(v, dist.Dist):
            x = v.sample(rng)
            if v.is_random:
                ctx.spec.sampled[f"camera.{key}.{k}"] = float(x)
            v = x
        out[k] = v if v is None or isinstance(v, str) else int(v) if k == "edge_width_px" else float(v)
    return out


def sample(ctx) -> None:
    """``spec.features["sensor_noise"] = {"depth_noise": {...}, "rgb_noise": {...}}`` (asked-for outputs)."""
    res = {}
    for key, output in SECTIONS.items():
        if output in ctx.config.outputs:
            res[key] = _draw(ctx, key)
    if "depth_noise" in res:
        p = res["depth_noise"]
        if p.get("focal_px") is None:
            p["focal_px"] = float(ctx.spec.camera.K[0][0])
        if p["model"] == "structured_light":
            drop = ("sigma_m", "sigma_per_m", "depth_step_m")
        else:
            drop = ("baseline_m", "focal_px", "disparity_sigma_px", "disparity_step_px")
        for k in drop:
            p.pop(k, None)
    if res:
        ctx.spec.features["sensor_noise"] = res


def meta(spec) -> dict | None:
    """meta ``sensor_noise``: each noisy output's model parameters as used."""
    return spec.features.get("sensor_noise")
