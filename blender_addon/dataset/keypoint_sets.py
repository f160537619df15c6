"""Which keypoints a dataset's objects carry, for the exporters (YOLO pose, COCO keypoints).

A frame's meta lists, per object whose config entry has ``keypoints``, the points in the entry's order:
``{name, xyz_cam, uv, visibility}`` with ``uv`` in pixels (pixel ``(u, v)`` centred at ``(u, v)``) and
``visibility`` 0 (outside the image, behind the camera or clipped), 1 (inside the image but hidden by
a surface, the object's own included), 2 (visible); see ``core/groundtruth3d.py``. This module adds
what the resolved config in ``dataset.json`` says of each entry: its keypoint names, the pairs that
swap in a mirrored image (``keypoint_flip``) and the skeleton's edges (``skeleton``), as 0-based
indices into the meta order. ``dataset.json`` may hold a keypoint mapping with its keys sorted, so
names are matched as a set and pairs resolved against the meta object's order (the config's). An
object is tied to its entry by its meta name (``<category>_<entry>_<k>``), checked against the entry's
category and keypoint names; objects that match no entry (a dataset without a config, such as the
tests' synthetic ones) keep their meta's names, no swaps and no skeleton.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import InputError
from ..core.schema_parsers import keypoint_pair_indices

_NAME = re.compile(r"_(\d+)_(\d+)$")


@dataclass(frozen=True)
class EntryKeypoints:
    """The keypoints of one ``scene.objects`` entry, in meta order (``entry`` None: known from meta
    only). ``flip`` None: the entry gives no ``keypoint_flip``."""

    entry: int | None
    category: str | None
    names: tuple[str, ...]
    flip: tuple[tuple[int, int], ...] | None
    skeleton: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ConfigEntry:
    """An entry with keypoints as ``dataset.json`` holds it (a mapping's keys may be sorted there:
    names are matched as a set and the pairs resolved against a meta object's order)."""

    entry: int
    category: str | None
    names: frozenset
    count: int
    flip: list | None
    skeleton: list | None


def _names(raw) -> list[str]:
    if isinstance(raw, dict):
        return [str(k) for k in raw]
    return [str(i) for i in range(len(raw or []))]


def config_entries(manifest: dict) -> list[ConfigEntry | None]:
    """One item per ``scene.objects`` entry of the manifest's config (None: no keypoints)."""
    objs = (((manifest.get("config") or {}).get("scene") or {}).get("objects")) or []
    out: list[ConfigEntry | None] = []
    for i, o in enumerate(objs):
        if not isinstance(o, dict) or not o.get("keypoints"):
            out.append(None)
            continue
        names = _names(o["keypoints"])
        out.append(ConfigEntry(i, o.get("category"), frozenset(names), len(names),
                               o.get("keypoint_flip"), o.get("skeleton")))
    return out


def entry_of(o: dict, entries: list[ConfigEntry | None], where: str) -> EntryKeypoints | None:
    """The keypoints of a meta object (None: it has none), with its entry's pairs where its meta
    name, category and keypoint names tie it to one; InputError on pairs naming no keypoint."""
    kps = o.get("keypoints")
    if not kps:
        return None
    names = tuple(str(k.get("name")) for k in kps)
    m = _NAME.search(str(o.get("name", "")))
    e = entries[int(m.group(1))] if m and int(m.group(1)) < len(entries) else None
    if e is None or e.category != o.get("category") or e.names != frozenset(names):
        return EntryKeypoints(None, o.get("category"), names, None, ())
    try:
        flip = tuple(keypoint_pair_indices(e.flip, names, swap=True)) if e.flip else None
        skeleton = tuple(keypoint_pair_indices(e.skeleton, names))
    except ValueError as err:
        raise InputError(where, f"config scene.objects[{e.entry}]: {err}") from None
    return EntryKeypoints(e.entry, e.category, names, flip, skeleton)


def flip_index(entries: list[EntryKeypoints], n: int, where: str) -> list[int]:
    """Ultralytics' ``flip_idx`` over ``n`` keypoint slots: for each slot, the slot it moves to in a
    mirrored image. Entries that give ``keypoint_flip`` must agree on every slot they have (unpaired
    = itself); entries without it follow the others. InputError on a disagreement."""
    idx = list(range(n))
    owner: dict[int, int | None] = {}
    for e in entries:
        if e.flip is None:
            continue
        mine = list(range(len(e.names)))
        for i, j in e.flip:
            mine[i], mine[j] = j, i
        for k, t in enumerate(mine):
            if k in owner and idx[k] != t:
                raise InputError(where, f"config scene.objects[{e.entry}].keypoint_flip moves keypoint {k} "
                                        f"to {t}, scene.objects[{owner[k]}].keypoint_flip to {idx[k]}; "
                                        "YOLO pose takes one flip_idx for all classes")
            idx[k], owner[k] = t, e.entry
    return idx


def visible_uv(kp: dict) -> tuple[float, float, int]:
    """``(u, v, visibility)`` of one meta keypoint; ``(0, 0, 0)`` when it is not in the image."""
    vis = int(kp.get("visibility") or 0)
    if vis <= 0:
        return 0.0, 0.0, 0
    u, v = kp["uv"]
    return float(u), float(v), vis
