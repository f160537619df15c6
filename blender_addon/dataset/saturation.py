"""Saturated pixels per frame, for ``synthblend stats`` (pure): measured on the dataset's own images.

A pixel of ``rgb/NNNNNN.png`` is saturated when any channel is 255 (core/exposure.py
``saturated_fraction``; the same rule meta's ``exposure.saturated_fraction`` uses before
augmentation). The summary gives the share per frame (min / median / max), the frames over 2 %
and the worst frames; and, where meta has an ``exposure`` block, the EVs applied.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..core.exposure import saturated_fraction

LIMIT = 0.02          # the bar: no frame of a bundled demo above 2 % saturated pixels
WORST = 5


def frame_saturation(frame) -> float | None:
    """The saturated share of a frame's ``rgb`` image (None without one)."""
    if not frame.path("rgb").is_file():
        return None
    return saturated_fraction(frame.rgb)


def summarize(per_frame: dict, metas: list) -> dict:
    """``per_frame``: {frame index: saturated share}; ``metas``: the frames' meta dicts."""
    out = {"definition": "share of rgb pixels with any channel at 255", "frames": len(per_frame),
           "limit": LIMIT}
    if per_frame:
        v = np.asarray(list(per_frame.values()), np.float64)
        worst = sorted(per_frame.items(), key=lambda kv: (-kv[1], kv[0]))[:WORST]
        out.update({"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()),
                    "mean": float(v.mean()), "frames_over_limit": int((v > LIMIT).sum()),
                    "worst": [{"frame": int(i), "saturated_fraction": float(x)} for i, x in worst]})
    evs = [m["exposure"]["ev"] for m in metas if isinstance(m.get("exposure"), dict)]
    if evs:
        e = np.asarray(evs, np.float64)
        out["exposure"] = {"modes": dict(Counter(m["exposure"].get("mode") for m in metas if m.get("exposure"))),
                           "ev_min": float(e.min()), "ev_median": float(np.median(e)), "ev_max": float(e.max())}
    return out


def plot(ax, per_frame: dict) -> None:
    """Bars of the saturated share per frame, the 2 % limit as a line."""
    if not per_frame:
        ax.text(0.5, 0.5, "no rgb images", ha="center", va="center", transform=ax.transAxes, color="grey")
        return
    idx = sorted(per_frame)
    vals = [per_frame[i] * 100 for i in idx]
    ax.bar(range(len(idx)), vals, color=["#c0392b" if v > LIMIT * 100 else "#3b75af" for v in vals])
    ax.axhline(LIMIT * 100, color="grey", ls="--", lw=1)
    step = max(1, len(idx) // 20)
    ax.set_xticks(range(0, len(idx), step), [str(i) for i in idx[::step]], fontsize=7)
    ax.set_xlabel("frame")
    ax.set_ylabel("% saturated pixels")


def markdown(s: dict) -> list[str]:
    """Lines of summary.md's saturation section."""
    lines = ["", "## Saturated pixels", ""]
    if not s.get("frames"):
        return lines + ["No rgb images."]
    lines.append(f"Per frame ({s['definition']}): min {s['min'] * 100:.3g} %, median {s['median'] * 100:.3g} %, "
                 f"max {s['max'] * 100:.3g} %; {s['frames_over_limit']} of {s['frames']} frames over "
                 f"{s['limit'] * 100:g} %.")
    lines.append("Worst frames: " + ", ".join(f"{w['frame']} ({w['saturated_fraction'] * 100:.3g} %)"
                                              for w in s["worst"]) + ".")
    if "exposure" in s:
        e = s["exposure"]
        modes = ", ".join(f"{k}: {v}" for k, v in e["modes"].items())
        lines.append(f"Exposure ({modes}): EV min {e['ev_min']:.3g}, median {e['ev_median']:.3g}, "
                     f"max {e['ev_max']:.3g}.")
    return lines
