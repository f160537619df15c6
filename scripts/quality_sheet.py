#!/usr/bin/env python3
"""Render frame 0 of a config with each quality preset; print seconds per frame and write a picture.

    python scripts/quality_sheet.py scene_assets/demo.yaml --out docs/img/quality_presets.png
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from synthblend.core.quality import OVERRIDABLE, PRESETS


def _samples_label(preset: dict) -> str:
    """The label "16 samples", or "16-128 samples" where adaptive sampling may stop a pixel before the cap
    (an unset minimum is Cycles' automatic one, ceil(16 / threshold ** 0.3))."""
    cap, thr = preset["samples"], preset["adaptive_threshold"]
    low = preset["adaptive_min_samples"] or (math.ceil(16 / thr ** 0.3) if thr > 0 else cap)
    return f"{cap} samples" if low >= cap else f"{low}-{cap} samples"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--out", required=True, help="PNG with the presets side by side")
    ap.add_argument("--frame-count", type=int, default=1, help="frames per preset (time is per frame)")
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from synthblend.dataset.reader import open_dataset

    cfg_path = Path(a.config).resolve()
    base = yaml.safe_load(cfg_path.read_text())
    tmp = Path(tempfile.mkdtemp(prefix="synthblend-quality-"))
    rows = []
    for q in PRESETS:
        cfg = dict(base)
        render = {k: v for k, v in base.get("render", {}).items()
                  if k not in OVERRIDABLE}            # every key a preset sets is the preset's
        cfg["render"] = dict(render, quality=q)
        cfg["frames"] = a.frame_count
        p = cfg_path.parent / f".quality_{q}.yaml"          # beside the original: relative paths hold
        p.write_text(yaml.safe_dump(cfg, sort_keys=False))
        try:
            out = tmp / q
            r = subprocess.run([sys.executable, "-m", "synthblend", "render", str(p), "--out", str(out),
                                "--quiet"], capture_output=True, text=True)
        finally:
            p.unlink()
        if r.returncode:
            raise SystemExit(r.stderr)
        run = json.loads((out / "logs" / "runs.jsonl").read_text().splitlines()[-1])
        per = run["stage_seconds"]["render"] / a.frame_count
        rows.append((q, per, open_dataset(out)[0].rgb))
        print(f"{q:9s} {PRESETS[q]}  render {per:.2f} s/frame")
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.4))
    for ax, (q, per, rgb) in zip(axes, rows, strict=True):
        ax.imshow(rgb)
        ax.set_title(f"{q}: {_samples_label(PRESETS[q])}, {per:.1f} s/frame", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
