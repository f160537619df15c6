"""Randomized materials in Blender: one node tree per pool object, built once; per frame only the
node inputs change (colours, roughness, metallic, specular, pattern weights, scale, offset, image).

Tree: Texture Coordinate (Generated: the object's bounding box as [0, 1]^3, so ``texture_scale`` means
repeats across the object whatever its units) -> Mapping (scale, offset) -> noise, checker, voronoi,
gradient (a ping-pong ramp along x), wave; each gives a factor in [0, 1]; the frame's pattern is
picked by one-hot weights (sum of factor x weight); the base colour mixes ``base_color`` and
``texture_color`` by it; an image texture (box projection) replaces the colour when the pattern is
``image``. Images of a folder are loaded (as datablocks; pixels on first use) when the scene is built.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ...core.features.materials import asset_has_appearance, block_for
from ...core.image_folders import IMAGE_EXTS, list_images
from ...core.spec import ObjectKind, ObjectSpec
from .. import compat

PATTERNS = ("noise", "checker", "voronoi", "gradient", "wave")


class RandomMaterial:
    """One object's randomizable material."""

    def __init__(self, name: str):
        self.mat = compat.node_material(name)
        nt = self.mat.node_tree
        nodes, links = nt.nodes, nt.links
        bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
        self.bsdf = bsdf
        coord = nodes.new("ShaderNodeTexCoord")
        mapping = nodes.new("ShaderNodeMapping")
        links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
        self.mapping = mapping
        vec = mapping.outputs["Vector"]
        facs = {}
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 1.0
        links.new(vec, noise.inputs["Vector"])
        facs["noise"] = noise.outputs["Fac"]
        checker = nodes.new("ShaderNodeTexChecker")
        checker.inputs["Scale"].default_value = 1.0
        checker.inputs["Color1"].default_value = (1, 1, 1, 1)
        checker.inputs["Color2"].default_value = (0, 0, 0, 1)
        links.new(vec, checker.inputs["Vector"])
        facs["checker"] = checker.outputs["Fac"]
        vor = nodes.new("ShaderNodeTexVoronoi")
        vor.inputs["Scale"].default_value = 1.0
        links.new(vec, vor.inputs["Vector"])
        facs["voronoi"] = vor.outputs["Distance"]
        sep = nodes.new("ShaderNodeSeparateXYZ")
        links.new(vec, sep.inputs[0])
        ping = nodes.new("ShaderNodeMath")
        ping.operation = "PINGPONG"
        ping.inputs[1].default_value = 1.0
        links.new(sep.outputs[0], ping.inputs[0])
        facs["gradient"] = ping.outputs[0]
        wave = nodes.new("ShaderNodeTexWave")
        wave.inputs["Scale"].default_value = 1.0
        links.new(vec, wave.inputs["Vector"])
        facs["wave"] = wave.outputs["Fac"]
        # one-hot selection: sum_k fac_k * w_k
        self.weights = {}
        acc = None
        for k in PATTERNS:
            mul = nodes.new("ShaderNodeMath")
            mul.operation = "MULTIPLY"
            mul.use_clamp = False
            links.new(facs[k], mul.inputs[0])
            mul.inputs[1].default_value = 0.0
            self.weights[k] = mul.inputs[1]
            if acc is None:
                acc = mul.outputs[0]
            else:
                add = nodes.new("ShaderNodeMath")
                add.operation = "ADD"
                links.new(acc, add.inputs[0])
                links.new(mul.outputs[0], add.inputs[1])
                acc = add.outputs[0]
        clamp = nodes.new("ShaderNodeMath")
        clamp.operation = "MINIMUM"
        clamp.inputs[1].default_value = 1.0
        links.new(acc, clamp.inputs[0])
        _, fac, a, b, out = compat.mix_color_node(nodes)
        links.new(clamp.outputs[0], fac)
        self.color1, self.color2 = a, b
        self.image_node = nodes.new("ShaderNodeTexImage")
        self.image_node.projection = "BOX"
        self.image_node.projection_blend = 0.2
        links.new(vec, self.image_node.inputs["Vector"])
        _, ifac, ia, ib, iout = compat.mix_color_node(nodes)
        links.new(out, ia)
        links.new(self.image_node.outputs["Color"], ib)
        ifac.default_value = 0.0
        self.image_weight = ifac
        links.new(iout, bsdf.inputs["Base Color"])

    def apply(self, m, images: dict) -> None:
        """Set the node inputs to MaterialSpec ``m``; ``images``: path -> bpy image."""
        self.color1.default_value = (*m.base_color_rgb, 1.0)
        self.color2.default_value = (*m.texture_color_rgb, 1.0)
        compat.principled_input(self.bsdf, "Roughness").default_value = m.roughness
        compat.principled_input(self.bsdf, "Metallic").default_value = m.metallic
        compat.principled_input(self.bsdf, "specular").default_value = m.specular
        for k, sock in self.weights.items():
            sock.default_value = 1.0 if m.texture == k else 0.0
        s = m.texture_scale if m.texture != "none" else 1.0
        self.mapping.inputs["Scale"].default_value = (s, s, s)
        self.mapping.inputs["Location"].default_value = tuple(m.texture_offset)
        if m.texture == "image" and m.image_path:
            self.image_node.image = images[m.image_path]
            self.image_weight.default_value = 1.0
        else:
            self.image_node.image = None
            self.image_weight.default_value = 0.0
        self.mat.diffuse_color = (*m.base_color_rgb, 1.0)


