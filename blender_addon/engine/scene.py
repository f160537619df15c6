"""Build the Blender scene once per process, then apply a FrameSpec per frame.

Nothing is created per frame: every object an entry can need (its largest count), every light the
lighting can need, the camera, the materials and the meshes exist from :meth:`SceneBuilder.build` on;
:meth:`SceneBuilder.apply` only sets matrices, values and visibility. That keeps memory flat over long
runs and lets Cycles keep its data between frames (``render.use_persistent_data``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from ..core import assets
from ..core.camera import CV_TO_BLENDER
from ..core.color import PALETTE, hex_to_linear
from ..core.errors import InputError
from ..core.spec import WORLD_GREY, FrameSpec
from ..core.dr_spec import DISTRACTOR_ENTRY_BASE
from . import compat

LIGHT_TYPES = {"point": "POINT", "sun": "SUN", "spot": "SPOT", "area": "AREA"}


@dataclass
class MeshAsset:
    """One mesh datablock and the exact triangles Blender holds for it (local frame)."""

    key: str                 # file stem in DIR/meshes
    mesh: object             # bpy.types.Mesh
    vertices: np.ndarray     # Nx3 float32, as rendered
    faces: np.ndarray        # Mx3 int32 (loop triangles)


def _mesh_from_arrays(name: str, v: np.ndarray, f: np.ndarray, smooth: bool):
    me = bpy.data.meshes.new(name)
    me.from_pydata(np.asarray(v, float).tolist(), [], np.asarray(f, int).tolist())
    if smooth:
        me.polygons.foreach_set("use_smooth", np.ones(len(me.polygons), dtype=bool))
    me.update()
    return me


def read_triangles(me) -> tuple[np.ndarray, np.ndarray]:
    """The triangles Cycles renders for a mesh: vertex positions and loop-triangle vertex indices."""
    me.calc_loop_triangles()
    v = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", v)
    t = np.empty(len(me.loop_triangles) * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", t)
    return v.reshape(-1, 3), t.reshape(-1, 3)


def mesh_key(entry: int, data: dict) -> str:
    """File stem of an entry's mesh in DIR/meshes (sanitised; unique per entry)."""
    from ..dataset.layout import sanitize_name
    if data.get("mesh") is not None:
        stem = data["mesh"].replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    else:
        stem = data["primitive"]
    return sanitize_name(f"obj{entry:02d}_{stem}")


