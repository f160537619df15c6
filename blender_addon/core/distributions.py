"""Values that may be random: constants and the contract's distributions.

A config value is either a constant (number, vector, string) or one of::

    {uniform: [lo, hi]}                     scalars, or equal-length vectors (per component)
    {normal: [mean, std], clip: [lo, hi]}   clip optional; mean may be a vector
    {loguniform: [lo, hi]}                  0 < lo <= hi
    {randint: [lo, hi]}                     integers, both ends inclusive
    {choice: [a, b, ...], weights: [...]}   weights optional, need not sum to 1

:func:`parse` turns such a value into a :class:`Dist` after checking it against the kind of value
the key expects (``"float"``, ``"int"``, ``"vec3"``, ``"str"``, ``"any"``).  Problems raise
:class:`ValueError` with a message meant for users; the config loader adds file, line and key path.
Sampling takes an explicit :class:`numpy.random.Generator` (no global or default-argument RNGs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Sequence

import numpy as np

DIST_NAMES = ("uniform", "normal", "loguniform", "randint", "choice")
KINDS = ("float", "int", "vec3", "vec2", "str", "any")
MAX_ENUMERATED = 10_000   # Dist.values() lists at most this many randint values


def _is_num(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _vec_len(kind: str) -> int | None:
    return {"vec3": 3, "vec2": 2}.get(kind)


def check_constant(value, kind: str, allowed: Sequence[str] | None = None):
    """Validate a constant of ``kind``; return it normalised (floats, tuples). Raise ValueError."""
    n = _vec_len(kind)
    if kind == "float":
        if not _is_num(value):
            raise ValueError(f"expected a number or a distribution, got {value!r}")
        return float(value)
    if kind == "int":
        if not _is_int(value):
            raise ValueError(f"expected an integer or an integer distribution, got {value!r}")
        return int(value)
    if n is not None:
        if not isinstance(value, (list, tuple)) or len(value) != n or not all(_is_num(v) for v in value):
            raise ValueError(f"expected a vector of {n} numbers or a vector distribution, got {value!r}")
        return tuple(float(v) for v in value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        if allowed is not None and value not in allowed:
            raise ValueError(f"unknown value {value!r}; allowed: {', '.join(allowed)}")
        return value
    return value


@dataclass(frozen=True)
class Dist:
    """A parsed value: ``name`` is 'const' or one of :data:`DIST_NAMES`."""

    name: str
    kind: str
    args: tuple = ()
    clip: tuple | None = None
    weights: tuple | None = None
    raw: Any = field(default=None, compare=False)

    @property
    def is_random(self) -> bool:
        if self.name == "const":
            return False
        if self.name == "choice":
            return len(self.args) > 1
        return True

    def sample(self, rng: np.random.Generator):
        """Draw one value (float, int, tuple of floats, or a choice's item)."""
        n = _vec_len(self.kind)
        if self.name == "const":
            return self.args[0]
        if self.name == "choice":
            if len(self.args) == 1:
                return self.args[0]
            p = None
            if self.weights is not None:
                w = np.asarray(self.weights, float)
                p = w / w.sum()
            i = int(rng.choice(len(self.args), p=p))
            return self.args[i]
        if self.name == "randint":
            lo, hi = self.args
            return int(rng.integers(lo, hi + 1))
        lo, hi = (np.asarray(a, float) for a in self.args)
        if self.name == "uniform":
            v = rng.uniform(lo, hi) if n is None else rng.uniform(lo, hi, size=n)
        elif self.name == "loguniform":
            v = np.exp(rng.uniform(np.log(lo), np.log(hi), size=None if n is None else n))
        elif self.name == "normal":
            v = rng.normal(lo, hi, size=None if n is None else n)
            if self.clip is not None:
                v = np.clip(v, np.asarray(self.clip[0], float), np.asarray(self.clip[1], float))
        else:  # pragma: no cover - parse() admits no other names
            raise AssertionError(self.name)
        if n is None:
            return float(v)
        return tuple(float(x) for x in np.broadcast_to(v, (n,)))

    def bounds(self):
        """(lo, hi) of the values this can produce, for numeric scalars; None where unbounded."""
        if self.name == "const":
            return self.args[0], self.args[0]
        if self.name == "choice":
            vals = [v for v in self.args if _is_num(v)]
            return (min(vals), max(vals)) if vals else None
        if self.name in ("uniform", "loguniform", "randint"):
            return self.args[0], self.args[1]
        if self.name == "normal" and self.clip is not None:
            return self.clip[0], self.clip[1]
        return None

    def values(self):
        """The finite set of possible values (constants, choices, small randint ranges), else None."""
        if self.name == "const":
            return [self.args[0]]
        if self.name == "choice":
            return list(self.args)
        if self.name == "randint":
            lo, hi = self.args
            if hi - lo > MAX_ENUMERATED:   # {randint: [0, 10**12]} must not build a huge list
                return None
            return list(range(lo, hi + 1))
        return None


def _pair(spec, name, kind, allow_vec: bool):
    if not isinstance(spec, (list, tuple)) or len(spec) != 2:
        raise ValueError(f"{name} takes a list [a, b], got {spec!r}")
    a, b = spec
    n = _vec_len(kind)
    if n is not None:
        if _is_num(a) and _is_num(b):  # scalar bounds broadcast to every component
            return (float(a),) * n, (float(b),) * n
        for x in (a, b):
            if not isinstance(x, (list, tuple)) or len(x) != n or not all(_is_num(v) for v in x):
                raise ValueError(f"{name} bounds must be vectors of {n} numbers, got {spec!r}")
        return tuple(float(v) for v in a), tuple(float(v) for v in b)
    if kind == "int" and name == "randint":
        if not (_is_int(a) and _is_int(b)):
            raise ValueError(f"randint takes integers, got {spec!r}")
        return int(a), int(b)
    if not (_is_num(a) and _is_num(b)):
        if allow_vec and isinstance(a, (list, tuple)):
            raise ValueError(f"{name} here takes scalar bounds, got {spec!r}")
        raise ValueError(f"{name} takes numbers, got {spec!r}")
    return float(a), float(b)


def _le(lo, hi) -> bool:
    return all(x <= y for x, y in zip(np.atleast_1d(lo), np.atleast_1d(hi), strict=True))


def _dist_name(value: dict) -> str:
    """The one distribution key of a mapping (its other keys must be that distribution's options)."""
    keys = [k for k in value if k in DIST_NAMES]
    if len(keys) != 1:
        raise ValueError(
            f"a distribution needs exactly one of {', '.join(DIST_NAMES)}; got keys {sorted(map(str, value))}"
        )
    name = keys[0]
    extra_ok = {"normal": {"clip"}, "choice": {"weights"}}.get(name, set())
    extra = [k for k in value if k != name and k not in extra_ok]
    if extra:
        raise ValueError(f"unknown key {extra[0]!r} in a {name} distribution")
    return name


def _parse_choice(value: dict, kind: str, allowed: Sequence[str] | None) -> Dist:
    spec = value["choice"]
    if not isinstance(spec, (list, tuple)) or len(spec) == 0:
        raise ValueError(f"choice takes a non-empty list, got {spec!r}")
    items = tuple(check_constant(v, kind, allowed) for v in spec)
    weights = value.get("weights")
    if weights is not None:
        if (not isinstance(weights, (list, tuple)) or len(weights) != len(items)
                or not all(_is_num(w) and w >= 0 for w in weights) or sum(weights) <= 0):
            raise ValueError(
                f"choice weights must be {len(items)} non-negative numbers with a positive sum, got {weights!r}"
            )
        weights = tuple(float(w) for w in weights)
    return Dist("choice", kind, items, weights=weights, raw=value)


def _check_numeric_kind(name: str, kind: str) -> None:
    """A numeric distribution ``name`` fits a key of type ``kind`` (randint for ints only, and only it)."""
    if kind == "str":
        raise ValueError(f"{name} gives numbers; this key takes a string or {{choice: [...]}}")
    if kind == "int" and name != "randint":
        raise ValueError(f"this key takes an integer: use a constant, randint or choice, not {name}")
    if kind != "int" and name == "randint":
        raise ValueError("randint gives integers; use uniform for real numbers")


def _parse_normal(value: dict, kind: str, lo, hi) -> Dist:
    if not _le(np.zeros_like(np.atleast_1d(hi)), hi):
        raise ValueError(f"normal std must be >= 0, got {hi!r}")
    clip = value.get("clip")
    if clip is not None:
        clip = _pair(clip, "clip", kind, allow_vec=True)
        if not _le(*clip):
            raise ValueError(f"clip lo > hi in {list(clip)!r}")
    return Dist("normal", kind, (lo, hi), clip=clip, raw=value)


def _parse_mapping(value: dict, kind: str, allowed: Sequence[str] | None) -> Dist:
    """A distribution written as a mapping (``{uniform: [lo, hi]}``, ``{choice: [...]}``, ...)."""
    name = _dist_name(value)
    if name == "choice":
        return _parse_choice(value, kind, allowed)
    spec = value[name]
    _check_numeric_kind(name, kind)
    lo, hi = _pair(spec, name, kind, allow_vec=True)
    if name == "normal":
        return _parse_normal(value, kind, lo, hi)
    if not _le(lo, hi):
        raise ValueError(f"{name} lo > hi in {spec!r}")
    if name == "loguniform" and not all(x > 0 for x in np.atleast_1d(lo)):
        raise ValueError(f"loguniform needs lo > 0, got {spec!r}")
    return Dist(name, kind, (lo, hi), raw=value)


def parse(value, kind: str, allowed: Sequence[str] | None = None) -> Dist:
    """Parse a config value expecting ``kind``; ``allowed`` restricts string values (enums)."""
    if kind not in KINDS:  # pragma: no cover - programming error
        raise AssertionError(kind)
    if isinstance(value, dict):
        return _parse_mapping(value, kind, allowed)
    return Dist("const", kind, (check_constant(value, kind, allowed),), raw=value)
