"""``--backend ray``: frames rendered by long-lived Ray actors (``pip install "synthblend[ray]"``).

Each actor is one worker process with its own bpy: it builds the scene once (:class:`FrameRenderer`)
and keeps it between tasks. The driver (this process) hands out chunks of consecutive frames, one
chunk at a time per actor; a chunk is a Ray *streaming generator* task that yields one result per
frame, so progress and errors reach the driver frame by frame.

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
import traceback
from pathlib import Path

from .core.errors import InputError
from .runners import RunResult, default_threads


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--backend", 'ray is not installed; pip install "synthblend[ray]" '
                                      "(or use --backend local)")
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
        raise InputError("--ray-address", f"cannot reach a Ray cluster at {address}: {e.strerror or e}")


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
        raise InputError(where, f"cannot start or reach a Ray runtime: {str(e).splitlines()[0]}")
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
        self.renderer = None
        self.init_error = None
        self.pid = os.getpid()
        signal.signal(signal.SIGINT, signal.SIG_IGN) if threading.current_thread() is threading.main_thread() else None
        log = Path(out_dir) / "logs" / f"ray-{socket.gethostname()}-{self.pid}.log"
        from .runners import claim_cpus, redirect_output
        try:
            redirect_output(log)              # Blender's chatter to the actor's log, as in LocalPool
        except OSError:
            pass
        cpus = claim_cpus(threads)              # before bpy is imported: see claim_cpus
        print(f"synthblend ray worker: {threads} thread(s)"
              + (f", pinned to CPUs {cpus}" if cpus else ", not pinned"), flush=True)
        try:
            from .engine.worker import FrameRenderer
            self.renderer = FrameRenderer(config, out_dir, threads=threads, gpu_ids=gpu_ids)
        except InputError as e:
            self.init_error = ("input_error", str(e))
        except Exception:  # noqa: BLE001 - reported to the driver, not a dead actor
            self.init_error = ("fatal", traceback.format_exc())

    def ready(self):
        """The actor's pid once it is placed and its scene is built (or its build failed)."""
        return self.pid

    def render(self, frames):
        """Yield ``(kind, frame, payload)`` per frame: ("ready", None, pid) first, then "done" with the
        stage timings, or "error" / "oserror" / "input_error" / "fatal"."""
        import ray

        yield ("ready", None, self.pid)
        if self.init_error:
            yield (self.init_error[0], None, self.init_error[1])
            return
        for frame in frames:
            if ray.get(self.control.is_stopped.remote()):
                return
            try:
                yield ("done", frame, self.renderer.render_frame(frame))
            except InputError as e:
                yield ("input_error", frame, str(e))
                return
            except OSError as e:
                yield ("oserror", frame, f"{e.strerror or e} ({getattr(e, 'filename', '')})")
                return
            except Exception:  # noqa: BLE001
                print(traceback.format_exc(), flush=True)
                yield ("error", frame, traceback.format_exc())


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
        res = RunResult()
        if not frames:
            return res
        with ray_runtime(self.address, None) as ray:
            return self._run(ray, list(frames), on_frame, res)

    def _run(self, ray, frames, on_frame, res: RunResult) -> RunResult:
        from ray.exceptions import RayActorError, RayError

        threads, cpus, gpus = self._resources(ray)
        Actor = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=0)(_RenderActor)
        control = ray.remote(num_cpus=0)(_Control).remote()
        n = min(self.workers, len(frames))
        size = self.chunk or default_chunk(len(frames), n)
        todo = collections.deque(frames[i:i + size] for i in range(0, len(frames), size))
        attempts: dict[int, int] = collections.defaultdict(int)
        gpu_ids = None if gpus else self.gpu_ids     # Ray sets CUDA_VISIBLE_DEVICES per actor
        max_replacements = 2 * n + self.retries
        actors: dict[int, object] = {}
        placing: dict = {}                    # ready() ref -> slot: actors being placed and built
        running: dict = {}                    # generator -> (slot, frames of its chunk not yet reported)
        idle: list[int] = []
        stopping = {"flag": False}

        def start_actor(w):
            actors[w] = Actor.remote(self.config, str(self.out_dir), threads, gpu_ids, control)
            placing[actors[w].ready.remote()] = w

        def stop():
            if not stopping["flag"]:
                stopping["flag"] = True
                res.interrupted = True
                todo.clear()
                with contextlib.suppress(RayError):
                    control.stop.remote()

        def replace(w, err):
            if self.replaced >= max_replacements:
                res.failed[-1 - w] = (f"Ray worker {w} died and {max_replacements} replacements died too: "
                                      f"{str(err).splitlines()[0]}")
                stop()
                res.interrupted = False
                return
            self.replaced += 1
            with contextlib.suppress(Exception):
                ray.kill(actors[w])
            if todo and not stopping["flag"]:
                start_actor(w)

        for w in range(n):
            start_actor(w)
        self._log(f"start: {len(frames)} frame(s) in chunks of {size}, {n} actor(s) x {threads} thread(s) "
                  f"({cpus:g} CPU, {gpus} GPU reserved each), ray {ray.__version__}, "
                  f"cluster CPUs {ray.cluster_resources().get('CPU')}")
        old = {}
        if threading.current_thread() is threading.main_thread():
            old = {s: signal.signal(s, lambda *a: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.perf_counter()
        last_progress = time.monotonic()
        warned = False
        try:
            while True:
                while idle and todo and not stopping["flag"]:
                    w = idle.pop(0)
                    chunk = todo.popleft()
                    running[actors[w].render.remote(chunk)] = (w, list(chunk))
                if not running and (not todo or stopping["flag"] or not placing):
                    break
                ready, _ = ray.wait(list(running) + list(placing), num_returns=1, timeout=0.5)
                if not ready:
                    if not running and time.monotonic() - last_progress > 120 and not warned:
                        warned = True
                        msg = (f"waiting for Ray to place {len(placing)} actor(s) needing {cpus:g} CPU "
                               f"and {gpus} GPU each")
                        self._log(msg)
                        print(f"warning: {msg}; see `ray status`", file=sys.stderr, flush=True)
                    continue
                last_progress = time.monotonic()
                for ref in ready:
                    if ref in placing:
                        w = placing.pop(ref)
                        try:
                            self.pids[w] = ray.get(ref)
                            idle.append(w)
                        except RayActorError as e:
                            self._log(f"worker {w} died while starting: {str(e).splitlines()[0]}")
                            replace(w, e)
                        continue
                    gen = ref
                    w, left = running[gen]
                    try:
                        kind, frame, payload = ray.get(next(gen))
                    except StopIteration:
                        del running[gen]
                        if left and not stopping["flag"]:   # pragma: no cover - only after errors
                            todo.appendleft(left)
                        idle.append(w)
                        continue
                    except RayActorError as e:
                        del running[gen]
                        self._lost(w, left, e, todo, attempts, res, stopping["flag"])
                        replace(w, e)
                        continue
                    if kind == "ready":
                        self.pids[w] = payload
                    elif kind == "done":
                        left.remove(frame)
                        res.record_done(frame, payload, on_frame)
                    elif kind == "input_error":
                        res.input_error = payload
                        stop()
                        res.interrupted = False
                    else:                         # error, oserror, fatal
                        if frame is not None:
                            left.remove(frame)
                        res.failed[frame if frame is not None else -1 - w] = payload
                        if kind == "oserror" and getattr(res, "os_error", None) is None:
                            res.os_error = payload
                        if kind in ("fatal", "oserror"):
                            was = res.interrupted
                            stop()
                            res.interrupted = was
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for a in actors.values():
                with contextlib.suppress(Exception):
                    ray.kill(a)
            with contextlib.suppress(Exception):
                ray.kill(control)
        res.wall_seconds = time.perf_counter() - t0
        self._log(f"end: {len(res.done)} done, {len(res.failed)} failed, {len(res.retried)} retried, "
                  f"{self.replaced} actor(s) replaced, interrupted={res.interrupted}, "
                  f"{res.wall_seconds:.1f} s")
        return res

    def _log(self, text: str) -> None:
        """One line in ``DIR/logs/ray-driver.log`` (deaths, retries, start and end of each run)."""
        try:
            log = self.out_dir / "logs" / "ray-driver.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")
        except OSError:
            pass

    def _lost(self, w, left, err, todo, attempts, res, stopping) -> None:
        """An actor died: its unreported frames go back to the queue (or fail after ``retries``)."""
        pid = self.pids.pop(w, None)
        why = f"Ray worker {w} died: {str(err).splitlines()[0]}"
        again = []
        for f in left:
            attempts[f] += 1
            if attempts[f] <= self.retries and not stopping:
                again.append(f)
                res.retried.append(f)
            elif not stopping:
                res.failed[f] = why + f" ({attempts[f]} times)"
        if again:
            todo.appendleft(again)
        self._log(f"worker {w} (pid {pid}) died; re-queued frames {again}; "
                  f"a new actor replaces it. {str(err).splitlines()[0]}")
