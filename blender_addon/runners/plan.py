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
    all problems at once, each as ``file:line: scene.objects[i].mesh: what``. Then print the
    warnings (``core/asset_warnings.py``) to stderr."""
    from ..core.features.lens import config_errors as lens_errors

    errors = config.asset_errors() + lens_errors(config)   # + a lens distortion folding over the image
    if errors:
        raise ConfigErrors(errors)
    from ..core.asset_warnings import asset_warnings
    for w in asset_warnings(config):   # below the ground, missing .mtl / texture (docs/assets.md)
        print(w, file=sys.stderr)


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
    requested = range(config.frames)          # lazy: planning 10,000,000 frames builds no list of them
    if shard:
        from ..core.scenes import shard_frames
        k, n = shard
        requested = shard_frames(config, k, n)    # whole scenes with scene.views / sequence
    todo = prepare(Path(out_dir), config, requested, resume, overwrite)   # checks only: nothing is written
    return config, todo, requested


def write_manifest(config: Config, out_dir) -> None:
    from ..dataset.meta import manifest
    writer = DatasetWriter(Path(out_dir))
    man = manifest(config, blender_version(), __version__)
    man["asset_hashes"] = config.asset_hashes()      # what --resume compares (dataset/outdir.py)
    writer.write_manifest(man)


def make_out_dir(config: Config, out: Path, requested, resume=False, overwrite=False, shard=False):
    """Create ``out`` (bad input when that fails) and lock it for this run (``dataset/lock.py``; shards of
    one config share it); decide again under the lock (another run may have written there since
    :func:`plan`), remove what that decision says (``outdir.apply``) and the temporaries a killed run left
    for the frames to render; write ``dataset.json``. Returns ``(fresh, todo, lock)``: whether the folder
    is new, the frames to render, and the lock, which the caller releases when the run ends."""
    from ..dataset.lock import FolderLock
    from ..dataset.outdir import apply, prepare, remove_stale_temporaries

    fresh = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(str(out), f"cannot create the output folder: {e.strerror or e}") from None
    lock = FolderLock(out, config.identity(), shard=bool(shard)).acquire()
    try:
        todo = prepare(out, config, requested, resume, overwrite)
        apply(out, todo)
        remove_stale_temporaries(out, todo)      # left by a run that was killed mid-write
        write_manifest(config, out)
    except BaseException:
        lock.release()
        raise
    return fresh, todo, lock
