"""Load and validate a YAML (or JSON) config against :mod:`synthblend.core.schema`.

``load_config(path)`` returns a :class:`Config`: ``data`` is the resolved plain config (defaults filled
in, as written otherwise: it goes into ``dataset.json`` and is what ``save_config`` writes), ``parsed``
mirrors it with :class:`~synthblend.core.distributions.Dist` objects, and absolute asset paths.
Every problem raises :class:`~synthblend.core.errors.ConfigError` naming file, line, key path and what
is wrong; :func:`validate` collects all of them (``synthblend check``).  YAML is loaded with
``yaml.safe_load``: a config is data, never code.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from .camera_intrinsics import expand as expand_camera
from .config_checks import check_semantics
from .errors import ConfigError, ConfigErrors, InputError
from .files import read_config_text
from .schema import SCHEMA
from .validate import Validator, key_path, line_map


def _numbers_as_floats(v):
    """``2`` and ``2.0`` mean the same in a config (the Blender panel writes floats): one identity."""
    if isinstance(v, dict):
        return {k: _numbers_as_floats(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_numbers_as_floats(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


class Config:
    """A validated config. ``data``: resolved plain values; ``parsed``: Dist objects and paths."""

    def __init__(self, raw: dict, path: Path | None = None, base_dir: Path | None = None,
                 text: str | None = None, check_assets: bool = False, *, lines: dict | None = None,
                 label: str | None = None):
        """``check_assets``: also load every mesh file (``synthblend check``). ``lines`` and
        ``label`` carry the source's line numbers and file name over to derived configs."""
        self.path = Path(path).resolve() if path else None
        self.base_dir = Path(base_dir or (self.path.parent if self.path else Path.cwd())).resolve()
        self.raw = copy.deepcopy(raw)
        self._label = label or (str(path) if path else None)
        self._lines = lines if lines is not None else (line_map(text) if text else {})
        v = Validator(self._label, self.base_dir, self._lines)
        if not isinstance(raw, dict):
            v.err([], f"a config is a mapping of keys, got {type(raw).__name__}")
            raise ConfigErrors(v.errors)
        # a camera preset / calibration file fills in its keys (core/camera_intrinsics.py)
        self.data, self.parsed = v.section(SCHEMA, expand_camera(raw, self.base_dir, v.err), [])
        # A .blend's mesh objects as static colliders for physics placement, in world coordinates:
        # ((name, vertices Nx3 m, faces Mx3), ...). Set by the engine once it has captured them
        # (engine/features/blend.py); empty without a .blend and wherever nothing was captured.
        self.blend_statics: tuple = ()
        if not v.errors:
            from .quality import resolve
            resolve(self.data["render"])
            self.parsed["render"].update(self.data["render"])
        check_semantics(v, self.data, self.parsed)
        if check_assets:
            v.errors.extend(self.asset_errors())
        if v.errors:
            raise ConfigErrors(sorted(v.errors, key=lambda e: e.lineno or 0))   # in file order

    def error(self, parts, what: str) -> ConfigError:
        """A ConfigError about key ``parts`` (a list such as ['scene', 'objects', 0, 'mesh'])."""
        v = Validator(self._label, self.base_dir, self._lines)
        v.err(list(parts), what)
        return v.errors[0]

    def asset_errors(self) -> list[ConfigError]:
        """Load every existing mesh file once; corrupt, empty or unreadable ones become errors
        (a missing file is reported by validation already)."""
        from .assets import load_mesh
        from .errors import InputError

        errors = []
        objs = (self.parsed.get("scene") or {}).get("objects") or []
        for i, p in enumerate(objs):
            lib = (p or {}).get("library")
            key = "bop_models" if (p or {}).get("bop_models") is not None else "mesh"
            paths = [a.path for a in lib.assets] if lib is not None else [(p or {}).get("mesh")]
            for path in paths:
                if path is None or not path.is_file():
                    continue
                try:
                    load_mesh(path)
                except InputError as e:
                    errors.append(self.error(["scene", "objects", i, key], e.what))
        for i, p in enumerate((self.parsed.get("scene") or {}).get("supports") or []):
            path = (p or {}).get("mesh")
            if path is not None and path.is_file():
                try:
                    load_mesh(path)
                except InputError as e:
                    errors.append(self.error(["scene", "supports", i, "mesh"], e.what))
        return errors

    # -- conveniences ----------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.data["seed"]

    @property
    def frames(self) -> int:
        return self.data["frames"]

    @property
    def resolution(self) -> tuple[int, int]:
        w, h = self.data["render"]["resolution"]
        return int(w), int(h)

    @property
    def outputs(self) -> list[str]:
        return list(self.data["render"]["outputs"])

    def categories(self) -> list[dict]:
        """[{id, name}] in order of first appearance (a library entry's categories sorted by name, at
        its place); ids from 1 (0 = background/unlabelled). Known at load: every category a library
        can draw is listed, drawn or not."""
        if getattr(self, "_categories", None) is None:
            names: dict[str, None] = {}
            for o, p in zip(self.data["scene"]["objects"], self.parsed["scene"]["objects"], strict=True):
                lib = p.get("library")
                names.update(dict.fromkeys(lib.categories if lib is not None else [o["category"]]))
            ground = self.data["scene"].get("ground")
            if ground and ground.get("category"):
                names.setdefault(ground["category"])
            distractors = self.data["scene"].get("distractors")
            if distractors and distractors.get("category"):
                names.setdefault(distractors["category"])
            for sup in self.data["scene"].get("supports") or []:      # after the others: their ids stay
                if sup.get("category"):
                    names.setdefault(sup["category"])
            self._categories = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
            self._category_ids = {c["name"]: c["id"] for c in self._categories}
        return [dict(c) for c in self._categories]

    def category_id(self, name: str | None) -> int:
        if not name:
            return 0
        self.categories()
        return self._category_ids.get(name, 0)

    def max_count(self, index: int) -> int:
        """Largest instance count object entry ``index`` can draw (size of its pool)."""
        d = self.parsed["scene"]["objects"][index]["count"]
        return int(max(d.values() if d.values() is not None else [d.bounds()[1]]))

    def identity(self) -> str:
        """Hash of everything that decides a frame's content (all but ``frames`` and
        ``render.asset_cache``): resume checks it."""
        d = {k: v for k, v in self.data.items() if k != "frames"}
        if isinstance(d.get("render"), dict) and "asset_cache" in d["render"]:   # memory, not content
            d["render"] = {k: v for k, v in d["render"].items() if k != "asset_cache"}
        blob = json.dumps(_numbers_as_floats(d), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def asset_files(self) -> list[Path]:
        """Every file the config renders from, and every file those refer to (core/asset_refs.py: .mtl,
        textures, glTF buffers, URDF meshes): meshes (every asset of a library, its category mapping
        file), the .blend, and the images of the image folders (materials' ``images``,
        ``world.hdri.folder``, ``world.image.folder``), sorted."""
        from .asset_refs import with_references
        from .image_folders import list_images

        found: set[Path] = set()
        for p in (self.parsed.get("scene") or {}).get("objects") or []:
            if p.get("library") is not None:            # every asset a library entry can draw
                found.update(a.path for a in p["library"].assets)
                if (p.get("category") or ("",))[0] == "map":
                    found.add((self.base_dir / p["category"][1]).resolve())
        dlib = ((self.parsed.get("scene") or {}).get("distractors") or {}).get("library")
        if dlib is not None:                                # scene.distractors.meshes
            found.update(a.path for a in dlib.assets)
        todo = [self.parsed]
        while todo:
            v = todo.pop()
            if isinstance(v, dict):
                todo.extend(v.values())
            elif isinstance(v, (list, tuple)):
                todo.extend(v)
            elif isinstance(v, Path):
                if v.is_dir():
                    found.update(list_images(v))
                elif v.is_file():
                    found.add(v)
        return sorted(with_references(found))     # + .mtl, textures, glTF buffers, URDF meshes

    def asset_hashes(self) -> dict[str, str]:
        """``{file: sha256}`` of :meth:`asset_files` (paths relative to the config's folder where they are
        inside it): ``dataset.json``'s ``asset_hashes``, which ``--resume`` compares. Each file is hashed
        once per process while its mtime and size stay the same."""
        out = {}
        for p in self.asset_files():
            try:
                rel = p.relative_to(self.base_dir).as_posix()
            except ValueError:
                rel = str(p)
            out[rel] = file_sha256(p)
        return out

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def override(self, overrides: dict) -> "Config":
        """A new Config with ``{"camera.focal_length_mm": 50, "scene.objects[0].scale": 0.5}`` applied."""
        raw = copy.deepcopy(self.raw)
        for path, value in overrides.items():
            set_path(raw, path, copy.deepcopy(value))
        return Config(raw, path=self.path, base_dir=self.base_dir, lines=self._lines, label=self._label)

    def with_values(self, **top) -> "Config":
        raw = copy.deepcopy(self.raw)
        raw.update(top)
        return Config(raw, path=self.path, base_dir=self.base_dir, lines=self._lines, label=self._label)


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path) -> str:
    """sha256 of a file's bytes, cached by (path, mtime, size): one read per file and run."""
    st = Path(path).stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _HASHES:
        with open(path, "rb") as f:
            _HASHES[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return _HASHES[key]


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list:
    parts = []
    for name, idx in _TOKEN.findall(path):
        parts.append(int(idx) if idx else name)
    if not parts or key_path(parts) != path:
        raise ValueError(f"not a config path: {path!r}")
    return parts


def set_path(raw: dict, path: str, value):
    """Set ``a.b[0].c`` in nested dicts/lists, creating mappings as needed."""
    parts = split_path(path)
    node = raw
    for i, p in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(p, int):
            if not isinstance(node, list) or p >= len(node):
                raise ConfigError(None, path, f"index [{p}] is out of range")
            node = node[p]
        else:
            if not isinstance(node, dict):
                raise ConfigError(None, path, f"{key_path(parts[:i])} is not a mapping")
            if node.get(p) is None:
                node[p] = [] if isinstance(nxt, int) else {}
            node = node[p]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(None, path, f"index [{last}] is out of range")
    elif not isinstance(node, dict):
        raise ConfigError(None, path, f"{key_path(parts[:-1])} is not a mapping")
    node[last] = value


def read_yaml(path: Path) -> tuple[Any, str]:
    """Read a YAML/JSON file; raise ConfigError with the line of a syntax error. Only a regular file
    of at most SYNTHBLEND_MAX_CONFIG_MB (16) MB is read (``/dev/zero`` or a FIFO would never end)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(str(path), "", "file not found")
    if path.is_dir():
        raise ConfigError(str(path), "", "is a folder, not a config file")
    try:
        text = read_config_text(path)     # a regular file within the size limit, or InputError
    except InputError as e:
        raise ConfigError(str(path), "", e.what) from None
    try:
        _check_structure(str(path), yaml.compose(text, Loader=yaml.SafeLoader))
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(str(path), "", f"YAML syntax error: {problem}", line) from None
    except RecursionError:
        raise ConfigError(str(path), "", "YAML nested too deeply") from None
    if raw is None:
        raise ConfigError(str(path), "", "the file is empty")
    return raw, text


MAX_NODES = 100_000   # a config is small; this stops alias bombs ("billion laughs")


def _check_structure(file: str, root) -> None:
    """Reject what safe_load accepts but no config needs: duplicate keys (the first value would be
    silently lost), recursive aliases and alias bombs."""
    sizes: dict = {}
    active: set = set()

    def size(node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in active:
            raise ConfigError(file, "", "YAML alias refers to itself", node.start_mark.line + 1)
        active.add(id(node))
        n = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                    if k.value in seen:
                        raise ConfigError(file, "", f"duplicate key {k.value!r} (first at line "
                                                    f"{seen[k.value]})", k.start_mark.line + 1)
                    seen[k.value] = k.start_mark.line + 1
                n += size(k) + size(v)
        elif isinstance(node, yaml.SequenceNode):
            n += sum(size(v) for v in node.value)
        active.discard(id(node))
        sizes[id(node)] = n
        if n > MAX_NODES:
            raise ConfigError(file, "", f"YAML expands to more than {MAX_NODES} values (aliases?)",
                              node.start_mark.line + 1)
        return n

    if root is not None:
        size(root)


def load_config(path, overrides: dict | None = None, check_assets: bool = False) -> Config:
    """Load, validate and (optionally) override a config file. ``check_assets``: also load every
    mesh file, so corrupt ones are reported with the config's other problems."""
    path = Path(path)
    raw, text = read_yaml(path)
    cfg = Config(raw, path=path, text=text, check_assets=check_assets)
    return cfg.override(overrides) if overrides else cfg


def config_from_dict(raw: dict, base_dir=None) -> Config:
    """A Config from a Python dict (paths relative to ``base_dir``, default the current folder)."""
    return Config(raw, base_dir=base_dir)


def validate(path) -> list[ConfigError]:
    """All problems of a config file (empty list = valid)."""
    try:
        load_config(path, check_assets=True)
    except ConfigErrors as e:
        return e.errors
    except ConfigError as e:
        return [e]
    return []
