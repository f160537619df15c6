"""Reading a sweep file: :func:`load_sweep` checks the file and every point's config and returns a
:class:`~.model.Sweep`; every problem is one :class:`ConfigError` naming the sweep file, the line, the
key and (for an invalid point) the point, so the CLI exits 2 with one line and nothing is rendered.

A sweep file (YAML or JSON) names a ``base`` config (relative to the sweep file), ``frames`` per
point, and a ``grid`` (cartesian product over config paths; values may be distributions) and/or a
list of ``points`` (override dicts). The points are the grid's, in file order, followed by the
explicit ones::

    base: scene.yaml
    frames: 100
    grid:
      camera.focal_length_mm: [30, 50]
      lighting.power_w: [{uniform: [50, 100]}, {uniform: [800, 1000]}]
    points:
      - {render.samples: 16}
"""
from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..core.config import Config, load_config, read_yaml, split_path
from ..core.errors import ConfigError, ConfigErrors
from ..core.files import env_limit
from ..core.validate import key_path, line_map
from .model import Sweep, SweepPoint
from .naming import assign_names, point_name

SWEEP_KEYS = ("base", "frames", "grid", "points")
MAX_SWEEP_POINTS = 10_000       # grid combinations + listed points; SYNTHBLEND_MAX_SWEEP_POINTS overrides

ErrorAt = Callable[[list, str], ConfigError]     # (key path parts, what) -> the error to raise


class _Candidate(NamedTuple):
    overrides: dict
    parts: list                 # where it comes from in the sweep file: ["grid"] or ["points", i]


def load_sweep(path, frames: int | None = None) -> Sweep:
    """Read and validate a sweep file and every point's config (``frames``, e.g. from ``--frames``,
    wins over the file's). Raises ConfigError naming the sweep file, the key and (for an invalid
    point) the point."""
    path = Path(path)
    raw, text = read_yaml(path)
    err = _error_at(str(path), line_map(text))
    _check_keys(raw, err)
    base = _load_base(raw, path.parent, err)
    n_frames = _check_frames(raw.get("frames"), err)
    if frames is not None:
        n_frames = int(frames)
    grid = _check_grid(raw.get("grid"), err)
    points = _check_points(raw.get("points"), err)
    if not grid and not points:
        raise err(["grid"], "a sweep needs a non-empty grid and/or a list of points")
    _check_count(grid, points, err)
    candidates = _expand(grid, points)
    _check_unique(candidates, err)
    return Sweep(path.resolve(), base, n_frames, _make_points(base, candidates, n_frames, err))


def _error_at(file: str, lines: dict) -> ErrorAt:
    """A ConfigError maker for the sweep file: the line of the key, or of its nearest parent."""
    def err(parts: list, what: str) -> ConfigError:
        line = None
        for n in range(len(parts), -1, -1):
            line = lines.get(tuple(parts[:n]))
            if line:
                break
        return ConfigError(file, key_path(parts), what, line)
    return err


def _check_keys(raw, err: ErrorAt) -> None:
    if not isinstance(raw, dict):
        raise err([], f"a sweep file is a mapping with keys {', '.join(SWEEP_KEYS)}; got {type(raw).__name__}")
    for k in raw:
        if k not in SWEEP_KEYS:
            hint = difflib.get_close_matches(str(k), SWEEP_KEYS, n=1)
            raise err([k], f"unknown key (did you mean {hint[0]!r}?)" if hint
                      else f"unknown key; known keys: {', '.join(SWEEP_KEYS)}")
    if "base" not in raw:
        raise err(["base"], "missing required key (the config every point starts from)")


def _load_base(raw: dict, folder: Path, err: ErrorAt) -> Config:
    """The base config, relative to the sweep file's folder; its own errors name the base file."""
    if not isinstance(raw["base"], str) or not raw["base"]:
        raise err(["base"], f"expected a config file path, got {raw['base']!r}")
    base_path = (folder / raw["base"]).resolve()
    if not base_path.is_file():
        raise err(["base"], f"file not found: {base_path}")
    return load_config(base_path)


