"""Deciding what to do with an output folder before anything is rendered (no bpy).

Rules (``synthblend render``):

* a path that is a file, or a non-empty folder that holds no synthblend dataset: refused (exit 2);
* a symbolic link where the dataset's own files live (``rgb/``, ``meshes/``, ``logs/``, ``dataset.json``,
  ``amodal/NNNNNN``, ...): refused, so that nothing is ever written or removed outside the folder;
* a dataset made from a different config (``config_identity`` differs): refused unless ``--overwrite``;
* an asset file (mesh, image, HDRI, .blend) whose content changed since the dataset was rendered
  (``asset_hashes`` in dataset.json): refused unless ``--overwrite``, which then re-renders every frame;
* the same config: frames already complete are kept with ``--resume``, re-rendered with
  ``--overwrite`` (which also removes frames past the new frame count), and otherwise refused (so a
  typo never silently replaces data). A frame is complete when its meta is readable and every file it
  lists (``files``: relative path -> size in bytes, written last by the writer) is there with that size;
  ``--resume`` re-renders (repairs) any other frame that has a meta;
* shards of one run (``--shard K/N``) write disjoint frames into one folder, no flag needed.

:func:`prepare` only decides (nothing on disk changes); :func:`apply` removes what the decision says,
under the folder's lock (:mod:`synthblend.dataset.lock`).
"""
from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import InputError
from ..core.outputs import BY_NAME, FILE_OUTPUTS
from . import layout
from .lock import LOCK_FILE

#: every folder a dataset's own files live in (from the output table, core/outputs.py)
OWNED = layout.OWNED_DIRS
#: entries of an output folder that are not dataset content (a non-dataset folder holding only these is empty)
NOT_CONTENT = (layout.LOGS_DIR, LOCK_FILE)


class Frames(Sequence):
    """The frames a run renders: ``requested`` (a ``range``, or any sequence) less ``skip`` (frames
    complete on disk), without a list of every index (``--frames 10000000`` plans in constant memory).

    What :func:`apply` does to the folder first: ``wipe`` (another config's or changed assets' dataset),
    ``remove`` (frames to delete: re-rendered by ``--overwrite``, or ``repaired``: had a meta but a file
    missing, of another size, or an unreadable meta)."""

    def __init__(self, requested, skip=(), remove=(), repaired=(), wipe: bool = False):
        self.requested = requested
        self._skip = sorted(i for i in set(skip) if i in requested)
        self._skip_set = frozenset(self._skip)
        self._skip_pos = [requested.index(i) for i in self._skip] if isinstance(requested, range) else None
        self.remove = list(remove)
        self.repaired = list(repaired)
        self.wipe = wipe

    def __len__(self) -> int:
        return len(self.requested) - len(self._skip)

    def __iter__(self):
        skip = self._skip_set
        return (i for i in self.requested if i not in skip)

    def __contains__(self, i) -> bool:
        return i not in self._skip_set and i in self.requested

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        n = len(self)
        k = k + n if k < 0 else k
        if not 0 <= k < n:
            raise IndexError("frame index out of range")
        if self._skip_pos is None:
            return [i for i in self][k]
        pos = k            # the k-th position of the range not skipped: the fixed point of k + skipped <= pos
        while True:
            nxt = k + bisect.bisect_right(self._skip_pos, pos)
            if nxt == pos:
                return self.requested[pos]
            pos = nxt

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Frames({self.requested!r}, {len(self._skip)} skipped)"


def read_manifest(out: Path) -> dict | None:
    p = out / layout.MANIFEST
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise InputError(str(p), f"existing dataset.json is unreadable ({e}); pass --overwrite to replace it") from None


def check_no_links(out: Path) -> None:
    """Refuse a symbolic link where the tool writes or removes: every folder the dataset owns, ``logs/``
    and its files, ``dataset.json``, the lock, and the per-object folders (``amodal/NNNNNN``)."""
    for name in OWNED + (layout.LOGS_DIR, layout.MANIFEST, LOCK_FILE):
        if (out / name).is_symlink():
            _link_error(out / name)
    inside = [out / o.folder for o in FILE_OUTPUTS if o.per_object] + [out / layout.LOGS_DIR]
    for d in inside:
        if d.is_dir():
            for e in os.scandir(d):
                if e.is_symlink():
                    _link_error(Path(e.path))


