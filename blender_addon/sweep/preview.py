"""The sweep's preview sheet: :func:`make_sweep_preview` draws the first frame of every point listed in
``DIR/sweep.json`` side by side, each captioned with its overrides (:func:`caption`). Reads only the
sweep folder (matplotlib, Pillow; no bpy)."""
from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import InputError
from .model import PREVIEW, SWEEP_JSON
from .naming import value_text


def flow(v) -> str:
    """A value as YAML flow text: {uniform: [50, 100]}."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return value_text(v)


def caption(overrides: dict, width: int = 50) -> str:
    """One line per override, ``path: value``, long lines wrapped."""
    import textwrap
    if not overrides:
        return "base config"
    lines = []
    for k, v in overrides.items():
        text = flow(v)
        lines.extend(textwrap.wrap(f"{k}: {text}", width, subsequent_indent="  ") or [""])
    return "\n".join(lines)


def _first_rgb(point_dir: Path):
    """(frame, HxWx3 uint8) of the lowest complete frame with an RGB image, or None."""
    import numpy as np
    from PIL import Image

    meta = point_dir / "meta"
    if not meta.is_dir():
        return None
    frames = sorted(int(p.stem) for p in meta.glob("*.json") if p.stem.isdigit())
    for f in frames:
        rgb = point_dir / "rgb" / f"{f:06d}.png"
        if rgb.is_file():
            with Image.open(rgb) as im:
                return f, np.asarray(im.convert("RGB"))
    return None


def make_sweep_preview(sweep_dir, out_png=None, cols: int | None = None) -> Path:
    """A PNG with the first frame's RGB of every point of the sweep in ``sweep_dir``, side by side,
    each captioned with its overrides (default ``sweep_dir/preview.png``); returns its path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep_dir = Path(sweep_dir)
    try:
        info = json.loads((sweep_dir / SWEEP_JSON).read_text())
    except (OSError, ValueError) as e:
        raise InputError(str(sweep_dir), f"holds no readable {SWEEP_JSON} ({e})") from e
    points = info.get("points", [])
    if not points:
        raise InputError(str(sweep_dir / SWEEP_JSON), "lists no points")
    out_png = Path(out_png) if out_png else sweep_dir / PREVIEW
    n = len(points)
    cols = cols or min(n, 4)
    rows = -(-n // cols)
    n_lines = max(len(caption(p["overrides"]).splitlines()) for p in points)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, rows * (2.4 + 0.16 * n_lines)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, p in zip(axes.flat, points, strict=False):      # the last row may have empty cells
        got = _first_rgb(sweep_dir / p["dir"])
        if got is None:
            ax.text(0.5, 0.5, "no frame yet", ha="center", va="center", transform=ax.transAxes)
        else:
            f, img = got
            ax.imshow(img, interpolation="nearest")
            ax.text(0.0, 1.0, f" frame {f}", transform=ax.transAxes, va="top", fontsize=7, color="w",
                    bbox=dict(facecolor="black", alpha=0.4, pad=1, linewidth=0))
        ax.set_title(caption(p["overrides"]), fontsize=7, loc="left", family="monospace")
    fig.suptitle(f"sweep {Path(info.get('sweep') or sweep_dir).name}: {n} point(s)", fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
