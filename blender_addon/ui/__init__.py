"""The Blender add-on's face: ``bpy.types.Scene.synthblend`` settings, ``bpy.ops.synthblend.*`` operators
and the "Synthblend" tab of the 3D Viewport sidebar. Everything renders through the same engine as the
CLI (:mod:`synthblend.engine`), in this Blender process."""
from __future__ import annotations

_registered: list = []


def register():
    import bpy

    from . import operators, panels, props, view_ops

    root = props.build_classes()
    classes = [*props.CLASSES, *operators.CLASSES, *view_ops.CLASSES, *panels.panel_classes()]
    for cls in classes:
        bpy.utils.register_class(cls)
        _registered.append(cls)
    bpy.types.Scene.synthblend = bpy.props.PointerProperty(type=root, name="Synthblend")


def unregister():
    import bpy

    if hasattr(bpy.types.Scene, "synthblend"):
        del bpy.types.Scene.synthblend
    while _registered:
        cls = _registered.pop()
        try:
            bpy.utils.unregister_class(cls)
        except RuntimeError:
            pass
