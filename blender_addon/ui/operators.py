"""``bpy.ops.synthblend.*``: load/save config, randomize, render dataset, and panel helpers.

Longer than 400 lines: the add-on's operator classes, which Blender registers as one list; each is
small and does one thing.

Each operator reports problems as Blender reports with the CLI's one-line messages
(``error: <file>:<line>: <key>: <what>``); called from a script, a failed operator raises RuntimeError
with that text. The scene is built into the open file with the engine's SceneBuilder (no reset: the
user's objects stay and are labelled), in the ``Synthblend Generated`` collection.
"""
from __future__ import annotations

import os
import traceback
from pathlib import Path

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty
from bpy.types import Operator

from . import config_io, deps, props

TARGETS_DEFAULT = "Synthblend Targets"
_PREVIEW = {"builder": None, "key": None}


def _settings(context):
    return context.scene.synthblend


def _messages(exc) -> list[str]:
    """One-line, CLI-style messages for an exception raised by synthblend."""
    from ..core.errors import ConfigErrors, InputError
    if isinstance(exc, ConfigErrors):
        return exc.lines()
    if isinstance(exc, InputError):
        return [exc.line()]
    if isinstance(exc, (deps.MissingDependencies, ValueError)):
        return [f"error: {exc}"]
    return [f"error: unexpected {type(exc).__name__}: {exc}"]


def _fail(op, exc) -> set:
    lines = _messages(exc)
    if not isinstance(exc, (ValueError, deps.MissingDependencies)) and "unexpected" in lines[0]:
        traceback.print_exc()
    for line in lines:
        print(line)
    op.report({"ERROR"}, "\n".join(lines))
    return {"CANCELLED"}


def _redraw(context) -> None:
    for window in getattr(context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "PROPERTIES"):
                area.tag_redraw()


# ------------------------------------------------------------------------------------ config I/O


def _user_objects(context):
    from ..engine.blend_scene import renderable_objects
    return renderable_objects(context.view_layer)[0]


class SYNTHBLEND_OT_load_config(Operator):
    """Load a synthblend config (YAML/JSON) into the panel"""

    bl_idname = "synthblend.load_config"
    bl_label = "Load config"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.yaml;*.yml;*.json", options={"HIDDEN"})

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        path = Path(bpy.path.abspath(self.filepath)).resolve()
        try:
            deps.require()
            from ..core.config import load_config
            cfg = load_config(path)
        except Exception as e:  # noqa: BLE001 - reported
            return _fail(self, e)
        blend = cfg.parsed["scene"].get("blend")
        open_file = config_io.current_blend()
        if blend is not None and (open_file is None or open_file != Path(blend).resolve()):
            # The config renders another .blend: open it (the settings go to its scene). `self` is
            # gone once a file is loaded, so nothing below touches it.
            _PREVIEW.update(builder=None, key=None)
            bpy.ops.wm.open_mainfile(filepath=str(blend))
            config_io.apply_config(bpy.context.scene.synthblend, cfg, path)
            print(f"synthblend: loaded {path} and opened {blend}")
            return {"FINISHED"}
        try:
            config_io.apply_config(_settings(context), cfg, path)
        except ValueError as e:
            return _fail(self, e)
        _PREVIEW.update(builder=None, key=None)
        n = len(cfg.data["scene"]["objects"])
        self.report({"INFO"}, f"Loaded {path.name}: {n} object entr{'y' if n == 1 else 'ies'}, "
                              f"{cfg.frames} frames of {cfg.resolution[0]}x{cfg.resolution[1]}")
        return {"FINISHED"}


