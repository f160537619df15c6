"""Runners decide which frames a worker renders; workers are processes (bpy is a process-global
singleton). Nothing here imports bpy: each worker process imports it after pointing its own stdout and
stderr at ``DIR/logs/worker-K.log``, so Blender's chatter never reaches the terminal.

Frames go to workers through one queue (dynamic balancing); since frame i depends only on
(seed, i), the result does not depend on which worker took which frame.

Robustness:

* SIGINT/SIGTERM in the parent: no new frames are handed out, frames in flight finish, ``run`` returns
  with ``interrupted`` set (the CLI exits 130 and says how to resume). Workers ignore SIGINT (a
  terminal's Ctrl-C reaches the whole process group), so only the parent decides.
* A worker that dies (segfault, OOM kill) loses at most the frame it was rendering: that frame is put
  back once (``retries``) and a replacement worker is started.
* If the parent dies (even by SIGKILL), its workers get SIGTERM from the kernel (Linux
  ``PR_SET_PDEATHSIG``), leave no temporary file behind and exit: a killed run leaves only complete
  frames and no orphan keeps writing into DIR.
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
    retried: list[int] = field(default_factory=list)   # frames re-queued after their worker died
    os_error: str | None = None          # writing the output failed (e.g. no space left on device)
    peak_rss_kb: dict[int, int] = field(default_factory=dict)   # per worker, measured inside it


def default_threads(workers: int, cpus: int | None = None) -> int:
    """Cycles threads per worker so that ``workers`` workers fill ``cpus`` cores without oversubscribing."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def _redirect_output(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _die_with_parent(parent_pid: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux); SIGTERM raises SystemExit here, so the
    writer removes its temporary files on the way out. Elsewhere this is a no-op."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent_pid:     # the parent died before prctl took effect
        sys.exit(143)


def _worker_main(wid, config, out_dir, threads, gpu_ids, tasks, results, log_path, parent_pid):
    """Body of a worker process: build once, then render frames from ``tasks`` until a None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent decides when to stop
    _die_with_parent(parent_pid)
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
    results.put(("ready", wid, None, os.getpid()))
    try:
        while True:
            frame = tasks.get()
            if frame is None:
                break
            results.put(("start", wid, frame, None))
            try:
                stages = renderer.render_frame(frame)
                results.put(("done", wid, frame, stages))
            except InputError as e:
                results.put(("input_error", wid, frame, str(e)))
                break
            except OSError as e:
                results.put(("oserror", wid, frame,
                             f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else "")))
                break
            except Exception:  # noqa: BLE001
                print(traceback.format_exc(), flush=True)
                results.put(("error", wid, frame, traceback.format_exc()))
    finally:
        renderer.close()
        results.put(("exit", wid, None, {"peak_rss_kb": _peak_rss_kb()}))


def _peak_rss_kb() -> int:
    """This process's peak resident set size in KiB (Linux reports ru_maxrss in KiB)."""
    try:
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):  # pragma: no cover - not on Linux
        return 0


