"""The Python API behind ``synthblend render``: validate, prepare the folder, run workers, summarise.

    import synthblend
    cfg = synthblend.load_config("scene.yaml").override({"camera.focal_length_mm": 50})
    summary = synthblend.render_dataset(cfg, "out/f50", frames=100, workers=2)

Nothing here imports bpy; rendering happens in worker processes.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .core.config import Config, load_config
from .core.errors import ConfigErrors, InputError
from .core.schema import MAX_FRAMES
from .dataset.writer import DatasetWriter


@dataclass
class RenderSummary:
    out_dir: Path
    requested: int
    rendered: list[int] = field(default_factory=list)
    skipped: int = 0
    failed: dict = field(default_factory=dict)
    interrupted: bool = False
    wall_seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    workers: int = 1
    first_frame_seconds: float | None = None   # from t_start (the CLI's start) to the first written frame
    missing: list[int] = field(default_factory=list)   # asked for but not written (failed, crashed, stopped)
    peak_rss_kb: int | None = None                      # largest worker peak RSS, measured in the worker

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'K/N' -> (K, N) with 0 <= K < N."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise InputError("--shard", f"expected K/N such as 0/4, got {text!r}")
    if n < 1 or not 0 <= k < n:
        raise InputError("--shard", f"need 0 <= K < N, got {text!r}")
    return k, n


def check_assets(config: Config) -> None:
    """Load every mesh once (catches corrupt, empty and unreadable files before rendering);
    all problems at once, each as ``file:line: scene.objects[i].mesh: what``."""
    errors = config.asset_errors()
    if errors:
        raise ConfigErrors(errors)


def blender_version() -> str:
    """Version of the Blender that renders: the running one inside Blender, else the bpy wheel's."""
    bpy = sys.modules.get("bpy")
    if bpy is not None and hasattr(bpy, "app"):
        return bpy.app.version_string
    try:
        return importlib.metadata.version("bpy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def plan(config: Config, out_dir, frames=None, seed=None, shard=None, resume=False, overwrite=False):
    """Validate everything and decide the frames to render; returns (config, todo, requested)."""
    from .dataset.outdir import prepare

    overrides = {}
    if frames is not None:
        if not 1 <= int(frames) <= MAX_FRAMES:
            raise InputError("--frames", f"must be between 1 and {MAX_FRAMES}, got {frames}")
        overrides["frames"] = int(frames)
    if seed is not None:
        overrides["seed"] = int(seed)
    if overrides:
        config = config.with_values(**overrides)
    check_assets(config)
    shard = parse_shard(shard) if isinstance(shard, str) or shard is None else shard
    requested = list(range(config.frames))
    if shard:
        k, n = shard
        requested = [i for i in requested if i % n == k]
    todo = prepare(Path(out_dir), config, requested, resume, overwrite)
    return config, todo, requested


def write_manifest(config: Config, out_dir) -> None:
    from .dataset.meta import manifest
    writer = DatasetWriter(Path(out_dir))
    writer.write_manifest(manifest(config, blender_version(), __version__))


def render_dataset(config, out, frames=None, seed=None, workers=1, shard=None, resume=False,
                   overwrite=False, backend="local", ray_address=None, threads=0, gpu_ids=None,
                   progress=False, t_start=None, in_process=False) -> RenderSummary:
    """Render a dataset (see the CLI's ``render``). ``config`` is a Config or a path to one.
    ``t_start`` (a ``time.perf_counter()`` value) dates ``first_frame_seconds``; default: now.
    ``in_process``: with one local worker, render in this process (imports bpy here; the CLI does
    this to save a second interpreter start); otherwise workers are separate processes."""
    t_start = time.perf_counter() if t_start is None else t_start
    if not isinstance(config, Config):
        config = load_config(config)
    out = Path(out)
    config, todo, requested = plan(config, out, frames, seed, shard, resume, overwrite)
    if backend == "ray" and todo:
        from .ray_backend import check_ray
        check_ray(ray_address)               # installed and reachable, before the folder is made
    fresh = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(str(out), f"cannot create the output folder: {e.strerror or e}")
    from .dataset.outdir import remove_stale_temporaries
    remove_stale_temporaries(out, todo)      # left by a run that was killed mid-write
    write_manifest(config, out)
    summary = RenderSummary(out, len(requested), skipped=len(requested) - len(todo), workers=workers)
    in_proc = in_process and backend == "local" and workers == 1 and bool(todo)
    redirect = blender_output_to(out / "logs" / "worker-0.log") if in_proc else contextlib.nullcontext(sys.stderr)
    try:
        with redirect as terminal:
            return _render(config, out, todo, summary, workers, backend, ray_address, threads, gpu_ids,
                           progress, t_start, in_proc, terminal)
    except InputError:
        # Bad input found only once Blender started (e.g. no GPU): leave no half-made dataset behind.
        if fresh and not summary.rendered:
            import shutil
            shutil.rmtree(out, ignore_errors=True)
        raise


def _render(config, out, todo, summary, workers, backend, ray_address, threads, gpu_ids, progress,
            t_start, in_proc, terminal) -> RenderSummary:
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="frame", desc="render", file=terminal, dynamic_ncols=True,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames "
                              "[{elapsed}<{remaining}, {rate_fmt}]")

    def on_frame(frame, stages):
        if summary.first_frame_seconds is None:
            summary.first_frame_seconds = time.perf_counter() - t_start
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    if in_proc:
        res = _run_in_process(config, out, todo, threads, gpu_ids, on_frame)
    elif backend == "local":
        from .runners import LocalPool
        res = LocalPool(config, out, workers=workers, threads=threads, gpu_ids=gpu_ids).run(todo, on_frame)
    elif backend == "ray":
        from .ray_backend import RayPool
        res = RayPool(config, out, workers=workers, threads=threads, address=ray_address).run(todo, on_frame)
    else:
        raise InputError("--backend", f"unknown backend {backend!r}; allowed: local, ray")
    if bar is not None:
        bar.close()
    summary.wall_seconds = time.perf_counter() - t0
    summary.rendered = sorted(res.done)
    summary.failed = res.failed
    summary.interrupted = res.interrupted
    summary.stage_seconds = res.stage_seconds
    summary.missing = sorted(set(todo) - set(res.done))
    summary.peak_rss_kb = max(getattr(res, "peak_rss_kb", {}).values(), default=None)
    _log_run(out, summary)
    if res.input_error:
        raise InputError("", res.input_error)
    if getattr(res, "os_error", None):   # e.g. ENOSPC: the frame being written left no file (atomic writes)
        raise InputError(str(out), f"cannot write the dataset: {res.os_error}; the {len(res.done)} frame(s) "
                                   "finished are complete and kept; make room, then rerun with --resume")
    return summary


