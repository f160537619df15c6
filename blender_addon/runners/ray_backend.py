"""``--backend ray``: frames rendered by long-lived Ray actors (``pip install "synthblend[ray]"``).

Each actor is one worker process with its own bpy: it builds the scene once (:class:`FrameRenderer`)
and keeps it between tasks. The driver (this process) hands out chunks of consecutive frames (with
``scene.views`` / ``sequence``: the frames of one scene, core/scenes.py), one chunk at a time per
actor; a chunk is a Ray *streaming generator* task that yields one result per frame, so progress
and errors reach the driver frame by frame.

* Without ``address`` a local Ray runtime is started (``num_cpus`` = this machine's cores, no
  dashboard) and shut down afterwards; with one (``ray://host:10001`` or ``auto``) the run joins that
  cluster. A runtime that is already initialised (e.g. by a sweep) is used as it is.
* Each actor reserves ``threads`` CPUs and renders with that many Cycles threads (default: the
  cluster's CPUs divided by ``workers``, at most one node's CPUs).
* An actor that dies (node lost, OOM kill, segfault) loses only the frames of its chunk that it had
  not yet reported: they go back to the front of the queue (up to ``retries`` times each) and a fresh
  actor replaces the dead one.
* SIGINT/SIGTERM: no new chunks; actors finish the frame they are rendering and stop (they ask a tiny
  control actor before each frame); ``run`` returns with ``interrupted`` set.
* On a cluster, every node needs synthblend and bpy installed, and ``out_dir`` must be a shared
  filesystem path valid on every node. Blender's output goes to ``DIR/logs/ray-<host>-<pid>.log``.

Frame i depends only on (config, seed, i), so the dataset is byte-identical to a local run.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from ..core.errors import InputError
from .control import RunControl
from .frame_loop import INPUT_ERROR, RunResult, frame_loop, open_renderer
from .pool import claim_cpus, default_threads, redirect_output, stop_on_signals


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--backend", 'ray is not installed; pip install "synthblend[ray]" '
                                      "(or use --backend local)") from None
    return ray


def check_ray(address: str | None = None) -> None:
    """Fail fast (InputError, exit 2) when ray is missing or ``address`` has nothing listening,
    instead of Ray's own minutes of reconnect attempts."""
    _import_ray()
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise InputError("--ray-address", f"expected HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        raise InputError("--ray-address", f"cannot reach a Ray cluster at {address}: {e.strerror or e}") from None


@contextlib.contextmanager
def ray_runtime(address: str | None = None, num_cpus: int | None = None):
    """Connect to ``address`` or start a local runtime; shut it down on exit only if started here."""
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  configure_logging=True)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as e:
        where = "--ray-address" if address else "--backend ray"
        raise InputError(where, f"cannot start or reach a Ray runtime: {str(e).splitlines()[0]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


class _Control:
    """A flag the driver sets to stop actors between frames."""

    def __init__(self):
        self.stopped = False

    def stop(self):
        self.stopped = True

    def is_stopped(self):
        return self.stopped


class _RenderActor:
    """One Ray worker process: builds the scene once, renders chunks of frames until it dies."""

    def __init__(self, config, out_dir, threads, gpu_ids, control):
        self.control = control
        self.pid = os.getpid()
        signal.signal(signal.SIGINT, signal.SIG_IGN) if threading.current_thread() is threading.main_thread() else None
        log = Path(out_dir) / "logs" / f"ray-{socket.gethostname()}-{self.pid}.log"
        try:
            redirect_output(log)              # Blender's chatter to the actor's log, as in LocalPool
        except OSError:
            pass
        cpus = claim_cpus(threads)              # before bpy is imported: see claim_cpus
        print(f"synthblend ray worker: {threads} thread(s)"
              + (f", pinned to CPUs {cpus}" if cpus else ", not pinned"), flush=True)
        # a failed build is reported to the driver by render(), not a dead actor
        self.renderer, self.init_error = open_renderer(config, out_dir, threads=threads, gpu_ids=gpu_ids)

    def ready(self):
        """The actor's pid once it is placed and its scene is built (or its build failed)."""
        return self.pid

    def render(self, frames):
        """Yield ``(kind, frame, payload)`` per frame: ("ready", None, pid) first, then the frame loop's
        outcomes ("done" with the stage timings, or "error" / "os_error" / "input_error"), or "fatal"
        when the scene could not be built. Stops before a frame once the control actor says so."""
        import ray

        yield ("ready", None, self.pid)
        if self.init_error:
            yield (self.init_error[0], None, self.init_error[1])
            return
        def stopped():
            return ray.get(self.control.is_stopped.remote())

        for outcome in frame_loop(self.renderer, frames, should_stop=stopped):
            yield (outcome.kind, outcome.frame, outcome.payload)


def default_chunk(n_frames: int, workers: int) -> int:
    """Frames per task: about 4 tasks per worker for balance, at most 8 frames so that a lost actor
    or a Ctrl-C costs little."""
    return max(1, min(8, n_frames // max(1, workers * 4)))


class RayPool:
    """``workers`` Ray actors rendering ``frames`` of ``config`` into ``out_dir``; same interface as
    :class:`synthblend.runners.LocalPool`."""

    def __init__(self, config, out_dir, workers: int = 1, threads: int = 0, address: str | None = None,
                 gpu_ids=None, chunk: int = 0, retries: int = 2):
        self.config = config
        self.out_dir = Path(out_dir).resolve()
        self.workers = max(1, int(workers))
        self.threads = int(threads or 0)
        self.address = address
        self.gpu_ids = gpu_ids
        self.chunk = chunk
        self.retries = retries
        self.pids: dict[int, int] = {}       # worker slot -> pid of its current actor
        self.replaced = 0                    # actors started to replace dead ones

    def _resources(self, ray) -> tuple[int, float, int]:
        """(Cycles threads, CPUs reserved, GPUs reserved) per actor. Threads: ``threads`` or the
        cluster's CPUs / workers (at most one node's CPUs). The reservation is fractional when more
        workers than CPUs are asked for, so that every actor can be placed."""
        total = float(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
        per_node = [float(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
        biggest = max(per_node or [total])
        threads = self.threads or max(1, min(default_threads(self.workers, int(total)), int(biggest)))
        cpus = min(float(threads), biggest, max(0.01, round(total / self.workers, 2)))
        gpus = 0
        if self.config.data["render"].get("device") == "gpu":
            if ray.cluster_resources().get("GPU", 0) < 1:
                raise InputError("render.device", "gpu requested but the Ray cluster has no GPU; "
                                                  "use device: cpu or add GPU nodes")
            gpus = 1
        return threads, cpus, gpus


    def run(self, frames: list[int], on_frame=None) -> RunResult:
        if not frames:
            return RunResult()
        with ray_runtime(self.address, None) as ray:
            return _RayRun(self, ray, list(frames), on_frame).run()

    def _log(self, text: str) -> None:
        """One line in ``DIR/logs/ray-driver.log`` (deaths, retries, start and end of each run)."""
        try:
            log = self.out_dir / "logs" / "ray-driver.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")
        except OSError:
            pass


class _RayRun(RunControl):
    """One :meth:`RayPool.run`: the actors (being placed, idle, running a chunk), the chunks to hand out."""

    def __init__(self, pool: RayPool, ray, frames, on_frame):
        self.pool, self.ray = pool, ray
        self.threads, self.cpus, self.gpus = pool._resources(ray)
        self.Actor = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=0)(_RenderActor)
        self.control = ray.remote(num_cpus=0)(_Control).remote()
        self.n = min(pool.workers, len(frames))
        self.size = pool.chunk or default_chunk(len(frames), self.n)
        from ..core.scenes import mode_of, scene_chunks
        self.chunks_text = f"chunks of {self.size}"
        if mode_of(pool.config) is None:
            chunks = (frames[i:i + self.size] for i in range(0, len(frames), self.size))
        else:                                 # scene.views / sequence: one scene's frames per chunk
            chunks = scene_chunks(pool.config, frames)
            self.chunks_text = "chunks of one scene"
        super().__init__(chunks, on_frame)
        self.n_frames = len(frames)
        self.attempts: dict[int, int] = collections.defaultdict(int)
        self.gpu_ids = None if self.gpus else pool.gpu_ids     # Ray sets CUDA_VISIBLE_DEVICES per actor
        self.max_replacements = 2 * self.n + pool.retries
        self.actors: dict[int, object] = {}
        self.placing: dict = {}               # ready() ref -> slot: actors being placed and built
        self.running: dict = {}               # generator -> (slot, frames of its chunk not yet reported)
        self.idle: list[int] = []
        self.last_progress = time.monotonic()
        self.warned = False

    def run(self) -> RunResult:
        ray, pool = self.ray, self.pool
        for w in range(self.n):
            self.start_actor(w)
        pool._log(f"start: {self.n_frames} frame(s) in {self.chunks_text}, {self.n} actor(s) x "
                  f"{self.threads} thread(s) ({self.cpus:g} CPU, {self.gpus} GPU reserved each), "
                  f"ray {ray.__version__}, cluster CPUs {ray.cluster_resources().get('CPU')}")
        t0 = time.perf_counter()
        try:
            with stop_on_signals(self.stop):
                while self.hand_out():
                    self.wait_once()
        finally:
            self.shutdown()
        res = self.res
        res.wall_seconds = time.perf_counter() - t0
        pool._log(f"end: {len(res.done)} done, {len(res.failed)} failed, {len(res.retried)} retried, "
                  f"{pool.replaced} actor(s) replaced, interrupted={res.interrupted}, "
                  f"{res.wall_seconds:.1f} s")
        return res

    def start_actor(self, w: int) -> None:
        self.actors[w] = self.Actor.remote(self.pool.config, str(self.pool.out_dir), self.threads, self.gpu_ids,
                                           self.control)
        self.placing[self.actors[w].ready.remote()] = w

    def on_stop(self) -> None:
        from ray.exceptions import RayError
        with contextlib.suppress(RayError):
            self.control.stop.remote()

    def hand_out(self) -> bool:
        """A chunk to every idle actor; False once nothing runs and nothing more can start."""
        while self.idle and self.todo and not self.stopping:
            w = self.idle.pop(0)
            chunk = self.todo.popleft()
            self.running[self.actors[w].render.remote(chunk)] = (w, list(chunk))
        return bool(self.running) or bool(self.todo and not self.stopping and self.placing)

    def wait_once(self) -> None:
        ready, _ = self.ray.wait(list(self.running) + list(self.placing), num_returns=1, timeout=0.5)
        if not ready:
            self.warn_if_stuck()
            return
        self.last_progress = time.monotonic()
        for ref in ready:
            if ref in self.placing:
                self.placed(ref)
            else:
                self.next_result(ref)

    def warn_if_stuck(self) -> None:
        """Once, after 2 minutes without progress and nothing running: Ray cannot place the actors."""
        if self.running or self.warned or time.monotonic() - self.last_progress <= 120:
            return
        self.warned = True
        msg = (f"waiting for Ray to place {len(self.placing)} actor(s) needing {self.cpus:g} CPU "
               f"and {self.gpus} GPU each")
        self.pool._log(msg)
        print(f"warning: {msg}; see `ray status`", file=sys.stderr, flush=True)

    def placed(self, ref) -> None:
        from ray.exceptions import RayActorError
        w = self.placing.pop(ref)
        try:
            self.pool.pids[w] = self.ray.get(ref)
            self.idle.append(w)
        except RayActorError as e:
            self.pool._log(f"worker {w} died while starting: {str(e).splitlines()[0]}")
            self.replace(w, e)

    def next_result(self, gen) -> None:
        """The next ``(kind, frame, payload)`` of a chunk, its end, or its actor's death."""
        from ray.exceptions import RayActorError
        w, left = self.running[gen]
        try:
            kind, frame, payload = self.ray.get(next(gen))
        except StopIteration:
            del self.running[gen]
            if left and not self.stopping:   # pragma: no cover - only after errors
                self.todo.appendleft(left)
            self.idle.append(w)
            return
        except RayActorError as e:
            del self.running[gen]
            self.lost(w, left, e)
            self.replace(w, e)
            return
        if kind == "ready":
            self.pool.pids[w] = payload
            return
        if frame is not None and kind != INPUT_ERROR:
            left.remove(frame)
        self.settle(kind, frame, payload, w)

    def lost(self, w: int, left: list, err) -> None:
        """An actor died: its unreported frames go back to the queue (or fail after ``retries``)."""
        pid = self.pool.pids.pop(w, None)
        why = f"Ray worker {w} died: {str(err).splitlines()[0]}"
        again = []
        for f in left:
            self.attempts[f] += 1
            if self.attempts[f] <= self.pool.retries and not self.stopping:
                again.append(f)
                self.res.retried.append(f)
            elif not self.stopping:
                self.res.failed[f] = why + f" ({self.attempts[f]} times)"
        if again:
            self.todo.appendleft(again)
        self.pool._log(f"worker {w} (pid {pid}) died; re-queued frames {again}; "
                       f"a new actor replaces it. {str(err).splitlines()[0]}")

    def replace(self, w: int, err) -> None:
        pool = self.pool
        if pool.replaced >= self.max_replacements:
            self.res.failed[-1 - w] = (f"Ray worker {w} died and {self.max_replacements} replacements died too: "
                                       f"{str(err).splitlines()[0]}")
            self.halt(interrupted=False)
            return
        pool.replaced += 1
        with contextlib.suppress(Exception):
            self.ray.kill(self.actors[w])
        if self.todo and not self.stopping:
            self.start_actor(w)

    def shutdown(self) -> None:
        for a in self.actors.values():
            with contextlib.suppress(Exception):
                self.ray.kill(a)
        with contextlib.suppress(Exception):
            self.ray.kill(self.control)
