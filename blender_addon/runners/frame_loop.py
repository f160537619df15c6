"""THE frame loop: render frames with a :class:`~synthblend.engine.worker.FrameRenderer` and sort each
outcome once, for every runner (the local pool's workers, the Ray actors, the CLI's in-process worker and
the in-Blender run).

An outcome is one of

* ``done``: the frame is written; ``stages`` holds its per-stage seconds;
* ``input_error``: bad input found only while rendering (e.g. no GPU): the run stops;
* ``os_error``: writing failed (e.g. no space left on device): the run stops; the frame left no file;
* ``error``: anything else; ``message`` is the traceback; the run goes on with the next frame.

Building the renderer adds ``fatal`` (a build that failed unexpectedly). Nothing here imports bpy: the
engine is imported when a renderer is opened, inside the process that renders.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..core.errors import InputError

DONE = "done"
INPUT_ERROR = "input_error"
OS_ERROR = "os_error"
ERROR = "error"
FATAL = "fatal"           # the renderer could not be built (unexpected error)
STOPS_RUN = (INPUT_ERROR, OS_ERROR)


@dataclass
class FrameOutcome:
    frame: int | None
    kind: str                          # DONE, INPUT_ERROR, OS_ERROR, ERROR (FATAL for a failed build)
    stages: dict | None = None         # DONE: seconds per stage
    message: str | None = None         # INPUT_ERROR / OS_ERROR: one line; ERROR / FATAL: the traceback
    exc: BaseException | None = field(default=None, repr=False, compare=False)   # not sent between processes

    @property
    def payload(self):
        """What a worker reports to its runner: the stages of a done frame, else the message."""
        return self.stages if self.kind == DONE else self.message


def os_error_text(e: OSError) -> str:
    """``No space left on device: /path`` (the file when the error names one)."""
    return f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else "")


def render_one(renderer, frame: int, echo: bool = True) -> FrameOutcome:
    """Render ``frame`` and classify what happened. ``echo``: print an unexpected error's traceback
    (a worker's stdout is its log)."""
    try:
        stages = renderer.render_frame(frame)
    except InputError as e:
        return FrameOutcome(frame, INPUT_ERROR, message=str(e), exc=e)
    except OSError as e:
        return FrameOutcome(frame, OS_ERROR, message=os_error_text(e), exc=e)
    except Exception as e:  # noqa: BLE001 - one bad frame does not end the run
        tb = traceback.format_exc()
        if echo:
            print(tb, flush=True)
        return FrameOutcome(frame, ERROR, message=tb, exc=e)
    return FrameOutcome(frame, DONE, stages=stages)


def frame_loop(renderer, frames: Iterable[int], should_stop: Callable[[], bool] | None = None,
               echo: bool = True) -> Iterator[FrameOutcome]:
    """Yield one outcome per frame of ``frames`` (any iterable: a list, or frames arriving over a pipe).
    Ends after an outcome that stops the run (``input_error``, ``os_error``), or before a frame when
    ``should_stop()`` says so; an ``error`` does not end it."""
    for frame in frames:
        if should_stop is not None and should_stop():
            return
        outcome = render_one(renderer, frame, echo)
        yield outcome
        if outcome.kind in STOPS_RUN:
            return


def open_renderer(config, out_dir, threads: int = 0, gpu_ids=None, catch: type = Exception):
    """Build a FrameRenderer (the scene, once): ``(renderer, None)``, or ``(None, (kind, message))`` with
    kind ``input_error`` or ``fatal`` (the traceback) when building it failed. ``catch``: what counts as
    an unexpected failure to report (a worker process reports even ``SystemExit``)."""
    try:
        from ..engine.worker import FrameRenderer
        return FrameRenderer(config, out_dir, threads=threads, gpu_ids=gpu_ids), None
    except InputError as e:
        return None, (INPUT_ERROR, str(e))
    except catch:  # noqa: BLE001 - reported to the runner
        return None, (FATAL, traceback.format_exc())


@dataclass
class RunResult:
    """What a runner hands back: frames done and failed, why it stopped, timings."""
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    input_error: str | None = None
    retried: list[int] = field(default_factory=list)   # frames re-queued after their worker died
    os_error: str | None = None          # writing the output failed (e.g. no space left on device)
    peak_rss_kb: dict[int, int] = field(default_factory=dict)   # per worker, measured inside it

    def record_done(self, frame: int, stages: dict, on_frame=None) -> None:
        """A frame is written: count it, add its per-stage seconds, tell ``on_frame``."""
        self.done.append(frame)
        for k, v in stages.items():
            self.stage_seconds[k] = self.stage_seconds.get(k, 0.0) + v
        if on_frame:
            on_frame(frame, stages)

    def record(self, kind: str, frame: int | None, payload, slot: int = 0, on_frame=None) -> None:
        """Count one outcome reported by worker ``slot`` (a frame-less failure is filed under ``-1 - slot``).
        Stopping the run is the runner's business (see :data:`STOPS_RUN` and ``fatal``)."""
        if kind == DONE:
            self.record_done(frame, payload, on_frame)
        elif kind == INPUT_ERROR:
            self.input_error = payload
        else:                                   # ERROR, OS_ERROR, FATAL
            self.failed[frame if frame is not None else -1 - slot] = payload
            if kind == OS_ERROR and self.os_error is None:
                self.os_error = payload
