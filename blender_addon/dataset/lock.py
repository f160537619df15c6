"""The output folder's lock: one run writes into a folder at a time (no bpy).

``DIR/.synthblend.lock`` is ``flock``-ed by the run's main process for the whole run and names the
holder (pid, host, config identity, whether it is a shard). A second run into the folder is refused
(exit 2, naming the holder) while the first is alive; the lock of a process that died is free again
(the kernel drops a dead process's flock), so it is taken over. Shards of one run (``--shard K/N``,
started separately, possibly at once) share it: a shard takes the lock shared when the holder is a shard
of the same config identity. A run that is not a shard, or a shard of another config, needs it alone.
The last holder removes the file. Readers (export, preview, stats, verify) take no lock: the writer moves
a frame's meta into place last, so they see complete frames only.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import platform
import time
from pathlib import Path

from ..core.errors import InputError

LOCK_FILE = ".synthblend.lock"
SHARD_WAIT_S = 3.0      # how long a shard waits for another shard of its run to finish taking the lock


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (its last holder removes it on release)."""
    try:
        a, b = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _read(fd: int) -> dict:
    try:
        rec = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


class FolderLock:
    """``FolderLock(DIR, identity, shard).acquire()`` ... ``release()`` (also a context manager)."""

    def __init__(self, out, identity: str, shard: bool = False):
        self.path = Path(out) / LOCK_FILE
        self.identity, self.shard = identity, bool(shard)
        self.fd: int | None = None

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise InputError(str(self.path), "is a symbolic link; synthblend writes only real files "
                                                 "inside the output folder") from None
            raise InputError(str(self.path), f"cannot create the lock file: {e.strerror or e}") from None

    def _refuse(self, rec: dict):
        who = f"pid {rec.get('pid', '?')} on {rec.get('host', '?')}"
        kind = "a shard of the same config" if rec.get("identity") == self.identity and rec.get("shard") else \
            ("a run of the same config" if rec.get("identity") == self.identity else "a run of another config")
        raise InputError(str(self.path.parent), f"another synthblend run is writing into this folder ({kind}, "
                                                f"{who}); wait for it to end or choose another folder"
                                                + ("" if self.shard else " (only --shard runs of one config "
                                                   "share a folder)"))

    def _mine(self, rec: dict) -> bool:
        return self.shard and rec.get("identity") == self.identity and rec.get("shard") is True

    def _attempt(self, fd: int) -> bool | None:
        """One try: True (held), False (refused: raise), None (try again: the file was replaced, or a shard
        of this run is writing its record)."""
        if _try_flock(fd, fcntl.LOCK_EX):
            if not _same_file(fd, self.path):
                return None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": platform.node(), "identity": self.identity,
                                      "shard": self.shard, "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode(), 0)
            if not self.shard:
                return True
            # let the other shards of this run in; whoever holds it after that must be one of them
            if not _try_flock(fd, fcntl.LOCK_SH):
                return False
            return self._mine(_read(fd)) or False
        if not self.shard:
            return False
        if not _try_flock(fd, fcntl.LOCK_SH):
            return None                 # held alone: a shard of this run writing its record, or another run
        if not _same_file(fd, self.path):
            return None
        return self._mine(_read(fd))

    def acquire(self) -> FolderLock:
        deadline = time.monotonic() + SHARD_WAIT_S
        while True:
            fd = self._open()
            try:
                got = self._attempt(fd)
            except BaseException:
                os.close(fd)
                raise
            if got:
                self.fd = fd
                return self
            rec = _read(fd)
            os.close(fd)
            if got is False or time.monotonic() > deadline:
                self._refuse(rec)
            time.sleep(0.05)

    def release(self) -> None:
        """Unlock; the last holder removes the file. Never raises."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            if _try_flock(fd, fcntl.LOCK_EX) and _same_file(fd, self.path):
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __del__(self):        # a run object dropped without release() frees the folder anyway
        self.release()

    def __enter__(self) -> FolderLock:
        return self.acquire() if self.fd is None else self

    def __exit__(self, *exc) -> None:
        self.release()
