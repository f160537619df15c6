"""The Blender side of domain randomization: builds, once, the distractor pools, the per-object
materials, the world tree and back plane, the camera effects; applies a FrameSpec's values per frame;
renders (a second, sharp ground-truth pass when depth of field or motion blur is on).

Hooked into :class:`~synthblend.engine.scene.SceneBuilder` (``build`` / ``apply``) and
:class:`~synthblend.engine.worker.FrameRenderer` (``render``, meshes, ground truth).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core import assets
from ..core import distractors as dcore
from ..core.dr_spec import BACK_PLANE_ENTRY, distractor_entry, is_dr_entry
from ..core.spec import ObjectSpec
from .background import WorldRandomizer
from .camera_fx import CameraFx
from .materials import RandomMaterial, asset_material, attach, load_folder_images


def _probe(kind: str, entry: int) -> ObjectSpec:
    return ObjectSpec(0, "", entry, 0, None, 0, "", np.eye(4), (0, 0, 0), kind=kind)


class DomainRandomizer:
    def __init__(self, builder):
        self.b = builder
        self.config = builder.config
        self.distractor_pools: dict[str, list] = {}      # shape -> pool of bpy objects
        self.materials: dict[str, RandomMaterial] = {}   # bpy object name -> its material
        self.images: dict = {}
        self.world = WorldRandomizer(builder)
        self.fx = CameraFx(builder)

    # -- build -----------------------------------------------------------------------------------
    def build(self, scene) -> None:
        self._build_distractors()
        self._build_materials()
        self.world.build(scene)
        movable = [ob for pool in self.b.pools for ob in pool]
        movable += [ob for pool in self.distractor_pools.values() for ob in pool]
        self.fx.build(scene, movable)

    def _build_distractors(self) -> None:
        n = dcore.max_count(self.config)
        for shape in dcore.shapes(self.config):
            arrays = _primitive_arrays(shape)
            asset = self.b._add_mesh(f"distractor_{shape}", arrays, assets.PRIMITIVE_SMOOTH[shape])
            asset.mesh.materials.append(None)
            pool = []
            for k in range(n):
                ob = bpy.data.objects.new(f"distractor_{shape}_{k}", asset.mesh)
                self.b.collection.objects.link(ob)
                ob.hide_render = ob.hide_viewport = True
                pool.append(ob)
            self.distractor_pools[shape] = pool

    def _random_material_for(self, ob) -> None:
        rm = RandomMaterial(f"synthblend_rand_{ob.name}")
        attach(ob, rm.mat)
        self.materials[ob.name] = rm

    def _build_materials(self) -> None:
        from ..core.materials import asset_has_appearance, block_for

        cfg = self.config
        folders = []
        for i, pool in enumerate(self.b.pools):
            block, _, _ = block_for(cfg, _probe("object", i))
            if block is None:
                continue
            folders.append(block.get("images"))
            data = cfg.data["scene"]["objects"][i]
            if block.get("keep_asset") and data.get("mesh") is not None:
                path = str(cfg.parsed["scene"]["objects"][i]["mesh"])
                if asset_has_appearance(path):
                    from .scene import mesh_key
                    me = self.b.meshes[mesh_key(i, data)].mesh
                    mat = asset_material(me, path, f"synthblend_asset_{i:02d}")
                    if mat is not None:
                        me.materials[0] = mat
                        continue
            for ob in pool:
                self._random_material_for(ob)
        if self.distractor_pools:
            block, _, _ = block_for(cfg, _probe("distractor", distractor_entry(0)))
            folders.append(block.get("images"))
            for pool in self.distractor_pools.values():
                for ob in pool:
                    self._random_material_for(ob)
        if self.b.ground is not None:
            block, _, _ = block_for(cfg, _probe("ground", -1))
            if block is not None:
                folders.append(block.get("images"))
                self._random_material_for(self.b.ground)
        from ..core.dr_schema import IMAGE_EXTS, list_images
        for f in dict.fromkeys(x for x in folders if x is not None):
            self.images.update(load_folder_images(list_images(f, IMAGE_EXTS)))

    def mesh_entries(self) -> list[tuple[int, str]]:
        """(ObjectSpec.entry, builder.meshes key) of the meshes this layer added."""
        out = [(distractor_entry(dcore.shape_index(s)), f"distractor_{s}") for s in self.distractor_pools]
        if self.world.plane is not None:
            out.append((BACK_PLANE_ENTRY, "back_plane"))
        return out

    # -- per frame ---------------------------------------------------------------------------------
    def object_of(self, o):
        """The bpy object showing ObjectSpec ``o``."""
        if o.kind == "distractor":
            return self.distractor_pools[o.asset.split(":", 1)[1]][o.slot]
        if o.kind == "back_plane":
            return self.world.plane
        if o.entry == -1:
            return self.b.ground
        if o.entry >= 0:
            return self.b.pools[o.entry][o.slot]
        return None

    def apply(self, spec) -> None:
        from mathutils import Matrix

        used = set()
        for o in spec.objects:
            if o.kind != "distractor":
                continue
            ob = self.object_of(o)
            used.add(ob.name)
            ob.matrix_world = Matrix(np.asarray(o.obj2world).tolist())
            ob.pass_index = o.instance_id
            ob.hide_render = ob.hide_viewport = False
        for pool in self.distractor_pools.values():
            for ob in pool:
                if ob.name not in used:
                    ob.hide_render = ob.hide_viewport = True
        for o in spec.objects:
            if o.material is None or o.material.source != "random":
                continue
            ob = self.object_of(o)
            rm = self.materials.get(ob.name) if ob is not None else None
            if rm is not None:
                rm.apply(o.material, self.images)
        self.world.apply(spec)
        if self.fx.active and spec.camera_fx is not None:
            movable = [(self.object_of(o), o) for o in spec.objects
                       if o.kind == "distractor" or (o.kind == "object" and o.entry >= 0)]
            self.fx.apply(spec, [(ob, o) for ob, o in movable if ob is not None])

    def render(self, spec, scratch, want_rgb: bool):
        """Render the frame: one pass, or colour with effects + a sharp ground-truth pass."""
        from .render import render_passes

        scene = self.b.scene
        if not (self.fx.active and spec.camera_fx is not None):
            return render_passes(scene, scratch, want_rgb)
        rgb = render_passes(scene, scratch, want_rgb=True).rgb if want_rgb else None
        with self.fx.ground_truth_pass():
            gt = render_passes(scene, scratch, want_rgb=False)
        gt.rgb = rgb
        return gt


def _primitive_arrays(shape: str):
    if shape == "monkey":
        from ..core._monkey import monkey_arrays
        return monkey_arrays()
    return assets.primitive(shape)


__all__ = ["DomainRandomizer", "is_dr_entry"]


# ------------------------------------------------------------------------------ worker helpers


def geometry_of(builder, o):
    """(vertices, faces) of the triangles rendered for ObjectSpec ``o`` (local frame)."""
    from .scene import mesh_key

    if o.kind == "distractor":
        m = builder.meshes[f"distractor_{o.asset.split(':', 1)[1]}"]
    elif o.kind == "back_plane":
        m = builder.meshes["back_plane"]
    elif o.entry == -1:
        m = builder.meshes["ground"]
    elif o.entry >= 0:
        m = builder.meshes[mesh_key(o.entry, builder.config.data["scene"]["objects"][o.entry])]
    else:                                                   # a user's .blend object
        b = builder.blend_objects[-2 - o.entry]
        return b.vertices, b.faces
    return m.vertices, m.faces


def vertex_normals_of(builder, o):
    """Blender's vertex normals of ``o``'s mesh when it is smooth-shaded, else None (cached)."""
    from . import compat
    from .scene import mesh_key

    if o.kind == "distractor":
        me = builder.meshes[f"distractor_{o.asset.split(':', 1)[1]}"].mesh
    elif o.kind == "back_plane":
        me = builder.meshes["back_plane"].mesh
    elif o.entry == -1:
        me = builder.meshes["ground"].mesh
    elif o.entry >= 0:
        me = builder.meshes[mesh_key(o.entry, builder.config.data["scene"]["objects"][o.entry])].mesh
    else:
        b = builder.blend_objects[-2 - o.entry]
        me = getattr(getattr(b, "obj", None), "data", None)
        if me is None or not hasattr(me, "polygons") or len(me.vertices) != len(b.vertices):
            return None                                     # modifiers: the evaluated mesh differs
    cache = builder.__dict__.setdefault("_vertex_normals", {})
    key = me.name_full if hasattr(me, "name_full") else me.name
    if key not in cache:
        cache[key] = compat.vertex_normals(me) if compat.is_smooth(me) else None
    return cache[key]


def frame_outputs(builder, spec, passes, meta) -> dict:
    """Ground truth beyond the passes (meta gains bbox3d, keypoints, amodal figures) and the extra
    arrays for the writer: ``{"normals": HxWx3 or None, "amodal": {id: mask} or None}``; applies
    the post-render augmentation to ``passes.rgb``."""
    from ..core.groundtruth3d import frame_ground_truth, normals_map
    from ..dataset.augment import augment_frame
    from ..dataset.meta_dr import add_ground_truth

    outs = set(builder.config.outputs)
    objs = builder.config.parsed["scene"]["objects"]

    def keypoints_of(o):
        return objs[o.entry].get("keypoints") if o.kind == "object" and o.entry >= 0 else None

    out = {"normals": None, "amodal": None}
    if outs & {"boxes3d", "keypoints", "amodal"}:
        extra, masks = frame_ground_truth(spec, lambda o: geometry_of(builder, o), keypoints_of,
                                          passes.instance, outs)
        add_ground_truth(meta, extra)
        if "amodal" in outs:
            out["amodal"] = masks
    if "normals" in outs:
        out["normals"] = normals_map(spec, lambda o: geometry_of(builder, o),
                                     lambda o: vertex_normals_of(builder, o), passes.instance)
    if passes.rgb is not None and spec.augment:
        passes.rgb = augment_frame(passes.rgb, spec)
    return out
