"""Static supports in Blender: per ``scene.supports`` entry one mesh (core/supports.py: a bin, table or
shelf of exact boxes, or the entry's mesh file, raw coordinates) with its colour, and one object that
:meth:`SceneObjects.apply` poses and labels every frame (the pose may be random)."""
from __future__ import annotations

from ...core.color import hex_to_linear
from ...core.spec import ObjectKind
from ...core.supports import support_arrays
from .. import compat


def mesh_key(entry: int, data: dict) -> str:
    """File stem of a support's mesh in DIR/meshes (sanitised; unique per entry)."""
    from ...dataset.layout import sanitize_name
    return sanitize_name(f"support{entry:02d}_{data['name']}")


class Supports:
    def __init__(self, builder):
        self.b = builder
        self.objects: list = []        # bpy object per entry

    def build(self) -> None:
        config = self.b.config
        for i, data in enumerate(config.data["scene"].get("supports") or []):
            asset = self.b.add_mesh(mesh_key(i, data), support_arrays(config, i), False)
            mat, _ = compat.principled_material(f"synthblend_support_{i:02d}", hex_to_linear(data["color"]), 0.6)
            asset.mesh.materials.append(mat)
            ob = self.b.new_object(asset.key, asset.mesh)
            self.objects.append(ob)
            self.b.objects.register((ObjectKind.SUPPORT, i), asset, [ob])

    def apply(self, spec) -> None:
        """Pose, label and visibility: :meth:`SceneObjects.apply`."""


FEATURE = Supports
