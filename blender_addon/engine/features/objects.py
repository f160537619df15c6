"""The config's objects in Blender: per ``scene.objects`` entry one mesh (its file loaded once, or a
primitive) with the entry's colour, and a pool of as many objects as its largest count."""
from __future__ import annotations

from ...core import assets
from ...core.color import PALETTE, hex_to_linear
from ...core.spec import ObjectKind
from .. import compat


def mesh_key(entry: int, data: dict) -> str:
    """File stem of an entry's mesh in DIR/meshes (sanitised; unique per entry)."""
    from ...dataset.layout import sanitize_name
    if data.get("mesh") is not None:
        stem = data["mesh"].replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    else:
        stem = data["primitive"]
    return sanitize_name(f"obj{entry:02d}_{stem}")


def primitive_arrays(shape: str):
    """(vertices, faces) of a built-in primitive (unit size, see core/assets.py)."""
    if shape == "monkey":
        from ...core._monkey import monkey_arrays
        return monkey_arrays()
    return assets.primitive(shape)


class Objects:
    def __init__(self, builder):
        self.b = builder

    def _entry_arrays(self, data: dict):
        if data.get("mesh") is not None:
            return assets.load_mesh(self.b.config.base_dir / data["mesh"]), False
        shape = data["primitive"]
        return primitive_arrays(shape), assets.PRIMITIVE_SMOOTH[shape]

    def build(self) -> None:
        config = self.b.config
        for i, data in enumerate(config.data["scene"]["objects"]):
            arrays, smooth = self._entry_arrays(data)
            asset = self.b.add_mesh(mesh_key(i, data), arrays, smooth)
            color = hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])
            mat, _ = compat.principled_material(f"synthblend_mat_{i:02d}", color)
            asset.mesh.materials.append(mat)
            pool = [self.b.new_object(f"{asset.key}_{k}", asset.mesh) for k in range(config.max_count(i))]
            self.b.objects.register((ObjectKind.OBJECT, i), asset, pool)

    def apply(self, spec) -> None:
        """Poses and visibility: :meth:`SceneObjects.apply`."""


FEATURE = Objects
