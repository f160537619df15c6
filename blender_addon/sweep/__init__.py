"""``synthblend sweep``: one dataset per point of a parameter sweep (no bpy here; see ``load``)."""
from __future__ import annotations

from .load import (FORMAT, MAX_NAME, PREVIEW, SWEEP_JSON, SWEEP_KEYS, Sweep, SweepPoint, assign_names, caption,
                   flow, load_sweep, make_sweep_preview, point_name, prepare_sweep_dir, render_sweep, run_sweep,
                   value_text)

__all__ = ["FORMAT", "MAX_NAME", "PREVIEW", "SWEEP_JSON", "SWEEP_KEYS", "Sweep", "SweepPoint", "assign_names",
           "caption", "flow", "load_sweep", "make_sweep_preview", "point_name", "prepare_sweep_dir", "render_sweep",
           "run_sweep", "value_text"]
