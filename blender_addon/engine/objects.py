"""Which Blender object shows each object of a frame, and which mesh it is an instance of: the
engine's one dispatch on :class:`~synthblend.core.spec.ObjectKind`.

Features register, when the scene is built, a mesh per *source* (``ObjectSpec.source``: a config
entry, a distractor shape, a static support, the ground, the back plane, one of a .blend's objects)
and a pool of bpy objects that show it (as many as a frame can need; ``ObjectSpec.slot`` picks one). Per frame
:meth:`SceneObjects.apply` poses, labels and shows the frame's objects and hides every other pooled
object; a .blend's objects are only labelled (never moved or hidden).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.spec import ObjectKind


@dataclass
class MeshAsset:
    """One mesh datablock and the exact triangles Blender holds for it (local frame)."""

    key: str                 # file stem in DIR/meshes
    mesh: object             # bpy.types.Mesh
    vertices: np.ndarray     # Nx3 float32, as rendered
    faces: np.ndarray        # Mx3 int32 (loop triangles)


def read_triangles(me) -> tuple[np.ndarray, np.ndarray]:
    """The triangles Cycles renders for a mesh: vertex positions and loop-triangle vertex indices."""
    me.calc_loop_triangles()
    v = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", v)
    t = np.empty(len(me.loop_triangles) * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", t)
    return v.reshape(-1, 3), t.reshape(-1, 3)


class SceneObjects:
    def __init__(self):
        self.meshes: dict[tuple, MeshAsset] = {}     # source -> mesh
        self.pools: dict[tuple, list] = {}           # source -> bpy objects showing it
        self._vertex_normals: dict[str, np.ndarray | None] = {}

    def register(self, source: tuple, asset: MeshAsset, objects: list) -> None:
        self.meshes[source] = asset
        self.pools[source] = list(objects)

    def bpy_object(self, o):
        """The bpy object showing ObjectSpec ``o``."""
        return self.pools[o.source][o.slot]

    def mesh(self, o) -> MeshAsset:
        return self.meshes[o.source]

    def geometry_of(self, o) -> tuple[np.ndarray, np.ndarray]:
        """(vertices, faces) of the triangles rendered for ``o`` (its local frame)."""
        m = self.meshes[o.source]
        return m.vertices, m.faces

    def vertex_normals_of(self, o) -> np.ndarray | None:
        """Blender's vertex normals of ``o``'s mesh when it is smooth-shaded, else None (cached).
        None too for a .blend object whose evaluated mesh differs from its data (modifiers)."""
        from . import compat

        m = self.meshes[o.source]
        me = m.mesh
        if me is None or not hasattr(me, "polygons") or len(me.vertices) != len(m.vertices):
            return None
        key = me.name_full if hasattr(me, "name_full") else me.name
        if key not in self._vertex_normals:
            self._vertex_normals[key] = compat.vertex_normals(me) if compat.is_smooth(me) else None
        return self._vertex_normals[key]

    def movable(self, spec) -> list:
        """(bpy object, ObjectSpec) of the frame's config objects and distractors."""
        return [(self.bpy_object(o), o) for o in spec.objects
                if o.kind in (ObjectKind.OBJECT, ObjectKind.DISTRACTOR)]

    def apply(self, spec) -> None:
        """Pose, label and show the frame's objects; hide every pooled object the frame does not use."""
        from mathutils import Matrix

        used = set()
        for o in spec.objects:
            ob = self.bpy_object(o)
            ob.pass_index = o.instance_id
            if o.kind is ObjectKind.BLEND:           # the user's object: labelled, never moved
                continue
            used.add(ob.name)
            # a quaternion keeps the pose exact: Blender's default XYZ Euler, in float32, loses ~1e-3 rad
            # near pitch +-90 deg (a box resting on its side after physics), which shows in depth
            ob.rotation_mode = "QUATERNION"
            ob.matrix_world = Matrix(np.asarray(o.obj2world).tolist())
            ob.hide_render = False
            ob.hide_viewport = False
        for source, pool in self.pools.items():
            if source[0] is ObjectKind.BLEND:
                continue
            for ob in pool:
                if ob.name not in used:
                    ob.hide_render = True
                    ob.hide_viewport = True
