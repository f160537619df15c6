"""Physics placement on a real rigid-body engine: Bullet through PyBullet, in the pure core (no
Blender; runs wherever numpy and pybullet do), deterministic on the same machine and build.

* :mod:`.world` - one fresh DIRECT client per scene, its fixed settings, the floor and static colliders;
* :mod:`.shapes` - collision shapes (hull, CoACD decomposition, exact primitives), cached by content;
* :mod:`.massprops` - exact mass properties of triangle meshes (volume, centre of mass, inertia);
* :mod:`.settle` - dropping, settling, the outside rule, reading poses back; :mod:`.rest` - rest detection.

Entry point: :func:`simulate` (``core/features/placement.py`` builds its bodies and statics from a
FrameSpec).
"""
from __future__ import annotations

from .settle import FLOOR, Body, SimResult, simulate
from .shapes import AUTO, COLLISIONS, ShapeModel, shape_model
from .world import SimParams, Static

__all__ = ["AUTO", "COLLISIONS", "FLOOR", "Body", "ShapeModel", "SimParams", "SimResult", "Static",
           "shape_model", "simulate"]
