"""A user's .blend scene (``scene.blend``, or the scene open in the add-on): its mesh objects are
captured once, after everything the tool adds, and labelled in every frame (targets by collection,
every other renderable mesh as category 0); they are never moved, and physics placement collides with
their world triangles (``Config.blend_statics``). File handling and capture rules:
:mod:`synthblend.engine.blend_scene`."""
from __future__ import annotations

import numpy as np

from ...core.spec import ObjectKind
from .. import blend_scene
from ..objects import MeshAsset


class Blend:
    def __init__(self, builder):
        self.b = builder
        self.objects: list = []        # blend_scene.BlendObject

    def build(self) -> None:
        b = self.b
        blend = b.config.parsed["scene"].get("blend")
        if blend is None and b.reset:
            return
        collection = b.config.data["scene"]["targets"]["collection"]
        # A missing collection is an error only for a config's .blend rendered headless that names a
        # collection of its own (a typo); the default one may be absent: the file's meshes are then
        # all scene context (category 0). The add-on's open file (reset=False) never fails for it.
        strict = blend is not None and b.reset and collection != blend_scene.DEFAULT_TARGETS
        self.objects = blend_scene.capture(b.scene, b.view_layer, collection, strict=strict, log=b.log,
                                           error=b.config.error)
        for name in blend_scene.extra_categories(self.objects, list(b.category_ids)):
            b.category_ids[name] = len(b.category_ids) + 1
        for k, ob in enumerate(self.objects):
            asset = MeshAsset(ob.mesh_key, getattr(ob.obj, "data", None), ob.vertices, ob.faces)
            b.objects.register((ObjectKind.BLEND, k), asset, [ob.obj])
        # their world triangles for the pure sampler: static colliders of physics placement
        b.config.blend_statics = tuple(
            (ob.name, np.asarray(ob.vertices, float) @ ob.obj2world[:3, :3].T + ob.obj2world[:3, 3],
             np.asarray(ob.faces, np.int64)) for ob in self.objects)

    def add_to(self, spec):
        """Append the captured objects to ``spec`` (ids after every sampled object)."""
        if self.objects:
            first = 1 + max((o.instance_id for o in spec.objects), default=0)
            spec.objects.extend(blend_scene.object_specs(self.objects, first, self.b.category_ids))
        return spec

    def apply(self, spec) -> None:
        """Labels: :meth:`SceneObjects.apply` (pass index only)."""
