"""``synthblend sweep SWEEP --out DIR``: one dataset per point of a parameter sweep (no bpy here).

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

Each point is a complete dataset in ``DIR/<name>/`` (``name``: its overrides, readable and
file-name safe, e.g. ``camera.focal_length_mm=30,lighting.power_w=uniform-50-100``; ``p003_...``
when it would be too long or ambiguous). ``DIR/sweep.json`` lists every point's ``name``,
``overrides`` and ``dir`` (relative to DIR); ``DIR/preview.png`` shows the first frame of every point
side by side. Every point uses the same seed, so frame i of two points differs only through the
overridden values. Points render one after the other with the chosen backend (all workers on one
point); ``--resume``, ``--overwrite`` and ``--shard`` apply to every point as for ``render``.

Everything is validated before anything is rendered: the sweep file, every point's config (an
invalid one is reported with the point's name) and every point's folder.
"""
from __future__ import annotations

import copy
import difflib
import itertools
import json
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config, _line_map, key_path, load_config, read_yaml, split_path
from ..core.errors import ConfigError, ConfigErrors, InputError

SWEEP_KEYS = ("base", "frames", "grid", "points")
SWEEP_JSON = "sweep.json"
PREVIEW = "preview.png"
MAX_NAME = 120
FORMAT = {"name": "synthblend-sweep", "version": 1}


@dataclass
class SweepPoint:
    index: int
    name: str
    overrides: dict
    config: Config
    source: str                 # "grid" or "points[i]": where the point comes from in the sweep file

    @property
    def dir(self) -> str:
        return self.name


@dataclass
class Sweep:
    path: Path
    base: Config
    frames: int | None
    points: list[SweepPoint] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "sweep": str(self.path),
            "base": str(self.base.path) if self.base.path else None,
            "frames": self.frames,
            "points": [{"index": p.index, "name": p.name, "overrides": p.overrides, "dir": p.dir,
                        "config_identity": p.config.identity()} for p in self.points],
        }


# ------------------------------------------------------------------------------------ names


