"""Scenes that belong to the user: a .blend opened headless, or the scene open in the Blender GUI.

synthblend never resets such a scene. Everything it creates (camera, lights, world, pooled config
objects, the ground, materials) goes into one collection, ``Synthblend Generated``, and every datablock
it creates carries the custom property ``synthblend_generated``: :func:`clear_generated` removes
exactly those, so building twice, or opening a .blend that was saved after a preview, starts clean.

The user's own objects are labelled, never moved:

* every mesh-like object that can appear in the render (not hidden for render, in a collection that is
  neither excluded from the view layer nor hidden for render, visible to camera rays) gets an instance
  id (its ``pass_index``), after the config's objects and the ground;
* objects in the targets collection (default ``Synthblend Targets``, child collections included) are
  targets: category from the object's custom property ``synthblend_category``, default its name
  without Blender's ``.001`` suffix; every other one has category 0 (unlabelled, but never background);
  a file without that collection has no targets (all its meshes are scene context, category 0); only
  a collection the config names explicitly (not the default) must exist in a config's ``scene.blend``;
* meta lists each as ``asset: "blend:<object name>"`` with ``mesh`` = its evaluated triangles with the
  modifiers' *render* settings (subdivision render levels, render-only modifiers), in the object's
  local frame, and ``obj2world`` = its evaluated world matrix.

Not labelled (and reported once in the worker log): hair curves, point clouds, volumes, grease pencil
and instances made by collection instancing or particles.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import InputError
from ..core.spec import ObjectKind, ObjectSpec
from .objects import read_triangles

GENERATED = "Synthblend Generated"
TAG = "synthblend_generated"
CATEGORY_PROP = "synthblend_category"
DEFAULT_TARGETS = "Synthblend Targets"
MESH_TYPES = {"MESH", "CURVE", "SURFACE", "META", "FONT"}
UNSUPPORTED_TYPES = {"CURVES", "POINTCLOUD", "VOLUME", "GPENCIL", "GREASEPENCIL"}
# bpy.data collections whose new datablocks a build tags (objects first: removing them frees data)
ID_TYPES = ("objects", "collections", "cameras", "lights", "meshes", "materials", "worlds",
            "node_groups", "textures", "images")
_DUP_SUFFIX = re.compile(r"\.\d{3,}$")


@dataclass
class BlendObject:
    """One of the user's objects as labelled in every frame."""

    obj: object                 # bpy.types.Object
    name: str
    is_target: bool
    category: str | None        # None: unlabelled (category 0)
    mesh_key: str               # file stem in DIR/meshes
    vertices: np.ndarray        # Nx3 float32, object local frame, as rendered
    faces: np.ndarray           # Mx3 int32
    obj2world: np.ndarray       # 4x4
    color_rgb: tuple


# ---------------------------------------------------------------------------------------- files


def _key_error(parts, what: str) -> InputError:
    """The error about config key ``parts`` when no config is at hand to name its file and line."""
    return InputError(".".join(str(p) for p in parts), what)


def open_blend(path, error=None) -> None:
    """Open ``path`` as the current file (headless workers). A bad file raises ``error(["scene",
    "blend"], what)`` (pass ``Config.error``: it names the config file and line), else InputError."""
    path = Path(path)
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    except RuntimeError as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else "unreadable"
        raise (error or _key_error)(["scene", "blend"], f"cannot open {path}: {msg}") from None


# ---------------------------------------------------------------------------- generated datablocks


def is_generated(idb) -> bool:
    try:
        return bool(idb.get(TAG))
    except (TypeError, AttributeError):   # linked (library) datablocks hold no custom props here
        return False


def clear_generated() -> int:
    """Remove every datablock a previous build created (and the ``Synthblend Generated``
    collection). Returns how many were removed. The user's datablocks are untouched."""
    n = 0
    for attr in ID_TYPES:
        coll = getattr(bpy.data, attr, None)
        if coll is None:
            continue
        for idb in [i for i in coll if is_generated(i)]:
            coll.remove(idb)
            n += 1
    return n


@contextmanager
def tag_new_datablocks():
    """Tag every datablock created inside the ``with`` block as generated (whoever created it)."""
    before = {attr: {i.as_pointer() for i in getattr(bpy.data, attr)}
              for attr in ID_TYPES if hasattr(bpy.data, attr)}
    try:
        yield
    finally:
        for attr, ptrs in before.items():
            for idb in getattr(bpy.data, attr):
                if idb.as_pointer() not in ptrs and idb.library is None:
                    idb[TAG] = True


def generated_collection(scene):
    """A fresh ``Synthblend Generated`` collection linked under the scene's master collection."""
    coll = bpy.data.collections.new(GENERATED)
    coll[TAG] = True
    scene.collection.children.link(coll)
    return coll


def remember_user_view(scene) -> None:
    """Keep the user's camera and world (the build replaces them) so they can be restored."""
    cam, world = scene.camera, scene.world
    if cam is not None and not is_generated(cam):
        scene["synthblend_user_camera"] = cam
    if world is not None and not is_generated(world):
        scene["synthblend_user_world"] = world


def restore_user_view(scene) -> None:
    """Undo :func:`remember_user_view`'s replacements (after :func:`clear_generated`)."""
    cam = scene.get("synthblend_user_camera")
    world = scene.get("synthblend_user_world")
    if scene.camera is None and cam is not None and cam.name in bpy.data.objects:
        scene.camera = cam
    if scene.world is None and world is not None and world.name in bpy.data.worlds:
        scene.world = world


# ----------------------------------------------------------------------------- the user's objects


