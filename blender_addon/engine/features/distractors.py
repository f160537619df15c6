"""Distractors in Blender: per shape a distractor can take, one primitive mesh and a pool of as many
objects as ``scene.distractors.count`` can ask for (poses and visibility: SceneObjects.apply); with
``scene.distractors.meshes``, each mesh file loaded when a frame first uses it, into the asset cache."""
from __future__ import annotations

from ...core import assets
from ...core.features import distractors as dcore
from ...core.spec import ObjectKind
from ..objects import Loaded
from .objects import primitive_arrays


class Distractors:
    def __init__(self, builder):
        self.b = builder
        self.pools: dict[str, list] = {}      # shape -> bpy objects

    def build(self) -> None:
        n = dcore.max_count(self.b.config)
        if (self.b.config.parsed["scene"].get("distractors") or {}).get("library") is not None:
            self.b.objects.register_lazy((ObjectKind.DISTRACTOR, "mesh"), self._load_mesh)   # meshes: lazy
        for shape in dcore.shapes(self.b.config):
            asset = self.b.add_mesh(f"distractor_{shape}", primitive_arrays(shape), assets.PRIMITIVE_SMOOTH[shape])
            asset.mesh.materials.append(None)
            pool = [self.b.new_object(f"distractor_{shape}_{k}", asset.mesh) for k in range(n)]
            self.pools[shape] = pool
            self.b.objects.register((ObjectKind.DISTRACTOR, shape), asset, pool)

    def _load_mesh(self, source: tuple) -> Loaded:
        """A mesh distractor ``(DISTRACTOR, "mesh", asset_key)``: the file's mesh and a pool of as many
        objects as a frame can ask for (materials: engine/features/materials.py's ``loaded``)."""
        from ...dataset.layout import sanitize_name

        config = self.b.config
        a = config.parsed["scene"]["distractors"]["library"].by_key[source[2]]
        asset = self.b.add_mesh(sanitize_name(f"distractor_{a.key}"), assets.load_mesh(a.path), False)
        asset.mesh.materials.append(None)
        pool = [self.b.new_object(f"{asset.key}_{k}", asset.mesh) for k in range(dcore.max_count(config))]
        return Loaded(asset, pool, owned=[], path=str(a.path))

    def apply(self, spec) -> None:
        """Poses and visibility: :meth:`SceneObjects.apply`."""


FEATURE = Distractors
