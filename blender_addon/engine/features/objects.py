"""The config's objects in Blender. A primitive entry: one mesh built with the scene and a pool of
as many objects as its largest count. A mesh-file entry, and each asset of a library entry: loaded
when a frame first uses it (:meth:`SceneObjects.register_lazy`), into the bounded asset cache
(``render.asset_cache``), with its own fixed-colour material and a pool of as many objects as a frame
can hold of it; evicted sources free their datablocks (engine/objects.py)."""
from __future__ import annotations

from ...core import assets
from ...core.color import PALETTE, hex_to_linear
from ...core.spec import ObjectKind
from .. import compat
from ..objects import Loaded


def mesh_key(entry: int, data: dict, asset_key: str | None = None) -> str:
    """File stem of an entry's mesh in DIR/meshes (sanitised; unique per entry, and per asset of a
    library entry)."""
    from ...dataset.layout import sanitize_name
    if asset_key is not None:
        stem = asset_key
    elif data.get("mesh") is not None:
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


def entry_color(i: int, data: dict):
    return hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])


class Objects:
    def __init__(self, builder):
        self.b = builder
        self._libraries: dict[int, dict] = {}      # entry -> {asset key: LibraryAsset}

    def build(self) -> None:
        config = self.b.config
        for i, data in enumerate(config.data["scene"]["objects"]):
            if data.get("primitive") is not None:
                self._build_primitive(i, data)
            else:
                self.b.objects.register_lazy((ObjectKind.OBJECT, i), self._load)

    def _build_primitive(self, i: int, data: dict) -> None:
        shape = data["primitive"]
        asset = self.b.add_mesh(mesh_key(i, data), primitive_arrays(shape), assets.PRIMITIVE_SMOOTH[shape])
        mat, _ = compat.principled_material(f"synthblend_mat_{i:02d}", entry_color(i, data))
        asset.mesh.materials.append(mat)
        pool = [self.b.new_object(f"{asset.key}_{k}", asset.mesh) for k in range(self.b.config.max_count(i))]
        self.b.objects.register((ObjectKind.OBJECT, i), asset, pool)

    def _library_asset(self, i: int, key: str):
        from ...core import library

        if i not in self._libraries:
            self._libraries[i] = {a.key: a for a in library.library_of(self.b.config, i).assets}
        return self._libraries[i][key]

    def _load(self, source: tuple) -> Loaded:
        """Mesh, material and pool of ``source``: ``(OBJECT, entry)`` or ``(OBJECT, entry, asset_key)``."""
        config = self.b.config
        i = source[1]
        data = config.data["scene"]["objects"][i]
        if data.get("urdf") is not None:
            return self._load_urdf(source, i, data)
        if len(source) > 2:
            from ...core import library

            path = self._library_asset(i, source[2]).path
            key, n = mesh_key(i, data, source[2]), library.max_instances_per_asset(config, i)
            mat_name = f"synthblend_mat_{key}"
        else:
            path = config.parsed["scene"]["objects"][i]["mesh"]
            key, n = mesh_key(i, data), config.max_count(i)
            mat_name = f"synthblend_mat_{i:02d}"
        asset = self.b.add_mesh(key, assets.load_mesh(path), False)
        mat, _ = compat.principled_material(mat_name, entry_color(i, data))
        asset.mesh.materials.append(mat)
        pool = [self.b.new_object(f"{key}_{k}", asset.mesh) for k in range(n)]
        return Loaded(asset, pool, owned=[mat], entry=i, path=str(path))

    def _load_urdf(self, source: tuple, i: int, data: dict) -> Loaded:
        """A URDF model merged in its base frame at its fixed joint values, or one link in its own
        frame (``(OBJECT, entry, link)``; core/urdf_objects.py): one mesh, a material per visual part
        (its URDF colour, or the mesh's texture through its UVs)."""
        from ...core.urdf_objects import fixed_joint_values

        p = self.b.config.parsed["scene"]["objects"][i]
        model = p["urdf_model"]
        link = source[2] if len(source) > 2 else None
        merged = model.merged(fixed_joint_values(p)) if link is None else model.merged(link=link)
        stem = data["urdf"].replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        key = mesh_key(i, data, stem if link is None else f"{stem}_{link}")
        asset = self.b.add_mesh(key, (merged.vertices, merged.faces), False)
        owned = part_materials(asset.mesh, merged, key)
        pool = [self.b.new_object(f"{key}_{k}", asset.mesh) for k in range(self.b.config.max_count(i))]
        return Loaded(asset, pool, owned=owned, entry=i, path=None)

    def apply(self, spec) -> None:
        """Poses and visibility: :meth:`SceneObjects.apply`."""


def part_materials(me, merged, key: str) -> list:
    """Material slots of a merged URDF mesh: per part its colour (sRGB in the URDF) or its texture
    (UV layer ``asset_uv`` from the parts' per-vertex UVs); returns the datablocks made."""
    import numpy as np

    from ...core.color import srgb_to_linear
    from .materials import _pil_to_bpy

    made = []
    for k, part in enumerate(merged.parts):
        if part.image is not None:
            mat = compat.node_material(f"synthblend_urdf_{key}_{k}")
            nodes, links = mat.node_tree.nodes, mat.node_tree.links
            bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = _pil_to_bpy(part.image, f"synthblend_urdf_{key}_{k}_image")
            uvn = nodes.new("ShaderNodeUVMap")
            uvn.uv_map = "asset_uv"
            links.new(uvn.outputs["UV"], tex.inputs["Vector"])
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
            made += [mat, tex.image]
        else:
            rgb = tuple(float(c) for c in srgb_to_linear(np.asarray(part.rgba[:3], float)))
            mat, _ = compat.principled_material(f"synthblend_urdf_{key}_{k}", rgb)
            made.append(mat)
        me.materials.append(mat)
    if len(me.polygons) == len(merged.part):
        me.polygons.foreach_set("material_index", merged.part.astype(np.int32))
    if merged.uv is not None:
        loops = np.empty(len(me.loops), np.int64)
        me.loops.foreach_get("vertex_index", loops)
        layer = me.uv_layers.new(name="asset_uv")
        layer.data.foreach_set("uv", np.asarray(merged.uv, np.float32)[loops].ravel())
    me.update()
    return made


FEATURE = Objects
