"""Render in this process, with the same frame loop as the worker processes.

* :func:`run_in_process`: the CLI's single local worker (``synthblend render`` with one worker saves
  a second interpreter start); Blender's output goes to ``DIR/logs/worker-0.log`` (:func:`blender_output_to`).
* :class:`InProcessRun`: inside a running Blender (the add-on's ``render_dataset`` operator,
  ``blender -b -P scripts/render.py``) there is one bpy per process, so it renders there, one frame per
  :meth:`~InProcessRun.step`. The output-folder rules, ``dataset.json`` and ``logs/runs.jsonl`` are those
  of :func:`synthblend.render_dataset`, so the dataset is the one the CLI writes for the same config and seed.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from .frame_loop import DONE, ERROR, INPUT_ERROR, RunResult, frame_loop
from .plan import make_out_dir, plan
from .pool import claim_cpus, default_threads, stop_on_signals
from .summary import RenderSummary, log_run


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


def run_in_process(config, out: Path, todo, threads, gpu_ids, on_frame) -> RunResult:
    """One worker in this process. SIGINT/SIGTERM stop after the frame in flight; bad input found
    while rendering raises InputError; a write error (e.g. no space left) stops the run, reported in
    ``os_error``; any other failure of a frame is recorded and the run goes on."""
    threads = threads or default_threads(1)
    claim_cpus(threads)               # fewer threads than CPUs: pin them, or oneTBB spins (see claim_cpus)
    from ..engine.worker import FrameRenderer

    res = RunResult()

    def stop():
        res.interrupted = True

    t0 = time.perf_counter()
    with stop_on_signals(stop):
        renderer = FrameRenderer(config, out, threads=threads, gpu_ids=gpu_ids)
        try:
            for outcome in frame_loop(renderer, todo, should_stop=lambda: res.interrupted):
                if outcome.kind == INPUT_ERROR:
                    raise outcome.exc
                res.record(outcome.kind, outcome.frame, outcome.payload, on_frame=on_frame)
        finally:
            renderer.close()
    import resource
    res.peak_rss_kb[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res.wall_seconds = time.perf_counter() - t0
    return res


class InProcessRun:
    """``plan`` at construction (validates; raises InputError), :meth:`start` builds the scene,
    :meth:`step` renders the next frame, :meth:`finish` writes the run log."""

    def __init__(self, config, out, frames=None, seed=None, shard=None, resume=False, overwrite=False,
                 reset=True, threads=0, gpu_ids=None):
        from ..core.config import Config, load_config

        if not isinstance(config, Config):
            config = load_config(config)
        self.out = Path(out)
        self.config, self.todo, requested = plan(config, self.out, frames, seed, shard, resume, overwrite)
        # the folder stays locked for this run until finish() (dataset/lock.py)
        _, self.todo, self.lock = make_out_dir(self.config, self.out, requested, resume, overwrite, shard is not None)
        self.summary = RenderSummary(self.out, len(requested), skipped=len(requested) - len(self.todo),
                                     workers=1)
        self.reset, self.threads, self.gpu_ids = reset, threads, gpu_ids
        self.renderer = None
        self.next = 0
        self._outcomes = None
        self._t0 = None

    @property
    def total(self) -> int:
        return len(self.todo)

    @property
    def done(self) -> int:
        return self.next

    def start(self) -> None:
        from ..engine.worker import FrameRenderer
        self._t0 = time.perf_counter()
        self.renderer = FrameRenderer(self.config, self.out, threads=self.threads, gpu_ids=self.gpu_ids,
                                      reset=self.reset)
        # Blender's console is the user's terminal: a failed frame's traceback goes to summary.failed only
        self._outcomes = frame_loop(self.renderer, self.todo, echo=False)

    def step(self):
        """Render the next frame; returns its index, or None when every frame is done.
        Bad input (InputError) and a write error (OSError) raise; any other failure is recorded in
        ``summary.failed``."""
        if self.renderer is None:
            self.start()
        outcome = next(self._outcomes, None)
        if outcome is None:
            return None
        self.next += 1
        if outcome.kind == DONE:
            self.summary.rendered.append(outcome.frame)
            for k, v in outcome.stages.items():
                self.summary.stage_seconds[k] = self.summary.stage_seconds.get(k, 0.0) + v
        elif outcome.kind == ERROR:      # one bad frame does not end the run (as in the pool)
            self.summary.failed[outcome.frame] = outcome.message
        else:                            # INPUT_ERROR, OS_ERROR
            raise outcome.exc
        return outcome.frame

    def finish(self, interrupted: bool = False):
        """Close the renderer, write ``logs/runs.jsonl``; returns the RenderSummary."""
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
        self._outcomes = None
        self.summary.interrupted = interrupted
        self.summary.rendered.sort()
        done = set(self.summary.rendered)
        self.summary.repaired = [i for i in self.todo.repaired if i in done]
        self.summary.wall_seconds = time.perf_counter() - self._t0 if self._t0 else 0.0
        log_run(self.out, self.summary)
        self.lock.release()
        return self.summary

    def run(self, on_frame=None):
        """Render every frame (blocking)."""
        try:
            while True:
                frame = self.step()
                if frame is None:
                    break
                if on_frame is not None:
                    on_frame(frame, self)
        except KeyboardInterrupt:
            return self.finish(interrupted=True)
        except BaseException:
            self.finish()
            raise
        return self.finish()
