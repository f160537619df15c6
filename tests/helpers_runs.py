"""Helpers for tests that watch a render run from outside (a CLI subprocess writing into a folder)."""
from __future__ import annotations

import os
import shutil
import subprocess
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


def can_mount_tmpfs(path: Path) -> bool:
    """Whether a small tmpfs can be mounted at ``path`` here (root with ``mount``): a real full disk."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(path)], capture_output=True)
    return ok
