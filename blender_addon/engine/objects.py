"""Which Blender object shows each object of a frame, and which mesh it is an instance of: the
engine's one dispatch on :class:`~synthblend.core.spec.ObjectKind`.

Features register, when the scene is built, a mesh per *source* (``ObjectSpec.source``: a config
entry, a distractor shape, a static support, the ground, the back plane, one of a .blend's objects)
and a pool of bpy objects that show it (as many as a frame can need; ``ObjectSpec.slot`` picks one). Per frame
:meth:`SceneObjects.apply` poses, labels and shows the frame's objects and hides every other pooled
object; a .blend's objects are only labelled (never moved or hidden).

Mesh-file entries and the assets of libraries are *lazy* (:meth:`SceneObjects.register_lazy`): a
source is loaded (mesh, materials, pool) when a frame first uses it, into a cache bounded by
``render.asset_cache`` (``max_assets`` sources, ``max_mb`` estimated megabytes): before a frame
loads what it lacks, the least recently used sources it does not use are evicted to make room under
``max_assets``; after loading, more until ``max_mb`` holds too. An evicted source's Blender
datablocks (objects, mesh, materials, images, actions) are removed and the freed heap returned to
the system. A frame's own sources are never evicted while it renders (so one frame may exceed the
bounds). What a frame renders does not depend on what was loaded before it: every source is built
from its file alone, with the same datablock names each time.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..core.spec import ObjectKind

MB = 1 << 20


@dataclass
class MeshAsset:
    """One mesh datablock and the exact triangles Blender holds for it (local frame)."""

    key: str                 # file stem in DIR/meshes
    mesh: object             # bpy.types.Mesh
    vertices: np.ndarray     # Nx3 float32, as rendered
    faces: np.ndarray        # Mx3 int32 (loop triangles)


@dataclass
class Loaded:
    """A lazy source in the cache: its mesh, its pool and every datablock made for it."""

    asset: MeshAsset
    pool: list
    owned: list = field(default_factory=list)   # bpy datablocks removed on eviction
    nbytes: int = 0                             # estimate, see estimate_bytes
    entry: int | None = None                    # config entry (scene.objects[entry])
    path: str | None = None                     # the asset file it was loaded from


def read_triangles(me) -> tuple[np.ndarray, np.ndarray]:
    """The triangles Cycles renders for a mesh: vertex positions and loop-triangle vertex indices."""
    me.calc_loop_triangles()
    v = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", v)
    t = np.empty(len(me.loop_triangles) * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", t)
    return v.reshape(-1, 3), t.reshape(-1, 3)


def estimate_bytes(asset: MeshAsset, owned) -> int:
    """What a cached source holds, estimated in bytes: its triangles twice (the numpy copy here and
    Blender's positions and triangles), 192 bytes per face for Blender's loops, edges, faces and
    normals, and 4 bytes per pixel of its texture images."""
    n = 2 * (asset.vertices.nbytes + asset.faces.nbytes) + 4 * 48 * len(asset.faces)
    for db in owned:
        size = getattr(db, "size", None)          # bpy.types.Image
        if size is not None and getattr(db, "channels", 0):
            n += int(size[0]) * int(size[1]) * 4
    return n


class SceneObjects:
    def __init__(self, max_assets: int | None = None, max_mb: float | None = None):
        """``max_assets`` / ``max_mb``: bounds of the lazy-source cache (None = unbounded)."""
        self.meshes: dict[tuple, MeshAsset] = {}     # source -> mesh
        self.pools: dict[tuple, list] = {}           # source -> bpy objects showing it
        self._vertex_normals: dict[str, np.ndarray | None] = {}
        self.max_assets = max_assets
        self.max_bytes = None if max_mb is None else int(max_mb * MB)
        self._loaders: dict[tuple, object] = {}      # (kind, entry) -> loader(source) -> Loaded
        self._cache: OrderedDict[tuple, Loaded] = OrderedDict()   # lazy sources, least recent first
        self._listeners: list = []
        self.stats = {"loads": 0, "evictions": 0}

    # -- registering ----------------------------------------------------------------------------
    def register(self, source: tuple, asset: MeshAsset, objects: list) -> None:
        """A source built with the scene (kept for the whole run)."""
        self.meshes[source] = asset
        self.pools[source] = list(objects)
        for listener in self._listeners:
            if hasattr(listener, "mesh_added"):
                listener.mesh_added(source, asset)

    def register_lazy(self, prefix: tuple, loader) -> None:
        """Sources whose first two parts are ``prefix`` (``(ObjectKind.OBJECT, entry)``) are loaded by
        ``loader(source) -> Loaded`` when a frame first uses them."""
        self._loaders[prefix] = loader

    def listen(self, listener) -> None:
        """``listener.loaded(source, loaded)`` runs after a lazy source is loaded (to add materials,
        keyframes: append what it makes to ``loaded.owned``); ``listener.evicted(source, loaded)``
        before it is removed; ``listener.mesh_added(source, asset)`` for every mesh, eager ones
        included (already registered ones are replayed)."""
        self._listeners.append(listener)
        if hasattr(listener, "mesh_added"):
            for source, asset in self.meshes.items():
                listener.mesh_added(source, asset)

    def is_lazy(self, source: tuple) -> bool:
        return tuple(source[:2]) in self._loaders

    @property
    def cached(self) -> list[tuple]:
        """The lazy sources in the cache, least recently used first."""
        return list(self._cache)

    @property
    def cached_bytes(self) -> int:
        return sum(x.nbytes for x in self._cache.values())

    # -- the cache ------------------------------------------------------------------------------
    def ensure(self, spec) -> None:
        """Load every lazy source ``spec`` uses, mark them most recently used, then evict the least
        recently used others until the bounds hold."""
        used = list(dict.fromkeys(o.source for o in spec.objects if self.is_lazy(o.source)))
        keep = set(used)
        new = [s for s in used if s not in self._cache]
        evicted = 0
        for source in [s for s in self._cache if s not in keep]:     # room first: a lower peak
            if self.max_assets is None or len(self._cache) + len(new) <= self.max_assets:
                break
            self.evict(source)
            evicted += 1
        for source in used:
            if source in self._cache:
                self._cache.move_to_end(source)
            else:
                self._load(source)
        for source in [s for s in self._cache if s not in keep]:     # then the size bound
            if not self._over_bounds():
                break
            self.evict(source)
            evicted += 1
        if evicted:
            _return_freed_memory()

    def _over_bounds(self) -> bool:
        if self.max_assets is not None and len(self._cache) > self.max_assets:
            return True
        return self.max_bytes is not None and self.cached_bytes > self.max_bytes

    def _load(self, source: tuple) -> None:
        loaded = self._loaders[tuple(source[:2])](source)
        self.meshes[source] = loaded.asset
        self.pools[source] = loaded.pool
        self._cache[source] = loaded
        for listener in self._listeners:
            if hasattr(listener, "loaded"):
                listener.loaded(source, loaded)
            if hasattr(listener, "mesh_added"):
                listener.mesh_added(source, loaded.asset)
        loaded.nbytes = estimate_bytes(loaded.asset, loaded.owned)
        self.stats["loads"] += 1

    def evict(self, source: tuple) -> None:
        """Remove a lazy source: its pool objects and every datablock made for it."""
        import bpy

        loaded = self._cache.pop(source)
        for listener in self._listeners:
            if hasattr(listener, "evicted"):
                listener.evicted(source, loaded)
        self.meshes.pop(source, None)
        self.pools.pop(source, None)
        me = loaded.asset.mesh
        self._vertex_normals.pop(me.name_full if hasattr(me, "name_full") else me.name, None)
        actions, materials = [], []
        for ob in loaded.pool:
            ad = ob.animation_data
            if ad is not None and ad.action is not None:
                actions.append(ad.action)
            materials.extend(s.material for s in ob.material_slots if s.material is not None)
            bpy.data.objects.remove(ob, do_unlink=True)
        materials.extend(m for m in me.materials if m is not None)
        bpy.data.meshes.remove(me, do_unlink=True)
        owned = {id(db): db for db in [*loaded.owned, *materials, *actions]}
        for db in owned.values():
            _remove_datablock(bpy, db)
        self.stats["evictions"] += 1

    # -- per object -----------------------------------------------------------------------------
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
        """Load what the frame uses (:meth:`ensure`); pose, label and show the frame's objects; hide
        every pooled object the frame does not use."""
        from mathutils import Matrix

        self.ensure(spec)
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

    def apply_poses(self, spec, applied) -> None:
        """Another view of the scene ``applied`` showed (same objects, same sources): set only the
        poses that differ from ``applied``'s (setting a matrix, even to its value, makes Cycles
        re-sync the object)."""
        from mathutils import Matrix

        before = {o.instance_id: o.obj2world for o in applied.objects}
        for o in spec.objects:
            if o.kind is ObjectKind.BLEND:
                continue
            old = before.get(o.instance_id)
            if old is not None and np.array_equal(np.asarray(old), np.asarray(o.obj2world)):
                continue
            ob = self.bpy_object(o)
            ob.rotation_mode = "QUATERNION"
            ob.matrix_world = Matrix(np.asarray(o.obj2world).tolist())


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the system after evictions (glibc's ``malloc_trim``; a
    no-op elsewhere): without it, freed meshes leave the worker's RSS fragmented and creeping."""
    import ctypes
    import ctypes.util

    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def _remove_datablock(bpy, db) -> None:
    """Remove a material, image, action, node group or mesh datablock (one removed already is skipped)."""
    try:
        kind = db.bl_rna.identifier
    except ReferenceError:            # removed already (its struct is gone)
        return
    coll = {"Material": bpy.data.materials, "Image": bpy.data.images, "Action": bpy.data.actions,
            "Mesh": bpy.data.meshes, "ShaderNodeTree": bpy.data.node_groups}.get(kind)
    if coll is not None:
        coll.remove(db, do_unlink=True)
