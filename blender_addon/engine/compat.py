"""Every difference between the Blender versions synthblend supports (3.4 to 5.0), in one place."""
from __future__ import annotations

import bpy

VERSION = tuple(bpy.app.version)
# True inside a Blender executable (GUI or -b), False in the bpy module from PyPI.
IN_BLENDER_BINARY = bool(bpy.app.binary_path)


def use_pure_exr() -> None:
    """Inside a Blender executable, decode and write EXR with synthblend's pure-numpy code: the
    OpenEXR wheel's native libraries clash with Blender's own (Debian's 3.4 crashes)."""
    if IN_BLENDER_BINARY:
        import os
        os.environ.setdefault("SYNTHBLEND_PURE_EXR", "1")   # dataset.exr.PURE_ENV (no numpy import here)


use_pure_exr()


def active_view_layer(scene):
    """The view layer a render of ``scene`` uses (``render.use_single_layer``): the window's when
    ``scene`` is the context scene, else the scene's first."""
    ctx_scene = getattr(bpy.context, "scene", None)
    vl = getattr(bpy.context, "view_layer", None)
    if ctx_scene == scene and vl is not None:
        return vl
    return scene.view_layers[0]


def version_string() -> str:
    return bpy.app.version_string


def set_multilayer_exr(image_settings) -> None:
    """32-bit float multilayer OpenEXR, no compression (a scratch file read straight back)."""
    if hasattr(image_settings, "media_type"):          # Blender 5.0+
        image_settings.media_type = "MULTI_LAYER_IMAGE"
    image_settings.file_format = "OPEN_EXR_MULTILAYER"
    image_settings.color_depth = "32"
    image_settings.exr_codec = "NONE"


def index_pass_names() -> tuple[str, ...]:
    """Layer names of the Object Index pass in a multilayer EXR (5.0: 'Object Index'; older: 'IndexOB')."""
    return ("Object Index", "IndexOB")


def has_denoiser() -> bool:
    """Whether this build of Cycles has OpenImageDenoise (Debian's Blender 3.4 has not)."""
    try:
        import _cycles
        return bool(getattr(_cycles, "with_openimagedenoise", False))
    except ImportError:  # pragma: no cover
        return False


def world_background(world):
    """The world's Background node (creating the node tree on old versions)."""
    if VERSION < (5, 0, 0) and not world.use_nodes:
        world.use_nodes = True
    elif VERSION >= (5, 0, 0) and world.node_tree is None:  # pragma: no cover - 5.0 always has one
        world.use_nodes = True
    nodes = world.node_tree.nodes
    bg = next((n for n in nodes if n.type == "BACKGROUND"), None)
    if bg is None:
        bg = nodes.new("ShaderNodeBackground")
        out = next((n for n in nodes if n.type == "OUTPUT_WORLD"), None) or nodes.new("ShaderNodeOutputWorld")
        world.node_tree.links.new(bg.outputs[0], out.inputs[0])
    return bg


