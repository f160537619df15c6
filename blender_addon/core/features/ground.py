"""The ground (pure): the square plane at z = 0 of ``scene.ground`` (no random draws; its material is
drawn by the materials feature). Its instance id follows the objects and distractors."""
from __future__ import annotations

import numpy as np

from ..color import hex_to_linear
from ..spec import ObjectKind, ObjectSpec

ORDER = 50  # place in the frame's features (core/features/__init__.py)


def sample(ctx) -> None:
    ground = ctx.config.data["scene"].get("ground")
    if ground:
        ctx.spec.objects.append(ObjectSpec(ctx.new_instance_id(), "ground", ObjectKind.GROUND, None, 0,
                                           ground.get("category"), ctx.config.category_id(ground.get("category")),
                                           "ground", np.eye(4), hex_to_linear(ground["color"])))
