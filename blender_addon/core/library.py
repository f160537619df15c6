"""Asset libraries (pure, no mesh loading): the assets a ``scene.objects`` entry picks from.

A library entry names many mesh files at once: ``mesh: <folder>`` (every file of a mesh format in
the folder and its sub-folders, hidden ones skipped), ``mesh: <glob>`` (``*``, ``?``, ``[...]``,
``**`` for any depth; every match must be a mesh file), or ``bop_models: <folder>`` (a BOP model set:
``models_info.json`` and ``obj_NNNNNN.ply`` in millimetres). The assets are listed once, when the
config is loaded, sorted by their path relative to the library's root (POSIX, byte order), so the
library's order - and with it every draw - is stable across machines and file systems.

Each :class:`LibraryAsset` has a ``key`` (unique within the entry, file-name safe: its relative path
without the extension, ``/`` and other unsafe characters as ``_``), its absolute ``path``, ``rel`` (the
path relative to the config's folder, POSIX; absolute where the file is outside that folder: meta's
``asset``), its ``category`` (``category:`` fixed, ``{from: folder}`` = the parent folder's name,
``{map: file}`` = a CSV/JSON/YAML mapping; default the file's stem), its ``weight`` (``weights:``
per asset or per category), ``bop_obj_id`` (BOP sets only) and ``scale`` (mesh units per meter factor
of the asset: 0.001 for BOP's millimetres, else 1; the entry's ``scale`` multiplies it).

Per frame, ``choose`` assets are drawn without replacement from stream ``scene.objects[i].choose``
(:func:`choose_assets`); the entry's poses stay on ``scene.objects[i]``, so a library that grows or
shrinks changes which assets appear but no other draw.
"""
from __future__ import annotations

import functools
import glob
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .files import read_config_text
from .library_maps import read_mapping

#: mesh formats a library picks up (trimesh loads them; see core/assets.py)
MESH_EXTS = (".ply", ".obj", ".stl", ".off", ".glb", ".gltf")
BOP_INFO = "models_info.json"
BOP_SCALE = 0.001          # BOP models are in millimetres
_GLOB = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LibraryAsset:
    """One asset of a library (see the module docstring)."""

    key: str
    path: Path
    rel: str
    category: str
    weight: float
    bop_obj_id: int | None
    scale: float


@dataclass(frozen=True)
class Library:
    """The assets of one library entry, in library order; ``kind``: folder | glob | bop."""

    kind: str
    root: Path
    assets: tuple
    skipped: int = 0           # files of a folder that are not meshes (textures, .mtl, ...)

    @functools.cached_property
    def by_key(self) -> dict:
        """``{key: LibraryAsset}``."""
        return {a.key: a for a in self.assets}

    @property
    def categories(self) -> list[str]:
        """Every category of the library, sorted (dataset.json lists them in this order)."""
        return sorted({a.category for a in self.assets})

    def describe(self) -> str:
        n = len(self.assets)
        skipped = f", {self.skipped} other file{'s' * (self.skipped != 1)} skipped" if self.skipped else ""
        nc = len(self.categories)
        return (f"{self.kind} library of {n} asset{'s' * (n != 1)} in {nc} categor{'y' if nc == 1 else 'ies'} "
                f"({self.root}{skipped})")


def is_library(data: dict) -> bool:
    """Whether an entry (resolved data) is a library: ``bop_models``, or ``mesh`` naming a folder or a
    glob (a path with ``*``, ``?`` or ``[``)."""
    if data.get("bop_models") is not None:
        return True
    mesh = data.get("mesh")
    return isinstance(mesh, str) and bool(_GLOB.search(mesh))


def is_library_entry(data: dict, parsed: dict) -> bool:
    """:func:`is_library`, or ``mesh`` naming an existing folder."""
    mesh = parsed.get("mesh")
    return is_library(data) or (isinstance(mesh, Path) and mesh.is_dir())


def library_of(config, entry: int) -> Library | None:
    """The library of ``scene.objects[entry]`` (listed at load), None for a single-mesh entry."""
    return config.parsed["scene"]["objects"][entry].get("library")


def max_instances_per_asset(config, entry: int) -> int:
    """How many instances of one asset a frame can hold: the largest ``count``."""
    return config.max_count(entry)


def max_instances(parsed: dict) -> int:
    """Largest number of instances an entry can put in one frame: choose x count for a library."""
    n = _largest(parsed.get("count"))
    if parsed.get("library") is not None:
        choose = parsed.get("choose")
        n *= _largest(choose) if choose is not None else 1
    return n


def _largest(d) -> int:
    if d is None:
        return 0
    vals = d.values()
    return int(max(vals) if vals is not None else d.bounds()[1])