def _link_error(p: Path):
    raise InputError(str(p), "is a symbolic link; synthblend writes and removes only real files and folders "
                             "inside the output folder (replace the link with a folder, or choose another --out)")


def frame_state(out: Path, i: int, outputs) -> bool:
    """Whether frame ``i`` is complete: meta readable, and every file it lists there with the recorded size
    (an older meta without ``files``: every per-frame file of ``outputs`` there). One stat per file."""
    try:
        meta = json.loads((out / layout.meta_path(i)).read_bytes())
    except (OSError, ValueError):
        return False
    files = meta.get("files") if isinstance(meta, dict) else None
    needed = {layout.output_path(o.name, i) for o in outputs if o.has_files and not o.per_object}
    if files is None and isinstance(meta, dict):
        files = dict.fromkeys(needed)
    if not isinstance(files, dict) or not needed <= files.keys():
        return False
    stem = layout.frame_stem(i)
    for rel, size in files.items():
        parts = str(rel).split("/")
        if parts[0] not in layout.FRAME_DIRS or ".." in parts or not parts[-1].startswith(stem):
            return False
        try:
            st = os.lstat(out / rel)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or (size is not None and st.st_size != size):
            return False
    return True


def complete_frames(out: Path, outputs=None, frames=None) -> tuple[set[int], list[int]]:
    """``(complete, broken)``: frames with a meta (only those that exist are listed) that
    :func:`frame_state` finds complete, and the others. ``frames``: check only these (a shard's)."""
    d = out / layout.META_DIR
    if not d.is_dir():
        return set(), []
    outputs = FILE_OUTPUTS if outputs is None else outputs
    done, broken = set(), []
    for e in os.scandir(d):
        i = layout.parse_meta_name(e.name)
        if i is None or (frames is not None and i not in frames):
            continue
        (done.add(i) if frame_state(out, i, outputs) else broken.append(i))
    return done, sorted(broken)


def changed_asset(man: dict, hashes: dict) -> tuple[str, str] | None:
    """``(file, what)`` of the first asset whose content differs from the dataset's ``asset_hashes``
    (a manifest without them, from an older version, is not checked)."""
    old = man.get("asset_hashes")
    if not isinstance(old, dict):
        return None
    for rel in sorted(set(old) | set(hashes)):
        if rel not in hashes:
            return rel, "is gone since this dataset was rendered"
        if rel not in old:
            return rel, "is new since this dataset was rendered (it changes what the frames draw from)"
        if old[rel] != hashes[rel]:
            return rel, "changed since this dataset was rendered (its sha256 differs from dataset.json's)"
    return None


def prepare(out: Path, config, frames, resume: bool, overwrite: bool) -> Frames:
    """Check ``out`` against the rules above; return the frames still to render, with what :func:`apply`
    removes first. Changes nothing on disk."""
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
        return Frames(frames)
    if not os.access(out, os.W_OK):
        raise InputError(str(out), "output folder is not writable")
    check_no_links(out)
    man = read_manifest(out)
    if man is None:
        entries = [p for p in out.iterdir() if p.name not in NOT_CONTENT]
        if entries and not overwrite:
            raise InputError(str(out), "folder is not empty and holds no synthblend dataset; "
                                       "choose an empty or new folder (or pass --overwrite)")
        return Frames(frames)
    if man.get("config_identity") != config.identity():
        if not overwrite:
            raise InputError(str(out), "holds a dataset made from a different config; "
                                       "choose another folder or pass --overwrite to replace it")
        return Frames(frames, wipe=True)
    changed = changed_asset(man, config.asset_hashes())
    if changed:
        if not overwrite:
            raise InputError(changed[0], f"{changed[1]} into {out}; restore it, or pass --overwrite to "
                                         "re-render every frame with it")
        return Frames(frames, wipe=True)
    if overwrite:
        # the frames this run renders, and those past its frame count (no shard of it renders them)
        return Frames(frames, remove=sorted(i for i in frames_on_disk(out)
                                            if i in frames or i >= config.frames))
    done, broken = complete_frames(out, [BY_NAME[n] for n in config.outputs], frames)
    if (done or broken) and not resume:
        raise InputError(str(out), f"{len(done) + len(broken)} of the requested frames exist already; "
                                   "pass --resume to keep them and render the rest, or --overwrite")
    return Frames(frames, skip=done, remove=broken, repaired=broken)