def value_text(v) -> str:
    """A compact, readable text for an override value: 30, 0.5, true, uniform-50-100, 0-0-0.1."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "-".join(value_text(x) for x in v)
    if isinstance(v, dict):
        return "-".join(f"{k}-{value_text(x)}" for k, x in v.items())
    return str(v)


_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def point_name(overrides: dict) -> str:
    """``a.b=1,c.d=uniform-0-1`` for ``{"a.b": 1, "c.d": {"uniform": [0, 1]}}``, file-name safe
    (``[k]`` becomes ``.k``; other unsafe characters ``_``); ``base`` for no overrides."""
    if not overrides:
        return "base"
    parts = []
    for path, v in overrides.items():
        p = re.sub(r"\[(\d+)\]", r".\1", str(path))
        parts.append(f"{p}={value_text(v)}")
    s = _UNSAFE.sub("_", ",".join(parts))
    while ".." in s:
        s = s.replace("..", ".")
    return s.lstrip(".-") or "point"


def assign_names(overrides_list: list[dict]) -> list[str]:
    """Readable names; a point whose name is too long or shared gets a ``pNNN_`` prefix (and is cut)."""
    names = [point_name(o) for o in overrides_list]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    out = []
    for i, n in enumerate(names):
        if counts[n] > 1 or len(n) > MAX_NAME or n in (SWEEP_JSON, PREVIEW, "logs"):
            n = f"p{i:03d}_{n}"[:MAX_NAME].rstrip(".,=-")
        out.append(n)
    return out


# ------------------------------------------------------------------------------------ loading


def load_sweep(path, frames: int | None = None) -> Sweep:
    """Read and validate a sweep file and every point's config. Raises ConfigError naming the
    sweep file, the key and (for an invalid point) the point."""
    path = Path(path)
    raw, text = read_yaml(path)
    lines = _line_map(text)
    file = str(path)

    def err(parts, what):
        line = None
        for n in range(len(parts), -1, -1):
            line = lines.get(tuple(parts[:n]))
            if line:
                break
        return ConfigError(file, key_path(parts), what, line)

    if not isinstance(raw, dict):
        raise err([], f"a sweep file is a mapping with keys {', '.join(SWEEP_KEYS)}; got {type(raw).__name__}")
    for k in raw:
        if k not in SWEEP_KEYS:
            hint = difflib.get_close_matches(str(k), SWEEP_KEYS, n=1)
            raise err([k], f"unknown key (did you mean {hint[0]!r}?)" if hint
                      else f"unknown key; known keys: {', '.join(SWEEP_KEYS)}")
    if "base" not in raw:
        raise err(["base"], "missing required key (the config every point starts from)")
    if not isinstance(raw["base"], str) or not raw["base"]:
        raise err(["base"], f"expected a config file path, got {raw['base']!r}")
    base_path = (path.parent / raw["base"]).resolve()
    if not base_path.is_file():
        raise err(["base"], f"file not found: {base_path}")
    base = load_config(base_path)        # its own errors name the base file

    n_frames = raw.get("frames")
    if n_frames is not None:
        from ..core.schema import MAX_FRAMES
        if not isinstance(n_frames, int) or isinstance(n_frames, bool) or not 1 <= n_frames <= MAX_FRAMES:
            raise err(["frames"], f"expected an integer between 1 and {MAX_FRAMES}, got {n_frames!r}")
    if frames is not None:
        n_frames = int(frames)

    grid = raw.get("grid")
    if grid is not None:
        if not isinstance(grid, dict):
            raise err(["grid"], f"expected a mapping of config paths to lists of values, got {type(grid).__name__}")
        for k, values in grid.items():
            _check_path(err, ["grid", k], k)
            if not isinstance(values, list) or not values:
                raise err(["grid", k], f"expected a non-empty list of values to sweep over, got {values!r}")
    points = raw.get("points")
    if points is not None:
        if not isinstance(points, list):
            raise err(["points"], f"expected a list of override mappings, got {type(points).__name__}")
        for i, p in enumerate(points):
            if not isinstance(p, dict):
                raise err(["points", i], f"expected a mapping of config paths to values, got {p!r}")
            for k in p:
                _check_path(err, ["points", i, k], k)
    if not grid and not points:
        raise err(["grid"], "a sweep needs a non-empty grid and/or a list of points")

    overrides: list[tuple[dict, list]] = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            overrides.append(({k: copy.deepcopy(v) for k, v in zip(keys, combo)}, ["grid"]))
    for i, p in enumerate(points or []):
        overrides.append((copy.deepcopy(p), ["points", i]))
    seen: dict[str, int] = {}
    for j, (o, parts) in enumerate(overrides):
        key = json.dumps(o, sort_keys=True, default=str)
        if key in seen:
            raise err(parts, f"point {point_name(o)} is listed twice (also point {seen[key]})")
        seen[key] = j

    sweep = Sweep(path.resolve(), base, n_frames)
    for j, ((o, parts), name) in enumerate(zip(overrides, assign_names([o for o, _ in overrides]))):
        full = dict(o)
        if n_frames is not None:
            full.setdefault("frames", n_frames)
        try:
            cfg = base.override(full)
        except ConfigErrors as e:
            first = e.errors[0]
            raise err(parts, f"point {name} makes an invalid config: {first.key}: {first.what}")
        except ConfigError as e:
            raise err(parts, f"point {name}: {e.key}: {e.what}")
        sweep.points.append(SweepPoint(j, name, o, cfg, key_path(parts)))
    return sweep


def _check_path(err, parts, key) -> None:
    if not isinstance(key, str):
        raise err(parts, f"expected a config path such as camera.focal_length_mm, got {key!r}")
    try:
        split_path(key)
    except ValueError:
        raise err(parts, "not a config path (use dots and [index], e.g. scene.objects[0].scale)")


# ------------------------------------------------------------------------------------ running


def prepare_sweep_dir(out: Path, overwrite: bool) -> None:
    """The sweep folder: new, empty, or one that holds a sweep (``sweep.json``)."""
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "output path exists and is not a folder")
    if out.is_dir() and not (out / SWEEP_JSON).exists() and not overwrite:
        if any(p.name != "logs" for p in out.iterdir()):
            raise InputError(str(out), "folder is not empty and holds no synthblend sweep; "
                                       "choose an empty or new folder (or pass --overwrite)")


def render_sweep(sweep: Sweep, out, seed=None, workers=1, threads=0, shard=None, resume=False,
                 overwrite=False, backend="local", ray_address=None, gpu_ids=None, progress=False,
                 log=None, in_process=False) -> list:
    """Render every point of ``sweep`` into ``out/<name>/``; returns [(point, RenderSummary)].
    Stops after an interrupted point (its summary says so). ``log(text)`` gets one line per point.
    ``in_process``: with one local worker, render in this process (see ``render_dataset``)."""
    from ..api import plan, render_dataset
    from ..dataset.writer import write_json

    out = Path(out)
    if backend == "ray":
        from ..ray_backend import check_ray
        check_ray(ray_address)
    prepare_sweep_dir(out, overwrite)
    if not overwrite:                        # refuse before anything is written
        for p in sweep.points:
            plan(p.config, out / p.dir, seed=seed, shard=shard, resume=resume, overwrite=False)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / SWEEP_JSON, sweep.to_json())
    results = []
    ctx = None
    stop = {"flag": False}                   # Ctrl-C between points: do not start the next one
    old = {}
    if threading.current_thread() is threading.main_thread():
        old = {sig: signal.signal(sig, lambda *_: stop.update(flag=True)) for sig in (signal.SIGINT, signal.SIGTERM)}
    if backend == "ray":
        from ..ray_backend import ray_runtime
        ctx = ray_runtime(ray_address)
        ctx.__enter__()
    try:
        for k, p in enumerate(sweep.points):
            if stop["flag"]:
                from ..api import RenderSummary
                results.append((p, RenderSummary(out / p.dir, 0, interrupted=True)))
                break
            if log:
                log(f"[{k + 1}/{len(sweep.points)}] {p.name}")
            s = render_dataset(p.config, out / p.dir, seed=seed, workers=workers, shard=shard,
                               resume=resume, overwrite=overwrite, backend=backend,
                               ray_address=ray_address, threads=threads, gpu_ids=gpu_ids,
                               progress=progress, **({"in_process": True} if in_process else {}))
            results.append((p, s))
            if log:
                log(f"    {len(s.rendered)} frame(s) rendered, {s.skipped} already there, "
                    f"{len(s.failed)} failed, {s.wall_seconds:.1f} s -> {out / p.dir}")
            if s.interrupted:
                break
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        if ctx is not None:
            ctx.__exit__(None, None, None)
    return results


def run_sweep(a) -> int:
    """The CLI's ``sweep`` command; ``a`` holds the sweep path, --out and the render options."""
    if getattr(a, "workers", 1) < 1:
        raise InputError("--workers", f"must be >= 1, got {a.workers}")
    from ..api import parse_shard
    parse_shard(a.shard)
    sweep = load_sweep(a.sweep, frames=a.frames)
    quiet = getattr(a, "quiet", False)
    gpu_ids = None
    if getattr(a, "gpu_ids", None):
        try:
            gpu_ids = [int(x) for x in a.gpu_ids.split(",")]
        except ValueError:
            raise InputError("--gpu-ids", f"expected comma-separated integers, got {a.gpu_ids!r}")

    def log(text):
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    log(f"sweep {a.sweep}: {len(sweep.points)} point(s) into {a.out}")
    results = render_sweep(sweep, a.out, seed=a.seed, workers=a.workers, threads=a.threads, shard=a.shard,
                           resume=a.resume, overwrite=a.overwrite, backend=a.backend,
                           ray_address=a.ray_address, gpu_ids=gpu_ids, progress=not quiet, log=log,
                           in_process=True)
    out = Path(a.out)
    try:
        make_sweep_preview(out, out / PREVIEW)
        preview = f"; preview: {out / PREVIEW}"
    except Exception as e:  # noqa: BLE001 - a preview never fails the sweep
        preview = f"; no preview ({e})"
    rendered = sum(len(s.rendered) for _, s in results)
    failed = [(p, s) for p, s in results if s.failed]
    interrupted = any(s.interrupted for _, s in results)
    complete = sum(1 for _, s in results if s.ok)
    log(f"sweep: {rendered} frame(s) rendered; {complete} of {len(sweep.points)} point(s) complete; "
        f"points listed in {out / SWEEP_JSON}{preview}")
    if interrupted:
        print(f"interrupted: finished frames are kept; complete the sweep with "
              f"`synthblend sweep {a.sweep} --out {a.out} --resume`", file=sys.stderr)
        return 130
    if failed:
        print(f"error: frames failed in {len(failed)} point(s): "
              + ", ".join(f"{p.name} ({len(s.failed)})" for p, s in failed)
              + f"; details in {out}/<point>/logs", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------------ preview


def _first_rgb(point_dir: Path):
    """(frame, HxWx3 uint8) of the lowest complete frame with an RGB image, or None."""
    import numpy as np
    from PIL import Image

    meta = point_dir / "meta"
    if not meta.is_dir():
        return None
    frames = sorted(int(p.stem) for p in meta.glob("*.json") if p.stem.isdigit())
    for f in frames:
        rgb = point_dir / "rgb" / f"{f:06d}.png"
        if rgb.is_file():
            with Image.open(rgb) as im:
                return f, np.asarray(im.convert("RGB"))
    return None


def flow(v) -> str:
    """A value as YAML flow text: {uniform: [50, 100]}."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return value_text(v)


def caption(overrides: dict, width: int = 50) -> str:
    """One line per override, ``path: value``, long lines wrapped."""
    import textwrap
    if not overrides:
        return "base config"
    lines = []
    for k, v in overrides.items():
        text = flow(v)
        lines.extend(textwrap.wrap(f"{k}: {text}", width, subsequent_indent="  ") or [""])
    return "\n".join(lines)


def make_sweep_preview(sweep_dir, out_png=None, cols: int | None = None) -> Path:
    """A PNG with the first frame's RGB of every point of the sweep in ``sweep_dir``, side by side,
    each captioned with its overrides."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep_dir = Path(sweep_dir)
    try:
        info = json.loads((sweep_dir / SWEEP_JSON).read_text())
    except (OSError, ValueError) as e:
        raise InputError(str(sweep_dir), f"holds no readable {SWEEP_JSON} ({e})")
    points = info.get("points", [])
    if not points:
        raise InputError(str(sweep_dir / SWEEP_JSON), "lists no points")
    out_png = Path(out_png) if out_png else sweep_dir / PREVIEW
    n = len(points)
    cols = cols or min(n, 4)
    rows = -(-n // cols)
    n_lines = max(len(caption(p["overrides"]).splitlines()) for p in points)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, rows * (2.4 + 0.16 * n_lines)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, p in zip(axes.flat, points):
        got = _first_rgb(sweep_dir / p["dir"])
        if got is None:
            ax.text(0.5, 0.5, "no frame yet", ha="center", va="center", transform=ax.transAxes)
        else:
            f, img = got
            ax.imshow(img, interpolation="nearest")
            ax.text(0.0, 1.0, f" frame {f}", transform=ax.transAxes, va="top", fontsize=7, color="w",
                    bbox=dict(facecolor="black", alpha=0.4, pad=1, linewidth=0))
        ax.set_title(caption(p["overrides"]), fontsize=7, loc="left", family="monospace")
    fig.suptitle(f"sweep {Path(info.get('sweep') or sweep_dir).name}: {n} point(s)", fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
