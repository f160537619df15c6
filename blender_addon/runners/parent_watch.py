"""A pool worker's way out when its parent (the runner's process) dies, even by SIGKILL: it must not keep
rendering into DIR, and it must not leave temporary files there.

Two ways, both Linux: a watchdog thread polling ``os.getppid()`` (:func:`watch_parent`), which also
works in the middle of a render (Cycles releases the GIL while it renders), and the kernel's
``PR_SET_PDEATHSIG`` SIGTERM (:func:`die_with_parent`), whose Python handler runs only between bytecodes
(after the render returns) and which fires when the *thread* that started the worker ends. Nothing here
imports bpy.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

PARENT_POLL_S = 0.1      # how often a worker's watchdog looks whether its parent is still there


def watch_parent(parent_pid: int, out_dir, in_flight: dict, period: float = PARENT_POLL_S) -> None:
    """Start a daemon thread that ends this worker once its parent is gone: it removes the temporary
    files of the frame in flight (``in_flight["frame"]``; only this worker renders that frame in this
    run) and calls ``os._exit`` (no Python cleanup that a render in C could hold up)."""
    import threading

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(period)
        frame = in_flight.get("frame")
        if frame is not None:
            with contextlib.suppress(Exception):   # exiting matters more than tidying up
                from ..dataset.outdir import remove_stale_temporaries
                remove_stale_temporaries(Path(out_dir), [frame])
        os._exit(143)

    threading.Thread(target=watch, name="synthblend-parent-watch", daemon=True).start()


def die_with_parent(parent_pid: int) -> None:
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