class LocalPool:
    """``workers`` processes rendering ``frames`` of ``config`` into ``out_dir``.

    ``on_frame(frame, stages)`` is called in the parent for each finished frame.
    SIGINT/SIGTERM: no new frames are handed out, frames in flight finish, then it returns with
    ``interrupted`` set. ``retries``: how often a frame lost with a dead worker is tried again.
    """

    def __init__(self, config, out_dir, workers: int = 1, threads: int = 0, gpu_ids=None, retries: int = 1):
        self.config = config
        self.out_dir = Path(out_dir)
        self.workers = max(1, int(workers))
        self.threads = threads or default_threads(self.workers)
        self.gpu_ids = gpu_ids
        self.retries = retries
        self.pids: dict[int, int] = {}     # worker id -> process id, once the worker is ready

    def run(self, frames: list[int], on_frame=None) -> RunResult:
        res = RunResult()
        if not frames:
            return res
        ctx = mp.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        for f in frames:
            tasks.put(f)
        logs = self.out_dir / "logs"
        procs: dict[int, mp.Process] = {}

        def spawn(wid):
            p = ctx.Process(target=_worker_main, name=f"synthblend-worker-{wid}", daemon=False,
                            args=(wid, self.config, str(self.out_dir), self.threads, self._gpu_for(wid),
                                  tasks, results, str(logs / f"worker-{wid}.log"), os.getpid()))
            # a child started while SIGINT is ignored keeps ignoring it through exec (no traceback
            # from a worker that gets Ctrl-C before it has set up its own handlers)
            old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
            try:
                p.start()
            finally:
                if old is not None:
                    signal.signal(signal.SIGINT, old)
            procs[wid] = p

        n = min(self.workers, len(frames))
        for wid in range(n):
            spawn(wid)
        stopping = {"flag": False}
        pending = set(frames)                 # frames not yet done or given up
        current: dict[int, int | None] = {}  # worker id -> frame it is rendering
        attempts: dict[int, int] = {}
        alive = set(procs)
        finished = {"sent": False}

        def drain():
            try:
                while True:
                    tasks.get_nowait()
            except queue.Empty:
                pass

        def send_stops():
            for _ in range(len(alive)):
                tasks.put(None)

        def stop(*_):
            if not stopping["flag"]:
                stopping["flag"] = True
                res.interrupted = True
                drain()
                send_stops()

        old = {}
        if _main_thread():
            old = {s: signal.signal(s, lambda *a: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.perf_counter()
        next_wid = [n]

        def reap():
            """Notice dead workers: re-queue the frame each was rendering, start a replacement."""
            for wid in list(alive):
                p = procs[wid]
                if p.is_alive() or p.exitcode is None:
                    continue
                alive.discard(wid)
                if p.exitcode == 0:
                    continue
                lost = current.pop(wid, None)
                why = f"worker {wid} died (exit code {p.exitcode}); its log: {logs / f'worker-{wid}.log'}"
                if lost is not None and lost in pending:
                    attempts[lost] = attempts.get(lost, 0) + 1
                    if attempts[lost] <= self.retries and not stopping["flag"]:
                        res.retried.append(lost)
                        tasks.put(lost)
                    else:
                        pending.discard(lost)
                        res.failed[lost] = why
                else:
                    res.failed[-1 - wid] = why
                if pending and not stopping["flag"] and not finished["sent"]:
                    spawn(next_wid[0])
                    alive.add(next_wid[0])
                    next_wid[0] += 1

        last_reap = time.monotonic()
        try:
            while alive:
                if not pending and not finished["sent"] and not stopping["flag"]:
                    finished["sent"] = True
                    send_stops()
                if time.monotonic() - last_reap > 0.5:
                    reap()
                    last_reap = time.monotonic()
                try:
                    kind, wid, frame, payload = results.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind == "ready":
                    self.pids[wid] = payload
                elif kind == "start":
                    current[wid] = frame
                elif kind == "done":
                    current[wid] = None
                    if frame not in pending:      # a retried frame finished twice: count it once
                        continue
                    pending.discard(frame)
                    res.done.append(frame)
                    for k, v in payload.items():
                        res.stage_seconds[k] = res.stage_seconds.get(k, 0.0) + v
                    if on_frame:
                        on_frame(frame, payload)
                elif kind == "input_error":
                    res.input_error = payload
                    stop()
                    res.interrupted = False
                elif kind in ("error", "oserror", "fatal"):
                    current[wid] = None
                    key = frame if frame is not None else -1 - wid
                    pending.discard(frame)
                    res.failed[key] = payload
                    if kind == "oserror" and res.os_error is None:
                        res.os_error = payload
                    if kind in ("fatal", "oserror"):
                        was = res.interrupted
                        stop()
                        res.interrupted = was
                elif kind == "exit":
                    alive.discard(wid)
                    if payload:
                        res.peak_rss_kb[wid] = payload.get("peak_rss_kb", 0)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for p in procs.values():
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


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()
