"""``bpy.ops.synthblend.step_view``: step through the views of the scene shown (``scene.views``,
``sequence``; core/scenes.py). Randomize shows a scene's first view; this shows its next (or
previous) view, wrapping around, with the same arrangement: only the camera (and in a sequence the
objects' poses at that time) change."""
from __future__ import annotations

from bpy.props import IntProperty
from bpy.types import Operator

from . import config_io, deps
from .operators import _PREVIEW, _fail, _redraw, _settings, scene_status, show_frame


class SYNTHBLEND_OT_step_view(Operator):
    """Show the next view of the scene Randomize showed (wraps around)"""

    bl_idname = "synthblend.step_view"
    bl_label = "Next view"
    bl_options = {"REGISTER", "UNDO"}

    step: IntProperty(name="Step", default=1, description="Views to step (-1: the previous view)")

    def execute(self, context):
        s = _settings(context)
        try:
            deps.require()
            from ..core.scenes import layout_of
            config = config_io.settings_config(s)
            layout = layout_of(config)
            if layout.mode is None:
                self.report({"WARNING"}, "no scene.views or sequence: every frame is its own scene")
                return {"CANCELLED"}
            shown = max(0, min(s.preview_shown, config.frames - 1))
            scene, view = layout.locate(shown)
            frames = layout.scene_frames(scene)
            frame = frames[(view + self.step) % len(frames)]
            spec = show_frame(context, config, frame)
        except Exception as e:  # noqa: BLE001
            _PREVIEW.update(builder=None, key=None)
            return _fail(self, e)
        s.status = scene_status(config, frame) + f"{len(spec.objects)} object(s)"
        _redraw(context)
        self.report({"INFO"}, f"Showing frame {frame} (scene {scene}, view {frame - frames[0]})")
        return {"FINISHED"}


CLASSES = (SYNTHBLEND_OT_step_view,)
