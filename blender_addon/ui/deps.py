"""The Python packages synthblend needs inside Blender, and how to get them (no bpy here).

Blender 4.2+ installs them from the extension's bundled wheels (numpy ships with Blender). The
legacy add-on carries the pure-Python ones (trimesh) in ``synthblend/_vendor``; numpy, PyYAML and
Pillow come from Blender's Python: that is its one dependency step, printed by :func:`install_hint`.
"""
from __future__ import annotations

import importlib.util
import os
import sys

REQUIRED = {"numpy": "numpy", "yaml": "PyYAML", "PIL": "Pillow", "trimesh": "trimesh"}
DEBIAN_PACKAGES = {"numpy": "python3-numpy", "PyYAML": "python3-yaml", "Pillow": "python3-pil"}


def missing() -> list[str]:
    """Distribution names of the required packages that do not import here."""
    out = []
    for module, dist in REQUIRED.items():
        if module in sys.modules:
            continue
        try:
            if importlib.util.find_spec(module) is None:
                out.append(dist)
        except (ImportError, ValueError):
            out.append(dist)
    return out


def system_python() -> bool:
    """Blender built against the system's Python (Debian/Ubuntu's ``blender`` package)."""
    return sys.prefix in ("/usr", "/usr/local") and os.path.isdir("/usr/lib/python3/dist-packages")


def install_hint(names: list[str] | None = None) -> str:
    """The one command that installs ``names`` (default: what is missing) for this Blender."""
    names = missing() if names is None else names
    if not names:
        return ""
    if system_python() and all(n in DEBIAN_PACKAGES for n in names):
        return "sudo apt-get install " + " ".join(DEBIAN_PACKAGES[n] for n in names)
    py = sys.executable if sys.executable and "python" in os.path.basename(sys.executable) else "<Blender's python>"
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "_vendor")
    if system_python():
        return f"{py} -m pip install --target {os.path.normpath(target)} " + " ".join(names)
    return f"\"{py}\" -m pip install " + " ".join(names)


class MissingDependencies(Exception):
    def __init__(self, names):
        self.names = names
        super().__init__(f"synthblend needs the Python package(s) {', '.join(names)} in Blender's Python; "
                         f"install with: {install_hint(names)}")


def require() -> None:
    """Raise :class:`MissingDependencies` with the install command when something is missing."""
    names = missing()
    if names:
        raise MissingDependencies(names)