def load_folder_images(paths) -> dict:
    """bpy images of ``paths`` (loaded once; Blender reads pixels when they are first rendered)."""
    out = {}
    for p in paths:
        p = str(Path(p).resolve())
        out[p] = bpy.data.images.load(p, check_existing=True)
    return out


def attach(ob, mat) -> None:
    """Give ``ob`` its own material (object-linked slots) while it shares its mesh."""
    if len(ob.material_slots) == 0:
        ob.data.materials.append(None)
    for slot in ob.material_slots:           # every slot: a merged URDF mesh has one per part
        slot.link = "OBJECT"
        slot.material = mat


# ------------------------------------------------------------------------- the asset's own look


def asset_material(me, path: str, name: str):
    """A material showing the asset's own appearance as trimesh reads it (texture image with UVs,
    or vertex colours), added to mesh ``me`` (UV map / colour attribute). None if it has neither."""
    import trimesh

    m = trimesh.load(path, force="mesh", process=False)
    vis = getattr(m, "visual", None)
    if vis is None or len(m.vertices) != len(me.vertices):
        return None
    mat = compat.node_material(name)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    loops = np.empty(len(me.loops), np.int64)
    me.loops.foreach_get("vertex_index", loops)
    if vis.kind == "texture" and getattr(vis, "uv", None) is not None:
        pm = vis.material
        img = getattr(pm, "image", None)
        if img is None:
            img = getattr(pm, "baseColorTexture", None)
        if img is None:
            return None
        uv = np.asarray(vis.uv, np.float32)[loops]
        layer = me.uv_layers.new(name="asset_uv")
        layer.data.foreach_set("uv", uv.ravel())
        bimg = _pil_to_bpy(img, f"{name}_image")
        tex = nodes.new("ShaderNodeTexImage")
        tex.image = bimg
        uvn = nodes.new("ShaderNodeUVMap")
        uvn.uv_map = "asset_uv"
        links.new(uvn.outputs["UV"], tex.inputs["Vector"])
        links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        return mat
    if vis.kind == "vertex":
        cols = np.asarray(vis.vertex_colors, np.float32)[:, :4] / 255.0
        from ...core.color import srgb_to_linear
        cols[:, :3] = srgb_to_linear(cols[:, :3])
        attr = me.color_attributes.new("asset_color", "FLOAT_COLOR", "POINT")
        attr.data.foreach_set("color", cols.ravel())
        node = compat.color_attribute_node(nodes, "asset_color")
        links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
        return mat
    return None


def _pil_to_bpy(pil, name: str):
    rgba = np.asarray(pil.convert("RGBA"), np.float32) / 255.0
    h, w = rgba.shape[:2]
    img = bpy.data.images.new(name, w, h, alpha=True)
    img.pixels.foreach_set(rgba[::-1].ravel())     # Blender's rows go bottom-up
    return img


# ------------------------------------------------------------------------------------ the feature


def _probe(kind: ObjectKind, entry: int | None) -> ObjectSpec:
    """A stand-in ObjectSpec of a kind (and entry), to ask which material block covers it."""
    return ObjectSpec(0, "", kind, entry, 0, None, 0, "", np.eye(4), (0, 0, 0))