class SYNTHBLEND_OT_save_config(Operator):
    """Save the panel's settings as a YAML config that `synthblend render` runs as is"""

    bl_idname = "synthblend.save_config"
    bl_label = "Save config"

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.yaml;*.yml", options={"HIDDEN"})
    check_existing: BoolProperty(default=True, options={"HIDDEN"})

    def invoke(self, context, event):
        s = _settings(context)
        if not self.filepath:
            self.filepath = bpy.path.abspath(s.config_path) if s.config_path else "synthblend.yaml"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from .. import __version__
        s = _settings(context)
        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            path = path.with_suffix(".yaml")
        path = path.resolve()
        try:
            deps.require()
            if config_io.current_blend() is None and _user_objects(context):
                raise ValueError(f"{path}: scene.blend: save the .blend file first: the config must name "
                                 f"it so that the CLI renders its objects "
                                 f"({', '.join(o.name for o in _user_objects(context)[:5])})")
            raw = config_io.settings_raw(s, base=path.parent)
            from ..core.config import Config
            Config(raw, path=path, base_dir=path.parent)          # validate before writing
            header = (f"# synthblend {__version__} config, saved from Blender {bpy.app.version_string}.\n"
                      f"# Render it headless: synthblend render {path.name} --out DIR\n")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(config_io.yaml_text(raw, header), encoding="utf-8")
            os.replace(tmp, path)
        except Exception as e:  # noqa: BLE001
            return _fail(self, e)
        dirty = bpy.data.is_dirty
        s.config_path = str(path)
        if dirty and config_io.current_blend() is not None:
            self.report({"WARNING"}, f"Saved {path.name}; the .blend has unsaved changes: the CLI "
                                     f"renders {config_io.current_blend().name} as last saved")
        else:
            self.report({"INFO"}, f"Saved {path}")
        return {"FINISHED"}


class SYNTHBLEND_OT_reset_settings(Operator):
    """Reset every setting to the config defaults"""

    bl_idname = "synthblend.reset_settings"
    bl_label = "Reset settings"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            deps.require()
            config_io.reset_settings(_settings(context))
        except Exception as e:  # noqa: BLE001
            return _fail(self, e)
        return {"FINISHED"}


# ---------------------------------------------------------------------------------------- preview


def _preview_builder(config):
    """The SceneBuilder of the open scene for ``config``, reused while the settings are unchanged."""
    from ..engine.scene import SceneBuilder
    key = (config.identity(), bpy.context.scene.as_pointer())
    b = _PREVIEW["builder"]
    if b is not None and _PREVIEW["key"] == key:
        try:
            b.camera.name, b.collection.name  # noqa: B018 - raises ReferenceError once removed (undo)
            return b
        except ReferenceError:
            pass
    b = SceneBuilder(config, reset=False)
    b.build()
    _PREVIEW.update(builder=b, key=key)
    return b


def show_frame(context, config, frame: int):
    """Apply dataset frame ``frame`` of ``config`` to the open scene (the preview builder); returns its
    spec. With scene.views / sequence the frame's spec is its scene's view (core/scenes.py)."""
    from ..core.scenes import sample_frame
    builder = _preview_builder(config)
    spec = builder.add_blend_objects(sample_frame(config, config.seed, frame))
    builder.apply(spec)
    _settings(context).preview_shown = frame
    return spec


def scene_status(config, frame: int) -> str:
    """``Scene s, view v of N: `` (with scene.views / sequence), else ``Frame f: ``."""
    from ..core.scenes import layout_of
    layout = layout_of(config)
    if layout.mode is None:
        return f"Frame {frame}: "
    scene, view = layout.locate(frame)
    return f"Frame {frame}, scene {scene}, view {view} of {len(layout.scene_frames(scene))}: "


class SYNTHBLEND_OT_randomize(Operator):
    """Build the scene and show one sampled dataset frame in the viewport (the next frame each press;
    with scene.views / sequence the first view of the next scene)"""

    bl_idname = "synthblend.randomize"
    bl_label = "Randomize"
    bl_options = {"REGISTER", "UNDO"}

    frame: IntProperty(name="Frame", default=-1, min=-1,
                       description="Dataset frame to show; -1: the panel's preview frame, then the next")
    view_camera: BoolProperty(name="Camera view", default=True,
                              description="Look through the sampled camera in the 3D viewports")

    def execute(self, context):
        s = _settings(context)
        try:
            deps.require()
            from ..core.scenes import layout_of
            config = config_io.settings_config(s)
            frame = s.preview_frame if self.frame < 0 else self.frame
            layout = layout_of(config)
            scene = layout.locate(frame)[0] if layout.mode else frame
            frame = layout.start(scene) if layout.mode else frame     # the scene's first view
            spec = show_frame(context, config, frame)
        except Exception as e:  # noqa: BLE001
            _PREVIEW.update(builder=None, key=None)
            return _fail(self, e)
        s.preview_frame = layout.start(scene + 1) if layout.mode else frame + 1
        n_obj = sum(1 for o in spec.objects if o.kind == "object")   # config objects (ObjectKind.OBJECT)
        s.status = scene_status(config, frame) + f"{n_obj} object(s), {len(spec.lights)} light(s)"
        n_context = sum(1 for o in spec.objects if o.kind == "blend")   # the file's own meshes
        targets = s.scene.targets.collection
        if n_context and bpy.data.collections.get(targets) is None:
            s.status += f"; no '{targets}' collection: the file's {n_context} mesh(es) are scene context (category 0)"
        if self.view_camera:
            for window in context.window_manager.windows:
                for area in window.screen.areas:
                    if area.type == "VIEW_3D":
                        area.spaces.active.region_3d.view_perspective = "CAMERA"
        _redraw(context)
        self.report({"INFO"}, f"Showing frame {frame} of seed {config.seed}")
        return {"FINISHED"}


