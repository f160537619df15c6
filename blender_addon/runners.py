"""Runners decide which frames a worker renders; workers are processes (bpy is a process-global
singleton). Nothing here imports bpy: each worker process imports it after pointing its own stdout and
stderr at ``DIR/logs/worker-K.log``, so Blender's chatter never reaches the terminal.

Frames go to workers through one queue (dynamic balancing); since frame i depends only on
(seed, i), the result does not depend on which worker took which frame.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .core.errors import InputError


@dataclass
class RunResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    input_error: str | None = None


def default_threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _redirect_output(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _worker_main(wid, config, out_dir, threads, gpu_ids, tasks, results, log_path):
    """Body of a worker process: build once, then render frames from ``tasks`` until a None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent decides when to stop
    _redirect_output(Path(log_path))
    try:
        from .engine.worker import FrameRenderer
        renderer = FrameRenderer(config, out_dir, threads=threads, gpu_ids=gpu_ids)
    except InputError as e:
        results.put(("input_error", wid, None, str(e)))
        return
    except BaseException:  # noqa: BLE001 - reported to the parent
        results.put(("fatal", wid, None, traceback.format_exc()))
        return
    results.put(("ready", wid, None, None))
    try:
        while True:
            frame = tasks.get()
            if frame is None:
                break
            try:
                stages = renderer.render_frame(frame)
                results.put(("done", wid, frame, stages))
            except InputError as e:
                results.put(("input_error", wid, frame, str(e)))
                break
            except OSError as e:
                results.put(("oserror", wid, frame, f"{e.strerror or e} ({getattr(e, 'filename', '')})"))
                break
            except BaseException:  # noqa: BLE001
                print(traceback.format_exc(), flush=True)
                results.put(("error", wid, frame, traceback.format_exc()))
    finally:
        renderer.close()
        results.put(("exit", wid, None, None))


class LocalPool:
    """``workers`` processes rendering ``frames`` of ``config`` into ``out_dir``.

    ``on_frame(frame, stages)`` is called in the parent for each finished frame.
    SIGINT/SIGTERM: no new frames are handed out, frames in flight finish, then it returns with
    ``interrupted`` set.
    """

    def __init__(self, config, out_dir, workers: int = 1, threads: int = 0, gpu_ids=None):
        self.config = config
        self.out_dir = Path(out_dir)
        self.workers = max(1, int(workers))
        self.threads = threads or default_threads(self.workers)
        self.gpu_ids = gpu_ids

    def run(self, frames: list[int], on_frame=None) -> RunResult:
        res = RunResult()
        if not frames:
            return res
        ctx = mp.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        for f in frames:
            tasks.put(f)
        n = min(self.workers, len(frames))
        for _ in range(n):
            tasks.put(None)
        logs = self.out_dir / "logs"
        procs = []
        for wid in range(n):
            p = ctx.Process(target=_worker_main, name=f"synthblend-worker-{wid}",
                            args=(wid, self.config, str(self.out_dir), self.threads,
                                  self._gpu_for(wid), tasks, results, str(logs / f"worker-{wid}.log")))
            p.start()
            procs.append(p)
        stopping = {"flag": False}

        def stop(*_):
            if not stopping["flag"]:
                stopping["flag"] = True
                res.interrupted = True
                try:
                    while True:
                        tasks.get_nowait()
                except queue.Empty:
                    pass
                for _ in procs:
                    tasks.put(None)

        old = {s: signal.signal(s, lambda *a: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.perf_counter()
        alive = set(range(n))
        try:
            while alive:
                try:
                    kind, wid, frame, payload = results.get(timeout=0.5)
                except queue.Empty:
                    for wid in list(alive):
                        if not procs[wid].is_alive() and procs[wid].exitcode not in (0, None):
                            alive.discard(wid)
                            res.failed[-1 - wid] = f"worker {wid} died (exit code {procs[wid].exitcode})"
                    continue
                if kind == "done":
                    res.done.append(frame)
                    for k, v in payload.items():
                        res.stage_seconds[k] = res.stage_seconds.get(k, 0.0) + v
                    if on_frame:
                        on_frame(frame, payload)
                elif kind == "input_error":
                    res.input_error = payload
                    stop()
                elif kind in ("error", "oserror", "fatal"):
                    res.failed[frame if frame is not None else -1 - wid] = payload
                    if kind in ("fatal", "oserror"):
                        stop()
                        res.interrupted = kind == "oserror" and res.interrupted
                elif kind == "exit":
                    alive.discard(wid)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.terminate()
        res.wall_seconds = time.perf_counter() - t0
        return res

    def _gpu_for(self, wid):
        if self.gpu_ids is None:
            return None
        ids = list(self.gpu_ids)
        return [ids[wid % len(ids)]] if ids else None
