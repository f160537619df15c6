"""Memory soak: does a worker's memory stay flat over a long run?

Renders N frames of one small scene (64x48 px, 1 sample by default) in a fresh worker process per N
and reports that worker's peak resident set size, measured inside it (``ru_maxrss``, and VmHWM from
/proc where there is one), plus the Blender datablocks it holds at the end (anything created per frame
and never freed would show up here). With two or more counts it prints the ratio of the largest N's
peak to the smallest's and exits 1 when it is above ``--max-ratio`` (issue: 300 vs 30 frames <= 1.15).

    python scripts/memory_soak.py                     # 30 vs 300 frames, 64x48, 1 sample
    python scripts/memory_soak.py --frames 20 120 --resolution 32 24 --json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SCENE = {
    "seed": 1,
    "render": {"resolution": [64, 48], "samples": 1},
    "scene": {
        "objects": [
            {"primitive": "sphere", "count": {"randint": [1, 2]}, "scale": 0.3,
             "position": {"uniform": [[-0.3, -0.3, 0.15], [0.3, 0.3, 0.3]]}},
            {"primitive": "monkey", "scale": 0.3, "position": [0, 0, 0.3], "rotation": "uniform_so3"},
        ],
        "ground": {"size": 4},
    },
    "camera": {"distance": 2, "elevation_deg": 30, "azimuth_deg": {"uniform": [0, 360]}},
    "lighting": {"count": {"randint": [1, 2]}, "type": {"choice": ["point", "sun", "spot", "area"]}},
}

# Every per-frame randomization at once (textures incl. images, world kinds incl. HDRI and a back
# plane, distractors, non-overlapping placement, depth of field, motion blur, augmentation, all outputs):
# anything created per frame and not freed shows up as growth here. Image folders are made by the child.
DR = {
    "materials": {"texture": {"choice": ["none", "noise", "checker", "voronoi", "gradient", "wave", "image"]},
                  "images": "images"},
    "world": {"type": {"choice": ["uniform", "gradient", "sky", "hdri", "image"]},
              "hdri": {"folder": "hdri"}, "image": {"folder": "images"}},
    "augment": {"brightness": {"uniform": [0.8, 1.2]}, "noise_std": 0.01},
    "scene": {"placement": "non_overlapping",
              "distractors": {"count": {"randint": [1, 4]}, "materials": {"texture": "checker"}}},
    "camera": {"dof": {"f_stop": {"uniform": [1.4, 8]}},
               "motion_blur": {"camera_translation": {"uniform": [[0, 0, 0], [0.01, 0.01, 0]]}}},
}

DATABLOCKS = ("objects", "meshes", "materials", "images", "lights", "cameras", "worlds",
              "node_groups", "textures", "collections")


def _vm_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _deep_update(a: dict, b: dict) -> dict:
    for k, v in b.items():
        a[k] = _deep_update(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a


def _make_images(root: str) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("images", "hdri"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
        for i in range(3):
            a = rng.integers(0, 255, (16, 32, 3), dtype=np.uint8)
            Image.fromarray(a).save(os.path.join(root, sub, f"{i}.png"))


def child(frames: int, width: int, height: int, samples: int, denoise: bool, out: str,
          scene: str = "basic") -> None:
    """The worker: build the scene once, render ``frames`` frames through the normal pipeline."""
    import resource

    from synthblend.core.config import config_from_dict
    from synthblend.engine.worker import FrameRenderer

    raw = json.loads(json.dumps(SCENE))
    base_dir = None
    if scene == "dr":
        _deep_update(raw, json.loads(json.dumps(DR)))
        from synthblend.core.outputs import NAMES
        raw["render"]["outputs"] = [o for o in NAMES if o != "keypoints"]
        base_dir = os.path.join(out, "assets")
        _make_images(base_dir)
    elif scene != "basic":
        import yaml
        with open(scene) as f:
            raw = yaml.safe_load(f)
        base_dir = os.path.dirname(os.path.abspath(scene))
    raw["frames"] = frames
    raw.setdefault("render", {}).update(resolution=[width, height], samples=samples, denoise=denoise)
    cfg = config_from_dict(raw, base_dir=base_dir)
    renderer = FrameRenderer(cfg, os.path.join(out, "ds"), threads=1)
    import bpy

    t0 = time.perf_counter()
    marks = sorted({1, max(1, frames // 10), max(1, frames // 2), frames})
    at = {}
    for i in range(frames):
        renderer.render_frame(i)
        if i + 1 in marks:
            at[i + 1] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    after_first = at[1]
    half = max(1, frames // 2)
    seconds = time.perf_counter() - t0
    renderer.close()
    report = {
        "frames": frames,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vm_hwm_kb": _vm_hwm_kb(),
        "peak_rss_after_first_frame_kb": after_first,
        "peak_rss_at_frame_kb": at,
        # slope over the second half of the run: what a 40,000-frame run would add per frame
        "growth_kb_per_frame": round((at[frames] - at[half]) / (frames - half), 3) if frames > half else 0.0,
        "datablocks": {k: len(getattr(bpy.data, k)) for k in DATABLOCKS},
        "seconds": round(seconds, 2),
    }
    with open(os.path.join(out, "soak-report.json"), "w") as f:
        json.dump(report, f)


def run_child(frames: int, width: int, height: int, samples: int, denoise: bool = True,
              scene: str = "basic") -> dict:
    """Run one soak in a fresh process (Blender's chatter discarded); it leaves its report in ``out``."""
    with tempfile.TemporaryDirectory(prefix="synthblend-soak-") as out:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", str(frames), "--resolution",
               str(width), str(height), "--samples", str(samples), "--out", out]
        cmd += ([] if denoise else ["--no-denoise"]) + ["--scene", scene]
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        report = os.path.join(out, "soak-report.json")
        if p.returncode != 0 or not os.path.exists(report):
            err = p.stderr.decode(errors="replace")
            raise SystemExit(f"soak child for {frames} frames failed (exit {p.returncode}):\n{err[-3000:]}")
        with open(report) as f:
            return json.load(f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[30, 300], help="frame counts (default 30 300)")
    ap.add_argument("--resolution", type=int, nargs=2, default=[64, 48], metavar=("W", "H"))
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--no-denoise", action="store_true",
                    help="render.denoise: false (the default config denoises; OIDN costs ~0.4 s a frame here)")
    ap.add_argument("--max-ratio", type=float, default=1.15)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ap.add_argument("--scene", default="basic",
                    help="basic (the issue's scene), dr (every per-frame randomization), or a config file")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child is not None:
        child(a.child, *a.resolution, a.samples, not a.no_denoise, a.out, a.scene)
        return 0
    scene = a.scene if a.scene in ("basic", "dr") else os.path.abspath(a.scene)
    reports = [run_child(n, *a.resolution, a.samples, not a.no_denoise, scene) for n in sorted(set(a.frames))]
    ratio = reports[-1]["peak_rss_kb"] / reports[0]["peak_rss_kb"] if len(reports) > 1 else 1.0
    ok = ratio <= a.max_ratio
    if a.json:
        print(json.dumps({"reports": reports, "ratio": round(ratio, 4), "max_ratio": a.max_ratio, "ok": ok}))
    else:
        W, H = a.resolution
        for r in reports:
            print(f"{r['frames']:6d} frames ({W}x{H}, {a.samples} sample(s), denoise {not a.no_denoise}): "
                  f"worker peak RSS {r['peak_rss_kb'] / 1024:.1f} MiB "
                  f"(after frame 1: {r['peak_rss_after_first_frame_kb'] / 1024:.1f} MiB), "
                  f"growth over the second half {r['growth_kb_per_frame']:.2f} KiB/frame, "
                  f"{r['seconds']:.1f} s; datablocks at the end: "
                  + ", ".join(f"{k} {v}" for k, v in r["datablocks"].items() if v))
        if len(reports) > 1:
            print(f"peak RSS ratio {reports[-1]['frames']} vs {reports[0]['frames']} frames: {ratio:.3f} "
                  f"({'ok' if ok else 'ABOVE'} the bar of {a.max_ratio})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