class Materials:
    """Per object that a material block covers: a randomizable node tree of its own (or the asset's
    own appearance, once, on its mesh); the folders' images loaded once."""

    def __init__(self, builder):
        self.b = builder
        self.materials: dict[str, RandomMaterial] = {}   # bpy object name -> its material
        self.images: dict = {}

    def _random_material_for(self, ob) -> None:
        rm = RandomMaterial(f"synthblend_rand_{ob.name}")
        attach(ob, rm.mat)
        self.materials[ob.name] = rm

    def _keep_asset(self, block, path: str | None, me, name: str):
        """``keep_asset``: the asset's own appearance on mesh ``me`` (its material), or None."""
        if not block.get("keep_asset") or path is None or not asset_has_appearance(path):
            return None
        mat = asset_material(me, path, name)
        if mat is not None:
            me.materials[0] = mat
        return mat

    def _dress(self, block, me, pool, path: str | None, name: str) -> list:
        """A config entry's mesh ``me`` and ``pool``: the asset's appearance or a random material per
        object; returns the datablocks made (materials, images)."""
        mat = self._keep_asset(block, path, me, name)
        if mat is not None:
            tex = [n.image for n in mat.node_tree.nodes if n.type == "TEX_IMAGE" and n.image is not None]
            return [mat, *tex]
        for ob in pool:
            self._random_material_for(ob)
        return [self.materials[ob.name].mat for ob in pool]

    def loaded(self, source, loaded) -> None:
        """A lazy source of a config entry (engine/objects.py) gets its materials when it is loaded."""
        if source[0] is ObjectKind.DISTRACTOR:          # a mesh distractor: a random material per object
            block, _, _ = block_for(self.b.config, _probe(ObjectKind.DISTRACTOR, None))
            if block is not None:
                for ob in loaded.pool:
                    self._random_material_for(ob)
                loaded.owned.extend(self.materials[ob.name].mat for ob in loaded.pool)
            return
        if source[0] is not ObjectKind.OBJECT:
            return
        block, _, _ = block_for(self.b.config, _probe(ObjectKind.OBJECT, loaded.entry))
        if block is not None:
            loaded.owned.extend(self._dress(block, loaded.asset.mesh, loaded.pool, loaded.path,
                                            f"synthblend_asset_{loaded.asset.key}"))

    def evicted(self, source, loaded) -> None:
        for ob in loaded.pool:
            self.materials.pop(ob.name, None)

    def build(self) -> None:
        cfg = self.b.config
        pools = self.b.objects.pools
        folders = []
        for i in range(len(cfg.data["scene"]["objects"])):
            block, _, _ = block_for(cfg, _probe(ObjectKind.OBJECT, i))
            if block is None:
                continue
            folders.append(block.get("images"))
            source = (ObjectKind.OBJECT, i)
            if source in pools:          # built with the scene (a primitive); lazy ones: loaded()
                self._dress(block, self.b.objects.meshes[source].mesh, pools[source], None, "")
        distractors = self.b.features["distractors"].pools
        meshes = (cfg.parsed["scene"].get("distractors") or {}).get("library") is not None
        if distractors or meshes:                # mesh distractors get theirs when loaded (loaded())
            block, _, _ = block_for(cfg, _probe(ObjectKind.DISTRACTOR, None))
            folders.append(block.get("images"))
            for pool in distractors.values():
                for ob in pool:
                    self._random_material_for(ob)
        ground = self.b.features["ground"].object
        if ground is not None:
            block, _, _ = block_for(cfg, _probe(ObjectKind.GROUND, None))
            if block is not None:
                folders.append(block.get("images"))
                self._random_material_for(ground)
        for i, ob in enumerate(self.b.features["supports"].objects):
            block, _, _ = block_for(cfg, _probe(ObjectKind.SUPPORT, i))
            if block is not None:
                folders.append(block.get("images"))
                self._random_material_for(ob)
        for f in dict.fromkeys(x for x in folders if x is not None):
            self.images.update(load_folder_images(list_images(f, IMAGE_EXTS)))
        self.b.objects.listen(self)

    def apply(self, spec) -> None:
        for o in spec.objects:
            if o.material is None or o.material.source != "random":
                continue
            rm = self.materials.get(self.b.objects.bpy_object(o).name)
            if rm is not None:
                rm.apply(o.material, self.images)


FEATURE = Materials
