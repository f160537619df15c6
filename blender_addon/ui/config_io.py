"""Panel settings <-> config: the one place that turns ``Scene.synthblend`` into a Config and back.

* Relative paths in the settings are relative to the folder of ``config_path`` (the YAML the panel was
  loaded from or last saved to), else to the open .blend's folder, else the working directory.
  Blender-style ``//`` paths and absolute paths are turned into paths relative to that folder, so the
  config the GUI renders is byte for byte the YAML that Save config writes next to ``config_path``.
* ``scene.blend`` is the open .blend file (once it is saved): in the GUI the open scene *is* the
  user's scene. The CLI opens that file and builds the same scene.
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy

from ..core import schema as S
from . import props


def current_blend() -> Path | None:
    return Path(bpy.data.filepath).resolve() if bpy.data.filepath else None


def base_dir(settings) -> Path:
    if settings.config_path:
        return Path(bpy.path.abspath(settings.config_path)).resolve().parent
    blend = current_blend()
    return blend.parent if blend else Path.cwd()


def _rel(value: str, base: Path, old_base: Path) -> str:
    """A settings path (relative to ``old_base``, ``//``-relative or absolute) as the config
    writes it: relative to ``base`` where possible."""
    if value.startswith("//"):
        value = bpy.path.abspath(value)
    p = Path(value)
    if not p.is_absolute():
        p = old_base / p
    try:
        return os.path.relpath(p, base).replace("\\", "/")
    except ValueError:       # another drive (Windows)
        return str(p)


def map_paths(raw, node, fn):
    """Apply ``fn`` to every path value (``V('path')``) of a raw config, in place."""
    if isinstance(node, S.Section) and isinstance(raw, dict):
        for key, f in node.fields.items():
            if key not in raw or raw[key] is None:
                continue
            if isinstance(f, S.V) and f.type == "path":
                raw[key] = fn(raw[key])
            elif isinstance(f, (S.Section, S.ListOf)):
                map_paths(raw[key], f, fn)
    elif isinstance(node, S.ListOf) and isinstance(raw, list):
        for item in raw:
            map_paths(item, node.item, fn)
    return raw


def settings_raw(settings, base: Path | None = None) -> dict:
    """The raw config the panel shows, paths relative to ``base`` (default :func:`base_dir`)."""
    old = base_dir(settings)
    base = base or old
    raw = props.section_to_raw(settings, S.SCHEMA)
    raw.get("scene", {}).pop("blend", None)
    map_paths(raw, S.SCHEMA, lambda v: _rel(v, base, old))
    blend = current_blend()
    if blend is not None:
        raw.setdefault("scene", {})["blend"] = _rel(str(blend), base, old)
    return raw


def settings_config(settings):
    """A validated Config of the panel's settings (raises ConfigErrors / ValueError)."""
    from ..core.config import Config
    base = base_dir(settings)
    raw = settings_raw(settings, base)
    path = Path(bpy.path.abspath(settings.config_path)).resolve() if settings.config_path else None
    return Config(raw, path=path, base_dir=base)


def apply_config(settings, config, config_path) -> None:
    """Show ``config`` in the panel (its resolved values: every key, defaults included)."""
    props.section_from_data(settings, S.SCHEMA, config.data)
    settings.config_path = str(config_path)
    settings.preview_frame = 0


def reset_settings(settings) -> None:
    from ..core.config import Config
    props.section_from_data(settings, S.SCHEMA, Config({}).data)
    settings.preview_frame = 0


def yaml_text(raw: dict, header: str = "") -> str:
    import yaml
    body = yaml.safe_dump(raw, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return (header + body) if header else body
