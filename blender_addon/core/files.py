"""Reading user files without hanging or filling memory: only regular files are read (a device such as
``/dev/zero``, a FIFO or a socket would block or stream forever), and a file's size is checked against
a limit before a byte is read. The limits' environment overrides are read here too (README, "Limits").
"""
from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from .errors import InputError

MiB = 1024 * 1024
MAX_CONFIG_MB = 16          # a config or sweep file; SYNTHBLEND_MAX_CONFIG_MB overrides it

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def env_limit(name: str, default: float) -> float:
    """The limit in environment variable ``name`` (a positive number), else ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError("", f"{name}: expected a positive number, got {text!r}")   # where: the variable
    return value


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def regular_file_size(path) -> int:
    """Size in bytes of ``path`` (symlinks followed), which must be a regular file. Raises InputError
    (where = the path) saying what it is instead."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except (OSError, ValueError) as e:
        raise InputError(str(path), f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(str(path), f"not a regular file ({_kind(st.st_mode)})")
    return st.st_size


def check_size(path, size: int, limit_mb: float, env: str, what: str) -> None:
    """Refuse a file of ``size`` bytes over ``limit_mb`` MiB, naming the limit and its override."""
    if size > limit_mb * MiB:
        raise InputError(str(path), f"{what} is {size / MiB:.1f} MB, over the limit of {limit_mb:g} MB "
                                    f"(set {env} to raise it)")


def read_regular(path, limit_mb: float, env: str, what: str = "the file") -> bytes:
    """The bytes of regular file ``path`` if it holds at most ``limit_mb`` MiB. The file is opened
    non-blocking and checked again through its descriptor, so a file swapped for a FIFO or a device
    between the check and the read cannot hang the read; at most the limit + 1 bytes are read."""
    check_size(path, regular_file_size(path), limit_mb, env, what)
    limit = int(limit_mb * MiB)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(str(path), f"cannot read: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(str(path), f"not a regular file ({_kind(mode)})")
        data = f.read(limit + 1)
    check_size(path, len(data), limit_mb, env, what)
    return data


def read_config_text(path: Path) -> str:
    """A config or sweep file's text (UTF-8, newlines as ``Path.read_text`` gives them)."""
    data = read_regular(path, env_limit("SYNTHBLEND_MAX_CONFIG_MB", MAX_CONFIG_MB), "SYNTHBLEND_MAX_CONFIG_MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"cannot read: {e}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
