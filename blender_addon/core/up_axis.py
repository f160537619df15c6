"""Which way a mesh file's axes point (pure, numpy only).

A mesh file's raw vertex coordinates (as ``trimesh.load(path, force="mesh", process=False)`` reads
them) are in the file's own axes. Our world is Z-up (meters; the ground is the plane z = 0) with +Y
as "forward", as in Blender. An object entry's ``up_axis`` (the file's axis that points up) and
``forward`` (the file's axis that becomes world +Y) give a fixed proper rotation ``C`` per entry,
folded into the pose (:mod:`.asset_pose`): ``obj2world = pose(R, p) @ scale(s) @ C``, so ``obj2world``
still maps the file's raw coordinates exactly and the engine keeps loading raw coordinates.

Defaults per format: glTF/GLB (``.gltf``, ``.glb``) are Y-up by their specification (+Y up, +Z the
asset's front), so ``up_axis: y``; every other format says nothing about its axes, so ``up_axis: z``
(the raw coordinates are used as they are) unless the entry says otherwise. ``forward`` defaults to
the choice of Blender's own importers: for ``up_axis: y`` the file's -Z becomes +Y (C = +90 deg about
x: (x, y, z) -> (x, -z, y), what Blender's glTF importer and its OBJ importer's defaults do); for the
other up axes, the one of the table :data:`DEFAULT_FORWARD`.
"""
from __future__ import annotations

import numpy as np

AXES = ("x", "y", "z", "-x", "-y", "-z")
Y_UP_FORMATS = (".gltf", ".glb")
# forward (file axis -> world +Y) for each up axis when the entry gives none; y: Blender's importers
DEFAULT_FORWARD = {"z": "y", "-z": "-y", "y": "-z", "-y": "z", "x": "y", "-x": "y"}

__all__ = ["AXES", "DEFAULT_FORWARD", "Y_UP_FORMATS", "default_up_axis", "axis_rotation", "up_axis_matrix"]


def _unit(axis: str) -> np.ndarray:
    v = np.zeros(3)
    v["xyz".index(axis[-1])] = -1.0 if axis.startswith("-") else 1.0
    return v


def default_up_axis(asset: str | None) -> str:
    """The up axis a file's format implies: ``y`` for glTF/GLB, ``z`` for anything else (primitives)."""
    if asset and str(asset).lower().endswith(Y_UP_FORMATS) and not str(asset).startswith("primitive:"):
        return "y"
    return "z"


def axis_rotation(up: str, forward: str | None = None) -> np.ndarray:
    """3x3 proper rotation mapping the file's ``up`` axis to world +Z and its ``forward`` axis to world
    +Y (default :data:`DEFAULT_FORWARD`). ValueError when they are parallel or unknown."""
    if up not in AXES or (forward is not None and forward not in AXES):
        raise ValueError(f"axes are one of {', '.join(AXES)}; got up_axis {up!r}, forward {forward!r}")
    forward = DEFAULT_FORWARD[up] if forward is None else forward
    u, f = _unit(up), _unit(forward)
    if abs(float(u @ f)) > 0.5:
        raise ValueError(f"forward {forward!r} must be perpendicular to up_axis {up!r}")
    return np.stack([np.cross(f, u), f, u])   # rows: world x (right = forward x up), y, z


def up_axis_matrix(data: dict, asset: str | None = None) -> np.ndarray:
    """4x4 conversion ``C`` of an object entry (``data``: its resolved config mapping) from the file's
    axes to the world's (identity for a Z-up file). ``asset``: the chosen file's path, whose format
    gives the default up axis (default: the entry's ``mesh``, or its primitive)."""
    if asset is None:
        asset = data.get("mesh") if data.get("mesh") is not None else f"primitive:{data.get('primitive')}"
    up = data.get("up_axis") or default_up_axis(asset)
    C = np.eye(4)
    C[:3, :3] = axis_rotation(up, data.get("forward"))
    return C