def apply(out: Path, todo: Frames) -> None:
    """Remove what :func:`prepare` decided (``wipe``, ``remove``); links are never followed."""
    if todo.wipe:
        wipe(out)
    remove_frames(out, set(todo.remove))


def _frame_of(name: str) -> int | None:
    """Frame index of a frame file or folder name (``000042.png``, ``000042``), None for anything else."""
    stem = name.split(".", 1)[0]
    if not stem.isdigit() or layout.frame_stem(int(stem)) != stem:
        return None
    return int(stem)


def frames_on_disk(out: Path) -> set[int]:
    """Indices of the frames with any file or folder in a frame folder (one listing per folder)."""
    found = set()
    for sub in layout.FRAME_DIRS:
        d = Path(out) / sub
        if d.is_dir() and not d.is_symlink():
            found.update(i for i in map(_frame_of, os.listdir(d)) if i is not None)
    return found


def _remove(p: str, is_dir: bool) -> None:
    """Remove one entry; a link is removed itself (never what it points to)."""
    if is_dir:
        shutil.rmtree(p)
    else:
        os.unlink(p)


def remove_frames(out: Path, frames) -> None:
    """Remove the files of ``frames``: ``<folder>/NNNNNN.*`` and ``<folder>/NNNNNN/`` of every frame
    folder, one listing per folder. A frame folder that is a link is left alone (prepare refuses it)."""
    if not frames:
        return
    for sub in layout.FRAME_DIRS:
        d = Path(out) / sub
        if d.is_symlink() or not d.is_dir():
            continue
        for e in os.scandir(d):
            i = _frame_of(e.name)
            if i is not None and i in frames:
                _remove(e.path, e.is_dir(follow_symlinks=False))


def remove_frame(out: Path, i: int) -> None:
    """Remove frame ``i``'s files: ``<folder>/NNNNNN.*`` and ``<folder>/NNNNNN/`` of every frame folder."""
    remove_frames(out, {int(i)})


def wipe(out: Path) -> None:
    """Remove a synthblend dataset's own files (never anything else in the folder, never through a link)."""
    for sub in OWNED:
        p = Path(out) / sub
        if p.is_symlink():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    try:
        (Path(out) / layout.MANIFEST).unlink()
    except FileNotFoundError:
        pass


_TMP = re.compile(r"^\.(\d{6,})\.\w+\.\d+\.[0-9a-f]+\.tmp$")


def remove_stale_temporaries(out: Path, frames) -> int:
    """Remove temporary files a killed run left for ``frames`` (the writer's ``.NNNNNN.ext.PID.HEX.tmp``
    in the frame folders). Only frames this run will render: concurrent shards never share one.
    Folders that are links are not entered."""
    todo = frames if isinstance(frames, (Frames, range, set, frozenset)) else set(frames)
    if not todo:
        return 0
    folders = [Path(out) / sub for sub in layout.FRAME_DIRS]
    for o in FILE_OUTPUTS:                     # per-object outputs: <folder>/NNNNNN/ of the frames to render
        d = Path(out) / o.folder
        if o.per_object and d.is_dir() and not d.is_symlink():
            folders += [Path(e.path) for e in os.scandir(d)
                        if e.is_dir(follow_symlinks=False) and e.name.isdigit() and int(e.name) in todo]
    n = 0
    for d in folders:
        if d.is_symlink() or not d.is_dir():
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