def _log_run(out: Path, s: RenderSummary) -> None:
    """Timings and hosts go to logs/, never into the dataset's per-frame files."""
    try:
        _append_run_log(out, s)
    except OSError:   # a full disk must not hide the error that stopped the run
        pass


def _append_run_log(out: Path, s: RenderSummary) -> None:
    import platform
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "runs.jsonl", "a") as f:
        f.write(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(),
            "rendered": len(s.rendered), "skipped": s.skipped, "failed": {str(k): v[-500:] for k, v in s.failed.items()},
            "interrupted": s.interrupted, "wall_seconds": round(s.wall_seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in s.stage_seconds.items()}, "workers": s.workers,
            "first_frame_seconds": None if s.first_frame_seconds is None else round(s.first_frame_seconds, 3),
            "missing": len(s.missing), "peak_rss_kb": s.peak_rss_kb,
        }) + "\n")


@contextlib.contextmanager
def blender_output_to(log_path: Path):
    """Send everything written to fds 1 and 2 (Blender's render chatter) to ``log_path``; yields a
    text stream on the original terminal for progress and messages. Restores both on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    terminal = os.fdopen(os.dup(saved_err), "w", buffering=1)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        terminal.close()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)


def _run_in_process(config, out: Path, todo, threads, gpu_ids, on_frame):
    """One worker in this process. SIGINT/SIGTERM stop after the frame in flight."""
    from .runners import RunResult, claim_cpus, default_threads

    threads = threads or default_threads(1)
    claim_cpus(threads)               # fewer threads than CPUs: pin them, or oneTBB spins (runners.py)
    from .engine.worker import FrameRenderer

    res = RunResult()

    def stop(*_):
        res.interrupted = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    t0 = time.perf_counter()
    try:
        renderer = FrameRenderer(config, out, threads=threads, gpu_ids=gpu_ids)
        try:
            for frame in todo:
                if res.interrupted:
                    break
                try:
                    stages = renderer.render_frame(frame)
                except InputError:
                    raise
                except OSError as e:       # e.g. no space left: stop, report, keep finished frames
                    res.failed[frame] = traceback.format_exc()
                    res.os_error = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")  # noqa
                    break
                except Exception:  # noqa: BLE001 - one bad frame does not end the run
                    res.failed[frame] = traceback.format_exc()
                    print(res.failed[frame], flush=True)       # into the worker log
                    continue
                res.record_done(frame, stages, on_frame)
        finally:
            renderer.close()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    import resource
    res.__dict__.setdefault("peak_rss_kb", {})[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res.wall_seconds = time.perf_counter() - t0
    return res
