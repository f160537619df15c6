"""``render_dataset``: validate, prepare the folder, pick the runner, summarise (the body of
:func:`synthblend.render_dataset` and of ``synthblend render``)."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from ..core.config import Config, load_config
from ..core.errors import InputError
from .plan import make_out_dir, plan
from .summary import RenderSummary, log_run


def render_dataset(config, out, frames=None, seed=None, workers=1, shard=None, resume=False,
                   overwrite=False, backend="local", ray_address=None, threads=0, gpu_ids=None,
                   progress=False, t_start=None, in_process=False) -> RenderSummary:
    """See :func:`synthblend.api.render_dataset`."""
    t_start = time.perf_counter() if t_start is None else t_start
    if not isinstance(config, Config):
        config = load_config(config)
    out = Path(out)
    config, todo, requested = plan(config, out, frames, seed, shard, resume, overwrite)
    if backend == "ray" and todo:
        from .ray_backend import check_ray
        check_ray(ray_address)               # installed and reachable, before the folder is made
    fresh, todo, lock = make_out_dir(config, out, requested, resume, overwrite, shard is not None)
    try:
        return _render_locked(config, out, todo, requested, fresh, workers, backend, ray_address, threads,
                              gpu_ids, progress, t_start, in_process)
    finally:
        lock.release()


def _render_locked(config, out, todo, requested, fresh, workers, backend, ray_address, threads, gpu_ids,
                   progress, t_start, in_process) -> RenderSummary:
    """The run itself, while ``out`` is locked."""
    summary = RenderSummary(out, len(requested), skipped=len(requested) - len(todo), workers=workers)
    in_proc = in_process and backend == "local" and workers == 1 and bool(todo)
    if in_proc:
        from .inprocess import blender_output_to
        redirect = blender_output_to(out / "logs" / "worker-0.log")
    else:
        redirect = contextlib.nullcontext(sys.stderr)
    try:
        with redirect as terminal:
            _Render(config, out, todo, summary, t_start).run(workers, backend, ray_address, threads, gpu_ids,
                                                             progress, in_proc, terminal)
            return summary
    except InputError:
        # Bad input found only once Blender started (e.g. no GPU): leave no half-made dataset behind.
        if fresh and not summary.rendered:
            import shutil
            shutil.rmtree(out, ignore_errors=True)
        raise


class _Render:
    """One run of the chosen runner over ``todo``, with a progress bar, filling ``summary``."""

    def __init__(self, config, out: Path, todo, summary: RenderSummary, t_start: float):
        self.config, self.out, self.todo, self.summary, self.t_start = config, out, todo, summary, t_start
        self.bar = None

    def on_frame(self, frame, stages) -> None:
        if self.summary.first_frame_seconds is None:
            self.summary.first_frame_seconds = time.perf_counter() - self.t_start
        if self.bar is not None:
            self.bar.update(1)

    def open_bar(self, terminal) -> None:
        from tqdm import tqdm
        self.bar = tqdm(total=len(self.todo), unit="frame", desc="render", file=terminal, dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames "
                                   "[{elapsed}<{remaining}, {rate_fmt}]")

    def runner(self, workers, backend, ray_address, threads, gpu_ids, in_proc):
        """A callable ``(frames, on_frame) -> RunResult``."""
        config, out = self.config, self.out
        if in_proc:
            from .inprocess import run_in_process
            return lambda todo, on_frame: run_in_process(config, out, todo, threads, gpu_ids, on_frame)
        if backend == "local":
            from .pool import LocalPool
            return LocalPool(config, out, workers=workers, threads=threads, gpu_ids=gpu_ids).run
        if backend == "ray":
            from .ray_backend import RayPool
            return RayPool(config, out, workers=workers, threads=threads, address=ray_address).run
        raise InputError("--backend", f"unknown backend {backend!r}; allowed: local, ray")

    def run(self, workers, backend, ray_address, threads, gpu_ids, progress, in_proc, terminal) -> None:
        if progress and self.todo:
            self.open_bar(terminal)
        t0 = time.perf_counter()
        res = self.runner(workers, backend, ray_address, threads, gpu_ids, in_proc)(self.todo, self.on_frame)
        if self.bar is not None:
            self.bar.close()
        s = self.summary
        s.wall_seconds = time.perf_counter() - t0
        s.take(res, self.todo)
        log_run(self.out, s)
        if res.input_error:
            raise InputError("", res.input_error)
        if res.os_error:   # e.g. ENOSPC: the frame being written left no file (atomic writes)
            kept = len(res.done) + s.skipped          # this run's frames and those a --resume kept
            raise InputError(str(self.out), f"cannot write the dataset: {res.os_error}; the {kept} "
                                            "frame(s) finished are complete and kept; make room, then rerun "
                                            "with --resume")
