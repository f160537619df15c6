"""Rendering a sweep: :func:`render_sweep` renders every point of a loaded :class:`~.model.Sweep`
into ``DIR/<name>/`` with ``render_dataset`` and returns a :class:`SweepResult`; it prints nothing
(``on_point`` / ``on_point_done`` let a caller report progress). :func:`prepare_sweep_dir` holds the
sweep folder's rules.

Every point uses the same seed, so frame i of two points differs only through the overridden values.
Points render one after the other with the chosen backend (all workers on one point); ``resume``,
``overwrite`` and ``shard`` apply to every point as for ``render``. Every point's folder is checked
before anything is written. Ctrl-C (or SIGTERM) between points starts no further point.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import InputError
from .model import SWEEP_JSON, Sweep, SweepPoint

if TYPE_CHECKING:
    from ..api import RenderSummary


@dataclass
class SweepResult:
    """What :func:`render_sweep` did: ``(point, RenderSummary)`` for each point it got to, in order
    (after an interruption the last one says ``interrupted``; later points are not listed)."""
    sweep: Sweep
    out: Path
    results: list[tuple[SweepPoint, RenderSummary]] = field(default_factory=list)

    @property
    def rendered(self) -> int:
        """Frames rendered by this run, all points together."""
        return sum(len(s.rendered) for _, s in self.results)

    @property
    def complete(self) -> int:
        """Points whose every requested frame is there."""
        return sum(1 for _, s in self.results if s.ok)

    @property
    def failed(self) -> list[tuple[SweepPoint, RenderSummary]]:
        return [(p, s) for p, s in self.results if s.failed]

    @property
    def interrupted(self) -> bool:
        return any(s.interrupted for _, s in self.results)


def prepare_sweep_dir(out: Path, overwrite: bool) -> None:
    """The sweep folder: new, empty, or one that holds a sweep (``sweep.json``)."""
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "output path exists and is not a folder")
    if out.is_dir() and not (out / SWEEP_JSON).exists() and not overwrite:
        if any(p.name != "logs" for p in out.iterdir()):
            raise InputError(str(out), "folder is not empty and holds no synthblend sweep; "
                                       "choose an empty or new folder (or pass --overwrite)")


@contextlib.contextmanager
def _stop_requests() -> Iterator[threading.Event]:
    """While the sweep runs, SIGINT/SIGTERM set the event (finish the point in flight, start no other)
    instead of raising; the old handlers come back afterwards. Outside the main thread: never set."""
    stop = threading.Event()
    old = {}
    if threading.current_thread() is threading.main_thread():
        old = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def render_sweep(sweep: Sweep, out: str | os.PathLike, *, seed: int | None = None, workers: int = 1,
                 threads: int = 0, shard: tuple[int, int] | None = None, resume: bool = False,
                 overwrite: bool = False, backend: str = "local", ray_address: str | None = None,
                 gpu_ids: list[int] | None = None, progress: bool = False, in_process: bool = False,
                 on_point: Callable[[int, SweepPoint], None] | None = None,
                 on_point_done: Callable[[SweepPoint, RenderSummary], None] | None = None) -> SweepResult:
    """Render every point of ``sweep`` into ``out/<name>/`` and write ``out/sweep.json``. Stops after an
    interrupted point (its summary says so). ``on_point(k, point)`` is called before point k (0-based)
    starts, ``on_point_done(point, summary)`` after it. ``in_process``: with one local worker, render in
    this process (see ``render_dataset``). Bad options or folders raise InputError before anything is
    written."""
    from .. import api
    from ..dataset.writer import write_json

    out = Path(out)
    if backend == "ray":
        from ..runners.ray_backend import check_ray
        check_ray(ray_address)
    prepare_sweep_dir(out, overwrite)
    if not overwrite:                        # refuse before anything is written
        for p in sweep.points:
            api.plan(p.config, out / p.dir, seed=seed, shard=shard, resume=resume, overwrite=False)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / SWEEP_JSON, sweep.to_json())
    result = SweepResult(sweep, out)
    with _stop_requests() as stop, _ray(backend, ray_address):
        for k, p in enumerate(sweep.points):
            if stop.is_set():
                result.results.append((p, api.RenderSummary(out / p.dir, 0, interrupted=True)))
                break
            if on_point:
                on_point(k, p)
            s = api.render_dataset(p.config, out / p.dir, seed=seed, workers=workers, shard=shard,
                                   resume=resume, overwrite=overwrite, backend=backend,
                                   ray_address=ray_address, threads=threads, gpu_ids=gpu_ids,
                                   progress=progress, in_process=in_process)
            result.results.append((p, s))
            if on_point_done:
                on_point_done(p, s)
            if s.interrupted:
                break
    return result


def _ray(backend: str, address: str | None):
    """One Ray runtime for all points: connected (or started) before the first, shut down after the
    last if started here."""
    if backend != "ray":
        return contextlib.nullcontext()
    from ..runners.ray_backend import ray_runtime
    return ray_runtime(address)
