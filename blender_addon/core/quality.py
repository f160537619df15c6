"""Render quality presets (``render.quality``): samples, adaptive sampling, denoiser, light paths.

Each key a preset sets can be overridden in the config (``render.samples``, ``render.denoise``,
``render.adaptive_threshold``, ``render.denoise_prefilter``, ``render.max_bounces``); the resolved
values are what dataset.json records. Bounce limits below ``max_bounces`` follow Blender's
proportions. When ``rgb`` is not among the outputs none of this matters: ground truth is rendered
with 1 sample and no bounces (the ground-truth-only fast path, see :func:`gt_only_settings`).

The values come from the quality-per-second benchmark (``scripts/bench_quality.py``, docs/performance.md):
with OpenImageDenoise on, halving the samples from 64 to 32 costs the standard preset about 1.7 dB of
PSNR against a 1024-sample reference on the demo scene and about half the Cycles time; the adaptive
threshold stops nothing early at these sample counts and is kept for scenes where it does.
"""
from __future__ import annotations

PRESETS = {
    "draft": {"samples": 16, "adaptive_threshold": 0.05, "denoise": True, "denoise_prefilter": "accurate",
              "max_bounces": 4},
    "standard": {"samples": 32, "adaptive_threshold": 0.01, "denoise": True, "denoise_prefilter": "accurate",
                 "max_bounces": 12},
    "final": {"samples": 256, "adaptive_threshold": 0.005, "denoise": True, "denoise_prefilter": "accurate",
              "max_bounces": 24},
}
QUALITIES = tuple(PRESETS)
#: OpenImageDenoise's prefilter of its albedo and normal guide passes (Cycles' denoising_prefilter)
DENOISE_PREFILTERS = ("accurate", "fast", "none")
OVERRIDABLE = ("samples", "adaptive_threshold", "denoise", "denoise_prefilter", "max_bounces")


def resolve(render: dict) -> dict:
    """Fill the preset's values into ``render`` where the config leaves them unset (None)."""
    preset = PRESETS[render.get("quality") or "standard"]
    for k in OVERRIDABLE:
        if render.get(k) is None:
            render[k] = preset[k]
    return render


def light_paths(max_bounces: int) -> dict:
    """Per-kind bounce limits for a total of ``max_bounces`` (Blender's defaults at 12)."""
    m = int(max_bounces)
    return {
        "max_bounces": m,
        "diffuse_bounces": min(m, max(1, m // 3)) if m else 0,
        "glossy_bounces": min(m, max(1, m // 3)) if m else 0,
        "transmission_bounces": m,
        "transparent_max_bounces": min(m * 2, 16) if m else 0,
        "volume_bounces": 0 if m < 24 else 2,
    }


def gt_only_settings() -> dict:
    """Cycles settings when only ground truth is wanted: data passes need one camera-ray hit."""
    return {"samples": 1, "adaptive_threshold": 0.0, "denoise": False, "max_bounces": 0}
