"""The Python API behind ``synthblend render``: validate, prepare the folder, run workers, summarise.

    import synthblend
    cfg = synthblend.load_config("scene.yaml").override({"camera.focal_length_mm": 50})
    summary = synthblend.render_dataset(cfg, "out/f50", frames=100, workers=2)

Nothing here imports bpy; rendering happens in worker processes.
"""
from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .core.assets import load_mesh
from .core.config import Config, load_config
from .core.errors import InputError
from .dataset.writer import DatasetWriter


@dataclass
class RenderSummary:
    out_dir: Path
    requested: int
    rendered: list[int] = field(default_factory=list)
    skipped: int = 0
    failed: dict = field(default_factory=dict)
    interrupted: bool = False
    wall_seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    workers: int = 1

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'K/N' -> (K, N) with 0 <= K < N."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise InputError("--shard", f"expected K/N such as 0/4, got {text!r}")
    if n < 1 or not 0 <= k < n:
        raise InputError("--shard", f"need 0 <= K < N, got {text!r}")
    return k, n


def check_assets(config: Config) -> None:
    """Load every mesh once (catches corrupt, empty and unreadable files before rendering)."""
    for i, o in enumerate(config.data["scene"]["objects"]):
        if o.get("mesh") is not None:
            where = f"{config.path}: scene.objects[{i}].mesh" if config.path else f"scene.objects[{i}].mesh"
            load_mesh(config.parsed["scene"]["objects"][i]["mesh"], where=where)


def blender_version() -> str:
    """Version of the Blender that renders: the running one inside Blender, else the bpy wheel's."""
    bpy = sys.modules.get("bpy")
    if bpy is not None and hasattr(bpy, "app"):
        return bpy.app.version_string
    try:
        return importlib.metadata.version("bpy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def plan(config: Config, out_dir, frames=None, seed=None, shard=None, resume=False, overwrite=False):
    """Validate everything and decide the frames to render; returns (config, todo, requested)."""
    from .outdir import prepare

    overrides = {}
    if frames is not None:
        if int(frames) < 1:
            raise InputError("--frames", f"must be >= 1, got {frames}")
        overrides["frames"] = int(frames)
    if seed is not None:
        overrides["seed"] = int(seed)
    if overrides:
        config = config.with_values(**overrides)
    check_assets(config)
    shard = parse_shard(shard) if isinstance(shard, str) or shard is None else shard
    requested = list(range(config.frames))
    if shard:
        k, n = shard
        requested = [i for i in requested if i % n == k]
    todo = prepare(Path(out_dir), config, requested, resume, overwrite)
    return config, todo, requested


def write_manifest(config: Config, out_dir) -> None:
    from .dataset.meta import manifest
    writer = DatasetWriter(Path(out_dir))
    writer.write_manifest(manifest(config, blender_version(), __version__))


def render_dataset(config, out, frames=None, seed=None, workers=1, shard=None, resume=False,
                   overwrite=False, backend="local", ray_address=None, threads=0, gpu_ids=None,
                   progress=False) -> RenderSummary:
    """Render a dataset (see the CLI's ``render``). ``config`` is a Config or a path to one."""
    if not isinstance(config, Config):
        config = load_config(config)
    out = Path(out)
    config, todo, requested = plan(config, out, frames, seed, shard, resume, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(config, out)
    summary = RenderSummary(out, len(requested), skipped=len(requested) - len(todo), workers=workers)
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="frame", desc="render", file=sys.stderr, dynamic_ncols=True,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames "
                              "[{elapsed}<{remaining}, {rate_fmt}]")

    def on_frame(frame, stages):
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    if backend == "local":
        from .runners import LocalPool
        res = LocalPool(config, out, workers=workers, threads=threads, gpu_ids=gpu_ids).run(todo, on_frame)
    elif backend == "ray":
        from .ray_backend import RayPool
        res = RayPool(config, out, workers=workers, threads=threads, address=ray_address).run(todo, on_frame)
    else:
        raise InputError("--backend", f"unknown backend {backend!r}; allowed: local, ray")
    if bar is not None:
        bar.close()
    summary.wall_seconds = time.perf_counter() - t0
    summary.rendered = sorted(res.done)
    summary.failed = res.failed
    summary.interrupted = res.interrupted
    summary.stage_seconds = res.stage_seconds
    _log_run(out, summary)
    if res.input_error:
        raise InputError("", res.input_error)
    return summary


def _log_run(out: Path, s: RenderSummary) -> None:
    """Timings and hosts go to logs/, never into the dataset's per-frame files."""
    import platform
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "runs.jsonl", "a") as f:
        f.write(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(),
            "rendered": len(s.rendered), "skipped": s.skipped, "failed": {str(k): v[-500:] for k, v in s.failed.items()},
            "interrupted": s.interrupted, "wall_seconds": round(s.wall_seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in s.stage_seconds.items()}, "workers": s.workers,
        }) + "\n")
