"""Static supports (pure): one ObjectSpec per ``scene.supports`` entry (kind SUPPORT), posed by its
``position`` (m, world) and ``yaw_deg`` (about world z), both possibly random; a mesh support's
``obj2world`` includes its ``scale``. Geometry: :mod:`synthblend.core.supports`.

Stream ``scene.supports[i]`` per entry. Sampled after the config objects and before distractors and
placement: instance ids follow the config objects'; category from ``category`` (0 by default).
"""
from __future__ import annotations

from ..color import hex_to_linear
from ..spec import ObjectKind, ObjectSpec
from ..supports import asset_name, support_pose

ORDER = 35  # place in the frame's features (core/features/__init__.py)


def sample(ctx) -> None:
    config = ctx.config
    for i, p in enumerate(config.parsed["scene"].get("supports") or []):
        data = config.data["scene"]["supports"][i]
        base = f"scene.supports[{i}]"
        d = ctx.draw(base)
        pos = d(p["position"], f"{base}.position")
        yaw = d(p["yaw_deg"], f"{base}.yaw_deg")
        scale = data["scale"] if data.get("mesh") is not None else 1.0
        ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), data["name"], ObjectKind.SUPPORT, i, 0,
                                           data.get("category"), config.category_id(data.get("category")),
                                           asset_name(data), support_pose(pos, yaw, scale),
                                           hex_to_linear(data["color"])))
