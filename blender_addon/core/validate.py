"""Walking a raw config against the schema: the validator behind :func:`synthblend.core.config.load_config`.

:class:`Validator` turns the raw mapping into ``(data, parsed)``: ``data`` the resolved plain values
(defaults filled in), ``parsed`` the same with :class:`~synthblend.core.distributions.Dist` objects and
absolute paths. Every problem is recorded as a :class:`~synthblend.core.errors.ConfigError` with file,
line and key path (``err``); the caller reports them all at once.
"""
from __future__ import annotations

import copy
import difflib
import math
from pathlib import Path

import yaml

from . import distributions as dist
from .errors import ConfigError
from .schema import MIN_RESOLUTION, OUTPUTS
from .schema_types import Custom, D, ListOf, Section, V


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


def line_map(text: str) -> dict:
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


class Validator:
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
        if value is None and f.default is None and not f.required:
            return None, None
        bad, value = _CONST_CHECKS[t](f, value) if t in _CONST_CHECKS else (None, value)
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


# ------------------------------------------------------------------------------ constants by type
# Each takes (field, value) and returns (problem or None, the value to keep).


def _check_int(f: V, value):
    if not isinstance(value, int) or isinstance(value, bool):
        return f"expected an integer, got {value!r}", value
    return None, value


def _check_float(f: V, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return f"expected a number, got {value!r}", value
    if not math.isfinite(value):
        return f"expected a finite number, got {value!r}", value
    return None, float(value)


def _check_bool(f: V, value):
    return (None if isinstance(value, bool) else f"expected true or false, got {value!r}"), value


def _check_str(f: V, value):
    if not isinstance(value, str):
        return f"expected a string, got {value!r}", value
    if f.allowed is not None and value not in f.allowed:
        return f"unknown value {value!r}; allowed: {', '.join(f.allowed)}", value
    return None, value


def _check_path(f: V, value):
    if not isinstance(value, str) or not value:
        return f"expected a file path, got {value!r}", value
    if "\x00" in value:
        return f"a file path cannot contain a NUL character, got {value!r}", value
    return None, value


def _check_resolution(f: V, value):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)):
        return f"expected [width, height] in pixels, got {value!r}", value
    if min(value) <= 0:
        return f"width and height must be positive, got {value!r}", value
    if min(value) < MIN_RESOLUTION:
        return f"width and height must be at least {MIN_RESOLUTION} (Blender's minimum), got {value!r}", value
    if max(value) > 16384:
        return f"width and height must be at most 16384, got {value!r}", value
    return None, value


def _check_outputs(f: V, value):
    if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
        return f"expected a non-empty list of outputs ({', '.join(OUTPUTS)}), got {value!r}", value
    unknown = [x for x in value if x not in OUTPUTS]
    if unknown:
        return f"unknown output {unknown[0]!r}; allowed: {', '.join(OUTPUTS)}", value
    if len(set(value)) != len(value):
        return f"duplicate outputs in {value!r}", value
    return None, value


_CONST_CHECKS = {"int": _check_int, "float": _check_float, "bool": _check_bool, "str": _check_str,
                 "path": _check_path, "resolution": _check_resolution, "outputs": _check_outputs}
