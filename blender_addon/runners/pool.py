"""Runners decide which frames a worker renders; workers are processes (bpy is a process-global
singleton). Nothing here imports bpy: each worker process imports it after pointing its own stdout and
stderr at ``DIR/logs/worker-K.log``, so Blender's chatter never reaches the terminal.

The parent hands each worker one chunk at a time over the worker's own pipe (dynamic balancing; no
queue shared between workers, so a worker killed at any moment cannot leave a lock held that
would stall the others): a chunk is one frame, or with ``scene.views`` / ``sequence`` the frames of
one scene to render (core/scenes.py ``scene_chunks``), rendered in order by one worker. Since a frame
depends only on (seed, its scene and view), the result does not depend on which worker took which chunk.

Robustness:

* SIGINT/SIGTERM in the parent: no new frames are handed out, frames in flight finish, ``run`` returns
  with ``interrupted`` set (the CLI exits 130 and says how to resume). Workers ignore SIGINT (a
  terminal's Ctrl-C reaches the whole process group), so only the parent decides.
* A worker that dies (segfault, OOM kill) loses at most the frames of its chunk not yet reported:
  they are put back once (``retries``) and a replacement worker is started.
* If the parent dies (even by SIGKILL), its workers exit within a fraction of a second, also mid-render,
  and leave no temporary file behind (:mod:`.parent_watch`): no orphan keeps writing into DIR.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..dataset.outdir import remove_stale_temporaries
from .control import RunControl
from .frame_loop import DONE, INPUT_ERROR, RunResult, frame_loop, open_renderer
from .parent_watch import die_with_parent, watch_parent


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


def _frames_from(conn, in_flight: dict | None = None):
    """The frames of the chunks (lists of frames) the parent sends over ``conn``, in order, until a
    None or until the parent is gone; the frame being rendered is kept in ``in_flight["frame"]``
    (None while waiting)."""
    in_flight = {} if in_flight is None else in_flight
    while True:
        in_flight["frame"] = None
        try:
            chunk = conn.recv()
        except (EOFError, OSError):                 # the parent is gone
            return
        if chunk is None:
            return
        for frame in chunk:
            in_flight["frame"] = frame
            yield frame


def _is_blender_script_path(p: str) -> bool:
    return f"{os.sep}bpy{os.sep}" in p and f"{os.sep}scripts" in p


@contextlib.contextmanager
def without_blender_script_paths():
    """``sys.path`` without the folders of Blender's own scripts, while a worker process is started.

    A process that imported bpy has ``.../bpy/<version>/scripts/modules`` (and startup, addons_core)
    first on ``sys.path``; a spawned child starts with the ``sys.path`` it is given then, and its
    ``import bpy`` (or the caller's main module, which spawn imports again) would find Blender's inner
    ``bpy`` package (it needs ``_bpy``) instead of the wheel. The child's own import of bpy puts them back."""
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if not _is_blender_script_path(p)]
    try:
        yield
    finally:
        sys.path[:] = saved


