"""``sample(config, seed, frame) -> FrameSpec``: the pure, deterministic heart of synthblend.

The frame is the ordered list of features of :mod:`synthblend.core.features` (camera, lights,
objects, distractors, ground, placement, materials, world, camera effects, augmentation), each
sampling its part into the FrameSpec from its own named random stream of (seed, frame)
(:func:`~synthblend.core.streams.stream`): frame i's draws depend only on (seed, i). With
``camera.stereo`` frames 2i and 2i + 1 are the left and right images of pair i, sampled once
(:mod:`synthblend.core.stereo`).
"""
from __future__ import annotations

from .features import FEATURES, SampleContext
from .spec import FrameSpec
from .stereo import sample_stereo, stereo_of
from .streams import stream

__all__ = ["sample", "stream"]


def sample(config, seed: int, frame: int) -> FrameSpec:
    """Everything random about frame ``frame`` of the dataset with base seed ``seed``."""
    if stereo_of(config):
        return sample_stereo(sample_frame, config, seed, frame)
    return sample_frame(config, seed, frame)


def sample_frame(config, seed: int, frame: int) -> FrameSpec:
    """The features in order for frame ``frame`` (one image; a stereo pair's scene)."""
    ctx = SampleContext(config, seed, frame)
    for feature in FEATURES:
        feature.sample(ctx)
    return ctx.spec
