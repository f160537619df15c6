"""Warnings of ``synthblend check`` and ``synthblend render`` about assets and their poses: not errors
(the dataset is still exact), but likely not what the user meant.

* Below the ground: an entry whose sampled poses can put part of the object below z = 0 (with a
  ground plane, and ``placement`` other than ``physics``, which settles objects on it). The lowest
  world z an instance can reach is bounded from the entry's distributions: the lowest position z
  (exact for constants, uniform, clipped normal and choices; an unclipped normal reaches any value),
  plus the lowest point of the mesh (raw coordinates, after the up-axis conversion) under the
  rotation (exact for ``none`` and constant rotations; ``uniform_so3`` reaches the point farthest
  from the origin, straight down; a random ``euler_deg`` is sampled 512 times from a private
  generator, which changes no frame's draws) times the largest scale (the smallest one for points
  above the origin). With ``rest_on_ground`` the mesh term is 0: only a negative gap sinks it.
* OBJ appearance files that are missing (:func:`.asset_checks.obj_appearance_problems`).

Each warning is one line ``warning: <file>:<line>: scene.objects[i]...: <what>``.
"""
from __future__ import annotations

import math

import numpy as np

from .asset_pose import lowest_z, support_points
from .errors import one_line
from .up_axis import up_axis_matrix

__all__ = ["asset_warnings", "below_ground", "EULER_SAMPLES", "TOLERANCE_M"]

EULER_SAMPLES = 512
TOLERANCE_M = 1e-9        # lower than this below z = 0 counts (float noise of a resting pose does not)


def _z_lower(d) -> float:
    """Lowest z (third component) a vec3 position distribution can produce; -inf when unbounded."""
    if d.name == "const":
        return float(d.args[0][2])
    if d.name == "choice":
        return min(float(a[2]) for a in d.args)
    if d.name == "uniform":
        return float(min(np.broadcast_to(np.asarray(a, float), (3,))[2] for a in d.args))
    if d.name == "normal" and d.clip is not None:
        return float(np.broadcast_to(np.asarray(d.clip[0], float), (3,))[2])
    return -math.inf


def _scale_bounds(d) -> tuple[float, float]:
    b = d.bounds()
    vals = d.values()
    if vals is not None:
        return float(min(vals)), float(max(vals))
    return (float(b[0]), float(b[1])) if b is not None else (0.0, math.inf)


def _mesh_drop(points: np.ndarray, C: np.ndarray, rot) -> float:
    """Lowest z of ``points`` (relative to the origin, scale 1) under the entry's rotation and ``C``."""
    from .draw import Draw

    kind, arg = rot
    if kind == "named" and arg == "uniform_so3":
        return -float(np.linalg.norm(points @ C.T, axis=1).max())
    draw = Draw(np.random.default_rng(0), {})
    n = EULER_SAMPLES if kind == "euler_deg" and arg.is_random else 1
    return min(lowest_z(points, draw.rotation(rot, "r") @ C) for _ in range(n))


def below_ground(config, i: int) -> str | None:
    """Why entry ``i`` can reach below the ground, or None (no ground, physics placement, a library
    entry, an unreadable mesh: reported elsewhere)."""
    from .features.objects import asset_name

    scene = config.data["scene"]
    if not scene.get("ground") or scene.get("placement") == "physics":
        return None
    data, parsed = scene["objects"][i], config.parsed["scene"]["objects"][i]
    if parsed.get("library") is not None or (data.get("mesh") is not None and not parsed["mesh"].is_file()):
        return None
    z_lo = _z_lower(parsed["position"])
    drop = 0.0
    if not data.get("rest_on_ground"):
        asset = asset_name(data)
        try:
            points = support_points(asset, config.base_dir)
        except Exception:  # a bad asset is an error of its own (asset_errors)
            return None
        m = _mesh_drop(points, up_axis_matrix(data, asset)[:3, :3], parsed["rotation"])
        s_lo, s_hi = _scale_bounds(parsed["scale"])
        drop = m * (s_hi if m < 0 else s_lo)
    low = z_lo + drop
    if not low < -TOLERANCE_M:
        return None
    if data.get("rest_on_ground"):
        return (f"with rest_on_ground, position z is the gap below the object, and it can be {z_lo:.4g} m: "
                "the object sinks into the ground; make position z >= 0")
    reach = "any depth" if math.isinf(low) else f"z = {low:.4g} m"
    return (f"sampled poses can put the object below the ground: its lowest point can reach {reach} "
            f"(position z from {z_lo:.4g} m, rotation {data.get('rotation')!r}); raise position z or use "
            "rest_on_ground: true")


def asset_warnings(config) -> list[str]:
    """Every warning line of the config's object entries, in entry order."""
    from .asset_checks import obj_appearance_problems

    out = []
    for i, parsed in enumerate(config.parsed["scene"]["objects"]):
        what = below_ground(config, i)
        if what:
            out.append(one_line(f"warning: {config.error(['scene', 'objects', i], what)}", limit=1000))
        mesh = parsed.get("mesh")
        if parsed.get("library") is None and mesh is not None and mesh.is_file():
            for problem in obj_appearance_problems(mesh):
                out.append(one_line(f"warning: {config.error(['scene', 'objects', i, 'mesh'], problem)}",
                                    limit=1000))
    return out