def principled_material(name: str, color_rgb, roughness: float = 0.5):
    """A Principled BSDF material with a linear base colour."""
    mat = bpy.data.materials.new(name)
    if VERSION < (5, 0, 0):
        mat.use_nodes = True
    elif mat.node_tree is None:  # pragma: no cover
        mat.use_nodes = True
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (*color_rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    mat.diffuse_color = (*color_rgb, 1.0)   # viewport colour
    return mat, bsdf


def enable_gpu(scene, gpu_ids=None) -> str:
    """Select CUDA or OptiX for Cycles. Returns the backend; raises RuntimeError when there is none."""
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for backend in ("OPTIX", "CUDA"):
        try:
            prefs.compute_device_type = backend
        except TypeError:
            continue
        prefs.refresh_devices() if hasattr(prefs, "refresh_devices") else prefs.get_devices()
        devices = [d for d in prefs.devices if d.type == backend]
        if not devices:
            continue
        for i, d in enumerate(devices):
            d.use = gpu_ids is None or i in gpu_ids
        for d in prefs.devices:
            if d.type == "CPU":
                d.use = False
        scene.cycles.device = "GPU"
        return backend
    raise RuntimeError("no CUDA or OptiX GPU found for Cycles on this machine")


def set_combined_pass(view_layer, enabled: bool) -> None:
    """Turn the colour (Combined) pass on or off where this Blender lets us."""
    if hasattr(view_layer, "use_pass_combined"):
        view_layer.use_pass_combined = enabled


def draw_progress(layout, owner, prop: str, text: str) -> None:
    """A progress bar: ``layout.progress`` on 4.0+, a read-only slider before."""
    factor = getattr(owner, prop)
    if hasattr(layout, "progress"):
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        row = layout.row()
        row.enabled = False
        row.prop(owner, prop, text=text, slider=True)


# -- domain randomization (engine/features/materials.py, world.py, camera_fx.py) --------------------

def principled_input(bsdf, key: str):
    """A Principled BSDF input by role: ``specular`` is 'Specular IOR Level' on 4.0+, 'Specular'
    before; other keys are the socket names shared by 3.4 and 5.0."""
    if key == "specular":
        return bsdf.inputs["Specular IOR Level"] if "Specular IOR Level" in bsdf.inputs else bsdf.inputs["Specular"]
    return bsdf.inputs[key]


def node_material(name: str):
    """A new material with a node tree (the default Principled BSDF and output in it)."""
    mat = bpy.data.materials.new(name)
    if VERSION < (5, 0, 0) or mat.node_tree is None:
        mat.use_nodes = True
    return mat


def mix_color_node(nodes):
    """A colour mix node: (node, factor socket, A socket, B socket, result socket). ShaderNodeMix
    (3.4+) with data_type RGBA; the same socket identifiers in 3.4 and 5.0."""
    n = nodes.new("ShaderNodeMix")
    n.data_type = "RGBA"
    n.blend_type = "MIX"
    ins = {s.identifier: s for s in n.inputs}
    outs = {s.identifier: s for s in n.outputs}
    return n, ins["Factor_Float"], ins["A_Color"], ins["B_Color"], outs["Result_Color"]


def color_attribute_node(nodes, layer: str):
    """The node reading a mesh colour attribute (called Vertex Color / Color Attribute)."""
    n = nodes.new("ShaderNodeVertexColor")
    n.layer_name = layer
    return n


def sky_node(nodes):
    """A Hosek-Wilkie sky texture (the same model and properties in 3.4 and 5.0)."""
    n = nodes.new("ShaderNodeTexSky")
    n.sky_type = "HOSEK_WILKIE"
    return n


def keyframe_linear(obj, path: str, frame: float) -> None:
    """Insert a keyframe on ``obj.<path>`` and make its keys linear (3.4: action.fcurves;
    5.0: layered actions, reached through the animation data's slot)."""
    obj.keyframe_insert(data_path=path, frame=frame)
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return
    for fc in _fcurves(ad):
        if fc.data_path == path:
            for kp in fc.keyframe_points:
                kp.interpolation = "LINEAR"


def set_key_values(obj, path: str, values) -> None:
    """Write the values of the keys already on ``obj.<path>`` (one key per frame, in frame order;
    ``values``: one vector per key). Direct writes: ``keyframe_insert`` may remap the value through
    the NLA/layer system and round it differently from frame to frame."""
    ad = obj.animation_data
    for fc in _fcurves(ad):
        if fc.data_path != path:
            continue
        pts = sorted(fc.keyframe_points, key=lambda k: k.co[0])
        for kp, v in zip(pts, values, strict=False):
            x = float(v[fc.array_index])
            kp.co = (kp.co[0], x)
            kp.handle_left = (kp.handle_left[0], x)
            kp.handle_right = (kp.handle_right[0], x)
        fc.update()


def _fcurves(ad):
    act = ad.action
    if hasattr(act, "fcurves") and VERSION < (5, 0, 0):
        return list(act.fcurves)
    out = []
    slot = getattr(ad, "action_slot", None)
    for layer in getattr(act, "layers", []):
        for strip in layer.strips:
            if slot is not None and hasattr(strip, "channelbag"):
                bag = strip.channelbag(slot)
                if bag is not None:
                    out.extend(bag.fcurves)
    if not out and hasattr(act, "fcurves"):
        out = list(act.fcurves)
    return out


def vertex_normals(me):
    """Nx3 float32 vertex normals of a mesh (5.0: ``vertex_normals``; 3.4: ``vertices[].normal``)."""
    import numpy as np

    n = np.empty(len(me.vertices) * 3, np.float32)
    if hasattr(me, "vertex_normals"):
        me.vertex_normals.foreach_get("vector", n)
    else:
        me.vertices.foreach_get("normal", n)
    return n.reshape(-1, 3)


def is_smooth(me) -> bool:
    """Whether every face of the mesh is smooth-shaded (interpolated vertex normals)."""
    import numpy as np

    if len(me.polygons) == 0:
        return False
    s = np.empty(len(me.polygons), bool)
    me.polygons.foreach_get("use_smooth", s)
    return bool(s.all())


# -- lens distortion (engine/features/lens.py) ------------------------------------------------------

def has_custom_camera() -> bool:
    """Whether Cycles here has custom cameras written in OSL (Blender 4.5+, built with OSL)."""
    if VERSION < (4, 5, 0):
        return False
    try:
        import _cycles
        return bool(getattr(_cycles, "with_osl", False))
    except ImportError:  # pragma: no cover
        return False


def set_custom_camera(cam, osl_path) -> None:
    """Lens type Custom with an external OSL file, which Cycles compiles at render time (to a .oso
    next to it). Its parameters are the camera's ``cycles_custom`` ID properties, set by name. The
    Cycles add-on's property update, which would compile the file and create them, needs
    ``oslquery``, which the bpy module lacks: it fails with a logged traceback and changes nothing,
    so it is switched off while these three properties are set."""
    cycles = next((c for c in bpy.types.RenderEngine.__subclasses__() if getattr(c, "bl_idname", "") == "CYCLES"),
                  None)
    update = getattr(cycles, "update_custom_camera", None)
    if update is not None:              # its traceback would only be noise in the worker's log
        cycles.update_custom_camera = lambda self, cam: None
    try:
        cam.type = "CUSTOM"
        cam.custom_mode = "EXTERNAL"
        cam.custom_filepath = str(osl_path)
    finally:
        if update is not None:
            cycles.update_custom_camera = update
