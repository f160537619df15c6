"""``synthblend`` command line (also ``python -m synthblend``). Imports no bpy.

Exit codes: 0 success; 2 bad input, with one line ``error: <where>: <what>`` on stderr and no
traceback; 1 anything unexpected (the traceback goes to a log file, one line to the terminal);
130 interrupted (frames finished so far are kept; ``--resume`` completes the run).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from .core.errors import ConfigErrors, InputError

START = time.perf_counter()   # the CLI's start, for "time to first frame"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2 (argparse's own behaviour prints usage too)
        raise InputError(self.prog, message)


def _add_render_args(p):
    p.add_argument("--frames", type=int, help="number of frames (overrides the config's frames)")
    p.add_argument("--seed", type=int, help="base seed (overrides the config's seed)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default 1; with render.device gpu, one per GPU)")
    p.add_argument("--threads", type=int, default=0, help="Cycles threads per worker (default: cores / workers)")
    p.add_argument("--shard", help="K/N: render only frames i with i mod N == K")
    p.add_argument("--resume", action="store_true", help="keep finished frames, render the missing ones")
    p.add_argument("--overwrite", action="store_true", help="replace what the folder holds")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    p.add_argument("--gpu-ids", help="comma-separated GPU indices for render.device: gpu")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="synthblend", description="Synthetic CV datasets from Blender/Cycles with "
                                                  "pixel-perfect ground truth.")
    ap.add_argument("--version", action="version", version=f"synthblend {_version()}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("render", help="render a dataset")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="dataset folder")
    _add_render_args(p)

    p = sub.add_parser("check", help="validate a config and its assets without rendering")
    p.add_argument("config")

    from .dataset import exports
    p = sub.add_parser("export", help="convert a dataset to " + ", ".join(f.name.upper() for f in exports.FORMATS))
    p.add_argument("format", choices=list(exports.BY_NAME))
    p.add_argument("dataset")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true",
                   help="export into a non-empty --out that holds no export of this format "
                        "(what an export writes there is replaced; other files are kept)")
    for o in exports.OPTIONS:
        p.add_argument(o.flag, type=o.type, default=o.default, help=o.help, choices=o.choices)

    p = sub.add_parser("preview", help="contact sheet of a dataset (PNG), or one scene animated (GIF / MP4)")
    p.add_argument("dataset")
    p.add_argument("--out", required=True, help="PNG file: contact sheet; .gif or .mp4: the frames of --scene "
                                                "animated (RGB, instance, depth, flow side by side)")
    p.add_argument("--frames", help="frame indices, e.g. 0,1,5 or 0-7")
    p.add_argument("--scene", type=int, default=0, help="animated preview: which scene / sequence (default 0)")
    p.add_argument("--fps", type=float, help="animated preview: frames per second (default: the sequence's fps, "
                                             "else 2)")

    p = sub.add_parser("stats", help="plots and a summary of a dataset")
    p.add_argument("dataset")
    p.add_argument("--out", required=True, help="report folder")

    p = sub.add_parser("verify", help="check ground truth against an independent ray cast")
    p.add_argument("dataset", help="dataset folder (holds dataset.json)")
    p.add_argument("--frames", help="frame indices, e.g. 0,1,5 or 0-7 (default: all)")
    p.add_argument("--no-source-assets", action="store_true",
                   help="use the dataset's meshes/ for every object, not the original asset files")
    p.add_argument("--debug-dir", help="write disagree_NNNNNN.png (the disagreeing pixels) per frame here")
    p.add_argument("--json", dest="json_out", help="also write every figure as JSON to this file")
    p.add_argument("--backend", choices=["auto", "embree", "numpy"], default="auto",
                   help="ray caster: embree (float32 closest hit, refined in float64) or numpy "
                        "(exact float64, no embreex needed); auto: embree when installed")

    p = sub.add_parser("sweep", help="render one dataset per point of a parameter sweep")
    p.add_argument("sweep")
    p.add_argument("--out", required=True)
    _add_render_args(p)
    return ap


def _version() -> str:
    from . import __version__
    return __version__


def parse_frames(text: str | None) -> list[int] | None:
    """``--frames`` text ``0,3,5-7`` -> [0, 3, 5, 6, 7] (in the order given; empty parts skipped);
    None for no text. Raises InputError("--frames", ...) for anything else, an empty range such as
    ``3-1``, or no index at all."""
    if not text:
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if dash else a
        except ValueError:
            raise InputError("--frames", f"expected indices like 0,1,5 or 0-7, got {text!r}") from None
        if b < a:
            raise InputError("--frames", f"empty range {part!r} in {text!r}")
        out.extend(range(a, b + 1))
    if not out:
        raise InputError("--frames", f"no frame index in {text!r}")
    return out


def _gpu_ids(text):
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError("--gpu-ids", f"expected comma-separated integers, got {text!r}") from None


def gpu_count() -> int:
    """NVIDIA GPUs on this machine (``nvidia-smi -L``), without importing bpy; 0 when none."""
    import shutil
    import subprocess
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def default_workers(cfg, gpu_ids) -> int:
    """One worker on the CPU (Cycles already uses every core); one per GPU with render.device gpu."""
    if cfg.data["render"]["device"] == "gpu":
        return max(1, len(gpu_ids) if gpu_ids else gpu_count())
    return 1


MAX_WORKERS = 1024   # worker processes (or Ray actors) per run; each holds a whole Blender scene


def check_threads_workers(a) -> None:
    """``--threads`` obeys the rule of the config's ``render.threads`` (its schema field's min and max,
    so the two cannot drift apart); ``--workers`` is between 1 and MAX_WORKERS."""
    from .core.schema import SCHEMA

    f = SCHEMA.fields["render"].fields["threads"]
    lo, hi = int(f.min), int(f.max)
    if not lo <= a.threads <= hi:
        raise InputError("--threads", f"must be between {lo} and {hi} (like render.threads; "
                                      f"0 = cores / workers), got {a.threads}")
    if a.workers is not None and a.workers < 1:
        raise InputError("--workers", f"must be >= 1, got {a.workers}")
    if a.workers is not None and a.workers > MAX_WORKERS:
        raise InputError("--workers", f"must be <= {MAX_WORKERS} (worker processes, each with its own "
                                      f"Blender scene), got {a.workers}")


def cmd_render(a) -> int:
    from .api import render_dataset
    from .core.config import load_config

    check_threads_workers(a)
    cfg = load_config(a.config)
    if a.workers is None:
        a.workers = default_workers(cfg, _gpu_ids(a.gpu_ids))
    s = render_dataset(cfg, a.out, frames=a.frames, seed=a.seed, workers=a.workers, shard=a.shard,
                       resume=a.resume, overwrite=a.overwrite, backend=a.backend,
                       ray_address=a.ray_address, threads=a.threads, gpu_ids=_gpu_ids(a.gpu_ids),
                       progress=not a.quiet, t_start=START, in_process=True)
    if not a.quiet:
        print(summary_text(s, cfg), file=sys.stderr)
    if s.interrupted:
        print(f"interrupted: {len(s.rendered)} frames finished and kept; complete the run with "
              f"`synthblend render {a.config} --out {a.out} --resume`", file=sys.stderr)
        return 130
    if s.failed or s.missing:
        print(failure_text(s, a), file=sys.stderr)
        return 1
    return 0


def failure_text(s, a) -> str:
    """One line: what went wrong first, what is missing, where the details are, how to finish."""
    from .core.errors import one_line
    first = ""
    if s.failed:
        key = min(s.failed, key=lambda k: (k < 0, k))
        text = [ln for ln in str(s.failed[key]).strip().splitlines() if ln.strip()]
        what = text[-1].strip() if text else "failed"
        first = f"{what}" if key < 0 else f"frame {key}: {what}"
        first += "; "
    return one_line(f"error: {first}{len(s.missing)} frame(s) not rendered, the others are complete; "
                    f"details in {Path(a.out) / 'logs'}; render the rest with "
                    f"`synthblend render {a.config} --out {a.out} --resume`", limit=1000)


def summary_text(s, cfg) -> str:
    n = len(s.rendered)
    rate = n / s.wall_seconds if s.wall_seconds > 0 else 0.0
    W, H = cfg.resolution
    stages = ""
    if n and s.stage_seconds:
        stages = " Per frame: " + ", ".join(f"{k} {1000 * v / n:.0f} ms" for k, v in s.stage_seconds.items()) + "."
    cats = ", ".join(c["name"] for c in cfg.categories()) or "none"
    return (f"Rendered {n} frame(s) of {W}x{H} ({cfg.data['render']['samples']} samples) in "
            f"{s.wall_seconds:.1f} s ({rate:.2f} frames/s) with {s.workers} worker(s) into {s.out_dir}"
            f"{f'; {s.skipped} already there' if s.skipped else ''}"
            f"{f'; {len(s.repaired)} repaired (a file missing or damaged)' if s.repaired else ''}"
            f". Outputs: {', '.join(cfg.outputs)}; "
            f"categories: {cats}.{stages} Logs: {s.out_dir / 'logs'}. "
            f"Look at it: synthblend preview {s.out_dir} --out preview.png")


def cmd_check(a) -> int:
    from .core.config import load_config, validate

    errors = validate(a.config)
    if errors:
        for e in errors:
            print(e.line(), file=sys.stderr)
        return 2
    cfg = load_config(a.config)   # validate() loaded the meshes already
    from .core.features.lens import config_errors as lens_errors
    for e in lens_errors(cfg):    # a lens distortion folding over the image (it samples the camera)
        print(e.line(), file=sys.stderr)
        return 2
    from .core.asset_warnings import asset_warnings
    for w in asset_warnings(cfg):  # below the ground, missing .mtl / texture (docs/assets.md)
        print(w, file=sys.stderr)
    n_obj = len(cfg.data["scene"]["objects"])
    print(f"ok: {a.config}: {n_obj} object entr{'y' if n_obj == 1 else 'ies'}, "
          f"{len(cfg.categories())} categor{'y' if len(cfg.categories()) == 1 else 'ies'}, "
          f"{cfg.frames} frames of {cfg.resolution[0]}x{cfg.resolution[1]}")
    for i, p in enumerate(cfg.parsed["scene"]["objects"]):     # asset libraries (core/library.py)
        if p.get("library") is not None:
            print(f"  scene.objects[{i}]: {p['library'].describe()}")
    return 0


def cmd_export(a) -> int:
    from .dataset import exports
    exports.BY_NAME[a.format].run(a.dataset, a.out, overwrite=a.overwrite,
                                  **{o.kwarg: getattr(a, o.kwarg) for o in exports.OPTIONS})
    print(f"wrote {a.format} export to {a.out}")
    return 0


def cmd_preview(a) -> int:
    from .dataset.preview import make_preview
    from .dataset.sequence_preview import FORMATS, make_sequence_preview
    if Path(a.out).suffix.lower() in FORMATS:
        make_sequence_preview(a.dataset, a.out, scene=a.scene, fps=a.fps)
    else:
        make_preview(a.dataset, a.out, frames=parse_frames(a.frames))
    print(f"wrote {a.out}")
    return 0


def cmd_stats(a) -> int:
    from .dataset.stats import make_stats
    make_stats(a.dataset, a.out)
    print(f"wrote {a.out}")
    return 0


def cmd_verify(a) -> int:
    """Print the report; 0 when every frame passes, 1 when one fails, 2 on bad input."""
    import json

    from .core.raycam import embree_available
    from .dataset.verify import format_report, verify_dataset

    frames = parse_frames(a.frames)
    if a.backend == "embree" and not embree_available():
        raise InputError("--backend", "embreex is not installed")
    report = verify_dataset(a.dataset, frames=frames, use_source_assets=not a.no_source_assets,
                            debug_dir=a.debug_dir, backend=a.backend)
    print(format_report(report))
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return 0 if report.passed else 1


def cmd_sweep(a) -> int:
    from .api import parse_shard
    from .sweep import PREVIEW, SWEEP_JSON, load_sweep, render_sweep

    check_threads_workers(a)
    workers = 1 if a.workers is None else a.workers
    shard = parse_shard(a.shard)
    sweep = load_sweep(a.sweep, frames=a.frames)
    gpu_ids = _gpu_ids(a.gpu_ids)
    out = Path(a.out)

    def log(text):
        if not a.quiet:
            print(text, file=sys.stderr, flush=True)

    log(f"sweep {a.sweep}: {len(sweep.points)} point(s) into {a.out}")
    r = render_sweep(sweep, out, seed=a.seed, workers=workers, threads=a.threads, shard=shard, resume=a.resume,
                     overwrite=a.overwrite, backend=a.backend, ray_address=a.ray_address, gpu_ids=gpu_ids,
                     progress=not a.quiet, in_process=True,
                     on_point=lambda k, p: log(f"[{k + 1}/{len(sweep.points)}] {p.name}"),
                     on_point_done=lambda p, s: log(
                         f"    {len(s.rendered)} frame(s) rendered, {s.skipped} already there, "
                         f"{len(s.failed)} failed, {s.wall_seconds:.1f} s -> {out / p.dir}"))
    log(f"sweep: {r.rendered} frame(s) rendered; {r.complete} of {len(sweep.points)} point(s) complete; "
        f"points listed in {out / SWEEP_JSON}{_sweep_preview(out, out / PREVIEW)}")
    if r.interrupted:
        print(f"interrupted: finished frames are kept; complete the sweep with "
              f"`synthblend sweep {a.sweep} --out {a.out} --resume`", file=sys.stderr)
        return 130
    if r.failed:
        print(f"error: frames failed in {len(r.failed)} point(s): "
              + ", ".join(f"{p.name} ({len(s.failed)})" for p, s in r.failed)
              + f"; details in {out}/<point>/logs", file=sys.stderr)
        return 1
    return 0


def _sweep_preview(out: Path, png: Path) -> str:
    """Draw the sweep's preview sheet; the summary's tail saying where it is (a preview never fails a sweep)."""
    from .sweep import make_sweep_preview
    try:
        make_sweep_preview(out, png)
    except Exception as e:  # noqa: BLE001 - a preview never fails the sweep
        return f"; no preview ({e})"
    return f"; preview: {png}"


COMMANDS = {"render": cmd_render, "check": cmd_check, "export": cmd_export, "preview": cmd_preview,
            "stats": cmd_stats, "verify": cmd_verify, "sweep": cmd_sweep}


def main(argv=None) -> int:
    a = None
    try:
        a = build_parser().parse_args(argv)
        return COMMANDS[a.command](a)
    except ConfigErrors as e:
        for line in e.lines():
            print(line, file=sys.stderr)
        return 2
    except InputError as e:
        print(e.line(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        import errno
        if e.errno == errno.ENOSPC:
            print(f"error: {e.filename or getattr(a, 'out', '')}: no space left on device; finished frames are kept "
                  f"(complete the run with --resume once there is room)", file=sys.stderr)
            return 2
        return _unexpected()
    except Exception:  # noqa: BLE001
        return _unexpected()


def _unexpected() -> int:
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"synthblend-crash-{os.getpid()}.log"
    try:
        log.write_text(traceback.format_exc())
        where = f"; traceback in {log}"
    except OSError:
        where = ""
    exc = sys.exc_info()[1]
    print(f"error: unexpected {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
