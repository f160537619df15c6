"""Before any frame is rendered: validate, decide the frames, prepare the output folder, write the manifest.

Shared by every way of running (``synthblend render``, a sweep, the in-Blender run), so that one config
and seed give one dataset whichever renders it. The folder rules (resume / overwrite / refuse, stale
temporaries) are :mod:`synthblend.dataset.outdir`'s.
"""
from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from .. import __version__
from ..core.config import Config
from ..core.errors import ConfigErrors, InputError
from ..core.schema import MAX_FRAMES
from ..dataset.writer import DatasetWriter


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'K/N' -> (K, N) with 0 <= K < N."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise InputError("--shard", f"expected K/N such as 0/4, got {text!r}") from None
    if n < 1 or not 0 <= k < n:
        raise InputError("--shard", f"need 0 <= K < N, got {text!r}")
    return k, n


def check_assets(config: Config) -> None:
    """Load every mesh once (catches corrupt, empty and unreadable files before rendering);
    all problems at once, each as ``file:line: scene.objects[i].mesh: what``."""
    errors = config.asset_errors()
    if errors:
        raise ConfigErrors(errors)


def blender_version() -> str:
    """Version of the Blender that renders: the running one inside Blender, else the bpy wheel's."""
    bpy = sys.modules.get("bpy")
    if bpy is not None and hasattr(bpy, "app"):
        return bpy.app.version_string
    try:
        return importlib.metadata.version("bpy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def plan(config: Config, out_dir, frames=None, seed=None, shard=None, resume=False, overwrite=False):
    """Validate everything and decide the frames to render; returns (config, todo, requested)."""
    from ..dataset.outdir import prepare

    overrides = {}
    if frames is not None:
        if not 1 <= int(frames) <= MAX_FRAMES:
            raise InputError("--frames", f"must be between 1 and {MAX_FRAMES}, got {frames}")
        overrides["frames"] = int(frames)
    if seed is not None:
        overrides["seed"] = int(seed)
    if overrides:
        config = config.with_values(**overrides)
    check_assets(config)
    shard = parse_shard(shard) if isinstance(shard, str) or shard is None else shard
    requested = list(range(config.frames))
    if shard:
        k, n = shard
        requested = [i for i in requested if i % n == k]
    todo = prepare(Path(out_dir), config, requested, resume, overwrite)
    return config, todo, requested


def write_manifest(config: Config, out_dir) -> None:
    from ..dataset.meta import manifest
    writer = DatasetWriter(Path(out_dir))
    writer.write_manifest(manifest(config, blender_version(), __version__))


def make_out_dir(config: Config, out: Path, todo) -> bool:
    """Create ``out`` (bad input when that fails), remove the temporaries a killed run left for the
    frames in ``todo``, write ``dataset.json``. Returns whether the folder is new."""
    from ..dataset.outdir import remove_stale_temporaries

    fresh = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(str(out), f"cannot create the output folder: {e.strerror or e}") from None
    remove_stale_temporaries(out, todo)      # left by a run that was killed mid-write
    write_manifest(config, out)
    return fresh
