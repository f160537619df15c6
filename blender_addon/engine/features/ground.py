"""The ground in Blender: one square plane at z = 0 (``scene.ground.size``) with its colour."""
from __future__ import annotations

from ...core import assets
from ...core.color import hex_to_linear
from ...core.spec import ObjectKind
from .. import compat


class Ground:
    def __init__(self, builder):
        self.b = builder
        self.object = None

    def build(self) -> None:
        ground = self.b.config.data["scene"].get("ground")
        if not ground:
            return
        asset = self.b.add_mesh("ground", assets.ground_plane(ground["size"]), False)
        mat, _ = compat.principled_material("synthblend_ground", hex_to_linear(ground["color"]), 0.8)
        asset.mesh.materials.append(mat)
        self.object = self.b.new_object("ground", asset.mesh, hidden=False)
        self.b.objects.register((ObjectKind.GROUND,), asset, [self.object])

    def apply(self, spec) -> None:
        """Pose and visibility: :meth:`SceneObjects.apply`."""


FEATURE = Ground
