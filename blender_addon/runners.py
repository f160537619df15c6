"""Runners decide which frames a worker renders; workers are processes (bpy is a process-global
singleton). Nothing here imports bpy: each worker process imports it after pointing its own stdout and
stderr at ``DIR/logs/worker-K.log``, so Blender's chatter never reaches the terminal.

The parent hands each worker one frame at a time over the worker's own pipe (dynamic balancing; no
queue shared between workers, so a worker killed at any moment cannot leave a lock held that
would stall the others). Since frame i depends only on (seed, i), the result does not depend on
which worker took which frame.

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

import collections
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
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

    def record_done(self, frame: int, stages: dict, on_frame=None) -> None:
        """A frame is written: count it, add its per-stage seconds, tell ``on_frame``."""
        self.done.append(frame)
        for k, v in stages.items():
            self.stage_seconds[k] = self.stage_seconds.get(k, 0.0) + v
        if on_frame:
            on_frame(frame, stages)


def default_threads(workers: int, cpus: int | None = None) -> int:
    """Cycles threads per worker so that ``workers`` workers fill ``cpus`` cores without oversubscribing."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def redirect_output(log_path: Path) -> None:
    """Point this process's fds 1 and 2 (Blender's console output) at ``log_path``."""
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


_CPU_LOCKS: list = []     # open lock files of the CPUs this process has claimed (held until it exits)


