"""What a feature's sampler works on: :class:`SampleContext`, one per frame (pure)."""
from __future__ import annotations

import numpy as np

from ..draw import Draw
from ..spec import FrameSpec
from ..streams import stream


class SampleContext:
    """The config, the frame's seed and index, and the FrameSpec the features fill in order.

    ``stream(name)`` is the frame's random stream ``name`` (core/streams.py); ``draw(name)`` a
    :class:`~synthblend.core.draw.Draw` on it that records into ``spec.sampled``.
    """

    def __init__(self, config, seed: int, frame: int):
        self.config = config
        self.seed = seed
        self.frame = frame
        self.spec = FrameSpec(frame, seed)
        self._next_id = 1

    def stream(self, name: str) -> np.random.Generator:
        return stream(self.seed, self.frame, name)

    def draw(self, name: str) -> Draw:
        return Draw(self.stream(name), self.spec.sampled)

    def new_instance_id(self) -> int:
        """An id for a new object: ids are given in feature order, from 1."""
        self._next_id += 1
        return self._next_id - 1
