"""Helpers for tests that watch a render run from outside (a CLI subprocess writing into a folder)."""
from __future__ import annotations

import time
from pathlib import Path


def n_meta(ds: Path) -> int:
    """Frames written so far: ``meta/*.json`` (a frame's meta is written last, atomically)."""
    d = Path(ds) / "meta"
    return len([p for p in d.iterdir() if p.suffix == ".json"]) if d.is_dir() else 0


def wait_for(cond, timeout: float = 120.0, step: float = 0.02) -> bool:
    """Poll ``cond()`` every ``step`` seconds until it is true (returns True); TimeoutError after ``timeout``."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"condition not met within {timeout:g} s")
        time.sleep(step)
    return True
