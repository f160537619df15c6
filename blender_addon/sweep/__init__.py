"""``synthblend sweep SWEEP --out DIR``: one dataset per point of a parameter sweep (no bpy here).

A sweep file names a ``base`` config, ``frames`` per point and a ``grid`` and/or a list of ``points``
of overrides (format in :mod:`.load`). Each point is a complete dataset in ``DIR/<name>/`` (``name``:
its overrides, readable and file-name safe, e.g. ``camera.focal_length_mm=30,lighting.power_w=uniform-50-100``;
``p003_...`` when it would be too long or ambiguous). ``DIR/sweep.json`` lists every point's ``name``,
``overrides`` and ``dir`` (relative to DIR); ``DIR/preview.png`` shows the first frame of every point
side by side. Everything is validated before anything is rendered: the sweep file, every point's config
(an invalid one is reported with the point's name) and every point's folder.

One job per module (the runner layer: may import ``api``, ``core`` and ``dataset``; never ``bpy`` or
``engine`` at import time; nothing in core, dataset or engine imports this package):

- :mod:`.model`: ``Sweep``, ``SweepPoint``, the sweep folder's file names
- :mod:`.naming`: ``value_text``, ``point_name``, ``assign_names``
- :mod:`.load`: ``load_sweep`` (sweep file -> validated ``Sweep``; problems are ``ConfigError``s)
- :mod:`.run`: ``prepare_sweep_dir``, ``render_sweep`` (-> ``SweepResult``; prints nothing)
- :mod:`.preview`: ``make_sweep_preview``, ``caption``

    from synthblend.sweep import load_sweep, make_sweep_preview, render_sweep
    sweep = load_sweep("sweep.yaml")
    result = render_sweep(sweep, "out/sweep", workers=2, resume=True)
    make_sweep_preview("out/sweep")
"""
from __future__ import annotations

from .load import SWEEP_KEYS, load_sweep
from .model import FORMAT, PREVIEW, SWEEP_JSON, Sweep, SweepPoint
from .naming import MAX_NAME, assign_names, point_name, value_text
from .preview import caption, flow, make_sweep_preview
from .run import SweepResult, prepare_sweep_dir, render_sweep

__all__ = ["FORMAT", "MAX_NAME", "PREVIEW", "SWEEP_JSON", "SWEEP_KEYS", "Sweep", "SweepPoint", "SweepResult",
           "assign_names", "caption", "flow", "load_sweep", "make_sweep_preview", "point_name",
           "prepare_sweep_dir", "render_sweep", "value_text"]