def _worker_main(wid, config, out_dir, threads, gpu_ids, conn, log_path, parent_pid):
    """Body of a worker process: build once, then render the frames the parent sends over ``conn``
    (its private pipe) until a None, or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent decides when to stop
    in_flight: dict = {"frame": None}
    watch_parent(parent_pid, out_dir, in_flight)
    die_with_parent(parent_pid)
    redirect_output(Path(log_path))
    cpus = claim_cpus(threads)
    print(f"synthblend worker {wid}: {threads} thread(s)"
          + (f", pinned to CPUs {cpus}" if cpus else ", not pinned"), flush=True)
    renderer, failure = open_renderer(config, out_dir, threads=threads, gpu_ids=gpu_ids, catch=BaseException)
    if failure:
        conn.send((failure[0], wid, None, failure[1]))
        return
    conn.send(("ready", wid, None, os.getpid()))
    try:
        for outcome in frame_loop(renderer, _frames_from(conn, in_flight)):
            conn.send((outcome.kind, wid, outcome.frame, outcome.payload))
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


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_on_signals(stop):
    """Call ``stop()`` on SIGINT/SIGTERM while inside (main thread only; elsewhere signals are not ours)."""
    old = {}
    if _main_thread():
        old = {s: signal.signal(s, lambda *a: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclass
class _Worker:
    wid: int
    proc: object
    conn: object
    ready: bool = False
    current: list | None = None      # the frames of its chunk not yet reported
    told_to_exit: bool = False
    exited: bool = False             # said goodbye (a normal end)

    def send(self, chunk) -> None:
        try:
            self.conn.send(chunk)
        except OSError:                  # died meanwhile: noticed through its sentinel
            pass

    def reported(self, frame) -> None:
        """A frame of its chunk is done or failed; idle once the chunk is."""
        if self.current is not None and frame in self.current:
            self.current.remove(frame)
        self.current = self.current or None


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
        if not frames:
            return RunResult()
        return _PoolRun(self, frames, on_frame).run()

    def _gpu_for(self, wid):
        if self.gpu_ids is None:
            return None
        ids = list(self.gpu_ids)
        return [ids[wid % len(ids)]] if ids else None


class _PoolRun(RunControl):
    """One :meth:`LocalPool.run`: the workers, the frames not yet done, the attempts per frame."""

    def __init__(self, pool: LocalPool, frames, on_frame):
        from ..core.scenes import scene_chunks
        super().__init__(scene_chunks(pool.config, frames), on_frame)
        self.pool = pool
        self.ctx = mp.get_context("spawn")
        self.logs = pool.out_dir / "logs"
        self.open: set[int] = set()                 # frames handed out, neither done nor given up
        self.attempts: dict[int, int] = {}
        self.workers: dict[int, _Worker] = {}
        self.next_wid = 0
        self.n = min(pool.workers, len(frames))
        self.max_respawns = 2 * self.n + pool.retries

    def run(self) -> RunResult:
        for _ in range(self.n):
            self.spawn()
        t0 = time.perf_counter()
        try:
            with stop_on_signals(self.stop):
                while self.workers:
                    self.dispatch()
                    self.wait_once()
        finally:
            self.shutdown()
        self.res.wall_seconds = time.perf_counter() - t0
        return self.res

    def spawn(self) -> None:
        wid, pool = self.next_wid, self.pool
        self.next_wid += 1
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        p = self.ctx.Process(target=_worker_main, name=f"synthblend-worker-{wid}",
                             args=(wid, pool.config, str(pool.out_dir), pool.threads, pool._gpu_for(wid),
                                   child_end, str(self.logs / f"worker-{wid}.log"), os.getpid()))
        # a child started while SIGINT is ignored keeps ignoring it through exec: no traceback
        # from a worker that gets Ctrl-C before it has set up its own handlers
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            with without_blender_script_paths():
                p.start()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        child_end.close()
        self.workers[wid] = _Worker(wid, p, parent_end)

    def dispatch(self) -> None:
        """A frame to every idle worker; an exit to those with nothing left to do."""
        for w in self.workers.values():
            if not w.ready or w.current is not None or w.told_to_exit:
                continue
            if self.todo and not self.stopping:
                w.current = list(self.todo.popleft())
                self.open.update(w.current)
                w.send(list(w.current))
            elif self.stopping or not self.open:
                w.told_to_exit = True
                w.send(None)

    def wait_once(self) -> None:
        """Wait for messages and ended processes (at most half a second), handle them: messages first,
        so that a worker's last words are read before it is buried."""
        by_conn = {w.conn: w for w in self.workers.values()}
        by_sentinel = {w.proc.sentinel: w for w in self.workers.values()}
        ready = mp_connection.wait(list(by_conn) + list(by_sentinel), timeout=0.5)
        for obj in ready:
            w = by_conn.get(obj)
            if w is not None and w.wid in self.workers:
                try:
                    self.handle(w, w.conn.recv())
                except (EOFError, OSError):
                    pass                            # its sentinel says why
        for obj in ready:
            w = by_sentinel.get(obj)
            if w is not None and w.wid in self.workers:
                self.bury(w)

    def handle(self, w: _Worker, msg) -> None:
        kind, wid, frame, payload = msg
        if kind == "ready":
            w.ready = True
            self.pool.pids[wid] = payload
        elif kind == "exit":
            w.exited = True
            if payload:
                self.res.peak_rss_kb[wid] = payload.get("peak_rss_kb", 0)
        elif kind == DONE:
            w.reported(frame)
            if frame in self.open:                  # a retried frame finishing twice counts once
                self.open.discard(frame)
                self.settle(kind, frame, payload, wid)
        else:                                       # INPUT_ERROR, OS_ERROR, ERROR, FATAL
            w.reported(frame)
            if kind != INPUT_ERROR:
                self.open.discard(frame)
            self.settle(kind, frame, payload, wid)

    def drain(self, w: _Worker) -> None:
        """Read what an ended worker left in its pipe."""
        while True:
            try:
                if not w.conn.poll():
                    break
                self.handle(w, w.conn.recv())
            except (EOFError, OSError):
                break

    def bury(self, w: _Worker) -> None:
        """A worker process ended: read what it left in its pipe; if it died, re-queue its frame
        and start a replacement while there is work."""
        self.drain(w)
        w.conn.close()
        del self.workers[w.wid]
        w.proc.join()
        if w.exited or w.proc.exitcode == 0:
            return
        why = f"worker {w.wid} died (exit code {w.proc.exitcode}); its log: {self.logs / f'worker-{w.wid}.log'}"
        remove_stale_temporaries(self.pool.out_dir, w.current or ())   # what it was writing: gone before a retry
        self.requeue_lost(w.current, why)
        if not self.todo or self.stopping:
            return
        if self.next_wid - self.n >= self.max_respawns:   # workers keep dying: give up, keep what is done
            self.res.failed[-1 - w.wid] = why + f"; {self.max_respawns} replacement workers died too"
            self.halt(interrupted=False)
            return
        self.spawn()                                    # keep the pool at strength

    def requeue_lost(self, lost, why: str) -> None:
        """The frames of its chunk a dead worker had not reported go back to the front of the queue,
        as one chunk, ``retries`` times (counted per frame)."""
        again = []
        for f in [f for f in (lost or []) if f in self.open]:
            self.attempts[f] = self.attempts.get(f, 0) + 1
            if self.attempts[f] <= self.pool.retries and not self.stopping:
                self.res.retried.append(f)
                again.append(f)
            else:
                self.open.discard(f)
                self.res.failed[f] = why
        if again:
            self.todo.appendleft(again)

    def shutdown(self) -> None:
        """Tell the workers still there to exit, give them 30 s each, then terminate."""
        for w in list(self.workers.values()):
            if not w.told_to_exit:
                w.send(None)
        for w in list(self.workers.values()):
            w.proc.join(timeout=30)
            if w.proc.is_alive():
                w.proc.terminate()
            w.conn.close()
