"""Shared plumbing of the exporters, preview and stats: input checks and output folders."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.errors import InputError
from .reader import Dataset, Frame, open_dataset


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
