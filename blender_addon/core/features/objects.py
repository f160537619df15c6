"""The config's objects (pure): ``count`` instances of each ``scene.objects`` entry with scale, position
and rotation (world meters; ``obj2world`` maps the asset's raw vertex coordinates, scale included).

Stream ``scene.objects[i]`` per entry, so adding an entry changes no other entry's draws. Instance ids
from 1 in entry order; the entry's colour (``color``, else a palette colour) until materials draw one.

A library entry (core/library.py) first draws, from its own stream ``scene.objects[i].choose``, how
many assets (``choose``, default 1) and which (distinct, by weight); then, on ``scene.objects[i]``,
per chosen asset ``count`` instances and each instance's pose, exactly as a single-mesh entry draws
them. A library that grows or shrinks so changes which assets appear, never a pose or another entry.
Its instances carry ``asset`` = the file relative to the config's folder, ``asset_key``, the asset's
category and, for BOP model sets, ``bop_obj_id``; the asset's own scale (BOP: 0.001) multiplies the
entry's.
"""
from __future__ import annotations

import numpy as np

from ..asset_pose import entry_pose
from ..color import PALETTE, hex_to_linear
from ..library import choose_assets
from ..spec import ObjectKind, ObjectSpec
from ..urdf_objects import sample_urdf

ORDER = 30  # place in the frame's features (core/features/__init__.py)


def asset_name(data: dict) -> str:
    """An entry's asset as meta names it: its mesh path as written, or ``primitive:<shape>``."""
    return data["mesh"] if data.get("mesh") is not None else f"primitive:{data['primitive']}"


def sample(ctx) -> None:
    config = ctx.config
    for i, o in enumerate(config.parsed["scene"]["objects"]):
        base = f"scene.objects[{i}]"
        d = ctx.draw(base)
        data = config.data["scene"]["objects"][i]
        color = hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])
        if o.get("library") is not None:
            _sample_library(ctx, i, o, data, d, color)
            continue
        if o.get("urdf") is not None:
            sample_urdf(ctx, i, o, data, d, color)      # core/urdf_objects.py
            continue
        n = d(o["count"], f"{base}.count")
        for k in range(n):
            s = d(o["scale"], f"{base}.scale", multi=True)
            p = d(o["position"], f"{base}.position", multi=True)
            R = d.rotation(o["rotation"], f"{base}.rotation")
            T = entry_pose(config, data, R @ np.diag([s, s, s]), p, asset_name(data))   # + up axis, rest
            ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"{o['category']}_{i}_{k}", ObjectKind.OBJECT,
                                               i, k, o["category"], config.category_id(o["category"]),
                                               asset_name(data), T, color))


def _sample_library(ctx, i: int, o: dict, data: dict, d, color) -> None:
    """A library entry's instances: the chosen assets (stream ``.choose``), then per asset its count
    and poses (the entry's stream ``d``). Records ``scene.objects[i].choose`` = the chosen keys."""
    config = ctx.config
    base = f"scene.objects[{i}]"
    c = ctx.draw(f"{base}.choose")
    _, chosen = choose_assets(o["library"], o.get("choose"), c.rng)
    c.record(f"{base}.choose", [a.key for a in chosen])
    k = 0
    for a in chosen:
        for slot in range(int(d(o["count"], f"{base}.count", multi=True))):
            s = d(o["scale"], f"{base}.scale", multi=True)
            p = d(o["position"], f"{base}.position", multi=True)
            R = d.rotation(o["rotation"], f"{base}.rotation")
            T = entry_pose(config, data, R * (s * a.scale), p, a.rel)   # + up axis, rest_on_ground
            ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"{a.category}_{i}_{k}", ObjectKind.OBJECT,
                                               i, slot, a.category, config.category_id(a.category), a.rel, T,
                                               color, asset_key=a.key, bop_obj_id=a.bop_obj_id))
            k += 1
