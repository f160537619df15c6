"""Material randomization (pure): draw each object's :class:`MaterialSpec` for a frame.

Which block applies to an object: its entry's ``scene.objects[i].materials`` if given, else the
top-level ``materials``; distractors use ``scene.distractors.materials``, else ``materials``, else the
block's defaults (distractors are always randomized); the ground uses ``scene.ground.materials``,
a support its ``scene.supports[i].materials`` (stream ``materials/scene.supports[i]``).
Without any block an object keeps its entry colour (``material = None``).

Streams: one per owner (``materials/scene.objects[i]``, ``materials/distractors``,
``materials/ground``), so adding an entry changes no other object's draws. Draws are recorded in
``sampled`` under the block's config path (``materials.roughness``: a list, one value per object that
drew from that block, in instance-id order); each object's values are also in its meta ``material``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..color import hsv_to_linear
from ..config import config_from_dict
from ..draw import Draw
from ..image_folders import IMAGE_EXTS, list_images
from ..library import asset_file
from ..spec import MaterialSpec, ObjectKind

ORDER = 70  # place in the frame's features (core/features/__init__.py)


@functools.lru_cache(maxsize=None)
def default_section(name: str) -> dict:
    """Parsed defaults of a domain-randomization section (e.g. the material block)."""
    if name == "materials":
        return config_from_dict({"materials": {}}).parsed["materials"]
    raise KeyError(name)


def block_for(config, obj) -> tuple[dict | None, dict | None, str | None]:
    """(parsed block, plain block, config path) that applies to ``obj`` (an ObjectSpec)."""
    sc_p, sc_d = config.parsed["scene"], config.data["scene"]
    glob = (config.parsed.get("materials"), config.data.get("materials"), "materials")
    if obj.kind is ObjectKind.OBJECT:
        own = sc_p["objects"][obj.entry].get("materials")
        if own:
            return own, sc_d["objects"][obj.entry]["materials"], f"scene.objects[{obj.entry}].materials"
        return glob if glob[0] else (None, None, None)
    if obj.kind is ObjectKind.DISTRACTOR:
        own = (sc_p.get("distractors") or {}).get("materials")
        if own:
            return own, sc_d["distractors"]["materials"], "scene.distractors.materials"
        if glob[0]:
            return glob
        return default_section("materials"), None, "scene.distractors.materials"
    if obj.kind is ObjectKind.GROUND:
        g = sc_p.get("ground") or {}
        if g.get("materials"):
            return g["materials"], sc_d["ground"]["materials"], "scene.ground.materials"
    if obj.kind is ObjectKind.SUPPORT and sc_p["supports"][obj.entry].get("materials"):
        return (sc_p["supports"][obj.entry]["materials"], sc_d["supports"][obj.entry]["materials"],
                f"scene.supports[{obj.entry}].materials")
    return None, None, None


def stream_name(obj) -> str:
    if obj.kind is ObjectKind.OBJECT:
        return f"materials/scene.objects[{obj.entry}]"
    if obj.kind is ObjectKind.SUPPORT:
        return f"materials/scene.supports[{obj.entry}]"
    return f"materials/{obj.kind}"


@functools.lru_cache(maxsize=256)
def _images(folder: str) -> tuple[str, ...]:
    return tuple(p.name for p in list_images(Path(folder), IMAGE_EXTS))


@functools.lru_cache(maxsize=256)
def asset_has_appearance(path: str) -> bool:
    """Whether trimesh reads a texture image or per-vertex colours from the asset file."""
    import trimesh

    try:
        m = trimesh.load(path, force="mesh", process=False)
    except Exception:
        return False
    vis = getattr(m, "visual", None)
    if vis is None:
        return False
    if vis.kind == "texture":
        mat = getattr(vis, "material", None)
        img = getattr(mat, "image", None) or getattr(mat, "baseColorTexture", None)
        return img is not None and getattr(vis, "uv", None) is not None
    if vis.kind == "vertex":
        return True
    return False


def sample_material(block: dict, data: dict | None, path: str, draw: Draw, base_dir: Path,
                    asset_path: str | None = None) -> MaterialSpec:
    """Draw one object's material from a parsed material block (order of draws is fixed)."""
    if block.get("keep_asset") and asset_path and asset_has_appearance(asset_path):
        return MaterialSpec(source="asset")
    hsv = draw(block["base_color_hsv"], f"{path}.base_color_hsv", multi=True)
    rough = draw(block["roughness"], f"{path}.roughness", multi=True)
    metal = draw(block["metallic"], f"{path}.metallic", multi=True)
    spec = draw(block["specular"], f"{path}.specular", multi=True)
    tex = draw(block["texture"], f"{path}.texture", multi=True)
    m = MaterialSpec("random", tuple(float(x) for x in hsv), hsv_to_linear(*_clip_hsv(hsv)),
                     float(rough), float(metal), float(spec), tex)
    if tex == "none":
        return m
    m.texture_scale = float(draw(block["texture_scale"], f"{path}.texture_scale", multi=True))
    hsv2 = draw(block["texture_color_hsv"], f"{path}.texture_color_hsv", multi=True)
    m.texture_color_hsv = tuple(float(x) for x in hsv2)
    m.texture_color_rgb = hsv_to_linear(*_clip_hsv(hsv2))
    off = draw.rng.uniform(0.0, 100.0, size=3)
    m.texture_offset = tuple(float(x) for x in off)
    draw.record(f"{path}.texture_offset", off, multi=True)
    if tex == "image":
        folder = block["images"]
        names = _images(str(folder))
        k = int(draw.rng.integers(len(names)))
        written = (data or {}).get("images") or str(folder)
        m.image = f"{str(written).rstrip('/')}/{names[k]}"
        m.image_path = str(Path(folder) / names[k])
        draw.record(f"{path}.image", m.image, multi=True)
    return m


def _clip_hsv(hsv):
    h, s, v = (float(x) for x in hsv)
    return h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)


def sample(ctx) -> None:
    """Set ``material`` on every object of the frame that a material block covers."""
    config = ctx.config
    draws: dict[str, Draw] = {}
    for o in ctx.spec.objects:
        block, data, path = block_for(config, o)
        if block is None:
            continue
        name = stream_name(o)
        if name not in draws:
            draws[name] = ctx.draw(name)
        asset_path = None
        if o.kind is ObjectKind.OBJECT and not o.asset.startswith("primitive:"):
            asset_path = str(asset_file(config, o))
        o.material = sample_material(block, data, path, draws[name], config.base_dir, asset_path)
        if o.material.source == "random":
            o.color_rgb = tuple(o.material.base_color_rgb)


def hsv_array_to_linear(hsv) -> np.ndarray:  # pragma: no cover - convenience for notebooks
    return np.array([hsv_to_linear(*_clip_hsv(h)) for h in np.atleast_2d(hsv)])