def claim_cpus(threads: int) -> list[int] | None:
    """Pin this process to ``threads`` CPUs that no other synthblend worker on this host holds.

    Call it before bpy is imported. Why: a Cycles render with fewer threads than the process may use
    leaves oneTBB workers spinning in ``sched_yield`` (measured with bpy 5.0.1: 1 Cycles thread on a
    2-core machine burnt 1.9 cores for the work of 1), so N workers x T threads oversubscribe the
    machine; pinned to T CPUs, oneTBB (and OpenImageDenoise) use exactly T. The pixels do not depend
    on it (Cycles and OIDN give the same bits for any thread count). CPUs are claimed with one
    ``flock`` per CPU in the temporary folder, released by the kernel when the process ends, so
    concurrent runs on one host share out the CPUs. Returns the CPUs, or None where it does not pin
    (threads >= CPUs available, no free CPUs, no ``sched_setaffinity``, ``SYNTHBLEND_PIN_CPUS=0``).
    """
    if os.environ.get("SYNTHBLEND_PIN_CPUS", "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        import fcntl
        import tempfile
        avail = sorted(os.sched_getaffinity(0))
        if threads < 1 or threads >= len(avail):
            return None
        lock_dir = Path(tempfile.gettempdir()) / "synthblend-cpu-locks"
        lock_dir.mkdir(exist_ok=True)
        got = []
        for cpu in avail:
            f = open(lock_dir / f"cpu{cpu}.lock", "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            got.append((cpu, f))
            if len(got) == threads:
                break
        if len(got) < threads:
            for _, f in got:
                f.close()
            return None
        os.sched_setaffinity(0, {cpu for cpu, _ in got})
        _CPU_LOCKS.extend(f for _, f in got)
        return [cpu for cpu, _ in got]
    except (OSError, ImportError):
        return None


def _worker_main(wid, config, out_dir, threads, gpu_ids, conn, log_path, parent_pid):
    """Body of a worker process: build once, then render the frames the parent sends over ``conn``
    (its private pipe) until a None, or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent decides when to stop
    _die_with_parent(parent_pid)
    redirect_output(Path(log_path))
    cpus = claim_cpus(threads)
    print(f"synthblend worker {wid}: {threads} thread(s)"
          + (f", pinned to CPUs {cpus}" if cpus else ", not pinned"), flush=True)
    try:
        from .engine.worker import FrameRenderer
        renderer = FrameRenderer(config, out_dir, threads=threads, gpu_ids=gpu_ids)
    except InputError as e:
        conn.send(("input_error", wid, None, str(e)))
        return
    except BaseException:  # noqa: BLE001 - reported to the parent
        conn.send(("fatal", wid, None, traceback.format_exc()))
        return
    conn.send(("ready", wid, None, os.getpid()))
    try:
        while True:
            try:
                frame = conn.recv()
            except (EOFError, OSError):                 # the parent is gone
                break
            if frame is None:
                break
            try:
                stages = renderer.render_frame(frame)
                conn.send(("done", wid, frame, stages))
            except InputError as e:
                conn.send(("input_error", wid, frame, str(e)))
                break
            except OSError as e:
                conn.send(("oserror", wid, frame,
                           f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else "")))
                break
            except Exception:  # noqa: BLE001
                print(traceback.format_exc(), flush=True)
                conn.send(("error", wid, frame, traceback.format_exc()))
    finally:
        renderer.close()
        try:
            conn.send(("exit", wid, None, {"peak_rss_kb": _peak_rss_kb()}))
        except (OSError, EOFError):
            pass


def _peak_rss_kb() -> int:
    """This process's peak resident set size in KiB (Linux reports ru_maxrss in KiB)."""
    try:
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):  # pragma: no cover - not on Linux
        return 0


@dataclass
class _Worker:
    wid: int
    proc: object
    conn: object
    ready: bool = False
    current: int | None = None       # the frame it is rendering
    told_to_exit: bool = False
    exited: bool = False             # said goodbye (a normal end)


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
        logs = self.out_dir / "logs"
        todo = collections.deque(frames)
        pending = set(frames)                   # frames neither done nor given up
        attempts: dict[int, int] = {}
        workers: dict[int, _Worker] = {}
        state = {"stopping": False, "next_wid": 0}
        n = min(self.workers, len(frames))
        max_respawns = 2 * n + self.retries

        def spawn():
            wid = state["next_wid"]
            state["next_wid"] += 1
            parent_end, child_end = ctx.Pipe(duplex=True)
            p = ctx.Process(target=_worker_main, name=f"synthblend-worker-{wid}",
                            args=(wid, self.config, str(self.out_dir), self.threads, self._gpu_for(wid),
                                  child_end, str(logs / f"worker-{wid}.log"), os.getpid()))
            # a child started while SIGINT is ignored keeps ignoring it through exec: no traceback
            # from a worker that gets Ctrl-C before it has set up its own handlers
            old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
            try:
                p.start()
            finally:
                if old is not None:
                    signal.signal(signal.SIGINT, old)
            child_end.close()
            workers[wid] = _Worker(wid, p, parent_end)

        def stop():
            if not state["stopping"]:
                state["stopping"] = True
                res.interrupted = True
                todo.clear()

        def send(w, frame):
            try:
                w.conn.send(frame)
            except OSError:                     # died meanwhile: noticed through its sentinel
                pass

        def dispatch():
            for w in workers.values():
                if not w.ready or w.current is not None or w.told_to_exit:
                    continue
                if todo and not state["stopping"]:
                    w.current = todo.popleft()
                    send(w, w.current)
                elif state["stopping"] or not pending:
                    w.told_to_exit = True
                    send(w, None)

        def handle(w, msg):
            kind, wid, frame, payload = msg
            if kind == "ready":
                w.ready = True
                self.pids[wid] = payload
            elif kind == "done":
                w.current = None
                if frame in pending:            # a retried frame finishing twice counts once
                    pending.discard(frame)
                    res.record_done(frame, payload, on_frame)
            elif kind == "input_error":
                w.current = None
                res.input_error = payload
                stop()
                res.interrupted = False
            elif kind in ("error", "oserror", "fatal"):
                w.current = None
                pending.discard(frame)
                res.failed[frame if frame is not None else -1 - wid] = payload
                if kind == "oserror" and res.os_error is None:
                    res.os_error = payload
                if kind in ("fatal", "oserror"):
                    was = res.interrupted
                    stop()
                    res.interrupted = was
            elif kind == "exit":
                w.exited = True
                if payload:
                    res.peak_rss_kb[wid] = payload.get("peak_rss_kb", 0)

        def bury(w):
            """A worker process ended: read what it left in its pipe; if it died, re-queue its frame
            and start a replacement while there is work."""
            while True:
                try:
                    if not w.conn.poll():
                        break
                    handle(w, w.conn.recv())
                except (EOFError, OSError):
                    break
            w.conn.close()
            del workers[w.wid]
            w.proc.join()
            if w.exited or w.proc.exitcode == 0:
                return
            why = f"worker {w.wid} died (exit code {w.proc.exitcode}); its log: {logs / f'worker-{w.wid}.log'}"
            lost = w.current
            if lost is not None and lost in pending:
                attempts[lost] = attempts.get(lost, 0) + 1
                if attempts[lost] <= self.retries and not state["stopping"]:
                    res.retried.append(lost)
                    todo.appendleft(lost)
                else:
                    pending.discard(lost)
                    res.failed[lost] = why
            if not todo or state["stopping"]:
                return
            if state["next_wid"] - n >= max_respawns:   # workers keep dying: give up, keep what is done
                res.failed[-1 - w.wid] = why + f"; {max_respawns} replacement workers died too"
                stop()
                res.interrupted = False
                return
            spawn()                                    # keep the pool at strength

        for _ in range(n):
            spawn()
        old = {}
        if _main_thread():
            old = {s: signal.signal(s, lambda *a: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.perf_counter()
        try:
            while workers:
                dispatch()
                by_conn = {w.conn: w for w in workers.values()}
                by_sentinel = {w.proc.sentinel: w for w in workers.values()}
                ready = mp_connection.wait(list(by_conn) + list(by_sentinel), timeout=0.5)
                for obj in ready:
                    w = by_conn.get(obj)
                    if w is not None and w.wid in workers:
                        try:
                            handle(w, w.conn.recv())
                        except (EOFError, OSError):
                            pass                       # its sentinel says why
                for obj in ready:
                    w = by_sentinel.get(obj)
                    if w is not None and w.wid in workers:
                        bury(w)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for w in list(workers.values()):
                if not w.told_to_exit:
                    send(w, None)
            for w in list(workers.values()):
                w.proc.join(timeout=30)
                if w.proc.is_alive():
                    w.proc.terminate()
                w.conn.close()
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