class SceneBuilder:
    """Owns the Blender scene of one worker process."""

    def __init__(self, config, threads: int = 0, gpu_ids=None, reset: bool = True, log=print):
        """``reset``: start from an empty file (or the config's ``scene.blend``), as workers do;
        False: build into the scene open now (the add-on), keeping the user's objects."""
        self.config = config
        self.threads = threads
        self.gpu_ids = gpu_ids
        self.reset = reset
        self.log = log
        self.blend_objects: list = []      # the user's labelled objects (engine.blend_scene)
        self.category_ids = {c["name"]: c["id"] for c in config.categories()}
        self.meshes: dict[str, MeshAsset] = {}
        self.pools: list[list] = []        # per config entry: pool of bpy objects
        self.ground = None
        self.lights: list = []
        self.denoise_available = False
        self.gpu_backend = None

    # -- building -----------------------------------------------------------------------------------
    def build(self) -> None:
        from . import blend_scene

        blend = self.config.parsed["scene"].get("blend")
        if self.reset:
            if blend is not None:
                blend_scene.open_blend(blend)
            else:
                bpy.ops.wm.read_factory_settings(use_empty=True)
        blend_scene.clear_generated()
        scene = bpy.context.scene
        self.scene = scene
        self.view_layer = compat.active_view_layer(scene)
        blend_scene.remember_user_view(scene)
        with blend_scene.tag_new_datablocks():
            self.collection = blend_scene.generated_collection(scene)
            self._configure_render(scene)
            self._build_camera(scene)
            self._build_world(scene)
            self._build_objects(scene)
            self._build_lights(scene)
            from .randomize import DomainRandomizer    # distractors, materials, world, camera fx
            self.dr = DomainRandomizer(self)
            self.dr.build(scene)
        if blend is not None or not self.reset:
            self.blend_objects = blend_scene.capture(
                scene, self.view_layer, self.config.data["scene"]["targets"]["collection"],
                strict=blend is not None, log=self.log)
            known = list(self.category_ids)
            for name in blend_scene.extra_categories(self.blend_objects, known):
                self.category_ids[name] = len(self.category_ids) + 1

    def categories(self) -> list[dict]:
        """[{id, name}]: the config's categories, then those of the .blend's targets."""
        return [{"id": i, "name": n} for n, i in self.category_ids.items()]

    def add_blend_objects(self, spec: FrameSpec) -> FrameSpec:
        """Append the user's objects to ``spec`` (ids after every sampled object)."""
        from . import blend_scene

        if self.blend_objects:
            first = 1 + max((o.instance_id for o in spec.objects), default=0)
            spec.objects.extend(blend_scene.object_specs(self.blend_objects, first, self.category_ids))
        return spec

    def _configure_render(self, scene) -> None:
        r = self.config.data["render"]
        W, H = self.config.resolution
        scene.render.engine = "CYCLES"
        scene.render.resolution_x, scene.render.resolution_y = W, H
        scene.render.resolution_percentage = 100
        scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
        scene.render.use_persistent_data = True
        scene.render.film_transparent = False
        scene.render.use_compositing = False
        scene.render.use_sequencer = False
        if self.threads > 0:
            scene.render.threads_mode = "FIXED"
            scene.render.threads = self.threads
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        cyc = scene.cycles
        cyc.device = "CPU"
        if r["device"] == "gpu":
            try:
                self.gpu_backend = compat.enable_gpu(scene, self.gpu_ids)
            except RuntimeError as e:
                where = f"{self.config.path}: render.device" if self.config.path else "render.device"
                raise InputError(where, f"gpu requested but {e}; use device: cpu")
        from ..core import quality
        self.gt_only = "rgb" not in self.config.outputs
        q = quality.gt_only_settings() if self.gt_only else r
        cyc.samples = q["samples"]
        cyc.use_adaptive_sampling = q["adaptive_threshold"] > 0
        if q["adaptive_threshold"] > 0:
            cyc.adaptive_threshold = q["adaptive_threshold"]
        for k, v in quality.light_paths(q["max_bounces"]).items():
            setattr(cyc, k, v)
        cyc.caustics_reflective = cyc.caustics_refractive = q["max_bounces"] >= 12
        self.denoise_available = compat.has_denoiser()
        cyc.use_denoising = bool(q["denoise"]) and self.denoise_available
        vl = self.view_layer
        scene.render.use_single_layer = True
        vl.use_pass_z = True
        vl.use_pass_object_index = True
        if self.gt_only:
            # Ground truth only: the data passes need one camera-ray hit per pixel and no shading.
            # No colour pass, one plain material for everything, lights off (see apply()).
            compat.set_combined_pass(vl, False)
            self._gt_material = bpy.data.materials.new("synthblend_gt_only")
            vl.material_override = self._gt_material
        compat.set_multilayer_exr(scene.render.image_settings)

    def _build_camera(self, scene) -> None:
        cam = bpy.data.cameras.new("synthblend_camera")
        cam.type = "PERSP"
        cam.lens_unit = "MILLIMETERS"
        obj = bpy.data.objects.new("synthblend_camera", cam)
        self.collection.objects.link(obj)
        scene.camera = obj
        self.camera = obj

    def _build_world(self, scene) -> None:
        world = bpy.data.worlds.new("synthblend_world")
        scene.world = world
        self.world_bg = compat.world_background(world)
        self.world_bg.inputs["Color"].default_value = (WORLD_GREY, WORLD_GREY, WORLD_GREY, 1.0)

    def _entry_arrays(self, data: dict):
        if data.get("mesh") is not None:
            return assets.load_mesh(self.config.base_dir / data["mesh"]), False
        shape = data["primitive"]
        smooth = assets.PRIMITIVE_SMOOTH[shape]
        if shape == "monkey":
            from ..core._monkey import monkey_arrays
            return monkey_arrays(), smooth
        return assets.primitive(shape), smooth

    def _add_mesh(self, key: str, arrays, smooth: bool) -> MeshAsset:
        me = _mesh_from_arrays(key, arrays[0], arrays[1], smooth)
        v, f = read_triangles(me)
        asset = MeshAsset(key, me, v, f)
        self.meshes[key] = asset
        return asset

    def _build_objects(self, scene) -> None:
        objs = self.config.data["scene"]["objects"]
        for i, data in enumerate(objs):
            arrays, smooth = self._entry_arrays(data)
            asset = self._add_mesh(mesh_key(i, data), arrays, smooth)
            color = hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])
            mat, _ = compat.principled_material(f"synthblend_mat_{i:02d}", color)
            asset.mesh.materials.append(mat)
            pool = []
            for k in range(self.config.max_count(i)):
                ob = bpy.data.objects.new(f"{asset.key}_{k}", asset.mesh)
                self.collection.objects.link(ob)
                ob.hide_render = True
                ob.hide_viewport = True
                pool.append(ob)
            self.pools.append(pool)
        ground = self.config.data["scene"].get("ground")
        if ground:
            asset = self._add_mesh("ground", assets.ground_plane(ground["size"]), False)
            mat, _ = compat.principled_material("synthblend_ground", hex_to_linear(ground["color"]), 0.8)
            asset.mesh.materials.append(mat)
            self.ground = bpy.data.objects.new("ground", asset.mesh)
            self.collection.objects.link(self.ground)

    def _build_lights(self, scene) -> None:
        d = self.config.parsed["lighting"]["count"]
        n = int(max(d.values()))
        for k in range(n):
            light = bpy.data.lights.new(f"synthblend_light_{k}", "POINT")
            ob = bpy.data.objects.new(f"synthblend_light_{k}", light)
            self.collection.objects.link(ob)
            ob.hide_render = True
            self.lights.append(ob)

    # -- per frame ------------------------------------------------------------------------------------
    def apply(self, spec: FrameSpec) -> None:
        """Set the scene to ``spec``: poses, camera, lights, world. Creates nothing."""
        from mathutils import Matrix

        c = spec.camera
        cam = self.camera.data
        cam.lens = c.focal_length_mm
        cam.sensor_width = c.sensor_width_mm
        cam.sensor_height = c.sensor_width_mm
        cam.sensor_fit = c.sensor_fit.upper()
        cam.shift_x, cam.shift_y = c.shift_x, c.shift_y
        cam.clip_start, cam.clip_end = c.clip_start, c.clip_end
        M = np.array(c.cam2world, float)
        M[:3, :3] = M[:3, :3] @ CV_TO_BLENDER
        self.camera.matrix_world = Matrix(M.tolist())

        used = set()
        for o in spec.objects:
            if o.entry <= DISTRACTOR_ENTRY_BASE:   # distractors, back plane: self.dr.apply below
                continue
            if o.entry <= -2:                      # the user's object: labelled, never moved
                self.blend_objects[-2 - o.entry].obj.pass_index = o.instance_id
                continue
            ob = self.ground if o.entry < 0 else self.pools[o.entry][o.slot]
            used.add(ob.name)
            ob.matrix_world = Matrix(np.asarray(o.obj2world).tolist())
            ob.pass_index = o.instance_id
            ob.hide_render = False
            ob.hide_viewport = False
        for pool in self.pools:
            for ob in pool:
                if ob.name not in used:
                    ob.hide_render = True
                    ob.hide_viewport = True

        for k, ob in enumerate(self.lights):
            if k >= len(spec.lights) or self.gt_only:
                ob.hide_render = True
                continue
            ls = spec.lights[k]
            light = ob.data
            if light.type != LIGHT_TYPES[ls.type]:
                light.type = LIGHT_TYPES[ls.type]
                light = ob.data
            light.energy = ls.power_w
            light.color = ls.color_rgb
            if ls.type in ("point", "spot"):
                light.shadow_soft_size = ls.radius
            if ls.type == "spot":
                light.spot_size = math.radians(ls.spot_angle_deg)
            if ls.type == "area":
                light.size = max(ls.radius, 1e-4)
            if ls.type == "sun":
                light.angle = math.radians(0.5)
            ob.matrix_world = Matrix(np.asarray(ls.light2world).tolist())
            ob.hide_render = False
        self.world_bg.inputs["Strength"].default_value = spec.world_strength
        self.scene.cycles.seed = spec.frame & 0x7FFFFFFF
        self.dr.apply(spec)                        # materials, distractors, world, camera fx
