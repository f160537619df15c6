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
import difflib
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from . import distributions as dist
from .errors import ConfigError, ConfigErrors
from .schema import MAX_INSTANCES, MIN_RESOLUTION, SCHEMA, Custom, D, ListOf, Section, V


def _num(x) -> str:
    """1e7 -> '10000000', 0.5 -> '0.5', 1e-06 -> '1e-06' (limits in messages)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def key_path(parts) -> str:
    """('scene', 'objects', 0, 'count') -> 'scene.objects[0].count'."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _line_map(text: str) -> dict:
    """Map key-path tuples to 1-based line numbers, from the YAML node tree."""
    lines: dict = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node, parts):
        lines.setdefault(parts, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                lines[parts + (key,)] = k.start_mark.line + 1
                walk(v, parts + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, parts + (i,))

    if root is not None:
        walk(root, ())
    return lines


class _Validator:
    def __init__(self, file: str | None, base_dir: Path, lines: dict):
        self.file = file
        self.base_dir = base_dir
        self.lines = lines
        self.errors: list[ConfigError] = []

    def err(self, parts, what):
        line = None
        for n in range(len(parts), -1, -1):
            line = self.lines.get(tuple(parts[:n]))
            if line:
                break
        self.errors.append(ConfigError(self.file, key_path(parts), what, line))

    # -- walkers ---------------------------------------------------------------------------------
    def section(self, spec: Section, value, parts):
        """Return (resolved plain dict, parsed dict) or (None, None) for an absent optional section."""
        if value is None:
            if spec.optional:
                return None, None
            value = {}
        if not isinstance(value, dict):
            self.err(parts, f"expected a mapping of keys, got {type(value).__name__} {value!r}")
            return {}, {}
        for k in value:
            if k not in spec.fields:
                hint = difflib.get_close_matches(str(k), list(spec.fields), n=1)
                sugg = f" (did you mean {hint[0]!r}?)" if hint else f"; known keys: {', '.join(spec.fields)}"
                self.err(parts + [k], f"unknown key{sugg}")
        data, parsed = {}, {}
        for name, f in spec.fields.items():
            present = name in value
            v = value.get(name)
            p = parts + [name]
            if isinstance(f, Section):
                data[name], parsed[name] = self.section(f, v if present else None, p)
            elif isinstance(f, ListOf):
                data[name], parsed[name] = self.list_of(f, v if present else copy.deepcopy(f.default), p)
            elif isinstance(f, D):
                data[name], parsed[name] = self.dist(f, v if present else f.default, p)
            elif isinstance(f, V):
                if not present and f.required:
                    self.err(p, "missing required key")
                data[name], parsed[name] = self.const(f, v if present else copy.deepcopy(f.default), p)
            elif isinstance(f, Custom):
                raw = v if present else f.default
                try:
                    parsed[name] = f.parse(raw)
                except ValueError as e:
                    self.err(p, str(e))
                    parsed[name] = None
                data[name] = raw
        return data, parsed

    def list_of(self, spec: ListOf, value, parts):
        if value is None:
            value = []
        if not isinstance(value, list):
            self.err(parts, f"expected a list, got {type(value).__name__}")
            return [], []
        data, parsed = [], []
        for i, item in enumerate(value):
            d, p = self.section(spec.item, item, parts + [i])
            data.append(d)
            parsed.append(p)
        return data, parsed

    def dist(self, f: D, value, parts):
        try:
            d = dist.parse(value, f.kind, f.allowed)
        except ValueError as e:
            self.err(parts, str(e))
            return value, None
        if f.min is not None or f.max is not None:
            values = d.values()
            b = d.bounds() if values is None else (min(values), max(values)) if f.kind != "str" else None
            if f.kind in ("float", "int"):
                if b is None:
                    self.err(parts, f"must be bounded (>= {f.min}); give a normal distribution a clip: [lo, hi]")
                    return value, None
                lo, hi = b
                if f.min is not None and (lo < f.min or (f.min_exclusive and lo <= f.min)):
                    rel = ">" if f.min_exclusive else ">="
                    self.err(parts, f"every value must be {rel} {_num(f.min)}; got {value!r}")
                    return value, None
                if f.max is not None and hi > f.max:
                    self.err(parts, f"every value must be <= {_num(f.max)}; got {value!r}")
                    return value, None
        return value, d

    def const(self, f: V, value, parts):
        t = f.type
        bad = None
        if value is None and f.default is None and not f.required:
            return None, None
        if t == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                bad = f"expected an integer, got {value!r}"
        elif t == "float":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                bad = f"expected a number, got {value!r}"
            elif not math.isfinite(value):
                bad = f"expected a finite number, got {value!r}"
            else:
                value = float(value)
        elif t == "bool":
            if not isinstance(value, bool):
                bad = f"expected true or false, got {value!r}"
        elif t == "str":
            if not isinstance(value, str):
                bad = f"expected a string, got {value!r}"
            elif f.allowed is not None and value not in f.allowed:
                bad = f"unknown value {value!r}; allowed: {', '.join(f.allowed)}"
        elif t == "path":
            if not isinstance(value, str) or not value:
                bad = f"expected a file path, got {value!r}"
            elif "\x00" in value:
                bad = f"a file path cannot contain a NUL character, got {value!r}"
        elif t == "resolution":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)):
                bad = f"expected [width, height] in pixels, got {value!r}"
            elif min(value) <= 0:
                bad = f"width and height must be positive, got {value!r}"
            elif min(value) < MIN_RESOLUTION:
                bad = f"width and height must be at least {MIN_RESOLUTION} (Blender's minimum), got {value!r}"
            elif max(value) > 16384:
                bad = f"width and height must be at most 16384, got {value!r}"
        elif t == "outputs":
            from .schema import OUTPUTS
            if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
                bad = f"expected a non-empty list of outputs ({', '.join(OUTPUTS)}), got {value!r}"
            else:
                unknown = [x for x in value if x not in OUTPUTS]
                if unknown:
                    bad = f"unknown output {unknown[0]!r}; allowed: {', '.join(OUTPUTS)}"
                elif len(set(value)) != len(value):
                    bad = f"duplicate outputs in {value!r}"
        if bad is None and f.min is not None and t in ("int", "float"):
            if value < f.min or (f.min_exclusive and value <= f.min):
                bad = f"must be {'>' if f.min_exclusive else '>='} {_num(f.min)}, got {value!r}"
        if bad is None and f.max is not None and t in ("int", "float") and value > f.max:
            bad = f"must be <= {_num(f.max)}, got {value!r}"
        if bad:
            self.err(parts, bad)
            return value, None
        if t == "path":
            try:
                path = (self.base_dir / value).resolve()
                path.exists()          # probes the name: too long, loops, ...
            except (OSError, ValueError) as e:
                short = value if len(value) <= 120 else value[:60] + "..." + value[-40:]
                self.err(parts, f"unusable path ({getattr(e, 'strerror', None) or e}): {short!r}")
                return value, None
            return value, path
        return value, value