def _check_frames(n_frames, err: ErrorAt) -> int | None:
    if n_frames is None:
        return None
    from ..core.schema import MAX_FRAMES
    if not isinstance(n_frames, int) or isinstance(n_frames, bool) or not 1 <= n_frames <= MAX_FRAMES:
        raise err(["frames"], f"expected an integer between 1 and {MAX_FRAMES}, got {n_frames!r}")
    return n_frames


def _check_grid(grid, err: ErrorAt) -> dict | None:
    if grid is None:
        return None
    if not isinstance(grid, dict):
        raise err(["grid"], f"expected a mapping of config paths to lists of values, got {type(grid).__name__}")
    for k, values in grid.items():
        _check_path(err, ["grid", k], k)
        if not isinstance(values, list) or not values:
            raise err(["grid", k], f"expected a non-empty list of values to sweep over, got {values!r}")
    return grid


def _check_points(points, err: ErrorAt) -> list | None:
    if points is None:
        return None
    if not isinstance(points, list):
        raise err(["points"], f"expected a list of override mappings, got {type(points).__name__}")
    for i, p in enumerate(points):
        if not isinstance(p, dict):
            raise err(["points", i], f"expected a mapping of config paths to values, got {p!r}")
        for k in p:
            _check_path(err, ["points", i, k], k)
    return points


def _check_path(err: ErrorAt, parts: list, key) -> None:
    if not isinstance(key, str):
        raise err(parts, f"expected a config path such as camera.focal_length_mm, got {key!r}")
    try:
        split_path(key)
    except ValueError as e:
        raise err(parts, "not a config path (use dots and [index], e.g. scene.objects[0].scale)") from e


def _check_count(grid: dict | None, points: list | None, err: ErrorAt) -> None:
    """Count the points before making them: a 1000 x 1000 grid would build a million configs."""
    limit = int(env_limit("SYNTHBLEND_MAX_SWEEP_POINTS", MAX_SWEEP_POINTS))
    sizes = [len(v) for v in (grid or {}).values()]
    n_grid = math.prod(sizes) if sizes else 0
    n_listed = len(points or [])
    if n_grid + n_listed > limit:
        parts = [f"{' x '.join(map(str, sizes))} values make {n_grid:,} points"] if n_grid else []
        parts += [f"{n_listed:,} listed in points"] if n_listed else []
        what = " plus ".join(parts)
        raise err(["grid"] if n_grid > n_listed else ["points"],
                  f"{what}: at most {limit:,} points per sweep (set SYNTHBLEND_MAX_SWEEP_POINTS to raise it)")


def _expand(grid: dict | None, points: list | None) -> list[_Candidate]:
    """The grid's combinations in file order, then the listed points (copies: the file stays as read)."""
    out = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            out.append(_Candidate({k: copy.deepcopy(v) for k, v in zip(keys, combo, strict=True)}, ["grid"]))
    for i, p in enumerate(points or []):
        out.append(_Candidate(copy.deepcopy(p), ["points", i]))
    return out


def _check_unique(candidates: list[_Candidate], err: ErrorAt) -> None:
    seen: dict[str, int] = {}
    for j, (o, parts) in enumerate(candidates):
        key = json.dumps(o, sort_keys=True, default=str)
        if key in seen:
            raise err(parts, f"point {point_name(o)} is listed twice (also point {seen[key]})")
        seen[key] = j


def _make_points(base: Config, candidates: list[_Candidate], n_frames: int | None,
                 err: ErrorAt) -> list[SweepPoint]:
    """Every point's config (base + overrides + frames); an invalid one is reported with its name."""
    names = assign_names([c.overrides for c in candidates])
    points = []
    for j, ((o, parts), name) in enumerate(zip(candidates, names, strict=True)):
        full = dict(o)
        if n_frames is not None:
            full.setdefault("frames", n_frames)
        try:
            cfg = base.override(full)
        except ConfigErrors as e:
            first = e.errors[0]
            raise err(parts, f"point {name} makes an invalid config: {first.key}: {first.what}") from e
        except ConfigError as e:
            raise err(parts, f"point {name}: {e.key}: {e.what}") from e
        points.append(SweepPoint(j, name, o, cfg, key_path(parts)))
    return points
