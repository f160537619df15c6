"""The "Synthblend" tab of the 3D Viewport sidebar: actions on top, then one collapsible sub-panel per
config section (Output, Render, Objects, Camera, Lighting, and any other section of the schema)."""
from __future__ import annotations

import bpy
from bpy.types import Panel, UIList

from ..core import schema as S
from ..engine import compat
from . import deps, props

FIXED = ("render", "scene", "camera", "lighting")      # root sections with their own panels below
LABELS = {"render": "Render", "scene": "Objects", "camera": "Camera", "lighting": "Lighting"}


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def targets_hint(collection: str) -> list[str]:
    """The panel's lines when the open file has no targets collection (short: sidebar width)."""
    return [f"No '{collection}' collection:",
            "this file's meshes are scene context",
            "(category 0). Put target objects in a",
            "collection of that name to label them."]


# --------------------------------------------------------------------------------- generic drawing


def draw_dist(layout, pg, key: str, f: S.D) -> None:
    col = layout.column(align=True)
    row = col.row(align=True)
    row.label(text=_label(key))
    row.prop(pg, "mode", text="")
    m = pg.mode
    if m == "CONSTANT":
        col.prop(pg, "value", text="")
    elif m in ("UNIFORM", "LOGUNIFORM", "RANDINT"):
        col.prop(pg, "lo", text="Low")
        col.prop(pg, "hi", text="High")
    elif m == "NORMAL":
        col.prop(pg, "lo", text="Mean")
        col.prop(pg, "hi", text="Std")
        col.prop(pg, "use_clip")
        if pg.use_clip:
            col.prop(pg, "clip_lo", text="Clip low")
            col.prop(pg, "clip_hi", text="Clip high")
    elif m == "CHOICE":
        col.prop(pg, "choices", text="")
        col.prop(pg, "weights", text="Weights")
    else:
        col.prop(pg, "text", text="")


def draw_section(layout, pg, section: S.Section, path: str, skip=()) -> None:
    for key, f in section.fields.items():
        if key in skip:
            continue
        p = props.pname(key)
        sub_path = f"{path}.{key}" if path else key
        if isinstance(f, S.D):
            draw_dist(layout, getattr(pg, p), key, f)
        elif isinstance(f, S.Section):
            box = layout.box()
            sub = getattr(pg, p)
            if f.optional:
                box.prop(sub, "sb_enabled", text=_label(key))
                if not sub.sb_enabled:
                    continue
            else:
                box.label(text=_label(key))
            draw_section(box, sub, f, sub_path)
        elif isinstance(f, S.ListOf):
            draw_list(layout, pg, key, f, sub_path)
        elif isinstance(f, S.V) and props.const_kind(f) == "outputs":
            layout.label(text=_label(key))
            layout.prop(pg, p, expand=True)
        elif isinstance(f, S.V) and props.const_kind(f).startswith("opt_"):
            row = layout.row(align=True)
            row.prop(pg, p + "_set", text="")
            sub = row.row(align=True)
            sub.active = getattr(pg, p + "_set")
            sub.prop(pg, p)
        else:
            layout.prop(pg, p)


def draw_list(layout, owner, key: str, f: S.ListOf, path: str) -> None:
    p = props.pname(key)
    layout.label(text=_label(key))
    row = layout.row()
    row.template_list("SYNTHBLEND_UL_entries", path, owner, p, owner, p + "_index", rows=3)
    col = row.column(align=True)
    col.operator("synthblend.list_add", icon="ADD", text="").path = path
    col.operator("synthblend.list_remove", icon="REMOVE", text="").path = path
    coll = getattr(owner, p)
    idx = getattr(owner, p + "_index")
    if 0 <= idx < len(coll):
        box = layout.box()
        draw_section(box, coll[idx], f.item, f"{path}[{idx}]")


