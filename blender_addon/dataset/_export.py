"""Shared plumbing of the exporters, preview and stats: input checks and output folders.

Export folders follow the same rules as ``synthblend render``'s (``dataset/outdir.py``): an empty or
new folder is filled; a folder holding a previous export of the same format (its ``export.json``
says so) is replaced; anything else is refused (exit 2) unless ``overwrite``. Replacing removes only
what an export of that format writes (``exports.FORMATS[...].owns``: names, or patterns such as
``shard-*.tar``), never anything else.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.errors import InputError
from .reader import Dataset, Frame, open_dataset
from .writer import write_json

#: the mark an export leaves in its folder: format, source dataset, whether it finished
EXPORT_MARK = "export.json"


def open_input(dataset_dir) -> Dataset:
    """Open the dataset to export; InputError if it is missing, not a dataset, or has no frames."""
    ds = open_dataset(dataset_dir)
    if len(ds) == 0:
        raise InputError(str(ds.root), "the dataset has no complete frames yet")
    return ds


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def check_output_path(out, ds: Dataset, is_file: bool = False) -> Path:
    """Validate an output folder (or file, with ``is_file``) and create its folder.

    Refuses a path that is (or is inside) the input dataset, so the input is never written to,
    and a folder path that is an existing file.
    """
    out = Path(out)
    resolved = out.resolve()
    root = ds.root.resolve()
    if _inside(resolved, root):
        raise InputError(str(out), f"is inside the input dataset {ds.root}; choose another output")
    if is_file:
        if resolved.is_dir():
            raise InputError(str(out), "is a folder; expected an image file path")
        folder = out.parent
    else:
        if out.exists() and not out.is_dir():
            raise InputError(str(out), "exists and is not a folder")
        folder = out
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), "exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(str(folder), f"cannot create folder ({e.strerror or e})") from None
    return out


def checked(ds: Dataset, frames=None):
    """The frames of ``ds`` (or ``frames``), each checked as it comes (:meth:`Frame.check`: meta and
    every file's kind and size), so a damaged frame raises InputError naming its file."""
    for f in ds if frames is None else frames:
        f.check()
        yield f


def _previous_format(out: Path) -> str | None:
    """The format named by ``out``'s export mark, or None (no mark, or an unreadable one)."""
    import json

    try:
        mark = json.loads((out / EXPORT_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fmt = mark.get("format") if isinstance(mark, dict) else None
    return fmt if isinstance(fmt, str) else None


def _remove(out: Path, names, ds: Dataset) -> None:
    """Remove the entries ``names`` of ``out``; a name with ``*`` is a pattern (e.g. ``shard-*.tar``)."""
    root = ds.root.resolve()
    paths = [p for n in sorted(set(names)) for p in (sorted(out.glob(n)) if "*" in n else [out / n])]
    for p in paths:
        if p.exists() and _inside(root, p.resolve()):
            raise InputError(str(out), f"its {p.name} holds the input dataset {ds.root}; choose another output")
    for p in paths:
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)


def prepare_export(out_dir, ds: Dataset, fmt: str, overwrite: bool = False) -> Path:
    """Apply the export folder rules (module docstring) to ``out_dir`` for an export of format ``fmt``
    and mark it (``export.json``, ``complete: false`` until :func:`finish_export`)."""
    from .exports import BY_NAME

    out = check_output_path(out_dir, ds)
    if any(out.iterdir()):
        prev = _previous_format(out)
        if prev != fmt and not overwrite:
            what = (f"holds a {prev} export, not {fmt}" if prev else
                    f"is not empty and holds no {fmt} export")
            raise InputError(str(out), f"{what}; choose an empty or new folder, or pass --overwrite to replace it")
        owned = set(BY_NAME[fmt].owns) | {EXPORT_MARK}
        if prev in BY_NAME:
            owned |= set(BY_NAME[prev].owns)
        _remove(out, owned, ds)
    _mark(out, fmt, ds, complete=False)
    return out


def finish_export(out: Path, fmt: str, ds: Dataset) -> None:
    """Mark ``out`` as a complete export of ``fmt``."""
    _mark(out, fmt, ds, complete=True)


def _mark(out: Path, fmt: str, ds: Dataset, complete: bool) -> None:
    write_json(out / EXPORT_MARK, {"format": fmt, "dataset": str(ds.root.resolve()), "frames": len(ds),
                                   "complete": complete})


def need(frame: Frame, o: dict, key: str, command: str):
    """``o[key]`` of a meta object, InputError naming the meta file when it is missing."""
    if key not in o:
        raise InputError(str(frame.path("meta")), f"object {o.get('name')!r} has no {key} ({command} needs it)")
    return o[key]


def require(ds: Dataset, outputs: list[str], command: str) -> None:
    """InputError unless every frame has the files of ``outputs``."""
    for out in outputs:
        missing = [f.index for f in ds if not f.path(out).is_file()]
        if missing:
            raise InputError(str(ds.root), f"{command} needs the '{out}' output, missing for "
                             f"{len(missing)} frame(s) (e.g. frame {missing[0]}); render with "
                             f"render.outputs including {out}")


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() and os.path.samefile(src, dst):
        return
    shutil.copyfile(src, dst)


def labelled(frame: Frame) -> list[dict]:
    """The frame's objects of a labelled category (category_id > 0), in meta order."""
    return [o for o in frame.objects if int(o.get("category_id") or 0) > 0]