def _check_semantics(v: _Validator, data: dict, parsed: dict):
    """Cross-key checks the schema cannot express."""
    objs = (data.get("scene") or {}).get("objects") or []
    n_instances = 0
    for i, (o, p) in enumerate(zip(objs, (parsed.get("scene") or {}).get("objects") or [])):
        if not o or p is None:   # not a mapping: reported already
            continue
        parts = ["scene", "objects", i]
        count = p.get("count")
        if count is not None:
            n_instances += int(max(count.values() if count.values() is not None else [count.bounds()[1]]))
        has_mesh, has_prim = o.get("mesh") is not None, o.get("primitive") is not None
        if has_mesh == has_prim:
            v.err(parts, "each object needs exactly one of 'mesh' or 'primitive'")
            continue
        if has_mesh and p.get("mesh") is not None:
            path = p["mesh"]
            if not path.exists():
                v.err(parts + ["mesh"], f"file not found: {path}")
            elif not path.is_file():
                v.err(parts + ["mesh"], f"not a file: {path}")
        if o.get("category") is None and (p.get("mesh") is not None or p.get("primitive") is not None):
            o["category"] = Path(o["mesh"]).stem if has_mesh else o["primitive"]
            p["category"] = o["category"]
        color = o.get("color")
        if color is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(color)):
            v.err(parts + ["color"], f"expected a colour #rrggbb, got {color!r}")
    blend = (parsed.get("scene") or {}).get("blend")
    if blend is not None:
        if not blend.exists():
            v.err(["scene", "blend"], f"file not found: {blend}")
        elif not blend.is_file():
            v.err(["scene", "blend"], f"not a file: {blend}")
    ground = (data.get("scene") or {}).get("ground")
    if n_instances + bool(ground) > MAX_INSTANCES:
        v.err(["scene", "objects"], f"the objects' largest counts add up to {n_instances}"
                                    f"{' plus the ground' if ground else ''}; at most {MAX_INSTANCES} "
                                    "instances fit in Blender's object index")
    if ground and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(ground.get("color", ""))):
        v.err(["scene", "ground", "color"], f"expected a colour #rrggbb, got {ground.get('color')!r}")
    cam = data.get("camera") or {}
    if isinstance(cam.get("clip_start"), float) and isinstance(cam.get("clip_end"), float):
        if cam["clip_start"] >= cam["clip_end"]:
            v.err(["camera", "clip_end"], "must be greater than clip_start")
    from . import dr_schema
    try:
        dr_schema.check(v, data, parsed)       # materials, world, distractors, keypoints
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        if not v.errors:   # valid so far: a real bug. Otherwise malformed values, reported already
            raise


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
        self._lines = lines if lines is not None else (_line_map(text) if text else {})
        v = _Validator(self._label, self.base_dir, self._lines)
        if not isinstance(raw, dict):
            v.err([], f"a config is a mapping of keys, got {type(raw).__name__}")
            raise ConfigErrors(v.errors)
        self.data, self.parsed = v.section(SCHEMA, raw, [])
        if not v.errors:
            from .quality import resolve
            resolve(self.data["render"])
            self.parsed["render"].update(self.data["render"])
        _check_semantics(v, self.data, self.parsed)
        if check_assets:
            v.errors.extend(self.asset_errors())
        if v.errors:
            raise ConfigErrors(sorted(v.errors, key=lambda e: e.lineno or 0))   # in file order

    def error(self, parts, what: str) -> ConfigError:
        """A ConfigError about key ``parts`` (a list such as ['scene', 'objects', 0, 'mesh'])."""
        v = _Validator(self._label, self.base_dir, self._lines)
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
            path = (p or {}).get("mesh")
            if path is None or not path.is_file():
                continue
            try:
                load_mesh(path)
            except InputError as e:
                errors.append(self.error(["scene", "objects", i, "mesh"], e.what))
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
        """[{id, name}] in order of first appearance; ids from 1 (0 = background/unlabelled)."""
        names: list[str] = []
        for o in self.data["scene"]["objects"]:
            if o["category"] not in names:
                names.append(o["category"])
        ground = self.data["scene"].get("ground")
        if ground and ground.get("category") and ground["category"] not in names:
            names.append(ground["category"])
        distractors = self.data["scene"].get("distractors")
        if distractors and distractors.get("category") and distractors["category"] not in names:
            names.append(distractors["category"])
        return [{"id": i + 1, "name": n} for i, n in enumerate(names)]

    def category_id(self, name: str | None) -> int:
        if not name:
            return 0
        for c in self.categories():
            if c["name"] == name:
                return c["id"]
        return 0

    def max_count(self, index: int) -> int:
        """Largest instance count object entry ``index`` can draw (size of its pool)."""
        d = self.parsed["scene"]["objects"][index]["count"]
        return int(max(d.values() if d.values() is not None else [d.bounds()[1]]))

    def identity(self) -> str:
        """Hash of everything that decides a frame's content (all but ``frames``): resume checks it."""
        d = {k: v for k, v in self.data.items() if k != "frames"}
        blob = json.dumps(_numbers_as_floats(d), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

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
    """Read a YAML/JSON file; raise ConfigError with the line of a syntax error."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(str(path), "", "file not found")
    if path.is_dir():
        raise ConfigError(str(path), "", "is a folder, not a config file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), "", f"cannot read: {e}")
    try:
        _check_structure(str(path), yaml.compose(text, Loader=yaml.SafeLoader))
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(str(path), "", f"YAML syntax error: {problem}", line)
    except RecursionError:
        raise ConfigError(str(path), "", "YAML nested too deeply")
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
