"""synthblend: synthetic computer-vision datasets from Blender/Cycles with pixel-perfect ground truth.

This folder is both the Python package ``synthblend`` and the Blender add-on / extension. Importing it
never imports ``bpy``; Blender calls :func:`register` / :func:`unregister`.
"""
from __future__ import annotations

import os as _os
import sys as _sys

# The legacy add-on zip carries its pure-Python dependencies (trimesh) here; appended, so packages
# already installed in Blender's Python win.
_VENDOR = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "_vendor")
if _os.path.isdir(_VENDOR) and _VENDOR not in _sys.path:
    _sys.path.append(_VENDOR)

__version__ = "0.1.0"

bl_info = {
    "name": "Synthblend",
    "author": "synthblend developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport > Sidebar > Synthblend",
    "description": "Synthetic training data with pixel-perfect ground truth",
    "category": "Render",
}


def register():
    from .ui import register as _register
    _register()


def unregister():
    from .ui import unregister as _unregister
    _unregister()


def load_config(path, overrides=None):
    """Load and validate a config file (see :func:`synthblend.core.config.load_config`)."""
    from .core.config import load_config as _load
    return _load(path, overrides)


def __getattr__(name):
    # Lazy public API so that `import synthblend` stays light and bpy-free.
    if name == "open_dataset":
        from .dataset.reader import open_dataset
        return open_dataset
    if name == "render_dataset":
        from .api import render_dataset
        return render_dataset
    if name == "sample":             # frame i's FrameSpec (with scene.views / sequence: its view)
        from .core.scenes import sample_frame
        return sample_frame
    raise AttributeError(name)