class SYNTHBLEND_UL_entries(UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        mesh = getattr(item, "mesh", "")
        prim = getattr(item, "primitive", props.NONE_ITEM)
        what = bpy.path.basename(mesh) if mesh else (prim if prim != props.NONE_ITEM else "?")
        cat = getattr(item, "category", "")
        layout.label(text=f"{index}: {what}" + (f"  ({cat})" if cat else ""),
                     icon="MESH_DATA" if mesh else "MESH_CUBE")


# ---------------------------------------------------------------------------------------- panels


class _Base:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Synthblend"


class SYNTHBLEND_PT_main(_Base, Panel):
    bl_label = "Synthblend"
    bl_idname = "SYNTHBLEND_PT_main"

    def draw(self, context):
        layout = self.layout
        s = context.scene.synthblend
        missing = deps.missing()
        if missing:
            box = layout.box()
            box.alert = True
            box.label(text="Missing Python packages: " + ", ".join(missing), icon="ERROR")
            for line in _wrap(deps.install_hint(missing), 48):
                box.label(text=line)
        row = layout.row(align=True)
        row.prop(s, "config_path", text="")
        row = layout.row(align=True)
        row.operator("synthblend.load_config", icon="FILEBROWSER", text="Load")
        row.operator("synthblend.save_config", icon="FILE_TICK", text="Save")
        row = layout.row(align=True)
        row.scale_y = 1.3
        row.operator("synthblend.randomize", icon="FILE_REFRESH")
        row.operator("synthblend.step_view", icon="FORWARD", text="")    # next view of the scene
        row.operator("synthblend.clear_scene", icon="TRASH", text="")
        col = layout.column()
        col.scale_y = 1.5
        col.enabled = not s.is_rendering
        col.operator("synthblend.render_dataset", icon="RENDER_ANIMATION")
        if s.is_rendering:
            compat.draw_progress(layout, s, "progress", s.status or "Rendering")
            layout.label(text="Esc: stop after this frame", icon="INFO")
        elif s.status:
            for line in _wrap(s.status, 34):
                layout.label(text=line)


class SYNTHBLEND_PT_output(_Base, Panel):
    bl_label = "Output"
    bl_parent_id = "SYNTHBLEND_PT_main"

    def draw(self, context):
        s = context.scene.synthblend
        col = self.layout.column()
        col.prop(s, "output_dir")
        col.prop(s, "frames")
        col.prop(s, "seed")
        row = col.row()
        row.prop(s, "overwrite")
        row.prop(s, "resume")
        col.prop(s, "preview_frame")


class SYNTHBLEND_PT_render(_Base, Panel):
    bl_label = "Render"
    bl_parent_id = "SYNTHBLEND_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_section(self.layout.column(), context.scene.synthblend.render, S.SCHEMA.fields["render"], "render")


class SYNTHBLEND_PT_objects(_Base, Panel):
    bl_label = "Objects"
    bl_parent_id = "SYNTHBLEND_PT_main"

    def draw(self, context):
        layout = self.layout
        s = context.scene.synthblend
        sec = S.SCHEMA.fields["scene"]
        box = layout.box()
        blend = bpy.data.filepath
        box.label(text=f"Scene: {bpy.path.basename(blend) if blend else 'unsaved .blend'}", icon="SCENE_DATA")
        box.prop(s.scene.targets, "collection", text="Targets")
        coll = bpy.data.collections.get(s.scene.targets.collection)
        if coll is not None:
            for ob in sorted(coll.all_objects, key=lambda o: o.name):
                row = box.row(align=True)
                row.label(text=ob.name, icon="OBJECT_DATA")
                if "synthblend_category" in ob:
                    row.prop(ob, '["synthblend_category"]', text="")
                else:
                    row.label(text=ob.name.rsplit(".", 1)[0] if ob.name[-4:-3] == "." else ob.name)
                row.operator("synthblend.remove_target", text="", icon="X").object_name = ob.name
        else:
            col = box.column(align=True)
            col.scale_y = 0.8
            for k, line in enumerate(targets_hint(s.scene.targets.collection)):
                col.label(text=line, icon="INFO" if k == 0 else "BLANK1")
        box.operator("synthblend.add_targets", icon="ADD")
        box.label(text="Others: category 0", icon="INFO")
        draw_section(layout.column(), s.scene, sec, "scene", skip=("blend", "targets"))


class SYNTHBLEND_PT_camera(_Base, Panel):
    bl_label = "Camera"
    bl_parent_id = "SYNTHBLEND_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_section(self.layout.column(), context.scene.synthblend.camera, S.SCHEMA.fields["camera"], "camera")


class SYNTHBLEND_PT_lighting(_Base, Panel):
    bl_label = "Lighting"
    bl_parent_id = "SYNTHBLEND_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_section(self.layout.column(), context.scene.synthblend.lighting, S.SCHEMA.fields["lighting"],
                     "lighting")


def _extra_panel(key: str, f):
    """A sub-panel for a root config section this module does not know by name."""
    def draw(self, context):
        s = context.scene.synthblend
        if isinstance(f, S.Section):
            sub = getattr(s, props.pname(key))
            if f.optional:
                self.layout.prop(sub, "sb_enabled")
                if not sub.sb_enabled:
                    return
            draw_section(self.layout.column(), sub, f, key)
        else:
            draw_section(self.layout.column(), s, S.Section({key: f}), "")

    return type(f"SYNTHBLEND_PT_cfg_{key}", (_Base, Panel), {
        "bl_label": _label(key), "bl_parent_id": "SYNTHBLEND_PT_main", "bl_options": {"DEFAULT_CLOSED"},
        "draw": draw, "__module__": __name__})


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    return lines + ([cur] if cur else [])


def panel_classes() -> list:
    extra = [_extra_panel(k, f) for k, f in S.SCHEMA.fields.items()
             if k not in FIXED and k not in ("seed", "frames")]
    return [SYNTHBLEND_UL_entries, SYNTHBLEND_PT_main, SYNTHBLEND_PT_output, SYNTHBLEND_PT_objects,
            SYNTHBLEND_PT_render, SYNTHBLEND_PT_camera, SYNTHBLEND_PT_lighting, *extra]
