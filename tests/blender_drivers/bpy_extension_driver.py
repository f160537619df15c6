"""Drives the extension zip inside the bpy module (run by tests/test_addon_bpy.py in a subprocess).

    BLENDER_USER_RESOURCES=DIR python bpy_extension_driver.py '{"zip": ..., ...}'

Installs and enables the zip with bpy.ops.extensions.package_install_files, then uses only
``bpy.ops.synthblend.*`` and ``Scene.synthblend``, headless. Writes what it saw to ``result`` (JSON).
"""
import json
import sys
import traceback
from pathlib import Path

import bpy

A = json.loads(sys.argv[1])
R = {"ok": False}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def cam():
    return [round(x, 6) for x in bpy.context.scene.camera.matrix_world.translation]


def main():
    bpy.ops.extensions.package_install_files(filepath=A["zip"], repo="user_default", enable_on_install=True)
    R["addons"] = sorted(a.module for a in bpy.context.preferences.addons if "synthblend" in a.module)
    R["operator_module"] = bpy.types.SYNTHBLEND_OT_render_dataset.__module__
    # imported only to prove them importable (bundled wheels or already there): F401 does not apply
    import PIL  # noqa: F401
    import trimesh
    import yaml  # noqa: F401
    R["trimesh_file"] = trimesh.__file__
    s = bpy.context.scene.synthblend
    R["settings"] = [k for k in ("output_dir", "frames", "seed", "config_path") if hasattr(s, k)]

    # errors come back as the CLI's one-line messages
    try:
        bpy.ops.synthblend.load_config(filepath=A["bad_config"])
        R["bad_config_error"] = None
    except RuntimeError as e:
        R["bad_config_error"] = str(e)

    # every form of value survives panel -> YAML
    bpy.ops.synthblend.load_config(filepath=A["rich_config"])
    mod = sys.modules[R["operator_module"].rsplit(".ui.", 1)[0]]
    from importlib import import_module
    config_io = import_module(mod.__name__ + ".ui.config_io")
    load_config = import_module(mod.__name__ + ".core.config").load_config
    R["rich_identity_equal"] = (config_io.settings_config(s).identity()
                                == load_config(A["rich_config"]).identity())

    bpy.ops.synthblend.load_config(filepath=A["config"])
    R["loaded"] = {"frames": s.frames, "seed": s.seed, "resolution": list(s.render.resolution),
                   "n_objects": len(s.scene.objects), "config_path": s.config_path}
    cube = bpy.data.objects["Cube"]
    cube.scale = (0.15, 0.15, 0.15)
    cube.location = (0.35, 0.3, 0.15)
    # the user's own saved file with a mesh and no 'Synthblend Targets' collection yet
    bpy.ops.wm.save_as_mainfile(filepath=A["context_blend"])
    bpy.ops.synthblend.randomize()
    R["context_status"] = s.status
    s.preview_frame = 0
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob == cube)
    bpy.ops.synthblend.add_targets()
    cube["synthblend_category"] = "box"
    # settings changed in the panel
    s.seed = 5
    s.frames = 2
    s.camera.distance.mode = "UNIFORM"
    s.camera.distance.lo, s.camera.distance.hi = 1.7, 2.1
    s.lighting.count.value = 1
    s.scene.objects[1].scale.value = 0.45
    cams = []
    for _ in range(2):
        bpy.ops.synthblend.randomize()
        cams.append(cam())
    R["randomize_cameras"] = cams
    R["preview_frame"] = s.preview_frame
    R["generated_objects"] = len(bpy.data.collections["Synthblend Generated"].objects)

    bpy.ops.wm.save_as_mainfile(filepath=A["blend"])
    bpy.ops.synthblend.save_config(filepath=A["saved_config"])
    s.output_dir = A["out"]
    r = bpy.ops.synthblend.render_dataset()
    R["render_result"] = sorted(r)
    R["status"] = s.status
    R["is_rendering"] = s.is_rendering

    # load -> save is a fixed point
    bpy.ops.synthblend.load_config(filepath=A["saved_config"])
    bpy.ops.synthblend.save_config(filepath=A["saved_config2"])

    # a config that names another .blend opens it, settings included
    bpy.ops.wm.read_homefile(use_empty=True)
    check(bpy.data.filepath == "", "expected an unsaved file")
    bpy.ops.synthblend.load_config(filepath=A["saved_config"])
    R["reopened"] = {"file": bpy.data.filepath, "seed": bpy.context.scene.synthblend.seed,
                     "frames": bpy.context.scene.synthblend.frames}

    bpy.ops.synthblend.clear_scene()
    R["after_clear"] = {"generated": "Synthblend Generated" in bpy.data.collections,
                        "camera": bpy.context.scene.camera.name if bpy.context.scene.camera else None}
    R["ok"] = True


try:
    main()
except Exception:  # noqa: BLE001
    R["error"] = traceback.format_exc()
Path(A["result"]).write_text(json.dumps(R, indent=1))
