"""The features of a frame, one pure module each, sampled in this order into the FrameSpec.

Each module has ``sample(ctx: SampleContext) -> None`` that draws its part of the frame from its own
named stream(s) and writes it into ``ctx.spec`` (and records random draws in ``ctx.spec.sampled``);
the engine module of the same name (``synthblend.engine.features``) applies that part in Blender.
The order fixes the instance ids (config objects, then distractors, then the ground, then the back
plane) and what each feature can see (placement moves the objects and distractors drawn before it;
materials colour every object; camera effects read the camera and the objects).
"""
from __future__ import annotations

from . import augment, camera, camera_fx, distractors, ground, lights, materials, objects, placement, world
from .context import SampleContext

FEATURES = (camera, lights, objects, distractors, ground, placement, materials, world, camera_fx, augment)

__all__ = ["FEATURES", "SampleContext"]