def asset_file(config, o) -> Path | None:
    """The mesh file an ObjectSpec of a config entry (or a mesh distractor, ``entry`` None) is an
    instance of (absolute), None for a primitive."""
    if o.entry is None:
        lib = (config.parsed["scene"].get("distractors") or {}).get("library")
        return lib.by_key[o.asset_key].path if lib is not None and o.asset_key is not None else None
    p = config.parsed["scene"]["objects"][o.entry]
    lib = p.get("library")
    if lib is not None:
        return lib.by_key[o.asset_key].path
    return p.get("mesh")


def lib_asset(lib: Library, key: str) -> LibraryAsset:
    return lib.by_key[key]


# ------------------------------------------------------------------------------------ sampling


def choose_assets(lib: Library, choose, rng: np.random.Generator) -> tuple[int, list[LibraryAsset]]:
    """(n, the n assets) of one frame: n from ``choose`` (default 1), then n distinct assets drawn
    with probabilities proportional to their weights (each further pick among those left)."""
    n = 1 if choose is None else int(choose.sample(rng))
    w = np.array([a.weight for a in lib.assets], float)
    idx = rng.choice(len(w), size=n, replace=False, p=w / w.sum()) if n else []
    return n, [lib.assets[int(i)] for i in idx]


# ------------------------------------------------------------------------------------ listing


