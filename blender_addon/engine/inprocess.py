"""Render a dataset inside the running Blender process, one frame per call.

Runners elsewhere spawn worker processes; inside Blender (the add-on's ``render_dataset`` operator,
``blender -b -P scripts/render.py``) there is one bpy per process, so this renders in-process with the
same :class:`~synthblend.engine.worker.FrameRenderer`. The output-folder rules, ``dataset.json`` and
``logs/runs.jsonl`` are those of :func:`synthblend.api.render_dataset`, so the dataset is the one the
CLI writes for the same config and seed.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path

from ..core.errors import InputError


class InProcessRun:
    """``plan`` at construction (validates; raises InputError), :meth:`start` builds the scene,
    :meth:`step` renders the next frame, :meth:`finish` writes the run log."""

    def __init__(self, config, out, frames=None, seed=None, shard=None, resume=False, overwrite=False,
                 reset=True, threads=0, gpu_ids=None):
        from ..api import RenderSummary, plan, write_manifest
        from ..core.config import Config, load_config

        if not isinstance(config, Config):
            config = load_config(config)
        self.out = Path(out)
        self.config, self.todo, requested = plan(config, self.out, frames, seed, shard, resume, overwrite)
        self.out.mkdir(parents=True, exist_ok=True)
        write_manifest(self.config, self.out)
        self.summary = RenderSummary(self.out, len(requested), skipped=len(requested) - len(self.todo),
                                     workers=1)
        self.reset, self.threads, self.gpu_ids = reset, threads, gpu_ids
        self.renderer = None
        self.next = 0
        self._t0 = None

    @property
    def total(self) -> int:
        return len(self.todo)

    @property
    def done(self) -> int:
        return self.next

    def start(self) -> None:
        from .worker import FrameRenderer
        self._t0 = time.perf_counter()
        self.renderer = FrameRenderer(self.config, self.out, threads=self.threads, gpu_ids=self.gpu_ids,
                                      reset=self.reset)

    def step(self):
        """Render the next frame; returns its index, or None when every frame is done.
        A bad-input problem raises InputError; any other failure is recorded in ``summary.failed``."""
        if self.renderer is None:
            self.start()
        if self.next >= len(self.todo):
            return None
        frame = self.todo[self.next]
        self.next += 1
        try:
            stages = self.renderer.render_frame(frame)
        except (InputError, OSError):
            raise
        except Exception:  # noqa: BLE001 - one bad frame does not end the run (as in the pool)
            self.summary.failed[frame] = traceback.format_exc()
            return frame
        self.summary.rendered.append(frame)
        for k, v in stages.items():
            self.summary.stage_seconds[k] = self.summary.stage_seconds.get(k, 0.0) + v
        return frame

    def finish(self, interrupted: bool = False):
        """Close the renderer, write ``logs/runs.jsonl``; returns the RenderSummary."""
        from ..api import _log_run
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
        self.summary.interrupted = interrupted
        self.summary.rendered.sort()
        self.summary.wall_seconds = time.perf_counter() - self._t0 if self._t0 else 0.0
        _log_run(self.out, self.summary)
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