def _render_collections(layer_collection):
    """Collections whose objects can render in this view layer (not excluded, not hidden)."""
    coll = layer_collection.collection
    if layer_collection.exclude or getattr(coll, "hide_render", False) or is_generated(coll):
        return
    yield coll
    for child in layer_collection.children:
        yield from _render_collections(child)


def renderable_objects(view_layer) -> tuple[list, list]:
    """(mesh-like objects that can appear in the render, sorted by name; unsupported ones)."""
    found, unsupported = {}, {}
    for coll in _render_collections(view_layer.layer_collection):
        for ob in coll.objects:
            if ob.hide_render or is_generated(ob) or not getattr(ob, "visible_camera", True):
                continue
            if ob.type in MESH_TYPES:
                found[ob.name] = ob
            elif ob.type in UNSUPPORTED_TYPES or (ob.type == "EMPTY" and ob.instance_type != "NONE"):
                unsupported[ob.name] = ob
            for ps in getattr(ob, "particle_systems", []):
                if ps.settings.render_type in ("OBJECT", "COLLECTION"):
                    unsupported[ob.name] = ob
    return [found[k] for k in sorted(found)], [unsupported[k] for k in sorted(unsupported)]


def target_names(collection_name: str) -> set[str] | None:
    """Names of the objects in the targets collection (children included); None if it is absent."""
    coll = bpy.data.collections.get(collection_name)
    if coll is None:
        return None
    return {ob.name for ob in coll.all_objects}


def category_of(ob) -> str:
    """A target's category: its ``synthblend_category`` property, else its name sans ``.001``."""
    value = ob.get(CATEGORY_PROP)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return _DUP_SUFFIX.sub("", ob.name)


@contextmanager
def render_levels_in_viewport(objects, scene):
    """Evaluate modifiers as the render does (viewport-only changes, restored on exit)."""
    saved = []

    def put(owner, attr, value):
        if getattr(owner, attr) != value:
            saved.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, value)

    for ob in objects:
        for m in getattr(ob, "modifiers", []):
            put(m, "show_viewport", m.show_render)
            if m.type in ("SUBSURF", "MULTIRES") and hasattr(m, "render_levels"):
                put(m, "levels", m.render_levels)
    r = scene.render
    if r.use_simplify:
        put(r, "simplify_subdivision", r.simplify_subdivision_render)
    try:
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)


def _viewport_color(ob) -> tuple:
    mat = ob.active_material
    c = mat.diffuse_color if mat is not None else ob.color
    return tuple(float(x) for x in c[:3])


def capture(scene, view_layer, targets_collection: str | None, strict: bool, log=print,
            error=None) -> list[BlendObject]:
    """The user's labelled objects with their rendered triangles. A missing targets collection
    means no targets (every mesh is scene context, category 0; said once through ``log``), or with
    ``strict`` an error: ``error(["scene", "targets", "collection"], what)`` (pass ``Config.error``,
    which names the config file and line; the text names the .blend), else InputError."""
    from ..dataset.layout import sanitize_name

    objects, unsupported = renderable_objects(view_layer)
    for ob in unsupported:
        log(f"synthblend: warning: {ob.name!r} ({ob.type}) renders but is not labelled "
            f"(only mesh-like objects are); hide it for render to keep the maps exact")
    names = target_names(targets_collection) if targets_collection else set()
    if names is None:
        have = ", ".join(sorted(c.name for c in bpy.data.collections if not is_generated(c))) or "none"
        what = f"no collection {targets_collection!r} in {bpy.data.filepath or 'the unsaved .blend'}"
        if strict and objects:
            raise (error or _key_error)(["scene", "targets", "collection"], f"{what} (collections: {have})")
        if objects:
            log(f"synthblend: note: {what}: its {len(objects)} mesh object(s) are scene context "
                f"(category 0, no targets)")
        names = set()
    out: list[BlendObject] = []
    keys: set[str] = set()
    with render_levels_in_viewport(objects, scene):
        depsgraph = bpy.context.evaluated_depsgraph_get()
        depsgraph.update()
        for ob in objects:
            ob_eval = ob.evaluated_get(depsgraph)
            me = ob_eval.to_mesh()
            try:
                if me is None:
                    continue
                v, f = read_triangles(me)
            finally:
                ob_eval.to_mesh_clear()
            if len(f) == 0:
                continue
            key = sanitize_name(f"blend_{ob.name}")
            k = 1
            while key in keys:
                key, k = sanitize_name(f"blend_{ob.name}_{k}"), k + 1
            keys.add(key)
            target = ob.name in names
            out.append(BlendObject(ob, ob.name, target, category_of(ob) if target else None, key,
                                   v, f, np.array(ob_eval.matrix_world, dtype=float), _viewport_color(ob)))
    return out


def extra_categories(blend_objects, known: list[str]) -> list[str]:
    """Target categories the config does not name, in order of first appearance (by object name)."""
    extra: list[str] = []
    for b in blend_objects:
        if b.category and b.category not in known and b.category not in extra:
            extra.append(b.category)
    return extra


def object_specs(blend_objects, first_id: int, category_ids: dict) -> list[ObjectSpec]:
    """ObjectSpecs (kind BLEND, slot k) for the user's objects, ids from ``first_id``."""
    return [ObjectSpec(first_id + k, b.name, ObjectKind.BLEND, None, k, b.category, category_ids.get(b.category, 0),
                       f"blend:{b.name}", b.obj2world.copy(), b.color_rgb)
            for k, b in enumerate(blend_objects)]