def sanitize(s: str) -> str:
    """A file-name-safe key: runs of characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    s = _UNSAFE.sub("_", s).strip("._") or "_"
    return s


def _keys(rels: list[str]) -> list[str]:
    """Unique keys from relative paths (without extension); a clash gets ``_2``, ``_3`` in order."""
    out, seen = [], set()
    for r in rels:
        k = base = sanitize(r.rsplit(".", 1)[0] if "." in r.rsplit("/", 1)[-1] else r)
        n = 1
        while k in seen:
            n += 1
            k = f"{base}_{n}"
        seen.add(k)
        out.append(k)
    return out


def _rel_to(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _list_folder(root: Path) -> tuple[list[Path], int]:
    files, skipped = [], 0
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            p = Path(d) / name
            if p.suffix.lower() in MESH_EXTS and p.is_file():
                files.append(p)
            else:
                skipped += 1
    return files, skipped


def _glob_root(pattern: Path) -> Path:
    parts = []
    for part in pattern.parts:
        if _GLOB.search(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _list_glob(pattern: Path) -> list[Path]:
    files = []
    for m in glob.glob(str(pattern), recursive=True):
        p = Path(m)
        if p.is_dir():
            continue
        if p.suffix.lower() not in MESH_EXTS or not p.is_file():
            raise InputError("mesh", f"the glob matches {p}, which is not a mesh file "
                                     f"({', '.join(MESH_EXTS)}); narrow the pattern")
        files.append(p)
    return files


def _bop_models(root: Path) -> list[tuple[Path, int]]:
    """(file, obj id) of a BOP model set, in obj id order."""
    info_path = root / BOP_INFO
    if not root.is_dir():
        raise InputError("bop_models", f"{'not a folder' if root.exists() else 'folder not found'}: {root}")
    try:
        info = json.loads(read_config_text(info_path))
    except (ValueError, InputError) as e:
        raise InputError("bop_models", f"cannot read {info_path}: {getattr(e, 'what', e)}") from None
    if not isinstance(info, dict) or not info:
        raise InputError("bop_models", f"{info_path} must map obj ids to model info (BOP format)")
    out = []
    for k, v in info.items():
        if not (isinstance(k, str) and k.isdigit() and int(k) > 0):
            raise InputError("bop_models", f"{info_path}: obj id {k!r} is not a positive integer")
        d = v.get("diameter") if isinstance(v, dict) else None
        if not isinstance(d, (int, float)) or isinstance(d, bool) or not d > 0:
            raise InputError("bop_models", f"{info_path}: obj {k} needs a positive diameter (mm)")
        p = root / f"obj_{int(k):06d}.ply"
        if not p.is_file():
            raise InputError("bop_models", f"{info_path} lists obj {k} but {p.name} is missing in {root}")
        out.append((p, int(k)))
    listed = {p.name for p, _ in out}
    extra = sorted(p.name for p in root.glob("obj_*.ply") if p.name not in listed)
    if extra:
        raise InputError("bop_models", f"{extra[0]} in {root} is not in {BOP_INFO}"
                                       + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))
    return sorted(out, key=lambda t: t[1])


def resolve_library(data: dict, parsed: dict, base_dir: Path) -> Library:
    """List a library entry's assets (``data`` resolved, ``parsed`` parsed values). Raises
    InputError(where = the entry's key at fault: mesh, bop_models, category, weights, choose)."""
    ids: list[int | None]
    if data.get("bop_models") is not None:
        root = parsed["bop_models"]
        files_ids = _bop_models(root)
        files, ids, kind, skipped = [p for p, _ in files_ids], [i for _, i in files_ids], "bop", 0
    else:
        pattern = parsed["mesh"]
        if _GLOB.search(data["mesh"]):
            kind, root = "glob", _glob_root(pattern)
            files, skipped = _list_glob(pattern), 0
            if not files:
                raise InputError("mesh", f"the glob matches no mesh file: {pattern}")
        else:
            kind, root = "folder", pattern
            files, skipped = _list_folder(root)
            if not files:
                raise InputError("mesh", f"no mesh files ({', '.join(MESH_EXTS)}) in folder {root} "
                                         "(a folder is an asset library, docs/assets.md)")
        ids = [None] * len(files)
    pairs = sorted(zip((_rel_to(p, root) for p in files), files, ids, strict=True))
    rels = [r for r, _, _ in pairs]
    keys = [f"obj_{i:06d}" for _, _, i in pairs] if kind == "bop" else _keys(rels)
    cats = _categories(parsed.get("category"), rels, [p for _, p, _ in pairs],
                       keys if kind == "bop" else None, base_dir)
    weights = _weights(parsed.get("weights"), rels, cats, keys if kind == "bop" else None)
    scale = BOP_SCALE if kind == "bop" else 1.0
    assets = tuple(LibraryAsset(k, p, _rel_to(p, base_dir), c, w, i, scale)
                   for k, (_, p, i), c, w in zip(keys, pairs, cats, weights, strict=True))
    lib = Library(kind, root, assets, skipped)
    _check_choose(parsed.get("choose"), lib)
    return lib


def _stem(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _categories(spec, rels: list[str], abs_paths: list[Path], bop_keys, base_dir: Path) -> list[str]:
    if spec is None:
        return list(bop_keys) if bop_keys is not None else [_stem(r) for r in rels]
    kind, arg = spec
    if kind == "fixed":
        return [arg] * len(rels)
    if kind == "folder":
        return [p.parent.name for p in abs_paths]
    mapping = read_mapping(base_dir / arg, "category")
    return lookup(mapping, rels, bop_keys, base_dir / arg, "category")


def _names(rel: str, j: int, bop_keys) -> list[str]:
    """The names a mapping or ``weights`` may give asset ``j`` (relative path ``rel``)."""
    names = [rel, rel.rsplit(".", 1)[0], _stem(rel)]
    if bop_keys is not None:
        names += [bop_keys[j], str(int(bop_keys[j][4:]))]
    return names


def lookup(mapping: dict, rels: list[str], bop_keys, path: Path, key: str) -> list:
    """The value of each asset in ``mapping`` (name -> value), matched by relative path, relative path
    without extension, stem, or (BOP) ``obj_NNNNNN`` / the obj id. Every asset must be found and every
    name must match an asset."""
    used, out, missing = set(), [], []
    for j, r in enumerate(rels):
        hit = next((n for n in _names(r, j, bop_keys) if n in mapping), None)
        if hit is None:
            missing.append(r)
            out.append(None)
        else:
            used.add(hit)
            out.append(mapping[hit])
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(key, f"{path} has no entry for {missing[0]}{more}")
    unknown = sorted(set(mapping) - used)
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise InputError(key, f"{path} names {unknown[0]!r}{more}, which is no asset of the library")
    return out


def _weights(spec, rels: list[str], cats: list[str], bop_keys) -> list[float]:
    """Per-asset weights: ``{asset: {name: w}}`` (names as in a mapping file; unlisted assets weigh
    1) or ``{category: {name: w}}`` (a category's weight is shared equally by its assets; unlisted
    categories weigh 1)."""
    if spec is None:
        return [1.0] * len(rels)
    by, items = spec
    table = dict(items)
    if by == "category":
        unknown = sorted(set(table) - set(cats))
        if unknown:
            raise InputError("weights", f"category {unknown[0]!r} is no category of the library "
                                        f"(it has {', '.join(sorted(set(cats))[:5])}...)")
        sizes = Counter(cats)
        w = [table.get(c, 1.0) / sizes[c] for c in cats]
    else:
        w, used = [], set()
        for j, r in enumerate(rels):
            n = next((x for x in _names(r, j, bop_keys) if x in table), None)
            used.add(n)
            w.append(table[n] if n is not None else 1.0)
        unknown = sorted(set(table) - used)
        if unknown:
            raise InputError("weights", f"{unknown[0]!r} is no asset of the library (names: a path relative "
                                        "to the library's folder, with or without extension, a file stem, "
                                        "or a BOP obj id)")
    if not sum(w) > 0:
        raise InputError("weights", "every asset has weight 0")
    return [float(x) for x in w]


def _check_choose(choose, lib: Library) -> None:
    hi = _largest(choose) if choose is not None else 1
    n = sum(1 for a in lib.assets if a.weight > 0)
    if hi > n:
        raise InputError("choose", f"can ask for {hi} distinct assets but the library has only {n}"
                                   f"{' with a weight above 0' if n < len(lib.assets) else ''}")
