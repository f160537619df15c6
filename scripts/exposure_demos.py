"""Saturated pixels per frame on the bundled demos, with the default auto exposure and with EV 0
(the fixed exposure before it existed): prints one line per config and writes nothing outside OUT.

    python scripts/exposure_demos.py [--res 160 120] [--samples 4] [--frames N] [--out DIR] [CONFIG ...]

Default configs: scene_assets/demo.yaml, dr_*.yaml, bin_picking.yaml, table_clutter.yaml. Each is
rendered small (resolution and samples overridden; frames: the config's own unless --frames) and
measured with dataset/saturation.py, the same rule ``synthblend stats`` reports.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", type=Path)
    ap.add_argument("--res", nargs=2, type=int, default=[160, 120])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--modes", nargs="+", default=["auto", "0"], help="render.exposure values to compare")
    a = ap.parse_args(argv)
    from synthblend.api import load_config, render_dataset
    from synthblend.dataset import saturation
    from synthblend.dataset.reader import open_dataset

    sa = ROOT / "scene_assets"
    configs = a.configs or [sa / "demo.yaml", *sorted(sa.glob("dr_*.yaml")), sa / "bin_picking.yaml",
                            sa / "table_clutter.yaml"]
    out = a.out or Path(tempfile.mkdtemp(prefix="exposure-demos-"))
    worst_auto = 0.0
    for c in configs:
        base = load_config(c)
        for mode in a.modes:
            ev = mode if mode == "auto" else float(mode)
            cfg = base.override({"render.resolution": list(a.res), "render.samples": a.samples,
                                 "render.exposure": ev})
            d = out / f"{c.stem}_{mode}"
            s = render_dataset(cfg, d, frames=a.frames, overwrite=True)
            if not s.ok:
                print(f"{c.name}: render failed", file=sys.stderr)
                return 1
            ds = open_dataset(d)
            per = {f.index: saturation.frame_saturation(f) for f in ds}
            r = saturation.summarize(per, [f.meta for f in ds])
            evs = r.get("exposure", {})
            print(f"{c.name:22s} exposure {mode:>4s}: {r['frames']} frames, saturated min {r['min']*100:6.2f} % "
                  f"median {r['median']*100:6.2f} % max {r['max']*100:6.2f} % (frame {r['worst'][0]['frame']}); "
                  f"over 2 %: {r['frames_over_limit']}; EV {evs.get('ev_min', 0):+.2f}..{evs.get('ev_max', 0):+.2f}")
            if mode == "auto":
                worst_auto = max(worst_auto, r["max"])
    print(f"worst frame with auto exposure: {worst_auto*100:.2f} % saturated (limit 2 %); datasets in {out}")
    return 0 if worst_auto <= saturation.LIMIT else 3


if __name__ == "__main__":
    raise SystemExit(main())
