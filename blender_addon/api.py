"""The public Python API behind ``synthblend render``:

    import synthblend
    cfg = synthblend.load_config("scene.yaml").override({"camera.focal_length_mm": 50})
    summary = synthblend.render_dataset(cfg, "out/f50", frames=100, workers=2)

A thin layer over the runners (:mod:`synthblend.runners`): planning and the manifest are in
``runners/plan.py``, the summary and run log in ``runners/summary.py``, the runs in ``runners/run.py``.
Nothing here imports bpy; rendering happens in worker processes.
"""
from __future__ import annotations

from .core.config import load_config
from .runners.plan import check_assets, parse_shard, plan
from .runners.summary import RenderSummary

__all__ = ["RenderSummary", "check_assets", "load_config", "parse_shard", "plan", "render_dataset"]


def render_dataset(config, out, frames=None, seed=None, workers=1, shard=None, resume=False,
                   overwrite=False, backend="local", ray_address=None, threads=0, gpu_ids=None,
                   progress=False, t_start=None, in_process=False) -> RenderSummary:
    """Render a dataset (see the CLI's ``render``). ``config`` is a Config or a path to one.
    ``t_start`` (a ``time.perf_counter()`` value) dates ``first_frame_seconds``; default: now.
    ``in_process``: with one local worker, render in this process (imports bpy here; the CLI does
    this to save a second interpreter start); otherwise workers are separate processes."""
    from .runners.run import render_dataset as run
    return run(config, out, frames=frames, seed=seed, workers=workers, shard=shard, resume=resume,
               overwrite=overwrite, backend=backend, ray_address=ray_address, threads=threads, gpu_ids=gpu_ids,
               progress=progress, t_start=t_start, in_process=in_process)
