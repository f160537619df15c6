"""Drives the legacy add-on in a real Blender window (run by tests/test_blender34_gui.py).

    blender SCENE.blend --python gui34_driver.py -- '{"zip": ..., "config": ..., ...}'

Everything happens in one ``bpy.app.timers`` callback (a state machine), because the window exists
only once Blender's event loop runs. Operators are called inside ``context.temp_override`` of the
window's 3D viewport, as a click in the sidebar would call them. The outcome goes to ``result`` (JSON).
"""
import json
import sys
import time
import traceback

import bpy

ARGS = json.loads(sys.argv[sys.argv.index("--") + 1])
RESULT = {"ok": False, "steps": [], "errors": []}
T0 = time.time()


def log(step, **info):
    RESULT["steps"].append({"step": step, "t": round(time.time() - T0, 2), **info})
    print(f"gui34: {step} {info}", flush=True)


def finish():
    with open(ARGS["result"], "w") as f:
        json.dump(RESULT, f, indent=1)
    bpy.ops.wm.quit_blender()


def view3d():
    win = bpy.context.window_manager.windows[0]
    area = max((a for a in win.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    region = next(r for r in area.regions if r.type == "WINDOW")
    sidebar = next(r for r in area.regions if r.type == "UI")
    return win, area, region, sidebar


def override():
    win, area, region, _ = view3d()
    return bpy.context.temp_override(window=win, area=area, region=region, screen=win.screen)


def watch_panel_draws():
    """Count draws of the Synthblend panel: it is drawn only while its sidebar tab is active."""
    cls = bpy.types.SYNTHBLEND_PT_main
    orig = cls.draw

    def draw(self, context):
        STATE["drawn"] += 1
        orig(self, context)

    cls.draw = draw


def simulate(win, type, value, **kw):
    win.event_simulate(type=type, value=value, **kw)


def click_sidebar_tab(k):
    """Blender 3.4 cannot select a sidebar tab from Python: click down the tab column on the
    sidebar's right edge, 16 px at a time, as a user would (needs --enable-event-simulate)."""
    win, _, _, sb = view3d()
    x, y = sb.x + sb.width - 9, sb.y + sb.height - 12 - 16 * k
    simulate(win, "MOUSEMOVE", "NOTHING", x=x, y=y)
    simulate(win, "LEFTMOUSE", "PRESS", x=x, y=y)
    simulate(win, "LEFTMOUSE", "RELEASE", x=x, y=y)




def screenshot(name):
    win, area, region, sidebar = view3d()
    path = f"{ARGS['shots']}/{name}.png"
    with bpy.context.temp_override(window=win, area=area, screen=win.screen):
        bpy.ops.screen.screenshot(filepath=path)
    rect = lambda r: [r.x, r.y, r.width, r.height]  # noqa: E731
    RESULT.setdefault("shots", {})[name] = {"path": path, "window": [win.width, win.height],
                                            "sidebar": rect(sidebar), "viewport": rect(region)}
    log("screenshot", name=name)


def context_file(s):
    """The user's own saved file before any target is marked (no 'Synthblend Targets' collection):
    Randomize, Save config and a 2-frame Render dataset work; its Cube is scene context."""
    with override():
        bpy.ops.synthblend.randomize()
    RESULT["context_status"] = s.status
    s.preview_frame = 0                                                # the later presses start at 0
    s.output_dir = ARGS["context_out"]
    s.frames = 2
    bpy.ops.wm.save_as_mainfile(filepath=ARGS["context_blend"])      # the config names the .blend
    with override():
        bpy.ops.synthblend.save_config(filepath=ARGS["context_config"])
        RESULT["context_render"] = sorted(bpy.ops.synthblend.render_dataset("EXEC_DEFAULT"))
    RESULT["context_render_status"] = s.status
    log("context file rendered", status=s.status)


def setup():
    prefs = bpy.context.preferences
    prefs.view.show_splash = False
    bpy.ops.preferences.addon_install(filepath=ARGS["zip"])
    bpy.ops.preferences.addon_enable(module="synthblend")
    import synthblend
    RESULT["addon_file"] = synthblend.__file__
    RESULT["missing_deps"] = __import__("synthblend.ui.deps", fromlist=["missing"]).missing()
    log("enabled", file=synthblend.__file__)
    s = bpy.context.scene.synthblend
    with override():
        bpy.ops.synthblend.load_config(filepath=ARGS["config"])
    log("loaded", frames=s.frames, seed=s.seed)
    cube = bpy.data.objects["Cube"]
    cube.scale = (0.15, 0.15, 0.15)
    cube.location = (0.35, 0.3, 0.15)
    if ARGS.get("context_out"):
        context_file(s)
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob == cube)
    bpy.context.view_layer.objects.active = cube
    with override():
        bpy.ops.synthblend.add_targets()
    cube["synthblend_category"] = "box"
    s.output_dir = ARGS["out"]
    s.frames = 2
    cams = []
    with override():
        for _ in range(2):
            bpy.ops.synthblend.randomize()
            cams.append(list(bpy.context.scene.camera.matrix_world.translation))
    RESULT["randomize_cameras"] = cams
    RESULT["preview_frame"] = s.preview_frame
    log("randomized", status=s.status)
    win, area, _, _ = view3d()
    area.spaces.active.show_region_ui = True
    watch_panel_draws()
    bpy.ops.wm.save_as_mainfile(filepath=ARGS["blend"])
    with override():
        bpy.ops.synthblend.save_config(filepath=ARGS["saved_config"])
    log("saved", config=ARGS["saved_config"], blend=ARGS["blend"])


STATE = {"i": 0, "since": None, "drawn": 0, "tries": 0}
STOP = "stop"   # a stage's result: the run is over (finish() was called). None: go on; a number: come back in s


def stage_tab():
    if STATE["tries"] and STATE["drawn"]:
        log("tab active", presses=STATE["tries"] - 1)
        return None
    if STATE["tries"] > 30:
        raise RuntimeError("the Synthblend sidebar tab never became active")
    STATE["drawn"] = 0
    if STATE["tries"]:
        click_sidebar_tab(STATE["tries"] - 1)
    STATE["tries"] += 1
    return 0.4


def stage_shot_panel():
    screenshot("panel")


def stage_render():
    with override():
        r = bpy.ops.synthblend.render_dataset("INVOKE_DEFAULT")
    log("render invoked", result=list(r))
    STATE["since"] = time.time()


def stage_wait():
    s = bpy.context.scene.synthblend
    if s.is_rendering:
        if time.time() - STATE["since"] > ARGS.get("render_timeout", 90):
            raise TimeoutError("render_dataset did not finish")
        RESULT["progress_seen"] = max(RESULT.get("progress_seen", 0.0), s.progress)
        return 0.2
    RESULT["status"] = s.status
    RESULT["saved_config_path"] = s.config_path
    log("rendered", status=s.status)
    for area in view3d()[0].screen.areas:
        area.tag_redraw()


def stage_shot_done():
    screenshot("done")
    if not ARGS.get("cancel_out"):
        RESULT["ok"] = True
        finish()
        return STOP


def stage_render_long():            # a long render, cancelled with Esc below
    s = bpy.context.scene.synthblend
    s.output_dir = ARGS["cancel_out"]
    s.frames = 40
    with override():
        bpy.ops.synthblend.render_dataset("INVOKE_DEFAULT")
    STATE["since"] = time.time()


def stage_esc():
    s = bpy.context.scene.synthblend
    if s.is_rendering and s.progress == 0.0 and time.time() - STATE["since"] < 60:
        return 0.1                      # wait for the first frame
    win, _, _, sb = view3d()
    simulate(win, "ESC", "PRESS")
    simulate(win, "ESC", "RELEASE")
    log("esc pressed", progress=s.progress)
    STATE["since"] = time.time()


def stage_wait_cancel():
    s = bpy.context.scene.synthblend
    if s.is_rendering:
        if time.time() - STATE["since"] > 30:
            raise TimeoutError("Esc did not stop render_dataset")
        return 0.1
    RESULT["cancel_status"] = s.status
    log("cancelled", status=s.status)
    RESULT["ok"] = True
    finish()
    return STOP


STAGES = [setup, stage_tab, stage_shot_panel, stage_render, stage_wait, stage_shot_done, stage_render_long,
          stage_esc, stage_wait_cancel]


def tick():
    try:
        after = STAGES[STATE["i"]]()
        if after == STOP:
            return None
        if after is not None:
            return after
        STATE["i"] += 1
        return 0.3
    except Exception:  # noqa: BLE001
        RESULT["errors"].append(traceback.format_exc())
        print(traceback.format_exc(), flush=True)
        finish()
        return None


bpy.app.timers.register(tick, first_interval=0.5)
