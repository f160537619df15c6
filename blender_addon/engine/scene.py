"""Build the Blender scene once per process, then apply a FrameSpec per frame, then render it.

Nothing is created per frame: every object an entry can need (its largest count), every light the
lighting can need, the camera, the materials and the meshes exist from :meth:`SceneBuilder.build` on;
:meth:`SceneBuilder.apply` only sets matrices, values and visibility. That keeps memory flat over long
runs and lets Cycles keep its data between frames (``render.use_persistent_data``).

The scene is the engine's features (:mod:`synthblend.engine.features`, mirroring the pure samplers
of :mod:`synthblend.core.features`), each building its part once and applying its part of a frame;
:class:`~synthblend.engine.objects.SceneObjects` knows which bpy object shows which ObjectSpec.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core.errors import InputError
from ..core.spec import FrameSpec
from . import compat
from .features import ENGINE_FEATURES, Blend
from .objects import MeshAsset, SceneObjects, read_triangles


def _mesh_from_arrays(name: str, v: np.ndarray, f: np.ndarray, smooth: bool):
    """A triangle mesh datablock from (vertices Nx3, faces Mx3): the same mesh as ``from_pydata``
    (float32 positions, faces in order), built with ``foreach_set`` (2-3x faster on big meshes, which
    the asset cache loads while frames render)."""
    v = np.ascontiguousarray(v, np.float64).astype(np.float32)
    f = np.ascontiguousarray(f, np.int64).astype(np.int32)
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(v))
    me.vertices.foreach_set("co", v.ravel())
    me.loops.add(f.size)
    corner_vert = me.attributes.get(".corner_vert")      # Blender 4.0+: the loops' vertex indices
    if corner_vert is not None:
        corner_vert.data.foreach_set("value", f.ravel())  # 100x faster than loops' vertex_index
    else:
        me.loops.foreach_set("vertex_index", f.ravel())
    me.polygons.add(len(f))
    me.polygons.foreach_set("loop_start", np.arange(0, f.size, 3, dtype=np.int32))
    me.polygons.foreach_set("loop_total", np.full(len(f), 3, np.int32))    # needed before Blender 4.0
    me.update(calc_edges=True)
    # flat unless smooth, as from_pydata makes them (a mesh built this way is smooth from Blender 4.1 on)
    me.polygons.foreach_set("use_smooth", np.full(len(me.polygons), bool(smooth)))
    me.update()
    return me


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
        self.category_ids = {c["name"]: c["id"] for c in config.categories()}
        cache = config.data["render"].get("asset_cache") or {}
        self.objects = SceneObjects(cache.get("max_assets"), cache.get("max_mb"))   # render.asset_cache
        self.features = {}
        self.denoise_available = False
        self.gpu_backend = None
        from ..core.outputs import BY_NAME
        self.gt_only = not any(BY_NAME[n].needs_color for n in config.outputs)   # rgb, rgb_noisy

    # -- building -----------------------------------------------------------------------------------
    def build(self) -> None:
        from . import blend_scene

        blend = self.config.parsed["scene"].get("blend")
        if self.reset:
            if blend is not None:
                blend_scene.open_blend(blend, self.config.error)
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
            for name, cls in ENGINE_FEATURES:
                self.features[name] = cls(self)
                self.features[name].build()
        self.features["blend"] = Blend(self)       # the user's objects: after everything the tool adds
        self.features["blend"].build()

    def add_mesh(self, key: str, arrays, smooth: bool) -> MeshAsset:
        """A mesh datablock from (vertices, faces) and the triangles Blender holds for it."""
        me = _mesh_from_arrays(key, arrays[0], arrays[1], smooth)
        v, f = read_triangles(me)
        return MeshAsset(key, me, v, f)

    def new_object(self, name: str, mesh, hidden: bool = True):
        """A bpy object of ``mesh`` in the generated collection (hidden until a frame shows it)."""
        ob = bpy.data.objects.new(name, mesh)
        self.collection.objects.link(ob)
        if hidden:
            ob.hide_render = True
            ob.hide_viewport = True
        return ob

    def categories(self) -> list[dict]:
        """[{id, name}]: the config's categories, then those of the .blend's targets."""
        return [{"id": i, "name": n} for n, i in self.category_ids.items()]

    def add_blend_objects(self, spec: FrameSpec) -> FrameSpec:
        """Append the user's .blend objects to ``spec`` (ids after every sampled object)."""
        return self.features["blend"].add_to(spec)

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
                raise InputError(where, f"gpu requested but {e}; use device: cpu") from None
        from ..core import quality
        q = quality.gt_only_settings() if self.gt_only else r
        cyc.samples = q["samples"]
        cyc.use_adaptive_sampling = q["adaptive_threshold"] > 0
        if q["adaptive_threshold"] > 0:
            cyc.adaptive_threshold = q["adaptive_threshold"]
            cyc.adaptive_min_samples = q["adaptive_min_samples"]
        for k, v in quality.light_paths(q["max_bounces"]).items():
            setattr(cyc, k, v)
        cyc.caustics_reflective = cyc.caustics_refractive = q["max_bounces"] >= 12
        self.denoise_available = compat.has_denoiser()
        cyc.use_denoising = bool(q["denoise"]) and self.denoise_available
        if cyc.use_denoising:
            cyc.denoising_prefilter = q["denoise_prefilter"].upper()
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

    # -- per frame ------------------------------------------------------------------------------------
    def apply(self, spec: FrameSpec) -> None:
        """Set the scene to ``spec``: poses, camera, lights, materials, world, effects. Creates nothing."""
        self.objects.apply(spec)
        for feature in self.features.values():
            feature.apply(spec)
        self.scene.cycles.seed = spec.frame & 0x7FFFFFFF

    #: what a view of the same scene can change in Blender (core/scenes.py): the camera, its
    #: effects, a world.type: image back plane's window; poses are set only where they changed
    VIEW_FEATURES = ("camera", "lens", "camera_fx")   # lens after camera: it resets what the camera sets

    def apply_view(self, spec: FrameSpec, applied: FrameSpec) -> None:
        """Set the scene from ``applied`` (a frame of the same scene, applied last) to ``spec``, another
        view of it: the camera, the camera effects, the poses that differ (a sequence's moving objects,
        a back plane facing the new camera) and a back plane's image window. Lights, materials, world
        and the rest are the arrangement's, already set: nothing else is touched, so Cycles re-syncs
        only the camera and the moved objects. The result is the state :meth:`apply` would give."""
        self.objects.apply_poses(spec, applied)
        names = self.VIEW_FEATURES + (("world",) if spec.world is not None and spec.world.type == "image" else ())
        for name in names:
            if name in self.features:
                self.features[name].apply(spec)
        self.scene.cycles.seed = spec.frame & 0x7FFFFFFF

    def render(self, spec: FrameSpec, scratch, want_rgb: bool):
        """Render the applied frame: one pass, or colour with camera effects + a sharp ground-truth pass."""
        passes = self.features["camera_fx"].render(spec, scratch, want_rgb)
        lens = self.features.get("lens")          # a distorted lens: its depth pass made planar
        return lens.finish(spec, passes) if lens is not None else passes
