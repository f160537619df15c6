"""Render quality presets (``render.quality``): samples, adaptive sampling, denoiser, light paths.

Each key a preset sets can be overridden in the config (``render.samples``, ``render.denoise``,
``render.adaptive_threshold``, ``render.adaptive_min_samples``, ``render.denoise_prefilter``,
``render.max_bounces``); the resolved
values are what dataset.json records. Bounce limits below ``max_bounces`` follow Blender's
proportions. When ``rgb`` is not among the outputs none of this matters: ground truth is rendered
with 1 sample and no bounces (the ground-truth-only fast path, see :func:`gt_only_settings`).

The values come from the quality-per-second benchmark (``scripts/bench_quality.py``, docs/performance.md).
With OpenImageDenoise on, the time is path tracing and the quality comes from the samples. Standard
is adaptive: every pixel gets 16 samples, then Cycles stops each one whose noise estimate falls below
0.015, up to 128. Its denoiser takes the albedo and normal guides as they are (prefilter ``none``:
OpenImageDenoise then treats them as noisy) instead of denoising them first (``accurate``, two more
denoiser passes, about 0.5 CPU s a frame at 320x240 for at most 0.2 dB). On the demo scene at
320x240, 8 frames against a 1024-sample reference, that reaches 53.6 dB PSNR in 0.62-0.65x the
whole-process time of the 64-sample standard before issue 18 (54.1 dB; the standard's worst frame is
better, 52.4 against 51.9 dB), and 49.6 dB on the textured scene (49.4 dB). Cycles' automatic
minimum (``adaptive_min_samples: 0``, ceil(16 / threshold^0.3) samples: 64 at 0.01) would stop
nothing below 64 samples; below 16 samples its noise estimate stops too early on some frames
(measured at 12, 128 samples, threshold 0.02: a textured frame lost 1.8 dB against 16).
"""
from __future__ import annotations

PRESETS = {
    "draft": {"samples": 16, "adaptive_threshold": 0.05, "adaptive_min_samples": 0, "denoise": True,
              "denoise_prefilter": "accurate", "max_bounces": 4},
    "standard": {"samples": 128, "adaptive_threshold": 0.015, "adaptive_min_samples": 16, "denoise": True,
                 "denoise_prefilter": "none", "max_bounces": 12},
    "final": {"samples": 256, "adaptive_threshold": 0.005, "adaptive_min_samples": 0, "denoise": True,
              "denoise_prefilter": "accurate", "max_bounces": 24},
}
QUALITIES = tuple(PRESETS)
#: OpenImageDenoise's prefilter of its albedo and normal guide passes (Cycles' denoising_prefilter)
DENOISE_PREFILTERS = ("accurate", "fast", "none")
OVERRIDABLE = ("samples", "adaptive_threshold", "adaptive_min_samples", "denoise", "denoise_prefilter",
               "max_bounces")


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
    return {"samples": 1, "adaptive_threshold": 0.0, "adaptive_min_samples": 0, "denoise": False, "max_bounces": 0}
