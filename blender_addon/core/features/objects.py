"""The config's objects (pure): ``count`` instances of each ``scene.objects`` entry with scale, position
and rotation (world meters; ``obj2world`` maps the asset's raw vertex coordinates, scale included).

Stream ``scene.objects[i]`` per entry, so adding an entry changes no other entry's draws. Instance ids
from 1 in entry order; the entry's colour (``color``, else a palette colour) until materials draw one.
"""
from __future__ import annotations

import numpy as np

from .. import camera as cam
from ..color import PALETTE, hex_to_linear
from ..spec import ObjectKind, ObjectSpec

ORDER = 30  # place in the frame's features (core/features/__init__.py)


def asset_name(data: dict) -> str:
    """An entry's asset as meta names it: its mesh path as written, or ``primitive:<shape>``."""
    return data["mesh"] if data.get("mesh") is not None else f"primitive:{data['primitive']}"


def sample(ctx) -> None:
    config = ctx.config
    for i, o in enumerate(config.parsed["scene"]["objects"]):
        base = f"scene.objects[{i}]"
        d = ctx.draw(base)
        n = d(o["count"], f"{base}.count")
        data = config.data["scene"]["objects"][i]
        color = hex_to_linear(data["color"] if data.get("color") else PALETTE[i % len(PALETTE)])
        for k in range(n):
            s = d(o["scale"], f"{base}.scale", multi=True)
            p = d(o["position"], f"{base}.position", multi=True)
            R = d.rotation(o["rotation"], f"{base}.rotation")
            T = cam.pose_matrix(R @ np.diag([s, s, s]), p)
            ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), f"{o['category']}_{i}_{k}", ObjectKind.OBJECT,
                                               i, k, o["category"], config.category_id(o["category"]),
                                               asset_name(data), T, color))