class SYNTHBLEND_OT_clear_scene(Operator):
    """Remove what synthblend added to the scene (camera, lights, objects, world) and restore yours"""

    bl_idname = "synthblend.clear_scene"
    bl_label = "Clear generated"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..engine import blend_scene
        n = blend_scene.clear_generated()
        blend_scene.restore_user_view(context.scene)
        _PREVIEW.update(builder=None, key=None)
        self.report({"INFO"}, f"Removed {n} generated datablock(s)")
        return {"FINISHED"}


# ----------------------------------------------------------------------------------------- render


class SYNTHBLEND_OT_render_dataset(Operator):
    """Render the dataset in this Blender (Esc cancels between frames; --resume completes it)"""

    bl_idname = "synthblend.render_dataset"
    bl_label = "Render dataset"

    _run = None
    _timer = None

    def _start(self, context):
        from ..runners.inprocess import InProcessRun
        s = _settings(context)
        if s.is_rendering:
            raise ValueError("a render is already running")
        if not s.output_dir:
            raise ValueError("set the output folder first")
        deps.require()
        config = config_io.settings_config(s)
        out = Path(bpy.path.abspath(s.output_dir)).resolve()
        _PREVIEW.update(builder=None, key=None)
        return InProcessRun(config, out, resume=s.resume, overwrite=s.overwrite, reset=False)

    def _progress(self, context, run, text=None):
        s = _settings(context)
        s.progress = run.done / run.total if run.total else 1.0
        s.status = text or f"Rendered {run.done}/{run.total} frames into {run.out}"
        _redraw(context)

    def _end(self, context, run, interrupted=False) -> set:
        s = _settings(context)
        summary = run.finish(interrupted=interrupted)
        s.is_rendering = False
        _redraw(context)
        n = len(summary.rendered)
        msg = (f"{n} frame(s) in {summary.wall_seconds:.1f} s into {summary.out_dir}"
               f"{f'; {summary.skipped} already there' if summary.skipped else ''}")
        if summary.failed:
            first = next(iter(summary.failed.values())).strip().splitlines()[-1]
            s.status = f"{len(summary.failed)} frame(s) failed: {first}"
            self.report({"ERROR"}, f"error: {len(summary.failed)} frame(s) failed ({first}); "
                                   f"details in {summary.out_dir / 'logs'}")
            return {"CANCELLED"}
        if interrupted:
            s.status = f"Cancelled after {msg}"
            self.report({"WARNING"}, f"Cancelled: {msg}; Resume completes it")
            return {"CANCELLED"}
        s.status = f"Done: {msg}"
        s.progress = 1.0
        self.report({"INFO"}, f"Rendered {msg}")
        return {"FINISHED"}

    def execute(self, context):
        try:
            run = self._start(context)
        except Exception as e:  # noqa: BLE001
            return _fail(self, e)
        s = _settings(context)
        s.is_rendering = True
        try:
            run.start()
            while run.step() is not None:
                self._progress(context, run)
        except Exception as e:  # noqa: BLE001
            run.finish()
            s.is_rendering = False
            return _fail(self, e)
        return self._end(context, run)

    def invoke(self, context, event):
        try:
            run = self._start(context)
        except Exception as e:  # noqa: BLE001
            return _fail(self, e)
        self._run = run
        s = _settings(context)
        s.is_rendering = True
        s.progress = 0.0
        s.status = f"Building the scene for {run.total} frame(s)..."
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.05, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(1, run.total))
        _redraw(context)
        return {"RUNNING_MODAL"}

    def _stop_modal(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()

    def modal(self, context, event):
        run = self._run
        if event.type == "ESC":
            self._stop_modal(context)
            return self._end(context, run, interrupted=True)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            frame = run.step()
        except Exception as e:  # noqa: BLE001
            self._stop_modal(context)
            run.finish()
            _settings(context).is_rendering = False
            _settings(context).status = _messages(e)[0]
            return _fail(self, e)
        if frame is None:
            self._stop_modal(context)
            return self._end(context, run)
        context.window_manager.progress_update(run.done)
        self._progress(context, run)
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        if self._run is not None and _settings(context).is_rendering:
            self._stop_modal(context)
            self._end(context, self._run, interrupted=True)


# ---------------------------------------------------------------------------------- panel helpers


class SYNTHBLEND_OT_add_targets(Operator):
    """Put the selected objects into the targets collection, with a category each"""

    bl_idname = "synthblend.add_targets"
    bl_label = "Add selected to targets"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..engine.blend_scene import CATEGORY_PROP, category_of
        s = _settings(context)
        name = s.scene.targets.collection or TARGETS_DEFAULT
        coll = bpy.data.collections.get(name)
        if coll is None:
            coll = bpy.data.collections.new(name)
            context.scene.collection.children.link(coll)
        n = 0
        for ob in context.selected_objects:
            if ob.get("synthblend_generated"):
                continue
            if ob.name not in coll.objects:
                coll.objects.link(ob)
            if CATEGORY_PROP not in ob:
                ob[CATEGORY_PROP] = category_of(ob)
            n += 1
        self.report({"INFO"}, f"{n} object(s) in {name!r}")
        return {"FINISHED"}


class SYNTHBLEND_OT_remove_target(Operator):
    """Take an object out of the targets collection (it stays in the scene, unlabelled)"""

    bl_idname = "synthblend.remove_target"
    bl_label = "Remove from targets"
    bl_options = {"REGISTER", "UNDO"}

    object_name: StringProperty()

    def execute(self, context):
        coll = bpy.data.collections.get(_settings(context).scene.targets.collection)
        ob = bpy.data.objects.get(self.object_name)
        if coll is None or ob is None or ob.name not in coll.objects:
            return {"CANCELLED"}
        if len(ob.users_collection) == 1:
            context.scene.collection.objects.link(ob)
        coll.objects.unlink(ob)
        return {"FINISHED"}


class SYNTHBLEND_OT_list_add(Operator):
    """Add an entry"""

    bl_idname = "synthblend.list_add"
    bl_label = "Add"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    path: StringProperty()

    def execute(self, context):
        s = _settings(context)
        coll = props.resolve(s, self.path)
        item = coll.add()
        if self.path == "scene.objects" and hasattr(item, "primitive"):
            item.primitive = "cube"
        parent, _, key = self.path.rpartition(".")
        owner = props.resolve(s, parent) if parent else s
        setattr(owner, props.pname(key) + "_index", len(coll) - 1)
        return {"FINISHED"}


class SYNTHBLEND_OT_list_remove(Operator):
    """Remove the selected entry"""

    bl_idname = "synthblend.list_remove"
    bl_label = "Remove"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    path: StringProperty()

    def execute(self, context):
        s = _settings(context)
        parent, _, key = self.path.rpartition(".")
        owner = props.resolve(s, parent) if parent else s
        coll = props.resolve(s, self.path)
        idx = getattr(owner, props.pname(key) + "_index")
        if 0 <= idx < len(coll):
            coll.remove(idx)
            setattr(owner, props.pname(key) + "_index", max(0, min(idx, len(coll) - 1)))
        return {"FINISHED"}


CLASSES = (SYNTHBLEND_OT_load_config, SYNTHBLEND_OT_save_config, SYNTHBLEND_OT_reset_settings,
           SYNTHBLEND_OT_randomize, SYNTHBLEND_OT_clear_scene, SYNTHBLEND_OT_render_dataset,
           SYNTHBLEND_OT_add_targets, SYNTHBLEND_OT_remove_target, SYNTHBLEND_OT_list_add,
           SYNTHBLEND_OT_list_remove)
