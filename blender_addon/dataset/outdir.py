"""Deciding what to do with an output folder before anything is rendered (no bpy).

Rules (``synthblend render``):

* a path that is a file, or a non-empty folder that holds no synthblend dataset: refused (exit 2);
* a dataset made from a different config (``config_identity`` differs): refused unless ``--overwrite``;
* the same config: frames already complete are kept with ``--resume``, re-rendered with
  ``--overwrite`` (which also removes frames past the new frame count), and otherwise refused (so a
  typo never silently replaces data);
* shards of one run (``--shard K/N``) write disjoint frames into one folder, no flag needed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ..core.errors import InputError
from ..core.outputs import FILE_OUTPUTS
from . import layout

#: every folder a dataset's own files live in (from the output table, core/outputs.py)
OWNED = layout.OWNED_DIRS


def read_manifest(out: Path) -> dict | None:
    p = out / layout.MANIFEST
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise InputError(str(p), f"existing dataset.json is unreadable ({e}); pass --overwrite to replace it") from None


def complete_frames(out: Path) -> set[int]:
    d = out / "meta"
    if not d.is_dir():
        return set()
    done = set()
    for p in d.iterdir():
        if p.suffix == ".json" and p.stem.isdigit():
            done.add(int(p.stem))
    return done


def prepare(out: Path, config, frames: list[int], resume: bool, overwrite: bool) -> list[int]:
    """Check ``out`` against the rules above; return the frames still to render. Changes nothing
    on disk unless ``overwrite`` (then it removes the frames it will re-render)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "output path exists and is not a folder")
    if not out.exists():
        parent = out.resolve().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(str(out), f"cannot create the output folder: {parent} is a file")
        if not os.access(parent, os.W_OK):
            raise InputError(str(out), f"cannot create the output folder: {parent} is not writable")
        return list(frames)
    if not os.access(out, os.W_OK):
        raise InputError(str(out), "output folder is not writable")
    man = read_manifest(out)
    if man is None:
        entries = [p for p in out.iterdir() if p.name != "logs"]
        if entries and not overwrite:
            raise InputError(str(out), "folder is not empty and holds no synthblend dataset; "
                                       "choose an empty or new folder (or pass --overwrite)")
        return list(frames)
    same = man.get("config_identity") == config.identity()
    done = complete_frames(out)
    if not same:
        if not overwrite:
            raise InputError(str(out), "holds a dataset made from a different config; "
                                       "choose another folder or pass --overwrite to replace it")
        wipe(out)
        return list(frames)
    if overwrite:
        # the frames this run renders, and those past its frame count (no shard of it renders them)
        for i in sorted(set(frames) | {i for i in done if i >= config.frames}):
            remove_frame(out, i)
        return list(frames)
    existing = [i for i in frames if i in done]
    if existing and not resume:
        raise InputError(str(out), f"{len(existing)} of the requested frames exist already; "
                                   "pass --resume to keep them and render the rest, or --overwrite")
    return [i for i in frames if i not in done]


def remove_frame(out: Path, i: int) -> None:
    """Remove frame ``i``'s files: ``<folder>/NNNNNN.*`` and ``<folder>/NNNNNN/`` of every frame folder."""
    stem = layout.frame_stem(i)
    for sub in layout.FRAME_DIRS:
        d = out / sub
        for p in d.glob(f"{stem}.*"):
            p.unlink()
        if (d / stem).is_dir():
            shutil.rmtree(d / stem)


def wipe(out: Path) -> None:
    """Remove a synthblend dataset's own files (never anything else in the folder)."""
    for sub in OWNED:
        shutil.rmtree(out / sub, ignore_errors=True)
    try:
        (out / layout.MANIFEST).unlink()
    except FileNotFoundError:
        pass


_TMP = re.compile(r"^\.(\d{6,})\.\w+\.\d+\.[0-9a-f]+\.tmp$")


def remove_stale_temporaries(out: Path, frames) -> int:
    """Remove temporary files a killed run left for ``frames`` (the writer's ``.NNNNNN.ext.PID.HEX.tmp``
    in the frame folders). Only frames this run will render: concurrent shards never share one."""
    todo = set(frames)
    folders = [Path(out) / sub for sub in layout.FRAME_DIRS]
    for o in FILE_OUTPUTS:                     # per-object outputs: <folder>/NNNNNN/ of the frames to render
        d = Path(out) / o.folder
        if o.per_object and d.is_dir():
            folders += [Path(e.path) for e in os.scandir(d)
                        if e.is_dir() and e.name.isdigit() and int(e.name) in todo]
    n = 0
    for d in folders:
        if not d.is_dir():
            continue
        for e in os.scandir(d):
            m = _TMP.match(e.name)
            if m and (int(m.group(1)) in todo or d.name.isdigit()):
                try:
                    os.unlink(e.path)
                    n += 1
                except OSError:
                    pass
    return n
