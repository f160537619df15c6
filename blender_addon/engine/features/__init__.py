"""The engine side of each feature (bpy), mirroring :mod:`synthblend.core.features`: each class
builds its part of the scene once (``build``: datablocks, pools, node trees) and sets its part of a
frame (``apply(spec)``: values only, nothing created). Built in this order (the order datablocks are
made in). A .blend's objects (:class:`Blend`) are captured after these, outside the tagging of
generated datablocks (SceneBuilder.build)."""
from __future__ import annotations

from .blend import Blend
from .camera import Camera
from .camera_fx import CameraFx
from .distractors import Distractors
from .ground import Ground
from .lights import Lights
from .materials import Materials
from .objects import Objects
from .world import World

ENGINE_FEATURES = (("camera", Camera), ("objects", Objects), ("ground", Ground), ("lights", Lights),
                   ("distractors", Distractors), ("materials", Materials), ("world", World),
                   ("camera_fx", CameraFx))

__all__ = ["ENGINE_FEATURES", "Blend"]
