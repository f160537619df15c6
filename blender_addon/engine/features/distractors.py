"""Distractors in Blender: per shape a distractor can take, one primitive mesh and a pool of as many
objects as ``scene.distractors.count`` can ask for (poses and visibility: SceneObjects.apply)."""
from __future__ import annotations

from ...core import assets
from ...core.features import distractors as dcore
from ...core.spec import ObjectKind
from .objects import primitive_arrays


class Distractors:
    def __init__(self, builder):
        self.b = builder
        self.pools: dict[str, list] = {}      # shape -> bpy objects

    def build(self) -> None:
        n = dcore.max_count(self.b.config)
        for shape in dcore.shapes(self.b.config):
            asset = self.b.add_mesh(f"distractor_{shape}", primitive_arrays(shape), assets.PRIMITIVE_SMOOTH[shape])
            asset.mesh.materials.append(None)
            pool = [self.b.new_object(f"distractor_{shape}_{k}", asset.mesh) for k in range(n)]
            self.pools[shape] = pool
            self.b.objects.register((ObjectKind.DISTRACTOR, shape), asset, pool)

    def apply(self, spec) -> None:
        """Poses and visibility: :meth:`SceneObjects.apply`."""


FEATURE = Distractors
