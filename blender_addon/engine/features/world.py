"""World backgrounds in Blender: one world node tree and (for ``type: image``) one back plane, built
once; per frame only node inputs, the chosen images and the plane's pose change.

World tree: uniform colour -> mixed with a vertical gradient (horizon colour to zenith colour by the
view direction's z), the Hosek-Wilkie sky, and an equirectangular HDRI (Mapping: rotation about +z),
by one-hot mix factors -> the Background node the scene already has (its strength stays
``lighting.world_strength``). Back plane: a 1 m square (two triangles, normal +z), an emitting surface
for camera rays (the image as is) and a diffuse one of the same colour for every other ray.
"""
from __future__ import annotations

import math

import bpy

from ...core.image_folders import HDRI_EXTS, IMAGE_EXTS, list_images
from ...core.spec import WORLD_GREY, ObjectKind
from .. import compat
from .materials import load_folder_images


class World:
    def __init__(self, builder):
        self.b = builder
        self.config = builder.config
        self.plane = None
        self.images: dict = {}

    # -- build ---------------------------------------------------------------------------------
    def build(self) -> None:
        scene = self.b.scene
        world = bpy.data.worlds.new("synthblend_world")
        scene.world = world
        self.background = compat.world_background(world)
        self.background.inputs["Color"].default_value = (WORLD_GREY, WORLD_GREY, WORLD_GREY, 1.0)
        w = self.config.parsed.get("world")
        if w:
            self._build_tree(world, w)

    def _build_tree(self, world, w) -> None:
        """The randomizable world tree (``world`` configured)."""
        scene = self.b.scene
        nt = world.node_tree
        nodes, links = nt.nodes, nt.links
        bg = self.background
        coord = nodes.new("ShaderNodeTexCoord")
        # uniform -> gradient
        self.rgb = nodes.new("ShaderNodeRGB")
        sep = nodes.new("ShaderNodeSeparateXYZ")
        links.new(coord.outputs["Generated"], sep.inputs[0])
        zpos = nodes.new("ShaderNodeMath")
        zpos.operation = "MAXIMUM"
        zpos.inputs[1].default_value = 0.0
        links.new(sep.outputs[2], zpos.inputs[0])
        _, gfac, ga, gb, gout = compat.mix_color_node(nodes)
        links.new(zpos.outputs[0], gfac)
        links.new(self.rgb.outputs[0], ga)
        self.top = gb
        _, self.w_grad, a, b, out = compat.mix_color_node(nodes)
        links.new(self.rgb.outputs[0], a)
        links.new(gout, b)
        # sky
        self.sky = compat.sky_node(nodes)
        _, self.w_sky, a2, b2, out2 = compat.mix_color_node(nodes)
        links.new(out, a2)
        links.new(self.sky.outputs["Color"], b2)
        # hdri
        mapping = nodes.new("ShaderNodeMapping")
        links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
        self.env_mapping = mapping
        self.env = nodes.new("ShaderNodeTexEnvironment")
        links.new(mapping.outputs["Vector"], self.env.inputs["Vector"])
        _, self.w_hdri, a3, b3, out3 = compat.mix_color_node(nodes)
        links.new(out2, a3)
        links.new(self.env.outputs["Color"], b3)
        links.new(out3, bg.inputs["Color"])
        for s in (self.w_grad, self.w_sky, self.w_hdri):
            s.default_value = 0.0
        if w["hdri"].get("folder") is not None:
            self.images.update(load_folder_images(list_images(w["hdri"]["folder"], HDRI_EXTS)))
        types = w["type"].values() or []
        if "image" in types:
            self._build_plane(scene, w)

    def _build_plane(self, scene, w) -> None:
        from ...core.assets import ground_plane

        v, f = ground_plane(1.0)
        asset = self.b.add_mesh("back_plane", (v, f), False)
        mat = compat.node_material("synthblend_back_plane")
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        for n in list(nodes):
            if n.type == "BSDF_PRINCIPLED":
                nodes.remove(n)
        out = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
        coord = nodes.new("ShaderNodeTexCoord")
        self.plane_mapping = nodes.new("ShaderNodeMapping")
        links.new(coord.outputs["Generated"], self.plane_mapping.inputs["Vector"])
        self.plane_tex = nodes.new("ShaderNodeTexImage")
        self.plane_tex.extension = "EXTEND"
        links.new(self.plane_mapping.outputs["Vector"], self.plane_tex.inputs["Vector"])
        emit = nodes.new("ShaderNodeEmission")
        emit.inputs["Strength"].default_value = 1.0
        diff = nodes.new("ShaderNodeBsdfDiffuse")
        links.new(self.plane_tex.outputs["Color"], emit.inputs["Color"])
        links.new(self.plane_tex.outputs["Color"], diff.inputs["Color"])
        lp = nodes.new("ShaderNodeLightPath")
        mix = nodes.new("ShaderNodeMixShader")
        links.new(lp.outputs["Is Camera Ray"], mix.inputs[0])
        links.new(diff.outputs[0], mix.inputs[1])
        links.new(emit.outputs[0], mix.inputs[2])
        links.new(mix.outputs[0], out.inputs["Surface"])
        asset.mesh.materials.append(mat)
        ob = bpy.data.objects.new("back_plane", asset.mesh)
        ob.visible_shadow = False
        self.b.collection.objects.link(ob)
        ob.hide_render = True
        ob.hide_viewport = True
        self.plane = ob
        self.b.objects.register((ObjectKind.BACK_PLANE,), asset, [ob])
        self.images.update(load_folder_images(list_images(w["image"]["folder"], IMAGE_EXTS)))

    # -- per frame -------------------------------------------------------------------------------
    def apply(self, spec) -> None:
        self.background.inputs["Strength"].default_value = spec.world_strength
        ws = spec.world
        if ws is None:
            return
        self.rgb.outputs[0].default_value = (*ws.color_rgb, 1.0)
        if ws.top_color_rgb is not None:
            self.top.default_value = (*ws.top_color_rgb, 1.0)
        self.w_grad.default_value = 1.0 if ws.type == "gradient" else 0.0
        self.w_sky.default_value = 1.0 if ws.type == "sky" else 0.0
        self.w_hdri.default_value = 1.0 if ws.type == "hdri" else 0.0
        if ws.type == "sky":
            el, az = math.radians(ws.sun_elevation_deg), math.radians(ws.sun_azimuth_deg)
            self.sky.sun_direction = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
            self.sky.turbidity = ws.turbidity
            self.sky.ground_albedo = ws.ground_albedo
        if ws.type == "hdri":
            self.env.image = self.images[_key(ws.hdri_path)]
            self.env_mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(ws.rotation_deg))
        else:
            self.env.image = None
        if self.plane is not None:             # its pose and visibility: SceneObjects.apply
            bp = next((o for o in spec.objects if o.kind is ObjectKind.BACK_PLANE), None)
            if bp is None:
                self.plane_tex.image = None
            else:
                self.plane_tex.image = self.images[_key(ws.image_path)]
                wx, wy = ws.image_window
                # generated coords g in [0, 1] over the plane -> the visible window fills the image
                self.plane_mapping.inputs["Scale"].default_value = (1.0 / wx, 1.0 / wy, 1.0)
                self.plane_mapping.inputs["Location"].default_value = (0.5 - 0.5 / wx, 0.5 - 0.5 / wy, 0.0)


def _key(p: str) -> str:
    from pathlib import Path
    return str(Path(p).resolve())


FEATURE = World
